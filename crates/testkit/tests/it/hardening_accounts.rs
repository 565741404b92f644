//! Abuse resistance of accounts (security.md 10.3): 三员分立 under two-person review with a
//! split activation code, login limits that hold behind a proxy and do not help an attacker,
//! duplicate 身份证号 refused without echoing them, mistyped user names kept out of the audit log.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use taizhang_domain::id_number::IdNumber;
use taizhang_testkit::{each_backend, post_form, send, Reply, TestApp, PASSWORD};

each_backend!(
    the_new_account_form_has_no_default_role_and_keeps_what_was_typed,
    a_lone_security_administrator_cannot_become_the_auditor,
    administrator_accounts_are_created_under_two_person_review,
    a_privileged_grant_needs_review_and_a_fresh_activation,
    an_admin_logs_in_through_the_proxy_while_another_address_hammers,
    the_owner_is_not_locked_out_from_another_address,
    unknown_users_and_wrong_passwords_are_answered_alike,
    a_throttled_account_still_admits_a_known_address,
    the_forwarded_header_is_ignored_from_an_untrusted_peer,
    a_duplicate_id_number_reveals_nothing_of_it,
    mistyped_usernames_are_not_stored_in_the_audit_log,
);

const NEW_PASSWORD: &str = "Owner-chosen-2026";

async fn user_id(app: &TestApp, token: &str, username: &str) -> i64 {
    let (s, users) = app.get("/api/v1/users", token).await;
    assert_eq!(s, StatusCode::OK, "{users}");
    users
        .as_array()
        .expect("list")
        .iter()
        .find(|u| u["username"] == username)
        .and_then(|u| u["id"].as_i64())
        .unwrap_or_else(|| panic!("{username} listed: {users}"))
}

async fn api_login(app: &TestApp, username: &str, password: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/api/v1/login",
        None,
        Some(json!({"username": username, "password": password})),
    )
    .await
}

/// The half of an activation code a page shows, between its markers.
fn half_on_page(html: &str) -> String {
    html.split("<code class=\"code-half\">")
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .unwrap_or_else(|| panic!("a code half on the page: {html}"))
        .to_string()
}

