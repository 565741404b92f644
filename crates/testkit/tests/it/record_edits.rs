//! Corrected records: each correction a new version with its history and audit entry, the
//! figures counting the current version (rollups equal to a rebuild), stale and bad corrections
//! refused with nothing changed, and the correction form on the record's page — on every backend.

use super::pages::{browser_fields, post_multipart, Part};
use super::scope::{LIJI, OWN_TOWN, XUNZHUANG};
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};
use taizhang_domain::bulletin::Grouping;
use taizhang_domain::period::DateRange;
use taizhang_store::{today, Actor, FigureSource};
use taizhang_testkit::{each_backend, field_codes, TestApp};

each_backend!(
    a_correction_makes_a_version_that_the_figures_count,
    stale_and_bad_corrections_change_nothing,
    a_record_is_corrected_through_its_page,
);

fn visit(day: &str, households: i64) -> Value {
    json!({
        "ledger_type": "visit",
        "org": XUNZHUANG,
        "occurred_on": day,
        "fields": {"category": "党员干部", "topics": ["群众疾苦"], "households": households, "notes": "入户了解生产情况"}
    })
}

fn edit(version: i64, org: &str, day: &str, households: i64, reason: &str) -> Value {
    json!({
        "version": version,
        "org": org,
        "occurred_on": day,
        "fields": {"category": "党员干部", "topics": ["群众疾苦"], "households": households, "notes": "入户了解生产情况"},
        "reason": reason
    })
}

/// 走访户数 summed under `org` over the last 100 days, from the rollups, after checking that the
/// records give the same figures.
async fn households(app: &TestApp, actor: &Actor, org: &str) -> i64 {
    let t = app.store.ledger_type(actor, "visit").await.expect("type");
    let r = DateRange::new(today() - Duration::days(100), today()).expect("range");
    let (_, from_rollups) = app
        .store
        .bulletin_figures(actor, org, r, Grouping::Children, FigureSource::Rollups)
        .await
        .expect("rollups");
    let (_, from_records) = app
        .store
        .bulletin_figures(actor, org, r, Grouping::Children, FigureSource::Records)
        .await
        .expect("records");
    assert_eq!(from_rollups, from_records, "figures of {org}");
    from_rollups
        .sums
        .get(&(t.id.get(), "households".to_string()))
        .copied()
        .unwrap_or(0)
}

