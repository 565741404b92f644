//! Refused access as audited security events (capped per user and minute), answers that no
//! cache keeps, and a changed acting user breaking the audit chain — on every backend.

use reqwest::StatusCode;
use serde_json::Value;
use taizhang_testkit::{each_backend, TestApp};

each_backend!(
    answers_with_personal_data_are_never_cached,
    refused_access_is_audited,
    a_flood_of_refusals_writes_a_bounded_number_of_entries,
    changing_the_acting_user_breaks_the_chain,
);

fn cache_control(r: &reqwest::Response) -> String {
    r.headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// A person the `jishu` manager sees, with an ID number.
async fn a_person(app: &TestApp, token: &str) -> i64 {
    let (_, people) = app.get("/api/v1/people?limit=50", token).await;
    for p in people["people"].as_array().expect("people") {
        let (_, full) = app.get(&format!("/api/v1/people/{}", p["id"]), token).await;
        if full["id_number"].is_string() {
            return p["id"].as_i64().expect("id");
        }
    }
    panic!("nobody with an ID number: {people}")
}

async fn answers_with_personal_data_are_never_cached(app: TestApp) {
    let t = app.token("jishu").await;
    let id = a_person(&app, &t).await;
    let api = app
        .client
        .get(app.url(&format!("/api/v1/people/{id}?reveal=true")))
        .bearer_auth(&t)
        .send()
        .await
        .expect("reveal");
    assert_eq!(api.status(), StatusCode::OK);
    assert_eq!(cache_control(&api), "no-store");

    let cookie = app.browser_login("jishu").await;
    let get = |path: String| {
        let req = app.client.get(app.url(&path)).header("cookie", &cookie);
        async move { req.send().await.expect("page") }
    };
    let home = get("/".into()).await;
    assert_eq!(home.status(), StatusCode::OK);
    assert_eq!(cache_control(&home), "no-store", "the home page");
    let page = get(format!("/people/{id}")).await;
    assert_eq!(cache_control(&page), "no-store", "a person's page");
    let csrf = TestApp::csrf_of(&page.text().await.expect("page"));
    let revealed = app
        .client
        .post(app.url(&format!("/people/{id}/reveal")))
        .header("cookie", &cookie)
        .form(&[("_csrf", csrf)])
        .send()
        .await
        .expect("reveal page");
    assert_eq!(revealed.status(), StatusCode::OK);
    assert_eq!(
        cache_control(&revealed),
        "no-store",
        "the page with whole numbers"
    );
    // Refusals and the login answer (which carries the token) are not kept either.
    let login = app
        .client
        .post(app.url("/api/v1/login"))
        .json(&serde_json::json!({"username": "jishu", "password": taizhang_testkit::PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(cache_control(&login), "no-store");
}

/// The auditor's `refused` entries, newest first.
async fn refusals(app: &TestApp, auditor: &str) -> Vec<Value> {
    let (s, log) = app
        .get("/api/v1/audit?entity=request&limit=500", auditor)
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "refused")
        .cloned()
        .collect()
}

async fn refused_access_is_audited(app: TestApp) {
    let admin = app.token("admin").await;
    let auditor = app.token("auditor").await;
    assert!(refusals(&app, &auditor).await.is_empty());
    // Out of scope: another town's village, as 鸡黍镇's manager.
    let (_, other) = app.get("/api/v1/orgs/370828002/children", &admin).await;
    let village = other[0]["ref"].as_str().expect("ref").to_string();
    let t = app.token("jishu").await;
    let path = format!("/api/v1/orgs/{village}");
    let (s, _) = app.get(&format!("{path}?q=13805375678"), &t).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // By role: a Recorder creating a person.
    let x = app.token("xunzhuang").await;
    let (s, _) = app
        .post(
            "/api/v1/people",
            &x,
            serde_json::json!({"name": "新人", "org": "370828005101"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A page, refused the same way.
    let cookie = app.browser_login("jishu").await;
    let (s, _) = app.page(&format!("/orgs/{village}"), &cookie).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A path that does not exist is not a refusal.
    let (s, _) = app.get("/api/v1/no-such-thing", &t).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let got = refusals(&app, &auditor).await;
    let seen: Vec<(String, String, String, i64)> = got
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or("").to_string(),
                e["entity_id"].as_str().unwrap_or("").to_string(),
                e["after"]["reason"].as_str().unwrap_or("").to_string(),
                e["after"]["status"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "jishu".into(),
                format!("GET /orgs/{village}"),
                "not_found".into(),
                404
            ),
            (
                "xunzhuang".into(),
                "POST /api/v1/people".into(),
                "forbidden".into(),
                403
            ),
            (
                "jishu".into(),
                format!("GET {path}"),
                "not_found".into(),
                404
            ),
        ],
        "{got:?}"
    );
    // The query (which may hold a searched number) is not kept.
    assert!(!format!("{got:?}").contains("13805375678"));
    // The auditor's page shows them like any other entry.
    let page_cookie = app.browser_login("auditor").await;
    let (s, page) = app.page("/audit", &page_cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("refused") && page.contains(&format!("GET {path}")));
}

async fn a_flood_of_refusals_writes_a_bounded_number_of_entries(app: TestApp) {
    use taizhang_store::audit::refusals::{PER_WINDOW, WINDOW};
    let auditor = app.token("auditor").await;
    let t = app.token("gaohe").await;
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (client, url, t) = (app.client.clone(), app.url(""), t.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..125 {
                let r = client
                    .get(format!(
                        "{url}/api/v1/people/{}",
                        900_000_000 + w * 1000 + i
                    ))
                    .bearer_auth(&t)
                    .send()
                    .await
                    .expect("request");
                assert_eq!(r.status(), StatusCode::NOT_FOUND);
            }
        }));
    }
    for task in tasks {
        task.await.expect("flood");
    }
    assert!(
        started.elapsed() < WINDOW.to_std().expect("window"),
        "the flood took longer than one window"
    );
    let of_gaohe = |entries: Vec<Value>| -> Vec<Value> {
        entries
            .into_iter()
            .filter(|e| e["actor"] == "gaohe")
            .collect()
    };
    let during = of_gaohe(refusals(&app, &auditor).await);
    assert_eq!(during.len(), PER_WINDOW as usize, "recorded one by one");
    // Once the window has closed, one summary holds the rest.
    let later = chrono::Utc::now() + WINDOW;
    assert_eq!(app.store.flush_refusals(later).await.expect("flush"), 1);
    let after = of_gaohe(refusals(&app, &auditor).await);
    assert_eq!(after.len(), PER_WINDOW as usize + 1);
    let summary = &after[0];
    assert_eq!(summary["entity_id"], "summary", "{summary}");
    assert_eq!(summary["after"]["more"], 1000 - PER_WINDOW as i64);
    assert_eq!(app.store.flush_refusals(later).await.expect("flush"), 0);
    intact_county(&app).await;
}

/// The demo county, its audit chain checked intact.
async fn intact_county(app: &TestApp) -> taizhang_store::County {
    let county = app.store.county_by_code("370828").await.expect("county");
    let verified = app.store.verify_audit_chain(county.id).await;
    assert!(verified.expect("verify").is_ok());
    county
}

async fn changing_the_acting_user_breaks_the_chain(app: TestApp) {
    let county = intact_county(&app).await;
    let sql = "UPDATE audit_log SET actor_user_id = COALESCE(actor_user_id, 0) + 1 WHERE seq = 5";
    if app.db_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&app.db_url).await.expect("connect");
        for s in [
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
            sql,
        ] {
            sqlx::query(s).execute(&pool).await.expect(s);
        }
    } else {
        let pool = sqlx::SqlitePool::connect(&app.db_url)
            .await
            .expect("connect");
        for s in ["DROP TRIGGER audit_log_no_update", sql] {
            sqlx::query(s).execute(&pool).await.expect(s);
        }
    }
    assert_eq!(
        app.store
            .verify_audit_chain(county.id)
            .await
            .expect("verify"),
        Err(5),
        "another acting user breaks the entry"
    );
}
