//! Edited people and ended positions: each edit a new version with its history (phone masked)
//! and audit entry, stale, unchanged and out-of-scope edits refused with nothing changed, the
//! edit form keeping what was typed, and a position ended from the person's page — on every
//! backend.

use super::scope::{LIJI, XUNZHUANG};
use reqwest::StatusCode;
use serde_json::{json, Value};
use taizhang_testkit::{each_backend, field_codes, post_form, TestApp};

each_backend!(
    an_edit_makes_a_version_with_its_history,
    stale_unchanged_and_foreign_edits_change_nothing,
    a_bad_phone_on_the_page_keeps_what_was_typed,
    a_position_is_ended_from_the_person_page,
);

/// A person registered by 鸡黍镇's manager in 寻庄村, with a phone.
async fn registered(app: &TestApp, token: &str) -> i64 {
    let (s, p) = app
        .post(
            "/api/v1/people",
            token,
            json!({"name": "郭明远", "org": XUNZHUANG, "phone": "13805371111", "party_member": false}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["version"], 1);
    p["id"].as_i64().expect("id")
}

fn edit(version: i64, name: &str, org: &str, phone: Option<&str>, reason: &str) -> Value {
    json!({"version": version, "name": name, "org": org, "phone": phone, "party_member": false, "reason": reason})
}

async fn an_edit_makes_a_version_with_its_history(app: TestApp) {
    let town = app.token("jishu").await;
    let id = registered(&app, &town).await;
    let path = format!("/api/v1/people/{id}");

    let (s, v2) = app
        .call(
            reqwest::Method::PUT,
            &path,
            Some(&town),
            Some(edit(
                1,
                "郭明远",
                XUNZHUANG,
                Some("13905372222"),
                "换了手机号",
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["phone"], "139****2222");
    // Absent phone: kept as it is; moved to 李集村 and renamed.
    let (s, v3) = app
        .call(
            reqwest::Method::PUT,
            &path,
            Some(&town),
            Some(edit(2, "郭明源", LIJI, None, "姓名写错，实为李集村")),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v3}");
    assert_eq!(v3["version"], 3);
    assert_eq!(v3["name"], "郭明源");
    assert_eq!(v3["org"]["ref"], LIJI);
    assert_eq!(v3["phone"], "139****2222");

    let (s, h) = app.get(&format!("{path}/history"), &town).await;
    assert_eq!(s, StatusCode::OK, "{h}");
    let brief: Vec<(i64, String, String, String, Value, Value)> = h
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap_or(0),
                v["name"].as_str().unwrap_or("").to_string(),
                v["org"]["ref"].as_str().unwrap_or("").to_string(),
                v["phone"].as_str().unwrap_or("").to_string(),
                v["written_by"].clone(),
                v["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        brief,
        vec![
            (
                1,
                "郭明远".into(),
                XUNZHUANG.into(),
                "138****1111".into(),
                Value::Null,
                Value::Null
            ),
            (
                2,
                "郭明远".into(),
                XUNZHUANG.into(),
                "139****2222".into(),
                json!("jishu"),
                json!("换了手机号")
            ),
            (
                3,
                "郭明源".into(),
                LIJI.into(),
                "139****2222".into(),
                json!("jishu"),
                json!("姓名写错，实为李集村")
            ),
        ]
    );
    assert!(!h.to_string().contains("13805371111"), "no phone in clear");

    // The audit log: before and after of each edit, the phone masked.
    let auditor = app.token("auditor").await;
    let (s, log) = app
        .get("/api/v1/audit?entity=person&limit=200", &auditor)
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let edits: Vec<(Value, Value, Value, Value)> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "update" && e["entity_id"] == json!(id.to_string()))
        .map(|e| {
            (
                e["before"]["phone"].clone(),
                e["after"]["phone"].clone(),
                e["after"]["name"].clone(),
                e["after"]["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        edits,
        vec![
            (
                json!("139****2222"),
                json!("139****2222"),
                json!("郭明源"),
                json!("姓名写错，实为李集村")
            ),
            (
                json!("138****1111"),
                json!("139****2222"),
                json!("郭明远"),
                json!("换了手机号")
            ),
        ]
    );
    assert!(!log.to_string().contains("13905372222"));

    // The person's page shows the history with the phone masked.
    let cookie = app.browser_login("jishu").await;
    let (s, page) = app.page(&format!("/people/{id}"), &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains(&format!("href=\"/people/{id}/edit\"")),
        "{page}"
    );
    assert!(page.contains("<h2>修改记录</h2>"));
    assert!(page.contains("原因：换了手机号"));
    assert!(
        page.contains("电话：<del>138****1111</del> → <ins>139****2222</ins>"),
        "{}",
        page.split("<h2>修改记录").nth(1).unwrap_or(&page)
    );
    assert!(page.contains("姓名：<del>郭明远</del> → <ins>郭明源</ins>"));
    assert!(!page.contains("13905372222"));
}

async fn stale_unchanged_and_foreign_edits_change_nothing(app: TestApp) {
    let town = app.token("jishu").await;
    let id = registered(&app, &town).await;
    let path = format!("/api/v1/people/{id}");
    let put = |token: String, body: Value| {
        let app = &app;
        let path = path.clone();
        async move {
            app.call(reqwest::Method::PUT, &path, Some(&token), Some(body))
                .await
        }
    };
    let (s, _) = put(
        town.clone(),
        edit(1, "郭明远", XUNZHUANG, Some("13905372222"), "换号"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // Opened at version 1 before that edit: refused, not overwritten.
    let (s, body) = put(town.clone(), edit(1, "郭明志", XUNZHUANG, None, "改名")).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "person.stale");
    assert_eq!(
        body["message"],
        "该人员信息在您打开后已被修改（现为第2版），请重新打开后再修改"
    );
    // Nothing changed; a bad phone and no reason, told together.
    let (s, body) = put(town.clone(), edit(2, "郭明远", XUNZHUANG, None, "没改")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_codes(&body),
        [("person".to_string(), "person.unchanged".to_string())]
    );
    let (s, body) = put(
        town.clone(),
        edit(2, "郭明远", XUNZHUANG, Some("12345"), ""),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut fields: Vec<String> = field_codes(&body).into_iter().map(|c| c.0).collect();
    fields.sort();
    assert_eq!(fields, ["phone", "reason"], "{body}");

    // Another town's manager: not found, and the refusal is audited; a viewer may not.
    let auditor = app.token("auditor").await;
    let (s, _) = put(
        app.token("gaohe").await,
        edit(2, "郭明志", XUNZHUANG, None, "外镇"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, log) = app
        .get("/api/v1/audit?entity=request&limit=500", &auditor)
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let refused: Vec<(Value, Value)> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "refused" && e["entity_id"] == json!(format!("PUT {path}")))
        .map(|e| (e["actor"].clone(), e["after"]["reason"].clone()))
        .collect();
    assert_eq!(refused, vec![(json!("gaohe"), json!("not_found"))], "{log}");
    let (s, _) = put(
        app.token("viewer").await,
        edit(2, "郭明志", XUNZHUANG, None, "查看员"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The village's recorder may read people but not edit them.
    let (s, _) = put(
        app.token("xunzhuang").await,
        edit(2, "郭明志", XUNZHUANG, None, "填报员"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (_, now) = app.get(&path, &town).await;
    assert_eq!(now["version"], 2);
    assert_eq!(now["name"], "郭明远");
    let (_, h) = app.get(&format!("{path}/history"), &town).await;
    assert_eq!(h.as_array().map(Vec::len), Some(2));
}

async fn a_bad_phone_on_the_page_keeps_what_was_typed(app: TestApp) {
    let town = app.token("jishu").await;
    let id = registered(&app, &town).await;
    let cookie = app.browser_login("jishu").await;
    let action = format!("/people/{id}/edit");
    let (s, form) = app.page(&action, &cookie).await;
    assert_eq!(s, StatusCode::OK, "{form}");
    assert!(form.contains("name=\"_version\" value=\"1\""));
    assert!(form.contains("value=\"郭明远\""));
    assert!(form.contains("现为 138****1111，留空不变"));
    assert!(
        !form.contains("13805371111"),
        "the form never holds the number whole"
    );
    let csrf = TestApp::csrf_of(&form);
    let r = post_form(
        &app,
        &action,
        &cookie,
        &[
            ("_csrf", &csrf),
            ("_version", "1"),
            ("name", "郭明远"),
            ("org", XUNZHUANG),
            ("phone", "1380537"),
            ("_reason", "更正电话"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("value=\"1380537\""),
        "the typed phone is kept"
    );
    assert!(
        r.body.contains(">更正电话</textarea>"),
        "the reason is kept"
    );
    let beside = r
        .body
        .split("id=\"pphone\"")
        .nth(1)
        .and_then(|s| s.split("<label for=\"pgender\"").next())
        .unwrap_or_default();
    assert!(
        beside.contains("<div class=\"field-error\">"),
        "the message is beside the phone: {beside}"
    );
    let r = post_form(
        &app,
        &action,
        &cookie,
        &[
            ("_csrf", &csrf),
            ("_version", "1"),
            ("name", "郭明远"),
            ("org", XUNZHUANG),
            ("phone", "13805373333"),
            ("_reason", "更正电话"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/people/{id}?done=saved").as_str())
    );
    let (_, now) = app.get(&format!("/api/v1/people/{id}"), &town).await;
    assert_eq!(now["phone"], "138****3333");
    assert_eq!(now["version"], 2);
}

async fn a_position_is_ended_from_the_person_page(app: TestApp) {
    let town = app.token("jishu").await;
    let id = registered(&app, &town).await;
    let (s, pos) = app
        .post(
            "/api/v1/positions",
            &town,
            json!({"person_id": id, "org": XUNZHUANG, "title": "secretary", "valid_from": "2024-03-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{pos}");
    let pos_id = pos["id"].as_i64().expect("id");
    let cookie = app.browser_login("jishu").await;
    let (_, page) = app.page(&format!("/people/{id}"), &cookie).await;
    let end = format!("/people/{id}/positions/{pos_id}/end");
    assert!(page.contains(&format!("href=\"{end}\"")), "{page}");

    let (s, confirm) = app.page(&end, &cookie).await;
    assert_eq!(s, StatusCode::OK, "{confirm}");
    let today = taizhang_store::today().to_string();
    assert!(
        confirm.contains("将结束 <strong>郭明远</strong>"),
        "{confirm}"
    );
    assert!(confirm.contains("（自2024-03-01起）"));
    assert!(confirm.contains(&format!("name=\"on\" value=\"{today}\" min=\"2024-03-01\"")));
    let csrf = TestApp::csrf_of(&confirm);
    // Before the start: refused beside the date, nothing ended.
    let r = post_form(
        &app,
        &end,
        &cookie,
        &[("_csrf", &csrf), ("on", "2024-02-01")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r
        .body
        .contains("<div class=\"field-error\">任职结束日期不能早于开始日期</div>"));
    assert!(r.body.contains("value=\"2024-02-01\""));
    let r = post_form(&app, &end, &cookie, &[("_csrf", &csrf), ("on", &today)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/people/{id}?done=ended").as_str())
    );
    let (_, page) = app.page(&format!("/people/{id}?done=ended"), &cookie).await;
    assert!(page.contains("已结束"));
    assert!(
        !page.contains(&format!("href=\"{end}\"")),
        "an ended position is not offered again"
    );

    let (_, p) = app.get(&format!("/api/v1/people/{id}"), &town).await;
    let held: Vec<Value> = p["positions"]
        .as_array()
        .expect("positions")
        .iter()
        .filter(|x| x["valid_to"].is_null())
        .cloned()
        .collect();
    assert!(held.is_empty(), "{p}");
    assert_eq!(p["positions"][0]["valid_to"], json!(today));
    // Audited as an end, by whom.
    let auditor = app.token("auditor").await;
    let (_, log) = app
        .get("/api/v1/audit?entity=position&limit=200", &auditor)
        .await;
    let ends: Vec<(Value, Value)> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "end" && e["entity_id"] == json!(pos_id.to_string()))
        .map(|e| (e["actor"].clone(), e["after"]["valid_to"].clone()))
        .collect();
    assert_eq!(ends, vec![(json!("jishu"), json!(today))]);
}