/// The request number a page names (`复核申请 #12`).
fn request_on_page(html: &str) -> i64 {
    html.split("复核申请 #")
        .nth(1)
        .and_then(|s| {
            s.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("a request number on the page: {html}"))
}

/// Nothing an administrator was shown opens a session as the account: each candidate is tried
/// from an address of its own, so that it is the password that fails, not a login limit.
async fn nothing_shown_logs_in(app: &TestApp, username: &str, shown: &[&str]) {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let base = behind_proxy(app, "127.0.0.1").await;
    for s in shown {
        for candidate in [s.to_string(), s.replace('-', ""), format!("{s}{s}")] {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let client = format!("198.18.{}.{}", n / 250, n % 250 + 1);
            let a = login_from(app, &base, &client, username, &candidate).await;
            assert_eq!(
                (a.status, a.body["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("bad_credentials")),
                "{username} with {candidate}: {}",
                a.body
            );
        }
    }
}

/// An administrator's decision on a request through the API (`confirm`, `refuse`, `cancel`).
async fn decide(
    app: &TestApp,
    token: &str,
    id: impl std::fmt::Display,
    decision: &str,
) -> (StatusCode, Value) {
    let path = format!("/api/v1/account-requests/{id}/{decision}");
    app.post(&path, token, json!({})).await
}

/// The owner's activation page: the two halves and a new password.
async fn activate(app: &TestApp, username: &str, first: &str, second: &str) -> Reply {
    send(app.client.post(app.url("/activate")).form(&[
        ("username", username),
        ("code1", first),
        ("code2", second),
        ("new_password", NEW_PASSWORD),
        ("new_password2", NEW_PASSWORD),
    ]))
    .await
}

async fn audit_actions(app: &TestApp, entity: &str) -> Vec<Value> {
    audit_actions_as(app, &app.token("auditor").await, entity).await
}

async fn audit_actions_as(app: &TestApp, aud: &str, entity: &str) -> Vec<Value> {
    let (s, log) = app
        .get(&format!("/api/v1/audit?entity={entity}&limit=200"), aud)
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    log["entries"].as_array().cloned().unwrap_or_default()
}

async fn the_new_account_form_has_no_default_role_and_keeps_what_was_typed(app: TestApp) {
    let cookie = app.browser_login("anquan").await;
    let (_, page) = app.page("/users", &cookie).await;
    assert!(
        page.contains(
            "<select id=\"nr\" name=\"role\" required><option value=\"\">请选择角色</option>"
        ),
        "{page}"
    );
    let form = &page[page.find("<select id=\"nr\"").expect("role select")..];
    let form = &form[..form.find("</select>").expect("end of select")];
    assert!(
        !form.contains("selected"),
        "no role is chosen for the user: {form}"
    );
    let csrf = TestApp::csrf_of(&page);
    let typed = [
        ("_csrf", csrf.as_str()),
        ("username", "newclerk"),
        ("display_name", "新文员"),
        ("role", "recorder"),
        ("org", "不存在的村"),
    ];
    let r = post_form(&app, "/users", &cookie, &typed).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("所属组织不存在或不在您的管理范围内"),
        "{}",
        r.body
    );
    for kept in [
        "value=\"newclerk\"",
        "value=\"新文员\"",
        "<option value=\"recorder\" selected>",
        "value=\"不存在的村\"",
    ] {
        assert!(r.body.contains(kept), "kept {kept}");
    }
    // A form without a role is refused beside it, not given one.
    let mut no_role = typed;
    no_role[3] = ("role", "");
    no_role[4] = ("org", "370828005");
    let r = post_form(&app, "/users", &cookie, &no_role).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("<li>请选择角色</li>"),
        "said in the errors: {}",
        r.body
    );
}

async fn a_lone_security_administrator_cannot_become_the_auditor(app: TestApp) {
    let sec = app.token("anquan").await;
    let auditor = user_id(&app, &sec, "auditor").await;
    // The probe's path: 安全管理员 resets the auditor's password on the accounts page.
    let cookie = app.browser_login("anquan").await;
    let (_, page) = app.page("/users", &cookie).await;
    let csrf = TestApp::csrf_of(&page);
    let r = post_form(
        &app,
        &format!("/users/{auditor}/reset-password"),
        &cookie,
        &[("_csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("待复核"), "{}", r.body);
    assert!(
        !r.body.contains("临时密码："),
        "no temporary password shown"
    );
    let first = half_on_page(&r.body);
    let request = request_on_page(&r.body);
    // Nothing has changed yet, and nothing shown opens a session as the auditor.
    nothing_shown_logs_in(&app, "auditor", &[&first]).await;
    assert_eq!(api_login(&app, "auditor", PASSWORD).await.0, StatusCode::OK);
    // A half alone, or twice, activates nothing, before or after the confirmation.
    for (a, b) in [(&first, ""), (&first, first.as_str())] {
        let r = activate(&app, "auditor", a, b).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("激活码不正确或已失效"), "{}", r.body);
    }
    // The security administrator cannot confirm its own request (nor any: it is not its duty).
    let (s, v) = decide(&app, &sec, request, "confirm").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let r = post_form(
        &app,
        &format!("/account-requests/{request}/confirm"),
        &cookie,
        &[("_csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Nor does the auditor confirm a request about its own account.
    let aud = app.token("auditor").await;
    let (s, v) = decide(&app, &aud, request, "confirm").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("account_request.own_account")),
        "{v}"
    );
    // The system administrator — another duty — confirms on its page and gets the other half.
    let admin_cookie = app.browser_login("admin").await;
    let (s, page) = app.page("/account-requests", &admin_cookie).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("重置密码") && page.contains("auditor"),
        "{page}"
    );
    let r = post_form(
        &app,
        &format!("/account-requests/{request}/confirm"),
        &admin_cookie,
        &[("_csrf", &TestApp::csrf_of(&page))],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let second = half_on_page(&r.body);
    assert_ne!(first, second);
    // The old password is gone; neither half nor anything shown opens a session.
    assert_eq!(
        api_login(&app, "auditor", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    nothing_shown_logs_in(&app, "auditor", &[&first, &second]).await;
    let r = activate(&app, "auditor", &second, "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = activate(&app, "auditor", &second, &first).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "halves in order"
    );
    // The owner, holding both halves, chooses a password and logs in.
    let r = activate(&app, "auditor", &first.to_lowercase(), &second).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("已激活"), "{}", r.body);
    let (s, v) = api_login(&app, "auditor", NEW_PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    assert_eq!(app.get("/api/v1/audit", &token).await.0, StatusCode::OK);
    // The code works once.
    let r = activate(&app, "auditor", &first, &second).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Every step is audited, under who took it.
    let entries = audit_actions_as(&app, &token, "account_request").await;
    let rid = request.to_string();
    let actors: Vec<(String, String)> = entries
        .iter()
        .filter(|e| e["entity_id"].as_str() == Some(rid.as_str()))
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["actor"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for expected in [
        ("account_request", "anquan"),
        ("account_confirm", "admin"),
        ("activation_failed", "auditor"),
        ("account_activate", "auditor"),
    ] {
        assert!(
            actors.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {actors:?}"
        );
    }
    let (_, list) = app.get("/api/v1/account-requests", &sec).await;
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == request)
        .expect("listed");
    assert_eq!(mine["state"], "activated", "{mine}");
    assert_eq!(mine["kind"], "reset_password");
    assert_eq!(mine["requested_by"], "anquan");
    assert_eq!(mine["decided_by"], "admin");
}

async fn administrator_accounts_are_created_under_two_person_review(app: TestApp) {
    let sec = app.token("anquan").await;
    let sys = app.token("admin").await;
    let aud = app.token("auditor").await;
    // An ordinary account keeps the one-step flow with a temporary password.
    let (s, v) = app
        .post(
            "/api/v1/users",
            &sec,
            json!({"username": "zhenli", "display_name": "镇里", "role": "recorder", "org": "370828005"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["temporary_password"].is_string());
    // An auditor, a system administrator and a county-wide manager (who reads whole numbers)
    // are only requested: no account yet, no password, a first half of the code.
    let mut requests = Vec::new();
    for (username, role, org) in [
        ("shenji2", "auditor", "370828"),
        ("xitong2", "admin", "370828"),
        ("xianli", "manager", "370828"),
    ] {
        let (s, v) = app
            .post(
                "/api/v1/users",
                &sec,
                json!({"username": username, "display_name": "新人", "role": role, "org": org}),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{username}: {v}");
        assert!(v.get("temporary_password").is_none(), "{v}");
        assert_eq!(v["request"]["state"], "pending");
        assert_eq!(v["request"]["kind"], "create");
        let half = v["code_half"].as_str().expect("half").to_string();
        nothing_shown_logs_in(&app, username, &[&half]).await;
        requests.push((
            username,
            v["request"]["id"].as_i64().expect("request id"),
            half,
        ));
    }
    let (_, users) = app.get("/api/v1/users", &sec).await;
    assert!(
        !users.to_string().contains("shenji2"),
        "no account before review"
    );
    // The same username cannot be requested twice while pending.
    let (s, v) = app
        .post(
            "/api/v1/users",
            &sec,
            json!({"username": "shenji2", "display_name": "又一人", "role": "auditor", "org": "370828"}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("user.exists")),
        "{v}"
    );
    // The store refuses a privileged account with a password chosen by the security
    // administrator, whatever the route.
    let sec_actor = app.actor("anquan").await;
    let county = app.store.county_by_code("370828").await.unwrap();
    let r = app
        .store
        .create_user(
            &sec_actor,
            taizhang_store::NewUser {
                username: "direkt".into(),
                display_name: "直接".into(),
                password: "Strong-pass-2026".into(),
                role: taizhang_domain::Role::Auditor,
                org_id: county.root_org_id,
                person_id: None,
                must_change_password: false,
            },
        )
        .await;
    assert!(
        matches!(&r, Err(taizhang_store::StoreError::Conflict { code, .. }) if *code == "account_request.required"),
        "{r:?}"
    );
    let (shenji, shenji_req, shenji_a) = &requests[0];
    let (_, xitong_req, _) = &requests[1];
    let (_, xianli_req, _) = &requests[2];
    // The auditor refuses one; the security administrator withdraws another.
    let (s, v) = decide(&app, &aud, xianli_req, "refuse").await;
    assert_eq!(
        (s, v["state"].as_str()),
        (StatusCode::OK, Some("refused")),
        "{v}"
    );
    let (s, v) = decide(&app, &sec, xitong_req, "cancel").await;
    assert_eq!(
        (s, v["state"].as_str()),
        (StatusCode::OK, Some("cancelled")),
        "{v}"
    );
    let (s, v) = decide(&app, &sys, xianli_req, "confirm").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("account_request.decided")),
        "a refused request stays refused: {v}"
    );
    // The system administrator confirms the auditor's account: it exists, nobody knows a
    // password for it, and the owner activates it with both halves.
    let (s, v) = decide(&app, &sys, shenji_req, "confirm").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["request"]["state"], "confirmed");
    let shenji_b = v["code_half"].as_str().expect("second half").to_string();
    let id = user_id(&app, &sec, shenji).await;
    assert!(id > 0);
    nothing_shown_logs_in(&app, shenji, &[shenji_a, &shenji_b]).await;
    let r = activate(&app, shenji, shenji_a, &shenji_b).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (s, v) = api_login(&app, shenji, NEW_PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let t = v["token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/audit", t).await.0, StatusCode::OK);
    let actions: Vec<String> = audit_actions(&app, "account_request")
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_string())
        .collect();
    for a in [
        "account_refuse",
        "account_cancel",
        "account_confirm",
        "account_activate",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

async fn a_privileged_grant_needs_review_and_a_fresh_activation(app: TestApp) {
    let sec = app.token("anquan").await;
    let sys = app.token("admin").await;
    // An account the security administrator could know the password of becomes an auditor
    // only under review, and then only with a fresh activation.
    let viewer = user_id(&app, &sec, "viewer").await;
    let (s, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{viewer}"),
            Some(&sec),
            Some(json!({"role": "auditor"})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["request"]["kind"], "grant");
    let first = v["code_half"].as_str().unwrap().to_string();
    let request = v["request"]["id"].as_i64().unwrap();
    let (_, users) = app.get("/api/v1/users", &sec).await;
    let row = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == viewer)
        .unwrap();
    assert_eq!(row["role"], "viewer", "unchanged until confirmed");
    let (s, v) = decide(&app, &sys, request, "confirm").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let second = v["code_half"].as_str().unwrap().to_string();
    let (s, v) = api_login(&app, "viewer", PASSWORD).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the old password is gone: {v}");
    // Five wrong codes void the activation, and the right one then fails too.
    for _ in 0..5 {
        let r = activate(&app, "viewer", &first, "AAAA-AAAA").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = activate(&app, "viewer", &first, &second).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "voided");
    let (_, list) = app.get("/api/v1/account-requests", &sec).await;
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == request)
        .unwrap();
    assert_eq!(mine["state"], "voided", "{mine}");
    assert!(audit_actions(&app, "account_request")
        .await
        .iter()
        .any(|e| e["action"] == "activation_voided"));
    // A demotion takes one step (it gives nobody another duty).
    let aud = user_id(&app, &sec, "auditor").await;
    let (s, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{aud}"),
            Some(&sec),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

// ---- login limits --------------------------------------------------------------------------

/// A second server over the same database, behind a proxy at `trusted` that names the client
/// in `X-Forwarded-For`.
async fn behind_proxy(app: &TestApp, trusted: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let store = app.store.clone();
    let opts = taizhang_web::WebOptions {
        client_ip: taizhang_web::ClientIpSource::new(
            &[trusted.to_string()],
            Some("X-Forwarded-For"),
        )
        .expect("valid proxy settings"),
        ..Default::default()
    };
    tokio::spawn(async move {
        let _ = taizhang_web::serve_with(store, listener, opts).await;
    });
    format!("http://{addr}")
}

struct Answer {
    status: StatusCode,
    retry_after: Option<u64>,
    body: Value,
}

async fn login_from(app: &TestApp, base: &str, client: &str, user: &str, pw: &str) -> Answer {
    let r = app
        .client
        .post(format!("{base}/api/v1/login"))
        .header("x-forwarded-for", format!("10.0.0.1, {client}"))
        .json(&json!({"username": user, "password": pw}))
        .send()
        .await
        .expect("login");
    let status = r.status();
    let retry_after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = r.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        retry_after,
        body,
    }
}

fn assert_limited(a: &Answer, what: &str) {
    assert_eq!(
        a.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{what}: {}",
        a.body
    );
    assert_eq!(a.body["code"], "rate_limited", "{what}");
    let secs = a
        .retry_after
        .unwrap_or_else(|| panic!("{what}: Retry-After"));
    assert!((1..=15 * 60).contains(&secs), "{what}: Retry-After {secs}");
}

async fn an_admin_logs_in_through_the_proxy_while_another_address_hammers(app: TestApp) {
    let base = behind_proxy(&app, "127.0.0.1").await;
    let attacker = "203.0.113.5";
    let mut answers = Vec::new();
    for i in 0..40 {
        answers.push(login_from(&app, &base, attacker, &format!("guess{i}"), "Wrong-pass-1").await);
    }
    assert!(answers[..30]
        .iter()
        .all(|a| a.status == StatusCode::UNAUTHORIZED));
    for a in &answers[30..] {
        assert_limited(a, "the hammering address");
    }
    // The admin's own address, through the same proxy, still gets in.
    let a = login_from(&app, &base, "198.51.100.7", "admin", PASSWORD).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // Without the header the peer itself is the client: the proxy's own address is not the
    // attacker's.
    let (s, _) = api_login(&app, "admin", PASSWORD).await;
    assert_eq!(s, StatusCode::OK);
}

async fn the_owner_is_not_locked_out_from_another_address(app: TestApp) {
    let base = behind_proxy(&app, "127.0.0.1").await;
    for i in 0..5 {
        let a = login_from(&app, &base, "203.0.113.9", "viewer", "Wrong-pass-1").await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "attempt {i}: {}",
            a.body
        );
        assert_eq!(a.body["code"], "bad_credentials");
    }
    // That address may not go on trying the account, not even with the right password …
    let a = login_from(&app, &base, "203.0.113.9", "viewer", PASSWORD).await;
    assert_limited(&a, "the guessing address");
    // … but the owner, elsewhere, logs in, and other accounts from that address too.
    let a = login_from(&app, &base, "198.51.100.20", "viewer", PASSWORD).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = login_from(&app, &base, "203.0.113.9", "jishu", PASSWORD).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // The closed path is audited, with the address.
    let entries = audit_actions(&app, "session").await;
    assert!(
        entries.iter().any(|e| e["action"] == "login_blocked"
            && e["actor"] == "viewer"
            && e["after"]["address"] == "203.0.113.9"),
        "{entries:?}"
    );
}

async fn unknown_users_and_wrong_passwords_are_answered_alike(app: TestApp) {
    let base = behind_proxy(&app, "127.0.0.1").await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    let (mut t_known, mut t_unknown) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let t = Instant::now();
        known.push(login_from(&app, &base, "192.0.2.10", "viewer", "Wrong-pass-1").await);
        t_known.push(t.elapsed());
        let t = Instant::now();
        unknown.push(login_from(&app, &base, "192.0.2.11", "nobody.here", "Wrong-pass-1").await);
        t_unknown.push(t.elapsed());
    }
    for (i, (k, u)) in known.iter().zip(&unknown).enumerate() {
        assert_eq!(k.status, u.status, "attempt {i}");
        assert_eq!(k.body, u.body, "attempt {i}");
        assert_eq!(
            k.retry_after.is_some(),
            u.retry_after.is_some(),
            "attempt {i}"
        );
    }
    assert_eq!(known[0].body["code"], "bad_credentials");
    assert_eq!(known[0].body["message"], "用户名或密码错误");
    assert_eq!(known[6].status, StatusCode::TOO_MANY_REQUESTS);
    // An unknown name is checked against a dummy hash: it takes about as long.
    let median = |v: &mut Vec<Duration>| {
        v.truncate(5);
        v.sort();
        v[2]
    };
    let (k, u) = (median(&mut t_known), median(&mut t_unknown));
    assert!(u * 3 > k, "unknown {u:?} vs known {k:?}");
}

async fn a_throttled_account_still_admits_a_known_address(app: TestApp) {
    let base = behind_proxy(&app, "127.0.0.1").await;
    // The owner logged in from the office before.
    let office = "198.51.100.30";
    assert_eq!(
        login_from(&app, &base, office, "jishu", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    // Many addresses, a few guesses each: the account is throttled for strangers …
    for i in 0..30 {
        let a = login_from(
            &app,
            &base,
            &format!("203.0.113.{}", 100 + i),
            "jishu",
            "Wrong-pass-1",
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let a = login_from(&app, &base, "203.0.113.200", "jishu", PASSWORD).await;
    assert_limited(&a, "a stranger to the throttled account");
    // … not for the owner's known address.
    let a = login_from(&app, &base, office, "jishu", PASSWORD).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

async fn the_forwarded_header_is_ignored_from_an_untrusted_peer(app: TestApp) {
    // The proxy is elsewhere: a client on loopback cannot pick its address with the header.
    let base = behind_proxy(&app, "10.9.9.9").await;
    for i in 0..30 {
        let a = login_from(
            &app,
            &base,
            &format!("203.0.113.{i}"),
            &format!("guess{i}"),
            "Wrong-pass-1",
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let a = login_from(&app, &base, "198.51.100.99", "admin", PASSWORD).await;
    assert_limited(&a, "a forged header from an untrusted peer");
}

// ---- duplicate numbers ---------------------------------------------------------------------

async fn a_duplicate_id_number_reveals_nothing_of_it(app: TestApp) {
    let admin = app.token("admin").await;
    let birth = chrono::NaiveDate::from_ymd_opt(1975, 3, 9).unwrap();
    let id = IdNumber::from_parts("110105", birth, 214, taizhang_store::today()).unwrap();
    let id = id.as_str().to_string();
    // A person of 高河街道 …
    let (s, v) = app
        .post(
            "/api/v1/people",
            &admin,
            json!({"name": "高河某人", "org": "370828002", "id_number": id}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // … posted again by 鸡黍镇.
    let jishu = app.token("jishu").await;
    let (s, v) = app
        .post(
            "/api/v1/people",
            &jishu,
            json!({"name": "鸡黍某人", "org": "370828005", "id_number": id}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "person.duplicate_id_number");
    assert_eq!(v["message"], "该身份证号已登记");
    let text = v.to_string();
    for part in [&id[..4], &id[14..], "高河"] {
        assert!(!text.contains(part), "{part} in {text}");
    }
}

// ---- the audit log -------------------------------------------------------------------------

async fn mistyped_usernames_are_not_stored_in_the_audit_log(app: TestApp) {
    let typed = "Mistyped-Secret-42";
    let (s, _) = api_login(&app, typed, "whatever-1A").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = api_login(&app, "viewer", "Wrong-pass-1").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let entries = audit_actions(&app, "session").await;
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains("Mistyped"), "{text}");
    let masked = entries
        .iter()
        .filter(|e| e["action"] == "login_failed")
        .filter_map(|e| e["actor"].as_str())
        .find(|a| a.starts_with("未知用户名#"))
        .unwrap_or_else(|| panic!("a masked name: {text}"));
    assert!(masked.ends_with(&format!("/{}", typed.len())), "{masked}");
    assert!(entries
        .iter()
        .any(|e| e["action"] == "login_failed" && e["actor"] == "viewer"));
    let n = app
        .count_raw("SELECT COUNT(*) FROM audit_log WHERE actor LIKE '%Mistyped%' OR CAST(after_json AS TEXT) LIKE '%Mistyped%'")
        .await;
    assert_eq!(n, 0);
}
