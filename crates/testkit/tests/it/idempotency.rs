//! Idempotency keys on creates: a repeat with its key is answered as the first time and writes
//! nothing; the key used for another body, or malformed, is refused; ten requests at once with
//! one key make one object; the record form's hidden key makes a form posted twice one record.

use super::pages::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use taizhang_testkit::{each_backend, send, TestApp};

each_backend!(
    a_repeated_record_is_recorded_once,
    a_repeated_person_and_link_are_created_once,
    a_key_for_another_body_or_malformed_is_refused,
    concurrent_requests_with_one_key_create_one_record,
    the_record_form_posted_twice_makes_one_record,
);

async fn post_keyed(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, Option<String>, Value) {
    let r = send(
        app.client
            .post(app.url(path))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await;
    let replayed = r
        .headers
        .get("idempotent-replayed")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    (
        r.status,
        replayed,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

fn theme_day(theme: &str) -> Value {
    let day = taizhang_store::today() - chrono::Duration::days(3);
    json!({"ledger_type": "theme_day", "org": XUNZHUANG, "occurred_on": day, "fields": {"theme": theme}})
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.count_raw(sql).await
}

async fn a_repeated_record_is_recorded_once(app: TestApp) {
    let x = app.token("xunzhuang").await;
    let body = theme_day("幂等重放");
    let q = "SELECT COUNT(*) FROM ledger_records WHERE fields LIKE '%幂等重放%'";
    let q = if app.backend == taizhang_testkit::Backend::Postgres {
        "SELECT COUNT(*) FROM ledger_records WHERE fields->>'theme' = '幂等重放'"
    } else {
        q
    };
    let (s, replayed, first) = post_keyed(&app, "/api/v1/records", &x, "rec-1", &body).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(replayed, None);
    let (s, replayed, again) = post_keyed(&app, "/api/v1/records", &x, "rec-1", &body).await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(again["id"], first["id"]);
    assert_eq!(count(&app, q).await, 1, "one record for two sends");
    // Without a key, the same body is a new record; another user's same key is theirs.
    let (s, _) = app.post("/api/v1/records", &x, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(count(&app, q).await, 2);
    let admin = app.token("admin").await;
    let (s, replayed, other) = post_keyed(&app, "/api/v1/records", &admin, "rec-1", &body).await;
    assert_eq!(s, StatusCode::CREATED, "{other}");
    assert_eq!(replayed, None);
    assert_ne!(other["id"], first["id"]);
    assert_eq!(count(&app, q).await, 3);
    // An attachment upload with a key: the repeat answers the same id.
    let up = |key: &'static str| {
        app.client
            .post(app.url("/api/v1/attachments?name=a.png"))
            .bearer_auth(&x)
            .header("Idempotency-Key", key)
            .header("content-type", "image/png")
            .body(PNG.to_vec())
    };
    let a = send(up("att-1")).await;
    let b = send(up("att-1")).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(b.status, StatusCode::CREATED);
    assert_eq!(a.body, b.body);
    assert_eq!(
        b.headers.get("idempotent-replayed").map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
}

async fn a_repeated_person_and_link_are_created_once(app: TestApp) {
    let admin = app.token("admin").await;
    let person = json!({"name": "幂等人", "org": "370828005", "phone": "13805375679"});
    let (s, _, p1) = post_keyed(&app, "/api/v1/people", &admin, "person-1", &person).await;
    assert_eq!(s, StatusCode::CREATED, "{p1}");
    let (s, replayed, p2) = post_keyed(&app, "/api/v1/people", &admin, "person-1", &person).await;
    assert_eq!(s, StatusCode::CREATED, "{p2}");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(p1["id"], p2["id"]);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM people WHERE name = '幂等人'").await,
        1
    );

    let child = json!({"kind": "party_group", "name": "幂等党小组"});
    let path = format!("/api/v1/orgs/{XUNZHUANG}/children");
    let (s, _, o1) = post_keyed(&app, &path, &admin, "org-1", &child).await;
    assert_eq!(s, StatusCode::CREATED, "{o1}");
    let (s, replayed, o2) = post_keyed(&app, &path, &admin, "org-1", &child).await;
    assert_eq!(s, StatusCode::CREATED, "{o2}");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(o1["id"], o2["id"]);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM orgs WHERE name = '幂等党小组'").await,
        1
    );
}

async fn a_key_for_another_body_or_malformed_is_refused(app: TestApp) {
    let x = app.token("xunzhuang").await;
    let (s, _, _) = post_keyed(&app, "/api/v1/records", &x, "k-2", &theme_day("第一次")).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _, v) = post_keyed(&app, "/api/v1/records", &x, "k-2", &theme_day("第二次")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "idempotency.mismatch");
    assert_eq!(v["message"], "该幂等键已用于另一项不同的提交，请勿重复使用");
    for bad in ["a b".to_string(), "k".repeat(101), "é".to_string()] {
        let r = send(
            app.client
                .post(app.url("/api/v1/records"))
                .bearer_auth(&x)
                .header("Idempotency-Key", bad.as_bytes())
                .json(&theme_day("坏键")),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad:?}: {}", r.body);
        assert!(r.body.contains("idempotency.key"), "{}", r.body);
    }
    let (s, _, _) = post_keyed(
        &app,
        "/api/v1/records",
        &x,
        &"k".repeat(100),
        &theme_day("长键"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "a key of 100 characters is taken");
    // A refused create gives its key back: the corrected body may use it.
    let bad = json!({"ledger_type": "theme_day", "org": XUNZHUANG, "occurred_on": "2000-01-01", "fields": {}});
    let (s, _, _) = post_keyed(&app, "/api/v1/records", &x, "k-3", &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, replayed, _) =
        post_keyed(&app, "/api/v1/records", &x, "k-3", &theme_day("改正后")).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(replayed, None);
}

async fn concurrent_requests_with_one_key_create_one_record(app: TestApp) {
    let x = app.token("xunzhuang").await;
    let body = theme_day("并发同键");
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let req = app
            .client
            .post(app.url("/api/v1/records"))
            .bearer_auth(&x)
            .header("Idempotency-Key", "same-key")
            .json(&body);
        tasks.push(tokio::spawn(async move {
            let r = send(req).await;
            let replayed = r
                .headers
                .get("idempotent-replayed")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            (
                r.status,
                replayed,
                serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null),
            )
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("task"));
    }
    let ids: Vec<Value> = answers
        .iter()
        .map(|(s, _, v)| {
            assert_eq!(*s, StatusCode::CREATED, "{v}");
            v["id"].clone()
        })
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let replays = answers
        .iter()
        .filter(|a| a.1.as_deref() == Some("true"))
        .count();
    assert_eq!(replays, 9, "one created, nine replayed");
    let q = if app.backend == taizhang_testkit::Backend::Postgres {
        "SELECT COUNT(*) FROM ledger_records WHERE fields->>'theme' = '并发同键'"
    } else {
        "SELECT COUNT(*) FROM ledger_records WHERE fields LIKE '%并发同键%'"
    };
    assert_eq!(count(&app, q).await, 1);
}

async fn the_record_form_posted_twice_makes_one_record(app: TestApp) {
    let cookie = app.browser_login("xunzhuang").await;
    let (s, html) = app.page("/records/new?type=theme_day", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    let key = html
        .split("name=\"idempotency_key\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the form carries a key")
        .to_string();
    assert_eq!(key.len(), 32);
    let token = TestApp::csrf_of(&html);
    let day = (taizhang_store::today() - chrono::Duration::days(2)).to_string();
    let parts = [
        Part::Text("_csrf", &token),
        Part::Text("idempotency_key", &key),
        Part::Text("org", XUNZHUANG),
        Part::Text("occurred_on", &day),
        Part::Text("theme", "表单重发"),
    ];
    let a = post_multipart(&app, "/records/new?type=theme_day", &cookie, &parts).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let b = post_multipart(&app, "/records/new?type=theme_day", &cookie, &parts).await;
    assert_eq!(b.status, StatusCode::SEE_OTHER, "{}", b.body);
    assert_eq!(a.location, b.location);
    assert_eq!(
        b.headers.get("idempotent-replayed").map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let q = if app.backend == taizhang_testkit::Backend::Postgres {
        "SELECT COUNT(*) FROM ledger_records WHERE fields->>'theme' = '表单重发'"
    } else {
        "SELECT COUNT(*) FROM ledger_records WHERE fields LIKE '%表单重发%'"
    };
    assert_eq!(count(&app, q).await, 1);
}
