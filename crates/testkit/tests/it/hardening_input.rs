//! Bounded input (issue 9, items 2, 3 and 12): dates outside the platform's window, integers
//! that would overflow a bulletin's sums, unbounded or unclean text and bodies of the wrong JSON
//! shape are refused where they enter, with a stable code, and nothing is stored.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use taizhang_testkit::{each_backend, field_codes as codes, TestApp};

each_backend!(
    extreme_dates_in_queries_are_refused,
    extreme_dates_in_bodies_are_refused_and_not_stored,
    integer_fields_are_bounded_and_sums_never_overflow,
    old_out_of_bound_facts_do_not_break_the_bulletin,
    text_is_bounded_and_names_are_clean,
    bodies_of_the_wrong_shape_are_refused,
);

const WINDOW_MESSAGE: &str = "日期须在1949年10月1日至2100年12月31日之间";

fn assert_out_of_window(status: StatusCode, v: &Value, field: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "validation", "{v}");
    assert_eq!(
        codes(v),
        vec![(field.to_string(), "date_out_of_range".to_string())],
        "{v}"
    );
    assert_eq!(v["message"], WINDOW_MESSAGE, "{v}");
}

async fn extreme_dates_in_queries_are_refused(app: TestApp) {
    let t = app.token("admin").await;
    for (path, field) in [
        ("/api/v1/overdue?as_of=-262143-01-15", "as_of"),
        ("/api/v1/overdue?as_of=%2B262142-12-15", "as_of"),
        (
            "/api/v1/bulletin?from=%2B262142-12-01&to=%2B262142-12-31",
            "from",
        ),
        ("/api/v1/bulletin?from=1949-09-30&to=1949-12-31", "from"),
        ("/api/v1/bulletin?from=2100-12-01&to=2101-01-01", "to"),
        ("/api/v1/records?from=-262143-01-01", "from"),
        ("/api/v1/records?to=%2B262142-01-01", "to"),
    ] {
        let (s, v) = app.get(path, &t).await;
        assert_out_of_window(s, &v, field);
    }
    // The window's own ends are accepted.
    let (s, v) = app
        .get("/api/v1/bulletin?from=1949-10-01&to=1959-09-30", &t)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.get("/api/v1/overdue?as_of=2100-12-31", &t).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The bulletin page answers with a Chinese page that names the window.
    let cookie = app.browser_login("admin").await;
    for q in [
        "from=%2B262142-12-01&to=%2B262142-12-31",
        "from=-262143-01-15&to=2026-01-01",
    ] {
        let (s, html) = app.page(&format!("/bulletin?{q}"), &cookie).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
        assert!(html.contains("输入有误"), "{html}");
        assert!(html.contains(WINDOW_MESSAGE), "{html}");
    }
    let (s, html) = app.page("/records?from=-262143-01-15", &cookie).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(WINDOW_MESSAGE), "{html}");
}

