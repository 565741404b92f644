//! Logs hold no secrets (security checklist item 6): the real `taizhang serve`, logging at the
//! most verbose level it allows (`RUST_LOG=trace`), goes through logins that succeed and fail,
//! sessions, a person with a 身份证号 and a phone, refused ID numbers and a logout; its captured
//! standard output and error contain no password, no session token or cookie, no whole ID number
//! and no whole phone number.

use crate::common::{seeded_database, Serve};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use taizhang_domain::id_number::{check_char, IdNumber};
use taizhang_testkit::{Backend, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_passwords_tokens_or_whole_personal_numbers() {
    let (url, dir) = seeded_database(Backend::Sqlite).await;
    let log = dir.path().join("serve.log");
    let mut server = Serve::start(&url, dir.path(), log.clone(), &[("RUST_LOG", "trace")]).await;
    let base = server.base.clone();
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut r = client.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };

    // A failed login (a wrong password that is still a secret), then a good one.
    let wrong_password = "Wrong-Secret-9876";
    let r = post(
        "/api/v1/login",
        None,
        json!({"username": "admin", "password": wrong_password}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Someone types the password into the user-name field.
    let r = post(
        "/api/v1/login",
        None,
        json!({"username": PASSWORD, "password": PASSWORD}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = post(
        "/api/v1/login",
        None,
        json!({"username": "admin", "password": PASSWORD}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The browser's login form and its session cookie.
    let r = client
        .post(format!("{base}/login"))
        .form(&[("username", "jishu"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r
        .headers()
        .get("set-cookie")
        .expect("session cookie")
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let cookie_value = cookie.split_once('=').unwrap().1.to_string();
    assert!(cookie_value.len() >= 20, "{cookie}");
    let r = client
        .get(format!("{base}/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // A person with a valid 身份证号 and a mobile number; the administrator reads them whole.
    let birth = chrono::NaiveDate::from_ymd_opt(1983, 6, 14).unwrap();
    let id = IdNumber::from_parts("370881", birth, 537, taizhang_store::today()).unwrap();
    let id = id.as_str().to_string();
    let phone = "13905371846";
    let r = post(
        "/api/v1/people",
        Some(&token),
        json!({"name": "日志测试", "org": "370828005", "id_number": id, "phone": phone}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let person: Value = r.json().await.unwrap();
    let r = client
        .get(format!("{base}/api/v1/people/{}?reveal=true", person["id"]))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["id_number"], json!(id));

    // Refused: a wrong check digit, an impossible birth date, a duplicate, a malformed body.
    let mut wrong_check = id[..17].to_string();
    wrong_check.push(if id.ends_with('1') { '2' } else { '1' });
    let mut bad_date = format!("{}19830231{}", &id[..6], &id[14..17]);
    bad_date.push(check_char(bad_date.as_bytes()));
    let bad_phone = "1390537184";
    for (id_number, phone, status) in [
        (
            wrong_check.as_str(),
            phone,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            bad_date.as_str(),
            bad_phone,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (id.as_str(), phone, StatusCode::CONFLICT),
    ] {
        let r = post(
            "/api/v1/people",
            Some(&token),
            json!({"name": "日志测试二", "org": "370828005", "id_number": id_number, "phone": phone}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), status, "{id_number}");
    }
    let r = client
        .post(format!("{base}/api/v1/people"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"name": "日志测试三", "org": "370828005", "id_number": {}}}"#,
            &id[..17]
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());

    // Logout, and the token is dead.
    let r = post("/api/v1/logout", Some(&token), json!({}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    server.interrupt();
    let logs = std::fs::read_to_string(&log).unwrap();
    // The capture works and is verbose: the server's own start line and the database's
    // statements are in it.
    assert!(logs.contains("taizhang serving"), "{logs}");
    assert!(
        logs.contains("DEBUG"),
        "RUST_LOG=trace is honoured:\n{logs}"
    );
    let secrets = [
        ("the password", PASSWORD.to_string()),
        ("the wrong password", wrong_password.to_string()),
        ("the bearer token", token.clone()),
        ("the session cookie", cookie_value.clone()),
        ("the ID number", id.clone()),
        ("the ID number's first 17 digits", id[..17].to_string()),
        ("the ID number in lower case", id.to_lowercase()),
        ("a refused ID number", wrong_check.clone()),
        ("a refused ID number", bad_date.clone()),
        ("the phone number", phone.to_string()),
        ("a refused phone number", bad_phone.to_string()),
    ];
    for (what, secret) in secrets {
        if let Some(at) = logs.find(&secret) {
            let line = logs[..at].rsplit('\n').next().unwrap_or_default();
            panic!("{what} is in the log, in the line starting: {line}");
        }
    }
}
