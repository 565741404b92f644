//! Account protection: password policy, login limits per account and address, session timeouts,
//! per-address login limits.

use reqwest::{Method, StatusCode};
use serde_json::json;
use taizhang_domain::Role;
use taizhang_store::{NewUser, StoreError};
use taizhang_testkit::{each_backend, Backend, TestApp, PASSWORD};

each_backend!(
    weak_passwords_are_refused,
    five_failures_close_the_account_for_that_address,
    idle_and_expired_sessions_end,
    one_address_cannot_hammer_the_login,
);

async fn weak_passwords_are_refused(app: TestApp) {
    let admin = app.actor("anquan").await;
    for weak in [
        "short1A",
        "alllowercaseletters",
        "abcdefghij12",
        "ABCDEFGHIJ12",
    ] {
        let r = app
            .store
            .create_user(
                &admin,
                NewUser {
                    username: "newuser".into(),
                    display_name: "新用户".into(),
                    password: weak.into(),
                    role: Role::Viewer,
                    org_id: taizhang_domain::OrgId::new(admin.scope.county_id),
                    person_id: None,
                    must_change_password: false,
                },
            )
            .await;
        match r {
            Err(StoreError::Invalid(f)) => assert_eq!(f[0].code, "password.weak", "{weak}"),
            other => panic!("{weak} accepted: {other:?}"),
        }
    }
    let county = app.store.county_by_code("370828").await.unwrap();
    let ok = app
        .store
        .create_user(
            &admin,
            NewUser {
                username: "newuser".into(),
                display_name: "新用户".into(),
                password: "Strong-pass-2026".into(),
                role: Role::Viewer,
                org_id: county.root_org_id,
                person_id: None,
                must_change_password: false,
            },
        )
        .await;
    assert!(ok.is_ok(), "{ok:?}");
}

/// Five wrong passwords close the password path of that account from that address (15 minutes,
/// `Retry-After`), even for the right password; the account itself is not locked (another
/// address logs in: `hardening_accounts.rs`), and the closing is audited.
async fn five_failures_close_the_account_for_that_address(app: TestApp) {
    let login = |password: &'static str| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(app.url("/api/v1/login"))
                .json(&json!({"username": "viewer", "password": password}))
                .send()
                .await
                .unwrap();
            let retry = r.headers().get("retry-after").cloned();
            (
                r.status(),
                retry,
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    for i in 1..=5 {
        let (s, retry, v) = login("wrong-password").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert_eq!(v["code"], "bad_credentials");
        assert!(retry.is_none());
    }
    let (s, retry, v) = login(PASSWORD).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["code"], "rate_limited");
    assert!(v["message"].as_str().unwrap().contains("15分钟"), "{v}");
    let secs: u64 = retry
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((890..=900).contains(&secs), "{secs}");
    // The login page answers alike, with the header.
    let r = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "viewer"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    assert!(r.text().await.unwrap().contains("登录尝试过于频繁"));
    // Other accounts from the same address are not affected, and the closing is audited.
    let auditor = app.token("auditor").await;
    let (_, page) = app
        .get("/api/v1/audit?entity=session&limit=100", &auditor)
        .await;
    assert!(page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "login_blocked"
            && e["actor"] == "viewer"
            && e["after"]["limit"] == "account_address"));
    assert!(!page.to_string().contains("account_locked"));
}

async fn idle_and_expired_sessions_end(app: TestApp) {
    let a = app.token("jishu").await;
    let b = app.token("jishu").await;
    assert_ne!(a, b, "every login makes a new session id");
    let (s, _) = app.get("/api/v1/me", &a).await;
    assert_eq!(s, StatusCode::OK);
    // 31 minutes without a request.
    let idle = chrono::Utc::now().timestamp() - 31 * 60;
    app.execute_raw(&format!("UPDATE sessions SET last_seen_at = {idle}"))
        .await;
    let (s, v) = app.get("/api/v1/me", &a).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "idle sessions end");
    assert_eq!(v["code"], "unauthorized");
    // Active, but past the absolute limit.
    let c = app.token("jishu").await;
    let past = chrono::Utc::now().timestamp() - 1;
    app.execute_raw(&format!("UPDATE sessions SET expires_at = {past}"))
        .await;
    let (s, _) = app.get("/api/v1/me", &c).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "sessions end 12 hours after login at the latest"
    );
    let cookie = app.browser_login("jishu").await;
    assert!(cookie.starts_with("taizhang_session="));
    app.execute_raw(&format!("UPDATE sessions SET expires_at = {past}"))
        .await;
    let (s, _) = app.page("/", &cookie).await;
    assert_eq!(
        s,
        StatusCode::SEE_OTHER,
        "an ended session goes back to the login page"
    );
}

async fn one_address_cannot_hammer_the_login(app: TestApp) {
    // Rotating through names defeats a per-account lock; the per-address limit holds.
    let mut statuses = Vec::new();
    for i in 0..40 {
        let (s, _) = app
            .call(
                Method::POST,
                "/api/v1/login",
                None,
                Some(json!({"username": format!("guess{i}"), "password": "Wrong-pass-1"})),
            )
            .await;
        statuses.push(s);
    }
    assert!(
        statuses[..30]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[30..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let r = app
        .client
        .post(app.url("/api/v1/login"))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let secs: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&secs), "{secs}");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], "rate_limited");
}

/// A database whose audit key has gone missing is refused, rather than given a new key that would
/// start a chain nobody can verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_audit_key_is_not_replaced_silently() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("county.db").display());
    let opts = || taizhang_store::StoreOptions {
        data_dir: Some(dir.path().join("data")),
        audit_key: None,
        field_key: None,
    };
    let store = taizhang_store::Store::open_with(&url, opts())
        .await
        .unwrap();
    let key_file = dir.path().join("data").join("audit.key");
    assert!(key_file.exists(), "first start creates the key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let county = store
        .create_county(
            "370828",
            "金乡县",
            chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
        )
        .await
        .unwrap();
    store.close().await;
    // Reopening with the key works; without it, the store refuses.
    let again = taizhang_store::Store::open_with(&url, opts())
        .await
        .unwrap();
    assert!(again.verify_audit_chain(county.id).await.unwrap().is_ok());
    again.close().await;
    std::fs::remove_file(&key_file).unwrap();
    match taizhang_store::Store::open_with(&url, opts()).await {
        Err(StoreError::Config(m)) => assert!(m.contains("审计密钥缺失"), "{m}"),
        Err(e) => panic!("unexpected {e}"),
        Ok(_) => panic!("a missing key must not be replaced"),
    }
    assert!(!key_file.exists(), "no stray new key is left behind");
}

/// The login form refuses posts from other sites (it has no CSRF token before a session exists).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_login_posts_are_refused() {
    let app = taizhang_testkit::spawn_app(Backend::Sqlite).await;
    let r = app
        .client
        .post(app.url("/login"))
        .header("origin", "http://attacker.example")
        .form(&[("username", "jishu"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("set-cookie").is_none());
    let r = app
        .client
        .post(app.url("/login"))
        .header("origin", app.base.clone())
        .form(&[("username", "jishu"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "same-origin posts log in"
    );
}
