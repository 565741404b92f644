//! The JSON API, end to end over HTTP, on every backend.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use taizhang_testkit::{each_backend, field_codes as codes, TestApp};

each_backend!(
    health_openapi_and_auth,
    tree_editing_keeps_history,
    moved_nodes_count_where_they_belonged,
    people_are_validated_and_masked,
    ledger_types_are_defined_as_data,
    bad_records_are_refused_whole,
    overdue_lists_missing_cadence_records,
    bulletin_figures_open_to_their_records,
    bulletin_by_cross_link,
    audit_log_records_writes_for_the_auditor_only,
);

async fn health_openapi_and_auth(app: TestApp) {
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    for path in [
        "/api/v1/me",
        "/api/v1/orgs/370828",
        "/api/v1/openapi.json",
        "/api/v1/bulletin",
        "/api/v1/no-such-thing",
    ] {
        let (s, v) = app.call(Method::GET, path, None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path} without a token");
        assert_eq!(v["code"], "unauthorized");
        let (s, _) = app.call(Method::GET, path, Some("not-a-token"), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path} with a bad token");
    }

    let (s, v) = app
        .call(
            Method::POST,
            "/api/v1/login",
            None,
            Some(json!({"username": "admin", "password": "wrong-password"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "bad_credentials");
    let (s, _) = app
        .call(
            Method::POST,
            "/api/v1/login",
            None,
            Some(json!({"username": "nobody", "password": "wrong-password"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let token = app.token("admin").await;
    let (s, me) = app.get("/api/v1/me", &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["org_name"], "金乡县");

    let (s, doc) = app.get("/api/v1/openapi.json", &token).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/login",
        "/api/v1/orgs/{org_ref}",
        "/api/v1/records",
        "/api/v1/bulletin",
        "/api/v1/audit",
        "/api/v1/ledger-types",
    ] {
        assert!(doc["paths"].get(p).is_some(), "OpenAPI lacks {p}");
    }

    let (s, org) = app.get("/api/v1/orgs/370828", &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(org["name"], "金乡县");
    assert_eq!(org["ref"], "370828");
    let (s, kids) = app.get("/api/v1/orgs/370828/children", &token).await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = kids
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    for town in ["金乡街道", "鸡黍镇", "兴隆镇", "县直机关工委"] {
        assert!(names.contains(&town), "{town} missing from {names:?}");
    }

    // A logged-out token stops working.
    let (s, _) = app
        .call(Method::POST, "/api/v1/logout", Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get("/api/v1/me", &token).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

async fn tree_editing_keeps_history(app: TestApp) {
    let t = app.token("jishu").await;
    let (s, v) = app
        .post(
            "/api/v1/orgs/370828005/children",
            &t,
            json!({"kind": "village", "name": "  新建村 ", "established_on": "2020-01-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["name"], "新建村");
    let village = v["ref"].as_str().unwrap().to_string();

    let (s, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/orgs/{village}"),
            Some(&t),
            Some(json!({"name": "新建村（更名）"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["name"], "新建村（更名）");

    let (s, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/orgs/{village}"),
            Some(&t),
            Some(json!({"name": "   "})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        codes(&v),
        vec![("name".to_string(), "org.bad_name".to_string())]
    );

    // A child under it, then try to move the village under its own child.
    let (_, child) = app
        .post(
            &format!("/api/v1/orgs/{village}/children"),
            &t,
            json!({"kind": "party_group", "name": "第一党小组", "established_on": "2020-01-01"}),
        )
        .await;
    let child_ref = child["ref"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(
            &format!("/api/v1/orgs/{village}/move"),
            &t,
            json!({"parent": child_ref, "on": "2026-01-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["code"], "org.cycle");

    // Dissolving a node with live children is refused; the child first, then the village.
    let (s, v) = app
        .post(
            &format!("/api/v1/orgs/{village}/dissolve"),
            &t,
            json!({"on": "2026-06-30"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["code"], "org.has_children");

    // Move within the town, then dissolve.
    let (_, areas) = app.get("/api/v1/orgs/370828005/children", &t).await;
    let area = areas
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "management_area")
        .unwrap()["ref"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, v) = app
        .post(
            &format!("/api/v1/orgs/{village}/move"),
            &t,
            json!({"parent": area, "on": "2026-03-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, hist) = app
        .get(&format!("/api/v1/orgs/{village}/history"), &t)
        .await;
    assert_eq!(s, StatusCode::OK);
    let hist = hist.as_array().unwrap();
    assert_eq!(hist.len(), 2);
    assert_eq!(hist[0]["parent_name"], "鸡黍镇");
    assert_eq!(hist[0]["valid_to"], "2026-03-01");
    assert_eq!(hist[1]["valid_from"], "2026-03-01");

    let (s, _) = app
        .post(
            &format!("/api/v1/orgs/{child_ref}/dissolve"),
            &t,
            json!({"on": "2026-06-30"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .post(
            &format!("/api/v1/orgs/{village}/dissolve"),
            &t,
            json!({"on": "2026-06-30"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["dissolved_on"], "2026-06-30");
    // Dissolved nodes are still there, marked, when asked for.
    let (_, with) = app
        .get(&format!("/api/v1/orgs/{area}/children?dissolved=true"), &t)
        .await;
    assert!(with
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["ref"] == village.as_str()));
    let (_, without) = app.get(&format!("/api/v1/orgs/{area}/children"), &t).await;
    assert!(!without
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["ref"] == village.as_str()));

    // Codes are checked and unique.
    let (s, v) = app
        .post(
            "/api/v1/orgs/370828005/children",
            &t,
            json!({"kind": "village", "name": "甲村", "code": "12"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&v)[0].1, "org.bad_code");
    let (s, v) = app
        .post(
            "/api/v1/orgs/370828005/children",
            &t,
            json!({"kind": "village", "name": "乙村", "code": "370828005"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["code"], "org.code_in_use");
}

async fn moved_nodes_count_where_they_belonged(app: TestApp) {
    let t = app.token("admin").await;
    let (_, v) = app.post("/api/v1/orgs/370828005/children", &t, json!({"kind": "village", "name": "迁移村", "code": "370828005999", "established_on": "2020-01-01"})).await;
    let village = v["ref"].as_str().unwrap().to_string();
    let visit = |date: &str| json!({"ledger_type": "visit", "org": village, "occurred_on": date, "fields": {"category": "脱贫户", "households": 7}});
    let (s, v) = app.post("/api/v1/records", &t, visit("2026-01-10")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = app
        .post(
            &format!("/api/v1/orgs/{village}/move"),
            &t,
            json!({"parent": "370828002", "on": "2026-02-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.post("/api/v1/records", &t, visit("2026-03-10")).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app
        .post(
            &format!("/api/v1/orgs/{village}/dissolve"),
            &t,
            json!({"on": "2026-04-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // Count the village's visits under each town: January under 鸡黍镇, March under 高河街道.
    let count = |town: &'static str, from: &'static str, to: &'static str| {
        let app = &app;
        let t = t.clone();
        let village = village.clone();
        async move {
            let (s, v) = app.get(&format!("/api/v1/records?org={town}&ledger_type=visit&from={from}&to={to}&limit=1000"), &t).await;
            assert_eq!(s, StatusCode::OK);
            v["records"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["org"]["ref"] == village.as_str())
                .count()
        }
    };
    assert_eq!(count("370828005", "2026-01-01", "2026-01-31").await, 1);
    assert_eq!(count("370828005", "2026-03-01", "2026-03-31").await, 0);
    assert_eq!(count("370828002", "2026-01-01", "2026-01-31").await, 0);
    assert_eq!(count("370828002", "2026-03-01", "2026-03-31").await, 1);

    // The bulletin of 高河街道 for March counts it; 鸡黍镇's for January does too.
    let households = |b: &Value| {
        b["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["type_key"] == "visit")
            .unwrap()["sums"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["field"] == "households")
            .unwrap()["total"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
    };
    let (_, jan_a) = app
        .get(
            "/api/v1/bulletin?org=370828005&from=2026-01-01&to=2026-01-31",
            &t,
        )
        .await;
    let (_, jan_b) = app
        .get(
            "/api/v1/bulletin?org=370828002&from=2026-01-01&to=2026-01-31",
            &t,
        )
        .await;
    let (_, mar_b) = app
        .get(
            "/api/v1/bulletin?org=370828002&from=2026-03-01&to=2026-03-31",
            &t,
        )
        .await;
    let (_, records_jan_a) = app.get("/api/v1/records?org=370828005&ledger_type=visit&from=2026-01-01&to=2026-01-31&limit=1000", &t).await;
    let expected: i64 = records_jan_a["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fields"]["households"].as_i64().unwrap())
        .sum();
    assert_eq!(households(&jan_a), expected);
    // The moved village's 7 households are among them, on top of the demo's own visits there.
    let village_households: i64 = records_jan_a["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["org"]["ref"] == village.as_str())
        .map(|r| r["fields"]["households"].as_i64().unwrap())
        .sum();
    assert_eq!(village_households, 7);
    let (_, records_jan_b) = app.get("/api/v1/records?org=370828002&ledger_type=visit&from=2026-01-01&to=2026-01-31&limit=1000", &t).await;
    let expected_b: i64 = records_jan_b["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fields"]["households"].as_i64().unwrap())
        .sum();
    assert_eq!(households(&jan_b), expected_b);
    let (_, records_mar_b) = app.get("/api/v1/records?org=370828002&ledger_type=visit&from=2026-03-01&to=2026-03-31&limit=1000", &t).await;
    let expected_mar: i64 = records_mar_b["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fields"]["households"].as_i64().unwrap())
        .sum();
    assert_eq!(households(&mar_b), expected_mar);
}

async fn people_are_validated_and_masked(app: TestApp) {
    let admin = app.token("admin").await;
    let (s, p) = app.post("/api/v1/people", &admin, json!({"name": "测试人", "org": "370828005", "id_number": "11010519491231002X", "phone": "13805375678", "party_member": true})).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    // Masked in every answer, even to a role that may see it whole …
    assert_eq!(p["id_number"], "1101**********002X");
    assert_eq!(p["gender"], "女");
    assert_eq!(p["birth_date"], "1949-12-31");
    let id = p["id"].as_i64().unwrap();
    // … until that role asks for it (an audited view).
    let (s, whole) = app
        .get(&format!("/api/v1/people/{id}?reveal=true"), &admin)
        .await;
    assert_eq!(s, StatusCode::OK, "{whole}");
    assert_eq!(whole["id_number"], "11010519491231002X");
    assert_eq!(whole["phone"], "13805375678");

    let viewer = app.token("viewer").await;
    let (s, p) = app.get(&format!("/api/v1/people/{id}"), &viewer).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["id_number"], "1101**********002X");
    assert_eq!(p["phone"], "138****5678");
    let (_, list) = app.get("/api/v1/people?q=测试人", &viewer).await;
    assert_eq!(list["people"][0]["id_number"], "1101**********002X");

    let (s, v) = app.post("/api/v1/people", &admin, json!({"name": "", "org": "370828005", "id_number": "110105194912310021", "phone": "12345"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let c = codes(&v);
    assert!(
        c.contains(&("id_number".into(), "id_number.check_digit".into())),
        "{c:?}"
    );
    assert!(c.contains(&("phone".into(), "phone.invalid".into())));
    assert!(c.contains(&("name".into(), "person.bad_name".into())));

    let (s, v) = app
        .post(
            "/api/v1/people",
            &admin,
            json!({"name": "重复", "org": "370828005", "id_number": "11010519491231002x"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["code"], "person.duplicate_id_number");
    assert!(
        !v["message"].as_str().unwrap().contains("19491231"),
        "messages never show whole ID numbers"
    );

    // Positions over periods.
    let (s, pos) = app.post("/api/v1/positions", &admin, json!({"person_id": id, "org": "370828005", "title": "committee_member", "valid_from": "2024-01-01"})).await;
    assert_eq!(s, StatusCode::CREATED, "{pos}");
    let (s, v) = app.post("/api/v1/positions", &admin, json!({"person_id": id, "org": "370828005", "title": "secretary", "valid_from": "2024-01-01", "valid_to": "2023-01-01"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&v)[0].1, "position.dates");
    let (s, ended) = app
        .post(
            &format!("/api/v1/positions/{}/end", pos["id"]),
            &admin,
            json!({"on": "2025-12-31"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ended["valid_to"], "2025-12-31");
}

async fn ledger_types_are_defined_as_data(app: TestApp) {
    let admin = app.token("admin").await;
    let def = json!({
        "key": "road_upgrade", "name": "路网提档升级", "verb": "推进", "count_unit": "条",
        "fields": [
            {"key": "road", "label": "道路名称", "kind": "text", "required": true},
            {"key": "km", "label": "里程", "kind": "decimal", "scale": 2, "min": "0", "max": "500", "unit": "公里", "phrase": "提档升级"},
            {"key": "status", "label": "进度", "kind": "choice", "options": ["开工", "完工"], "breakdown": true}
        ],
        "cadences": [{"label": "每季度报进度", "cadence": "quarterly", "org_kinds": ["township"], "grace_days": 5}]
    });
    let (s, v) = app.post("/api/v1/ledger-types", &admin, def.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["version"], 1);
    let (s, v) = app.post("/api/v1/ledger-types", &admin, def.clone()).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["code"], "ledger_type.exists");

    // A recorder may not define types.
    let rec = app.token("xunzhuang").await;
    let (s, _) = app.post("/api/v1/ledger-types", &rec, json!({"key": "x_type", "name": "x", "fields": [{"key": "a", "label": "a", "kind": "text"}]})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let bad = json!({"key": "Bad Key", "name": "", "fields": [
        {"key": "a", "label": "A", "kind": "choice", "options": []},
        {"key": "a", "label": "B", "kind": "integer", "min": 5, "max": 1}
    ]});
    let (s, v) = app.post("/api/v1/ledger-types", &admin, bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let c: Vec<String> = codes(&v).into_iter().map(|x| x.1).collect();
    for code in [
        "ledger_type.bad_key",
        "ledger_type.bad_name",
        "field.no_options",
        "field.duplicate_key",
        "field.bad_range",
    ] {
        assert!(c.iter().any(|x| x == code), "missing {code} in {c:?}");
    }

    // Removing a field is refused; retiring it makes version 2, and old records keep version 1.
    let (s, r) = app.post("/api/v1/records", &admin, json!({"ledger_type": "road_upgrade", "org": "370828005", "occurred_on": "2026-05-01", "fields": {"road": "金鸡路", "km": "12.5", "status": "开工"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["fields"]["km"], "12.5");
    let mut removed = def.clone();
    removed["fields"].as_array_mut().unwrap().pop();
    let (s, v) = app
        .call(
            Method::PUT,
            "/api/v1/ledger-types/road_upgrade",
            Some(&admin),
            Some(removed),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&v)[0].1, "field.removed");
    let mut retired = def.clone();
    retired["fields"][2]["retired"] = json!(true);
    let (s, v) = app
        .call(
            Method::PUT,
            "/api/v1/ledger-types/road_upgrade",
            Some(&admin),
            Some(retired),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"], 2);
    let (_, old) = app
        .get(&format!("/api/v1/records/{}", r["id"]), &admin)
        .await;
    assert_eq!(old["type_version"], 1);
    assert_eq!(old["fields"]["status"], "开工");
    let (s, v) = app.post("/api/v1/records", &admin, json!({"ledger_type": "road_upgrade", "org": "370828005", "occurred_on": "2026-05-02", "fields": {"road": "金鸡路", "status": "完工"}})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        codes(&v)[0],
        ("status".to_string(), "field.retired".to_string())
    );
}

async fn bad_records_are_refused_whole(app: TestApp) {
    let t = app.token("jishu").await;
    let count = |v: &Value| v["total"].as_i64().unwrap();
    let (_, before) = app.get("/api/v1/records?limit=1", &t).await;
    let bad = json!({"ledger_type": "visit", "org": "370828005", "occurred_on": "2999-01-01",
        "fields": {"category": "路人", "households": "many", "topics": ["闲聊"], "visitors": [999999999], "nonsense": 1}});
    let (s, v) = app.post("/api/v1/records", &t, bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["code"], "validation");
    let c = codes(&v);
    for (field, code) in [
        ("category", "field.not_choice"),
        ("households", "field.not_integer"),
        ("topics", "field.not_choice"),
        ("nonsense", "field.unknown"),
        ("occurred_on", "record.future_date"),
    ] {
        assert!(
            c.contains(&(field.to_string(), code.to_string())),
            "missing {field}/{code} in {c:?}"
        );
    }
    // Unknown people are caught once the values themselves are valid.
    let (s, v) = app.post("/api/v1/records", &t, json!({"ledger_type": "visit", "org": "370828005", "occurred_on": "2026-05-01", "fields": {"category": "脱贫户", "households": 3, "visitors": [999999999]}})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        codes(&v),
        vec![("people".to_string(), "record.unknown_person".to_string())]
    );
    let (s, v) = app.post("/api/v1/records", &t, json!({"ledger_type": "no_such_type", "org": "370828005", "occurred_on": "2026-05-01", "fields": {}})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&v)[0].1, "record.unknown_type");
    let (s, _) = app
        .call(
            Method::POST,
            "/api/v1/records",
            Some(&t),
            Some(json!({"ledger_type": "visit"})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "malformed body is refused"
    );
    let (_, after) = app.get("/api/v1/records?limit=1", &t).await;
    assert_eq!(count(&before), count(&after), "nothing was written");

    let (s, r) = app.post("/api/v1/records", &t, json!({"ledger_type": "visit", "org": "370828005", "occurred_on": "2026-05-01", "fields": {"category": "脱贫户", "households": "3", "topics": "群众疾苦"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["fields"]["households"], 3);
    assert_eq!(r["fields"]["topics"], json!(["群众疾苦"]));
    let (_, after) = app.get("/api/v1/records?limit=1", &t).await;
    assert_eq!(count(&before) + 1, count(&after));

    // Voiding keeps the record but takes it out of lists and figures.
    let (s, v) = app
        .post(
            &format!("/api/v1/records/{}/void", r["id"]),
            &t,
            json!({"reason": ""}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/v1/records/{}/void", r["id"]),
            &t,
            json!({"reason": "重复登记"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["voided_at"].is_string());
    let (_, after_void) = app.get("/api/v1/records?limit=1", &t).await;
    assert_eq!(count(&before), count(&after_void));
}

async fn overdue_lists_missing_cadence_records(app: TestApp) {
    let t = app.token("jishu").await;
    let (_, v) = app
        .post(
            "/api/v1/orgs/370828005/children",
            &t,
            json!({"kind": "village", "name": "补录村", "established_on": "2020-01-01"}),
        )
        .await;
    let village = v["ref"].as_str().unwrap().to_string();
    let today = chrono::Utc::now().date_naive();
    // Far enough into a month that last month's 10-day grace is over.
    let as_of = if chrono::Datelike::day(&today) > 11 {
        today
    } else {
        today - chrono::Duration::days(15)
    };
    let (s, items) = app
        .get(&format!("/api/v1/overdue?org=370828005&as_of={as_of}"), &t)
        .await;
    assert_eq!(s, StatusCode::OK);
    let theme_overdue = |items: &Value| {
        items.as_array().unwrap().iter().any(|i| {
            i["org"]["ref"] == village.as_str()
                && i["ledger_type"] == "theme_day"
                && i["status"] == "overdue"
        })
    };
    assert!(
        theme_overdue(&items),
        "a new branch with no 主题党日 is overdue"
    );
    let last_month = taizhang_domain::period::Cadence::Monthly
        .period_containing(as_of)
        .ok()
        .and_then(|p| p.previous())
        .expect("the month before as_of is a platform period");
    let day = last_month.range().from + chrono::Duration::days(5);
    let (s, v) = app.post("/api/v1/records", &t, json!({"ledger_type": "theme_day", "org": village, "occurred_on": day, "fields": {"theme": "学习党章"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, items) = app
        .get(&format!("/api/v1/overdue?org=370828005&as_of={as_of}"), &t)
        .await;
    assert!(!theme_overdue(&items), "recorded, no longer overdue");
    // The quarterly 党课 rule only counts records whose meeting kind is 党课.
    let (s, _) = app.post("/api/v1/records", &t, json!({"ledger_type": "three_meetings", "org": village, "occurred_on": as_of, "fields": {"meeting_kind": "支部委员会", "topic": "研究工作"}})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, items) = app
        .get(&format!("/api/v1/overdue?org=370828005&as_of={as_of}"), &t)
        .await;
    let rules: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["org"]["ref"] == village.as_str() && i["status"] == "due")
        .map(|i| i["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"党课（每季度）"), "{rules:?}");
    assert!(!rules.contains(&"支部委员会（每月）"), "{rules:?}");
}

/// The options the built-in ledger types break their counts down by, over all sections (every
/// option is listed, with or without records): 31, and the six kinds of 志愿服务.
const BREAKDOWN_OPTIONS_CHECKED: usize = 37;

async fn bulletin_figures_open_to_their_records(app: TestApp) {
    let t = app.token("admin").await;
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(364);
    let (s, b) = app
        .get(
            &format!("/api/v1/bulletin?org=370828&from={from}&to={today}"),
            &t,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // The demo's records end today, so how many fall in the year depends on the day: the
    // database itself is the oracle.
    let in_year = app
        .count_raw(&format!(
            "SELECT COUNT(*) FROM ledger_records WHERE voided_at IS NULL AND occurred_on BETWEEN '{from}' AND '{today}'"
        ))
        .await;
    assert!(
        in_year > 1000,
        "the demo county has a year of records: {in_year}"
    );
    assert_eq!(b["total_records"].as_i64().unwrap(), in_year);
    assert!(b["sentences"][0]
        .as_str()
        .unwrap()
        .contains("金乡县共记录各类台账"));
    let total_of = |q: String| {
        let app = &app;
        let t = t.clone();
        async move {
            let (s, v) = app.get(&format!("/api/v1/records?limit=1&{q}"), &t).await;
            assert_eq!(s, StatusCode::OK, "{q}");
            v["total"].as_i64().unwrap()
        }
    };
    let mut checked = 0;
    for sec in b["sections"].as_array().unwrap() {
        let key = sec["type_key"].as_str().unwrap();
        let n = total_of(format!(
            "org=370828&ledger_type={key}&from={from}&to={today}"
        ))
        .await;
        assert_eq!(n, sec["records"].as_i64().unwrap(), "{key}");
        for o in sec["breakdown"].as_array().unwrap() {
            let n = total_of(format!(
                "org=370828&ledger_type={key}&from={from}&to={today}&field={}&option={}",
                o["field"].as_str().unwrap(),
                o["option"].as_str().unwrap()
            ))
            .await;
            assert_eq!(n, o["records"].as_i64().unwrap(), "{key} {}", o["option"]);
            checked += 1;
        }
        if sec["records"].as_i64().unwrap() > 0 {
            assert!(sec["sentence"]
                .as_str()
                .unwrap()
                .contains(sec["type_name"].as_str().unwrap()));
        }
    }
    assert_eq!(checked, BREAKDOWN_OPTIONS_CHECKED);
    let units = b["units"].as_array().unwrap();
    assert_eq!(
        units.len(),
        14,
        "13 towns and the organs committee are ranked"
    );
    let unit_sum: i64 = units.iter().map(|u| u["records"].as_i64().unwrap()).sum();
    assert_eq!(
        unit_sum,
        b["total_records"].as_i64().unwrap(),
        "every record sits under one child unit"
    );
    for u in units.iter().take(3) {
        let n = total_of(format!(
            "org={}&from={}&to={}",
            u["org"]["ref"].as_str().unwrap(),
            u["range"]["from"].as_str().unwrap(),
            u["range"]["to"].as_str().unwrap()
        ))
        .await;
        assert_eq!(n, u["records"].as_i64().unwrap());
    }
    assert!(units[0]["records"].as_i64() >= units[units.len() - 1]["records"].as_i64());

    // A town user gets its own bulletin, and the county's is out of its reach.
    let town = app.token("jishu").await;
    let (s, b) = app.get("/api/v1/bulletin", &town).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["org"]["name"], "鸡黍镇");
    let (s, _) = app.get("/api/v1/bulletin?org=370828", &town).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = app
        .get(
            "/api/v1/bulletin?org=370828&from=2026-05-01&to=2026-01-01",
            &t,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&v)[0].1, "period.reversed");
}

async fn bulletin_by_cross_link(app: TestApp) {
    let t = app.token("admin").await;
    let (s, links) = app.get("/api/v1/links?kind=dispatch", &t).await;
    assert_eq!(s, StatusCode::OK);
    let links = links.as_array().unwrap();
    assert!(!links.is_empty());
    assert!(links
        .iter()
        .all(|l| l["from_person"]["name"].is_string() && l["via_org"]["name"].is_string()));
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(364);
    let (s, b) = app
        .get(
            &format!("/api/v1/bulletin?org=370828&from={from}&to={today}&by=dispatch"),
            &t,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let villages: std::collections::HashSet<&str> = links
        .iter()
        .filter(|l| l["valid_to"].is_null())
        .map(|l| l["to_org"]["ref"].as_str().unwrap())
        .collect();
    let units = b["units"].as_array().unwrap();
    assert_eq!(
        units.len(),
        villages.len(),
        "one row per first-secretary village"
    );
    for u in units {
        assert!(villages.contains(u["org"]["ref"].as_str().unwrap()));
        assert!(u["via"].as_str().unwrap().len() > 1);
    }
    let unit_sum: i64 = units.iter().map(|u| u["records"].as_i64().unwrap()).sum();
    assert_eq!(unit_sum, b["total_records"].as_i64().unwrap());
    assert!(b["sentences"][0].as_str().unwrap().contains("派驻对象"));

    // Invalid links are refused with a reason.
    let (s, v) = app.post("/api/v1/links", &t, json!({"kind": "dispatch", "from_org": "370828001", "to_org": "370828005", "valid_from": "2026-01-01"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&v)[0].1, "link.needs_person");
    let (s, v) = app.post("/api/v1/links", &t, json!({"kind": "pairing", "from_org": "370828001", "to_org": "370828005", "valid_from": "2026-01-01", "valid_to": "2025-01-01"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&v)[0].1, "link.dates");
    let (s, v) = app.post("/api/v1/links", &t, json!({"kind": "pairing", "from_org": "370828001", "to_org": "370828005", "valid_from": "2026-01-01"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/v1/links/{}/end", v["id"]),
            &t,
            json!({"on": "2026-06-30"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["valid_to"], "2026-06-30");
    let (s, v) = app
        .post(
            &format!("/api/v1/links/{}/end", v["id"]),
            &t,
            json!({"on": "2030-01-01"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "an ended link cannot be reopened by moving its end"
    );
    assert_eq!(v["code"], "link.already_ended");
}

async fn audit_log_records_writes_for_the_auditor_only(app: TestApp) {
    let admin = app.token("admin").await;
    let (s, org) = app
        .post(
            "/api/v1/orgs/370828005/children",
            &admin,
            json!({"kind": "village", "name": "审计村"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/orgs/{}", org["ref"].as_str().unwrap()),
            Some(&admin),
            Some(json!({"name": "审计村二"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, p) = app
        .post(
            "/api/v1/people",
            &admin,
            json!({"name": "审计人", "org": "370828005", "id_number": "11010519491231002X"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    let (s, _) = app.get("/api/v1/audit", &admin).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the system administrator does not read the audit log"
    );
    let auditor = app.token("auditor").await;
    let (s, page) = app.get("/api/v1/audit?entity=org", &auditor).await;
    assert_eq!(s, StatusCode::OK);
    let rename = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["action"] == "rename"
                && e["entity_id"].as_str() == Some(org["id"].to_string().as_str())
        })
        .expect("rename audited");
    assert_eq!(rename["actor"], "admin");
    assert_eq!(rename["before"]["name"], "审计村");
    assert_eq!(rename["after"]["name"], "审计村二");
    let (_, people) = app.get("/api/v1/audit?entity=person", &auditor).await;
    let created = people["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entity_id"].as_str() == Some(p["id"].to_string().as_str()))
        .expect("person audited");
    assert_eq!(
        created["after"]["id_number"], "1101**********002X",
        "personal data is masked in the audit log"
    );
    let (_, logins) = app.get("/api/v1/audit?entity=session", &auditor).await;
    assert!(logins["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "login" && e["actor"] == "auditor"));
    // The auditor reads, and nothing else.
    let (s, _) = app.get("/api/v1/orgs/370828", &auditor).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let county = app.store.county_by_code("370828").await.unwrap();
    let verified = app.store.verify_audit_chain(county.id).await.unwrap();
    assert!(matches!(verified, Ok(n) if n > 10), "{verified:?}");
}
