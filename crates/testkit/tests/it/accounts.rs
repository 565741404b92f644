//! Accounts under 三员分立: the security administrator's duties, temporary and expiring
//! passwords, the second factor for administrators, the first start, HTTPS cookies.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use taizhang_store::totp;
use taizhang_testkit::{
    contains_bytes, each_backend, fresh_store, post_form, send, Backend, TestApp, PASSWORD,
};

each_backend!(
    administrators_hold_one_duty_each,
    temporary_passwords_must_be_changed_first,
    expired_passwords_must_be_changed,
    administrators_must_bind_a_second_factor,
    the_first_start_sets_up_a_security_administrator,
);

/// Posts a form with a session cookie; returns the status, the redirect target and the body.
async fn form(
    app: &TestApp,
    path: &str,
    cookie: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let r = post_form(app, path, cookie, fields).await;
    (r.status, r.location.unwrap_or_default(), r.body)
}

/// Logs in through the form with any password; returns the status, redirect and cookie.
async fn form_login(
    app: &TestApp,
    username: &str,
    password: &str,
    code: &str,
) -> (StatusCode, String, String) {
    let r = send(app.client.post(app.url("/login")).form(&[
        ("username", username),
        ("password", password),
        ("totp", code),
    ]))
    .await;
    let cookie = r.cookie();
    (r.status, r.location.unwrap_or_default(), cookie)
}

/// The security administrator sets the county's password age and second-factor rule.
async fn put_settings(app: &TestApp, token: &str, days: i64, totp: bool) -> (StatusCode, Value) {
    app.call(
        Method::PUT,
        "/api/v1/security-settings",
        Some(token),
        Some(json!({"password_max_age_days": days, "totp_required_for_admins": totp})),
    )
    .await
}

async fn api_login(
    app: &TestApp,
    username: &str,
    password: &str,
    code: Option<&str>,
) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/api/v1/login",
        None,
        Some(json!({"username": username, "password": password, "totp": code})),
    )
    .await
}

async fn user_id(app: &TestApp, token: &str, username: &str) -> i64 {
    let (s, users) = app.get("/api/v1/users", token).await;
    assert_eq!(s, StatusCode::OK, "{users}");
    users
        .as_array()
        .expect("list")
        .iter()
        .find(|u| u["username"] == username)
        .and_then(|u| u["id"].as_i64())
        .expect("user listed")
}