async fn extreme_dates_in_bodies_are_refused_and_not_stored(app: TestApp) {
    let t = app.token("admin").await;
    let orgs = "SELECT COUNT(*) FROM orgs";
    let links = "SELECT COUNT(*) FROM org_links";
    let positions = "SELECT COUNT(*) FROM positions";
    let before = (
        app.count_raw(orgs).await,
        app.count_raw(links).await,
        app.count_raw(positions).await,
    );

    let (s, v) = app
        .post(
            "/api/v1/orgs/370828005/children",
            &t,
            json!({"kind": "village", "name": "远古村", "established_on": "-262143-01-01"}),
        )
        .await;
    assert_out_of_window(s, &v, "established_on");
    let (s, v) = app
        .post(
            "/api/v1/links",
            &t,
            json!({"kind": "pairing", "from_org": "370828001", "to_org": "370828005", "valid_from": "-262143-01-01"}),
        )
        .await;
    assert_out_of_window(s, &v, "valid_from");
    let (s, v) = app
        .post(
            "/api/v1/links",
            &t,
            json!({"kind": "pairing", "from_org": "370828001", "to_org": "370828005", "valid_from": "2026-01-01", "valid_to": "+262142-12-31"}),
        )
        .await;
    assert_out_of_window(s, &v, "valid_to");
    let (_, people) = app.get("/api/v1/people?org=370828005&limit=1", &t).await;
    let person = people["people"][0]["id"].clone();
    let (s, v) = app
        .post(
            "/api/v1/positions",
            &t,
            json!({"person_id": person, "org": "370828005", "title": "committee_member", "valid_from": "1900-01-01"}),
        )
        .await;
    assert_out_of_window(s, &v, "valid_from");
    assert_eq!(
        (
            app.count_raw(orgs).await,
            app.count_raw(links).await,
            app.count_raw(positions).await,
        ),
        before,
        "nothing was stored"
    );

    // Moving, dissolving and ending take a date in the window too, and change nothing otherwise.
    let link = new_pairing(&app, &t).await;
    for (path, body) in [
        (
            format!("/api/v1/links/{}/end", link["id"]),
            json!({"on": "+262142-01-01"}),
        ),
        (
            "/api/v1/orgs/370828005/dissolve".to_string(),
            json!({"on": "-262143-01-01"}),
        ),
        (
            "/api/v1/orgs/370828005/move".to_string(),
            json!({"parent": "370828002", "on": "-262143-01-01"}),
        ),
    ] {
        let (s, v) = app.post(&path, &t, body).await;
        assert_out_of_window(s, &v, "on");
    }
    let open = format!(
        "SELECT COUNT(*) FROM org_links WHERE id = {} AND valid_to IS NULL",
        link["id"]
    );
    assert_eq!(app.count_raw(&open).await, 1, "the link is still open");
    assert_eq!(
        app.count_raw(
            "SELECT COUNT(*) FROM orgs WHERE code = '370828005' AND dissolved_on IS NULL"
        )
        .await,
        1
    );

    // A date field of a record is held to the window as well.
    let def = json!({"key": "date_probe", "name": "日期测试", "fields": [
        {"key": "held_on", "label": "举办日期", "kind": "date", "required": true}]});
    let (s, v) = app.post("/api/v1/ledger-types", &t, def).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app.post("/api/v1/records", &t, json!({"ledger_type": "date_probe", "org": "370828005", "occurred_on": "2026-01-05", "fields": {"held_on": "+262142-01-01"}})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        codes(&v),
        vec![("held_on".to_string(), "date_out_of_range".to_string())]
    );
}

/// A new 结对 from 金乡街道 to 鸡黍镇, open since 2026-01-01.
async fn new_pairing(app: &TestApp, t: &str) -> Value {
    let pairing = json!({"kind": "pairing", "from_org": "370828001", "to_org": "370828005", "valid_from": "2026-01-01"});
    let (s, link) = app.post("/api/v1/links", t, pairing).await;
    assert_eq!(s, StatusCode::CREATED, "{link}");
    link
}

/// A ledger type whose integer field states no bounds, summed by bulletins.
async fn sum_probe_type(app: &TestApp, t: &str) {
    let def = json!({"key": "sum_probe", "name": "求和测试", "fields": [
        {"key": "n", "label": "人数", "kind": "integer", "unit": "人", "phrase": "参与"}]});
    let (s, v) = app.post("/api/v1/ledger-types", t, def).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

async fn post_probe(app: &TestApp, t: &str, n: Value) -> (StatusCode, Value) {
    app.post(
        "/api/v1/records",
        t,
        json!({"ledger_type": "sum_probe", "org": "370828005", "occurred_on": "2025-06-10", "fields": {"n": n}}),
    )
    .await
}

/// The probe's sum in the June 2025 bulletin of 鸡黍镇.
async fn probe_sum(app: &TestApp, t: &str) -> (StatusCode, Value) {
    let (s, b) = app
        .get(
            "/api/v1/bulletin?org=370828005&from=2025-06-01&to=2025-06-30",
            t,
        )
        .await;
    if s != StatusCode::OK {
        return (s, b);
    }
    let section = b["sections"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["type_key"] == "sum_probe"))
        .cloned()
        .unwrap_or(Value::Null);
    (s, section["sums"][0]["total"].clone())
}