async fn a_correction_makes_a_version_that_the_figures_count(app: TestApp) {
    let admin = app.actor("admin").await;
    let county = app.store.county_by_code("370828").await.expect("county");
    let recorder = app.token("xunzhuang").await;
    let town = app.token("jishu").await;
    let day = (today() - Duration::days(3)).to_string();
    let earlier = (today() - Duration::days(45)).to_string();
    let (xun0, liji0, town0) = (
        households(&app, &admin, XUNZHUANG).await,
        households(&app, &admin, LIJI).await,
        households(&app, &admin, OWN_TOWN).await,
    );

    let (s, rec) = app.post("/api/v1/records", &recorder, visit(&day, 5)).await;
    assert_eq!(s, StatusCode::CREATED, "{rec}");
    assert_eq!(rec["version"], 1);
    let id = rec["id"].as_i64().expect("id");
    let path = format!("/api/v1/records/{id}");
    assert_eq!(households(&app, &admin, XUNZHUANG).await, xun0 + 5);

    // The number corrected by the recorder.
    let (s, v2) = app
        .call(
            reqwest::Method::PUT,
            &path,
            Some(&recorder),
            Some(edit(1, XUNZHUANG, &day, 8, "户数填错")),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["fields"]["households"], 8);
    assert_eq!(v2["edited_by"], "xunzhuang");
    assert_eq!(households(&app, &admin, XUNZHUANG).await, xun0 + 8);

    // Moved to another village and month by the township: out of one cell, into another.
    let (s, v3) = app
        .call(
            reqwest::Method::PUT,
            &path,
            Some(&town),
            Some(edit(2, LIJI, &earlier, 8, "记错了村和日期")),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v3}");
    assert_eq!(v3["org"]["ref"], LIJI);
    assert_eq!(households(&app, &admin, XUNZHUANG).await, xun0);
    assert_eq!(households(&app, &admin, LIJI).await, liji0 + 8);
    assert_eq!(households(&app, &admin, OWN_TOWN).await, town0 + 8);
    let kept = app.store.rollup_dump(county.id.get()).await.expect("dump");
    app.store
        .rebuild_rollups(Some("370828"))
        .await
        .expect("rebuild");
    assert_eq!(
        app.store.rollup_dump(county.id.get()).await.expect("dump"),
        kept,
        "the rollups after two corrections equal a rebuild from the records"
    );

    // The history: every version, who wrote it and why.
    let (s, h) = app.get(&format!("{path}/history"), &town).await;
    assert_eq!(s, StatusCode::OK, "{h}");
    let brief: Vec<(i64, String, Value, i64, String)> = h
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap_or(0),
                v["written_by"].as_str().unwrap_or("").to_string(),
                v["reason"].clone(),
                v["fields"]["households"].as_i64().unwrap_or(0),
                v["org"]["ref"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        brief,
        vec![
            (1, "xunzhuang".into(), Value::Null, 5, XUNZHUANG.into()),
            (
                2,
                "xunzhuang".into(),
                json!("户数填错"),
                8,
                XUNZHUANG.into()
            ),
            (3, "jishu".into(), json!("记错了村和日期"), 8, LIJI.into()),
        ]
    );

    // Each correction is in the audit log with its before and after.
    let auditor = app.token("auditor").await;
    let (s, log) = app
        .get("/api/v1/audit?entity=record&limit=200", &auditor)
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let edits: Vec<(Value, Value, Value)> = log
        .get("entries")
        .and_then(Value::as_array)
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "edit" && e["entity_id"] == json!(id.to_string()))
        .map(|e| {
            (
                e["before"]["fields"]["households"].clone(),
                e["after"]["fields"]["households"].clone(),
                e["after"]["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        edits,
        vec![
            (json!(8), json!(8), json!("记错了村和日期")),
            (json!(5), json!(8), json!("户数填错")),
        ]
    );
}

async fn stale_and_bad_corrections_change_nothing(app: TestApp) {
    let recorder = app.token("xunzhuang").await;
    let day = (today() - Duration::days(2)).to_string();
    let (s, rec) = app.post("/api/v1/records", &recorder, visit(&day, 4)).await;
    assert_eq!(s, StatusCode::CREATED, "{rec}");
    let id = rec["id"].as_i64().expect("id");
    let path = format!("/api/v1/records/{id}");
    let put = |token: String, body: Value| {
        let app = &app;
        let path = path.clone();
        async move {
            app.call(reqwest::Method::PUT, &path, Some(&token), Some(body))
                .await
        }
    };
    let (s, _) = put(recorder.clone(), edit(1, XUNZHUANG, &day, 6, "更正")).await;
    assert_eq!(s, StatusCode::OK);

    // Someone opened version 1 before that correction: refused, not overwritten.
    let (s, body) = put(recorder.clone(), edit(1, XUNZHUANG, &day, 9, "再次更正")).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "record.stale", "{body}");
    // No reason, a wrong number, nothing changed, another county's organisation.
    let (s, body) = put(recorder.clone(), edit(2, XUNZHUANG, &day, 0, "")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut codes: Vec<String> = field_codes(&body).into_iter().map(|c| c.0).collect();
    codes.sort();
    assert_eq!(codes, ["households", "reason"], "{body}");
    let (s, body) = put(recorder.clone(), edit(2, XUNZHUANG, &day, 6, "没改")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_codes(&body),
        [("fields".to_string(), "record.unchanged".to_string())]
    );
    // Out of the recorder's scope: the other village is not found; read-only roles may not.
    let (s, body) = put(recorder.clone(), edit(2, LIJI, &day, 7, "换村")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_codes(&body),
        [("org".to_string(), "record.unknown_org".to_string())]
    );
    let (s, _) = put(
        app.token("viewer").await,
        edit(2, XUNZHUANG, &day, 7, "查看员"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = put(
        app.token("gaohe").await,
        edit(2, XUNZHUANG, &day, 7, "外镇"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A voided record is not corrected.
    let (s, _) = app
        .post(
            &format!("{path}/void"),
            &recorder,
            json!({"reason": "重复登记"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = put(recorder.clone(), edit(2, XUNZHUANG, &day, 7, "作废后")).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(body["code"], "record.voided");

    let (_, now) = app.get(&path, &recorder).await;
    assert_eq!(now["version"], 2);
    assert_eq!(now["fields"]["households"], 6);
    let (_, h) = app.get(&format!("{path}/history"), &recorder).await;
    assert_eq!(h.as_array().map(Vec::len), Some(2));
}

async fn a_record_is_corrected_through_its_page(app: TestApp) {
    let recorder = app.token("xunzhuang").await;
    let cookie = app.browser_login("xunzhuang").await;
    let day = (today() - Duration::days(1)).to_string();
    let (s, rec) = app.post("/api/v1/records", &recorder, visit(&day, 3)).await;
    assert_eq!(s, StatusCode::CREATED, "{rec}");
    let id = rec["id"].as_i64().expect("id");

    let (s, page) = app.page(&format!("/records/{id}"), &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains(&format!("href=\"/records/{id}/edit\"")),
        "{page}"
    );
    assert!(!page.contains("修改记录"), "one version has no history yet");
    let action = format!("/records/{id}/edit");
    let (s, form) = app.page(&action, &cookie).await;
    assert_eq!(s, StatusCode::OK);
    let sent = browser_fields(&form, &action);
    let value = |name: &str| {
        sent.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(value("households"), "3", "the form holds the record");
    assert_eq!(value("_version"), "1");
    assert_eq!(value("occurred_on"), day);

    let send = |households: &'static str, reason: &'static str| {
        let sent = sent.clone();
        let app = &app;
        let cookie = cookie.clone();
        let action = action.clone();
        async move {
            let parts: Vec<Part<'_>> = sent
                .iter()
                .map(|(n, v)| match n.as_str() {
                    "households" => Part::Text("households", households),
                    "_reason" => Part::Text("_reason", reason),
                    _ => Part::Text(n.as_str(), v.as_str()),
                })
                .collect();
            post_multipart(app, &action, &cookie, &parts).await
        }
    };
    // Without a reason: refused beside the field, the typed number kept.
    let r = send("7", "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r
        .body
        .contains("<div class=\"field-error\">请填写修改原因（不超过200字）</div>"));
    assert!(r.body.contains("value=\"7\""), "the typed number is kept");
    let r = send("7", "少记了4户").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/records/{id}?done=corrected").as_str())
    );
    let (_, page) = app
        .page(&format!("/records/{id}?done=corrected"), &cookie)
        .await;
    assert!(page.contains("已保存修改，统计按新版本计算"));
    assert!(page.contains("第2版"));
    assert!(page.contains("原因：少记了4户"));
    assert!(
        page.contains("走访户数：<del>3户</del> → <ins>7户</ins>"),
        "the change is listed: {}",
        page.split("<h2>修改记录").nth(1).unwrap_or(&page)
    );
    // The same form sent again is stale: refused with the message, nothing written.
    let r = send("9", "再改一次").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("该记录在您打开后已被修改（现为第2版）"));
    let (_, now) = app.get(&format!("/api/v1/records/{id}"), &recorder).await;
    assert_eq!(now["fields"]["households"], 7);
}