async fn administrators_hold_one_duty_each(app: TestApp) {
    let sec = app.token("anquan").await;
    let sys = app.token("admin").await;
    let aud = app.token("auditor").await;
    // The security administrator manages accounts and nothing of the county's work or its audit.
    for path in [
        "/api/v1/records",
        "/api/v1/people",
        "/api/v1/audit",
        "/api/v1/overdue",
    ] {
        let (s, v) = app.get(path, &sec).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "secadmin {path}: {v}");
    }
    // The system administrator cannot touch accounts, settings or the audit log.
    for (m, path, body) in [
        (Method::GET, "/api/v1/users", None),
        (Method::GET, "/api/v1/audit", None),
        (Method::GET, "/api/v1/security-settings", None),
        (
            Method::POST,
            "/api/v1/users",
            Some(
                json!({"username": "sneaky", "display_name": "某某", "role": "auditor", "org": "370828"}),
            ),
        ),
    ] {
        let (s, v) = app.call(m, path, Some(&sys), body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "sysadmin {path}: {v}");
    }
    // The auditor reads the audit log and manages nothing.
    assert_eq!(
        app.get("/api/v1/users", &aud).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get("/api/v1/audit", &aud).await.0, StatusCode::OK);

    // Nobody grants themselves a second duty.
    let me = user_id(&app, &sec, "anquan").await;
    let (s, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{me}"),
            Some(&sec),
            Some(json!({"role": "auditor"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "user.self_change");

    // A role change is a permission change: applied at once and audited with before and after.
    let viewer = user_id(&app, &sec, "viewer").await;
    let viewer_token = app.token("viewer").await;
    let (s, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{viewer}"),
            Some(&sec),
            Some(json!({"role": "recorder", "org": "370828005"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["role"], "recorder");
    assert_eq!(
        app.get("/api/v1/me", &viewer_token).await.0,
        StatusCode::UNAUTHORIZED,
        "the old session ends with the old permissions"
    );
    let (_, log) = app.get("/api/v1/audit?entity=user&limit=20", &aud).await;
    let grant = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| {
            e["action"] == "grant" && e["entity_id"].as_str() == Some(viewer.to_string().as_str())
        })
        .unwrap_or_else(|| panic!("grant audited: {log}"));
    assert_eq!(grant["before"]["role"], "viewer");
    assert_eq!(grant["after"]["role"], "recorder");
    assert_eq!(grant["actor"], "anquan");
}

async fn temporary_passwords_must_be_changed_first(app: TestApp) {
    let sec = app.token("anquan").await;
    let (s, created) = app
        .post(
            "/api/v1/users",
            &sec,
            json!({"username": "zhangsan", "display_name": "张三", "role": "viewer", "org": "370828005"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let temp = created["temporary_password"]
        .as_str()
        .expect("temporary password")
        .to_string();
    assert_eq!(created["user"]["must_change_password"], true);

    // The API does not open a session on a temporary password.
    let (s, v) = api_login(&app, "zhangsan", &temp, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["code"], "password.change_required");

    // The browser is held at the change-password page until the password is changed.
    let (s, to, cookie) = form_login(&app, "zhangsan", &temp, "").await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/account/password")
    );
    let (s, _) = app.page("/records", &cookie).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "no data before the change");
    let (_, page) = app.page("/account/password", &cookie).await;
    let csrf = TestApp::csrf_of(&page);
    let (s, _, body) = form(
        &app,
        "/account/password",
        &cookie,
        &[
            ("_csrf", &csrf),
            ("current_password", &temp),
            ("new_password", "short"),
            ("new_password2", "short"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("密码至少10位"), "{body}");
    let (s, _, body) = form(
        &app,
        "/account/password",
        &cookie,
        &[
            ("_csrf", &csrf),
            ("current_password", &temp),
            ("new_password", &temp),
            ("new_password2", &temp),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("不能与当前密码相同"), "{body}");
    let new = "Zhangsan-2026-pass";
    let (s, _, body) = form(
        &app,
        "/account/password",
        &cookie,
        &[
            ("_csrf", &csrf),
            ("current_password", &temp),
            ("new_password", new),
            ("new_password2", new),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = app.page("/records", &cookie).await;
    assert_eq!(s, StatusCode::OK, "the same session goes on, now full");
    assert_eq!(
        api_login(&app, "zhangsan", &temp, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api_login(&app, "zhangsan", new, None).await.0,
        StatusCode::OK
    );
}

async fn expired_passwords_must_be_changed(app: TestApp) {
    let sec = app.token("anquan").await;
    let (s, v) = put_settings(&app, &sec, 5000, false).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = put_settings(&app, &sec, 30, false).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        api_login(&app, "jishu", PASSWORD, None).await.0,
        StatusCode::OK
    );
    // Thirty-one days later:
    let old = chrono::Utc::now().timestamp() - 31 * 86_400;
    app.execute_raw(&format!(
        "UPDATE users SET password_changed_at = {old} WHERE username = 'jishu'"
    ))
    .await;
    let (s, v) = api_login(&app, "jishu", PASSWORD, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["code"], "password.change_required");
    let (s, to, _) = form_login(&app, "jishu", PASSWORD, "").await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/account/password")
    );
    // The settings change is a configuration change in the audit log, with before and after.
    let aud = app.token("auditor").await;
    let (_, log) = app
        .get("/api/v1/audit?entity=security_settings", &aud)
        .await;
    let entry = &log["entries"][0];
    assert_eq!(entry["action"], "config", "{log}");
    assert_eq!(entry["after"]["password_max_age_days"], 30);
    assert_eq!(entry["before"]["password_max_age_days"], 90);
}

fn code_for(secret: &str, step_offset: i64) -> String {
    let raw = totp::base32_decode(secret).expect("base32");
    totp::code_at(
        &raw,
        chrono::Utc::now().timestamp() / totp::STEP_SECS + step_offset,
    )
}

async fn administrators_must_bind_a_second_factor(app: TestApp) {
    let sec = app.token("anquan").await;
    let (s, v) = put_settings(&app, &sec, 90, true).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Not for a township's staff; for the system administrator, not until a factor is bound.
    assert_eq!(
        api_login(&app, "jishu", PASSWORD, None).await.0,
        StatusCode::OK
    );
    let (s, v) = api_login(&app, "admin", PASSWORD, None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("totp.enroll_required")),
        "{v}"
    );

    let (s, to, cookie) = form_login(&app, "admin", PASSWORD, "").await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/account/totp"));
    assert_eq!(
        app.page("/ledger-types", &cookie).await.0,
        StatusCode::SEE_OTHER
    );
    let (_, page) = app.page("/account/totp", &cookie).await;
    let csrf = TestApp::csrf_of(&page);
    let secret = page
        .split("name=\"secret\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("secret on the page")
        .to_string();
    let (s, _, _) = form(
        &app,
        "/account/totp",
        &cookie,
        &[("_csrf", &csrf), ("secret", &secret), ("code", "000000")],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a wrong code binds nothing"
    );
    let (s, _, body) = form(
        &app,
        "/account/totp",
        &cookie,
        &[
            ("_csrf", &csrf),
            ("secret", &secret),
            ("code", &code_for(&secret, 0)),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("已绑定"));
    assert_eq!(app.page("/ledger-types", &cookie).await.0, StatusCode::OK);

    // From now on the password alone is not enough, a code works once, and a wrong code counts
    // as a failed login.
    let (s, v) = api_login(&app, "admin", PASSWORD, None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("totp.required")),
        "{v}"
    );
    let next = code_for(&secret, 1);
    let (s, v) = api_login(&app, "admin", PASSWORD, Some(&next)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = api_login(&app, "admin", PASSWORD, Some(&next)).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_credentials")),
        "replayed: {v}"
    );
    // The secret itself is stored encrypted.
    let dump = app.raw_dump().await;
    assert!(
        !contains_bytes(&dump, secret.as_bytes()),
        "TOTP secret in plaintext"
    );
    // The security administrator can unbind a lost phone; the admin must bind again.
    let (s, to, _) = form_login(&app, "anquan", PASSWORD, "").await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/account/totp"),
        "the security administrator too"
    );
    let admin_id = user_id(&app, &sec, "admin").await;
    let (s, v) = app
        .call(Method::GET, "/api/v1/users", Some(&sec), None)
        .await;
    assert_eq!(s, StatusCode::OK, "an existing full session stays: {v}");
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["id"] == admin_id && u["totp_enrolled"] == true));
    let sec_actor = app.actor("anquan").await;
    let admin = app
        .store
        .reset_totp(&sec_actor, taizhang_domain::UserId::new(admin_id))
        .await
        .expect("unbind");
    assert!(!admin.totp_enrolled);
    let (s, v) = api_login(&app, "admin", PASSWORD, None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("totp.enroll_required")),
        "{v}"
    );
}

async fn the_first_start_sets_up_a_security_administrator(app: TestApp) {
    // A county with accounts needs no setup; a new one does, with a one-time code.
    let demo = app.store.county_by_code("370828").await.expect("county");
    assert_eq!(app.store.setup_code(demo.id).await.expect("setup"), None);
    let (store, _url, _dir) = fresh_store(app.backend).await.expect("store");
    let county = store
        .create_county(
            "370829",
            "嘉祥县",
            chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
        )
        .await
        .expect("county");
    let code = store
        .setup_code(county.id)
        .await
        .expect("code")
        .expect("needed");
    let wrong = store
        .complete_setup("not-the-code", "anquan1", "安全管理员", "Strong-pass-2026")
        .await;
    assert!(
        matches!(wrong, Err(taizhang_store::StoreError::Invalid(_))),
        "{wrong:?}"
    );
    let weak = store
        .complete_setup(&code, "anquan1", "安全管理员", "weakpass")
        .await;
    assert!(
        matches!(weak, Err(taizhang_store::StoreError::Invalid(_))),
        "{weak:?}"
    );
    let user = store
        .complete_setup(&code, "anquan1", "安全管理员", "Strong-pass-2026")
        .await
        .expect("set up");
    assert_eq!(user.role, taizhang_domain::Role::SecAdmin);
    let again = store
        .complete_setup(&code, "anquan2", "另一人", "Strong-pass-2026")
        .await;
    assert!(again.is_err(), "the code works once");
    assert_eq!(store.setup_code(county.id).await.expect("setup"), None);
    // The first administrator must bind a second factor before anything else.
    let (session, _) = store
        .login("anquan1", "Strong-pass-2026", None)
        .await
        .expect("login");
    assert_eq!(session.stage, taizhang_store::SessionStage::EnrollTotp);
}

/// Behind a TLS terminator, the session cookie is `__Host-` and Secure, and HSTS is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_deployments_get_host_cookies_and_hsts() {
    let app = taizhang_testkit::spawn_app(Backend::Sqlite).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let store = app.store.clone();
    tokio::spawn(async move {
        let _ = taizhang_web::serve_with(
            store,
            listener,
            taizhang_web::WebOptions {
                https: true,
                ..Default::default()
            },
        )
        .await;
    });
    let r = app
        .client
        .post(format!("http://{addr}/login"))
        .form(&[("username", "jishu"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let hsts = r
        .headers()
        .get("strict-transport-security")
        .expect("HSTS")
        .to_str()
        .unwrap();
    assert!(hsts.contains("max-age=31536000"), "{hsts}");
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("__Host-taizhang_session="), "{cookie}");
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
    // Plain HTTP (the default) sends no HSTS.
    let r = app.client.get(app.url("/login")).send().await.unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
}