async fn integer_fields_are_bounded_and_sums_never_overflow(app: TestApp) {
    let t = app.token("admin").await;
    sum_probe_type(&app, &t).await;
    let records = "SELECT COUNT(*) FROM ledger_records";
    let before = app.count_raw(records).await;
    for n in [json!(1_000_000_001i64), json!(i64::MAX), json!(-1)] {
        let (s, v) = post_probe(&app, &t, n.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{n}: {v}");
        let code = if n == json!(-1) {
            "field.below_min"
        } else {
            "field.above_max"
        };
        assert_eq!(codes(&v), vec![("n".to_string(), code.to_string())]);
    }
    let (_, v) = post_probe(&app, &t, json!(1_000_000_001i64)).await;
    assert_eq!(
        v["fields"][0]["message"], "“人数”不能大于1000000000",
        "the message names the bound"
    );
    assert_eq!(app.count_raw(records).await, before, "nothing was stored");

    // At the bound, two records sum exactly.
    for _ in 0..2 {
        let (s, v) = post_probe(&app, &t, json!(1_000_000_000i64)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    assert_eq!(
        probe_sum(&app, &t).await,
        (StatusCode::OK, json!("2000000000"))
    );

    // A type may narrow the bound, not widen it.
    let wide = json!({"key": "wide_probe", "name": "宽范围", "fields": [
        {"key": "n", "label": "人数", "kind": "integer", "max": i64::MAX, "unit": "人"},
        {"key": "m", "label": "金额", "kind": "decimal", "scale": 2, "min": "-99999999999", "unit": "元"}]});
    let (s, v) = app.post("/api/v1/ledger-types", &t, wide).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        codes(&v),
        vec![
            ("fields[0].max".to_string(), "field.bad_range".to_string()),
            ("fields[1].min".to_string(), "field.bad_range".to_string()),
        ]
    );
}

async fn old_out_of_bound_facts_do_not_break_the_bulletin(app: TestApp) {
    let t = app.token("admin").await;
    sum_probe_type(&app, &t).await;
    for _ in 0..3 {
        let (s, v) = post_probe(&app, &t, json!(5)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    assert_eq!(probe_sum(&app, &t).await, (StatusCode::OK, json!("15")));
    // Values stored before the bound existed, past what an i64 sum can hold.
    app.execute_raw(
        "UPDATE record_facts SET num_value = 9223372036854775807 WHERE field_key = 'n' AND option_value IS NULL",
    )
    .await;
    // Such values reach the rollups the way old data does: the migration that adds the
    // rollups fills them from the records, as a rebuild does.
    app.store.rebuild_rollups(None).await.unwrap();
    assert_eq!(
        probe_sum(&app, &t).await,
        (StatusCode::OK, json!(i64::MAX.to_string())),
        "a sum too large for the figure is shown at its largest value"
    );
    app.execute_raw(
        "UPDATE record_facts SET num_value = -9223372036854775808 WHERE field_key = 'n' AND option_value IS NULL",
    )
    .await;
    app.store.rebuild_rollups(None).await.unwrap();
    assert_eq!(
        probe_sum(&app, &t).await,
        (StatusCode::OK, json!(i64::MIN.to_string()))
    );
    let cookie = app.browser_login("admin").await;
    let (s, html) = app
        .page(
            "/bulletin?org=370828005&from=2025-06-01&to=2025-06-30",
            &cookie,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("求和测试"), "{html}");
}

/// Sends `body` and checks that it is refused with exactly these field errors; the answer.
async fn refused(
    app: &TestApp,
    (method, path): (Method, &str),
    token: &str,
    body: Value,
    expected: &[(&str, &str)],
) -> Value {
    let (s, v) = app.call(method, path, Some(token), Some(body)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .collect();
    assert_eq!(codes(&v), expected, "{path}: {v}");
    v
}

async fn text_is_bounded_and_names_are_clean(app: TestApp) {
    let t = app.token("admin").await;
    let post = |path| (Method::POST, path);
    let links = "SELECT COUNT(*) FROM org_links";
    let before = app.count_raw(links).await;
    let link = |note: String| json!({"kind": "pairing", "from_org": "370828001", "to_org": "370828005", "valid_from": "2026-01-01", "note": note});
    let v = refused(
        &app,
        post("/api/v1/links"),
        &t,
        link("注".repeat(501)),
        &[("note", "too_long")],
    )
    .await;
    assert_eq!(v["fields"][0]["message"], "“备注”不能超过500个字");
    assert_eq!(app.count_raw(links).await, before, "nothing was stored");
    // A multi-line note keeps its line breaks; 500 characters are accepted.
    let (s, v) = app
        .post(
            "/api/v1/links",
            &t,
            link(format!("第一行\n{}", "注".repeat(496))),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["note"].as_str().unwrap().chars().count(), 500);

    let people = "SELECT COUNT(*) FROM people";
    let before = app.count_raw(people).await;
    for name in [
        "张\u{0}三",
        "张\u{7}三",
        "\u{202E}三张",
        "张\u{2066}三",
        "张\u{85}三",
    ] {
        let person = json!({"name": name, "org": "370828005"});
        refused(
            &app,
            post("/api/v1/people"),
            &t,
            person,
            &[("name", "bad_chars")],
        )
        .await;
    }
    assert_eq!(app.count_raw(people).await, before, "nothing was stored");
    let person = json!({"name": "张".repeat(31), "org": "370828005"});
    let v = refused(
        &app,
        post("/api/v1/people"),
        &t,
        person,
        &[("name", "too_long")],
    )
    .await;
    assert_eq!(v["fields"][0]["message"], "“姓名”不能超过30个字");

    // Organisation names, renames, ledger-type labels and options, account names, void reasons.
    let bidi = &[("name", "bad_chars")];
    let org = json!({"kind": "village", "name": "\u{202E}村新"});
    refused(&app, post("/api/v1/orgs/370828005/children"), &t, org, bidi).await;
    let rename = (Method::PATCH, "/api/v1/orgs/370828005");
    refused(&app, rename, &t, json!({"name": "鸡黍镇\u{202E}"}), bidi).await;
    let def = json!({"key": "text_probe", "name": "文本\u{202E}测试", "fields": [
        {"key": "a", "label": "选\u{7}项", "kind": "choice", "options": ["甲", "乙\u{202E}", "丙".repeat(41)]}]});
    let expected = [
        ("name", "bad_chars"),
        ("fields[0].label", "bad_chars"),
        ("fields[0].options[1]", "bad_chars"),
        ("fields[0].options[2]", "too_long"),
    ];
    refused(&app, post("/api/v1/ledger-types"), &t, def, &expected).await;
    let sec = app.token("anquan").await;
    let account = json!({"username": "probe.user", "display_name": "王\u{202E}五", "role": "viewer", "org": "370828005"});
    refused(
        &app,
        post("/api/v1/users"),
        &sec,
        account,
        &[("display_name", "bad_chars")],
    )
    .await;

    let (_, page) = app.get("/api/v1/records?org=370828005&limit=1", &t).await;
    let record = page["records"][0]["id"].clone();
    let void = format!("/api/v1/records/{record}/void");
    let reason = json!({"reason": "误".repeat(201)});
    refused(&app, post(&void), &t, reason, &[("reason", "too_long")]).await;
    let (_, r) = app.get(&format!("/api/v1/records/{record}"), &t).await;
    assert!(r["voided_at"].is_null(), "the record is not voided");

    // Search text is bounded as well.
    let (s, v) = app
        .get(&format!("/api/v1/people?q={}", "张".repeat(61)), &t)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(codes(&v), vec![("q".into(), "too_long".into())]);

    // The document states the bounds it enforces.
    let (_, doc) = app.get("/api/v1/openapi.json", &t).await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["NewLink"]["properties"]["note"]["maxLength"], 500);
    assert_eq!(schemas["NewPerson"]["properties"]["name"]["maxLength"], 30);
    assert_eq!(schemas["NewOrg"]["properties"]["name"]["maxLength"], 60);
    assert_eq!(
        schemas["VoidRequest"]["properties"]["reason"]["maxLength"],
        200
    );
    assert_eq!(
        schemas["NewAccount"]["properties"]["display_name"]["maxLength"],
        30
    );
}

async fn bodies_of_the_wrong_shape_are_refused(app: TestApp) {
    let t = app.token("admin").await;
    let link = new_pairing(&app, &t).await;
    let end = format!("/api/v1/links/{}/end", link["id"]);
    for body in [
        json!([]),
        json!(["2026-06-30"]),
        json!("x"),
        json!(1),
        json!(null),
    ] {
        let (s, v) = app.post(&end, &t, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["code"], "bad_request", "{body}: {v}");
        assert_eq!(v["message"], "请求内容应为JSON对象", "{body}: {v}");
    }
    let open = format!(
        "SELECT COUNT(*) FROM org_links WHERE id = {} AND valid_to IS NULL",
        link["id"]
    );
    assert_eq!(app.count_raw(&open).await, 1, "the link is unchanged");
    // Other bodies too: a person, a void, an organisation's dissolution.
    for (path, body) in [
        ("/api/v1/people", json!([["张三", "370828005"]])),
        ("/api/v1/orgs/370828005/dissolve", json!([])),
        ("/api/v1/records/1/void", json!(["理由"])),
    ] {
        let (s, v) = app.post(path, &t, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
        assert_eq!(v["code"], "bad_request", "{path}: {v}");
    }
    // An object is still taken, with or without its optional fields.
    let (s, v) = app.post(&end, &t, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
