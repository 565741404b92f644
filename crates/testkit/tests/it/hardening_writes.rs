//! Abuse resistance of writes and reports, over HTTP on loopback, on both backends, bounded by
//! request counts: an oversized record stalls nobody else's write, a write that holds the write
//! connection too long is cut off, and a burst of heavy reports leaves light requests fast.

use super::scope::{today, FOREIGN_TOWN, XUNZHUANG};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use taizhang_testkit::{each_backend, spawn_app_with, AppOptions, Backend, TestApp};

each_backend!(
    an_oversized_record_stalls_no_other_write,
    a_long_list_is_refused_before_the_database,
    a_write_held_past_its_bound_is_cut_off,
    a_burst_of_reports_leaves_light_requests_fast,
);

/// Records written by one user, read straight from the database.
async fn records_by(app: &TestApp, username: &str) -> i64 {
    app.count_raw(&format!(
        "SELECT COUNT(*) FROM ledger_records WHERE created_by = (SELECT id FROM users WHERE username = '{username}')"
    ))
    .await
}

fn theme_day(org: &str, theme: &str) -> Value {
    json!({"ledger_type": "theme_day", "org": org, "occurred_on": today() - chrono::Duration::days(1),
        "fields": {"theme": theme}})
}

/// A POST of a ready-made JSON body, answered with its status, JSON body and time taken.
async fn post_raw(
    app: &TestApp,
    path: &str,
    token: &str,
    body: String,
) -> (StatusCode, Value, Duration) {
    let started = Instant::now();
    let r = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = r.status();
    let v = r.json::<Value>().await.unwrap_or(Value::Null);
    (status, v, started.elapsed())
}

/// The oversized POST: the server refuses it after its first mebibyte, and when it closes the
/// connection before the client has sent the rest, the client sees the send cut off (broken
/// pipe or reset) instead of the 413 — that is `None`, a refusal all the same.
async fn post_oversized(
    app: &TestApp,
    token: &str,
    body: String,
) -> (Option<StatusCode>, Value, Duration) {
    let started = Instant::now();
    let sent = app
        .client
        .post(app.url("/api/v1/records"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) => {
            let status = r.status();
            let v = r.json::<Value>().await.unwrap_or(Value::Null);
            (Some(status), v, started.elapsed())
        }
        Err(e) if e.is_request() || e.is_body() => (None, Value::Null, started.elapsed()),
        Err(e) => panic!("oversized request: {e:?}"),
    }
}

/// The probe's body: 寻庄村's 填报员 naming 550,000 attendees (4.3 MB). It used to be validated
/// inside the write transaction, in time growing with the square of the list (50 s), while every
/// other write waited for the single write connection and failed with 500 "pool timed out".
async fn an_oversized_record_stalls_no_other_write(app: TestApp) {
    let recorder = app.token("xunzhuang").await;
    let other = app.token("gaohe").await;
    let before = records_by(&app, "xunzhuang").await;
    let ids: Vec<i64> = (1_000_001..=1_550_000).collect();
    let mut huge = theme_day(XUNZHUANG, "超大名单");
    huge["fields"]["attendees"] = json!(ids);
    let huge = huge.to_string();
    assert!(huge.len() > 4_000_000);

    let app = Arc::new(app);
    let oversized = {
        let app = app.clone();
        tokio::spawn(async move { post_oversized(&app, &recorder, huge).await })
    };
    // Meanwhile another township writes, again and again while the oversized one is sent, read
    // and refused (it used to hold the write connection from its first second for minutes).
    let mut other_took = Vec::new();
    for i in 0..8 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let (os, ov, otook) = post_raw(
            &app,
            "/api/v1/records",
            &other,
            theme_day(FOREIGN_TOWN, &format!("同时登记{i}")).to_string(),
        )
        .await;
        assert_eq!(os, StatusCode::CREATED, "{ov}");
        assert_eq!(ov["fields"]["theme"], format!("同时登记{i}"));
        assert!(otook < Duration::from_secs(1), "write {i} took {otook:?}");
        other_took.push(otook);
    }
    let otook = other_took.iter().max().copied().unwrap_or_default();
    let (s, v, took) = tokio::time::timeout(Duration::from_secs(10), oversized)
        .await
        .expect("the oversized record is answered within 10 s")
        .expect("oversized request task");
    if let Some(s) = s {
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
        assert_eq!(v["code"], "too_large");
    }
    assert!(
        took < Duration::from_secs(5),
        "the oversized one took {took:?}"
    );
    assert_eq!(
        records_by(&app, "xunzhuang").await,
        before,
        "nothing stored"
    );
    println!(
        "[{:?}] oversized record: {s:?} in {took:?}; concurrent write: 201 in {otook:?}",
        app.backend
    );
}

/// Under the body limit, a list longer than any record may hold is refused by its length, with
/// the field named, before its items are read and before any database work.
async fn a_long_list_is_refused_before_the_database(app: TestApp) {
    let recorder = app.token("xunzhuang").await;
    let before = records_by(&app, "xunzhuang").await;
    let mut body = theme_day(XUNZHUANG, "长名单");
    body["fields"]["attendees"] = json!((1..=20_000).collect::<Vec<i64>>());
    let (s, v, took) = post_raw(&app, "/api/v1/records", &recorder, body.to_string()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "validation");
    assert_eq!(
        v["fields"],
        json!([{"field": "attendees", "code": "field.too_many", "message": "“attendees”最多2000项"}])
    );
    assert!(took < Duration::from_secs(2), "{took:?}");

    // Within the bound, the type's own limit speaks, in its words.
    let mut body = theme_day(XUNZHUANG, "五百零一人");
    body["fields"]["attendees"] = json!((1..=501).collect::<Vec<i64>>());
    let (s, v, _) = post_raw(&app, "/api/v1/records", &recorder, body.to_string()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["fields"][0]["code"], "field.too_many");
    assert_eq!(v["fields"][0]["message"], "“参加人员”最多500人");
    assert_eq!(records_by(&app, "xunzhuang").await, before);
}

/// Holds the database's write lock from outside the application until dropped.
struct WriteLock {
    _conn: Box<dyn std::any::Any + Send>,
}

async fn hold_write_lock(app: &TestApp) -> WriteLock {
    use sqlx::Connection;
    match app.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&app.db_url)
                .await
                .expect("connect");
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut c)
                .await
                .expect("take the write lock");
            WriteLock { _conn: Box::new(c) }
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&app.db_url)
                .await
                .expect("connect");
            // Blocks inserts into the records, not reads.
            sqlx::query("BEGIN").execute(&mut c).await.expect("begin");
            sqlx::query("LOCK TABLE ledger_records IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut c)
                .await
                .expect("lock");
            WriteLock { _conn: Box::new(c) }
        }
    }
}

/// A write that cannot finish within its bound (here: something outside holds the lock it needs)
/// is rolled back and answered 503 `busy` with `Retry-After`, not left to hold the write
/// connection, nor answered 500.
async fn a_write_held_past_its_bound_is_cut_off(app: TestApp) {
    let app = respawn(
        app,
        AppOptions {
            write_bound: Some(Duration::from_millis(500)),
            ..Default::default()
        },
    )
    .await;
    let recorder = app.token("xunzhuang").await;
    let before = records_by(&app, "xunzhuang").await;
    let lock = hold_write_lock(&app).await;
    let started = Instant::now();
    let r = app
        .client
        .post(app.url("/api/v1/records"))
        .bearer_auth(&recorder)
        .json(&theme_day(XUNZHUANG, "被锁住的写入"))
        .send()
        .await
        .expect("request");
    let took = started.elapsed();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["code"], "busy");
    assert_eq!(v["message"], "系统繁忙，请稍后再试");
    assert!(took < Duration::from_secs(3), "{took:?}");
    drop(lock);
    assert_eq!(records_by(&app, "xunzhuang").await, before, "rolled back");
    let (s, v) = app
        .post(
            "/api/v1/records",
            &recorder,
            theme_day(XUNZHUANG, "锁已释放"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(records_by(&app, "xunzhuang").await, before + 1);
}

/// The same backend's server again, configured.
async fn respawn(app: TestApp, opts: AppOptions) -> TestApp {
    let backend = app.backend;
    drop(app);
    spawn_app_with(backend, opts).await
}

/// `/api/v1/me` must stay this fast at the 99th percentile while reports run. The optimised
/// builds (`release`, and the `ci` profile `scripts/test` uses) are held to the 100 ms;
/// an unoptimised debug build, whose every request costs several times more CPU on the same
/// two cores, to 400 ms (debug runs on a loaded machine measured p99 24–85 ms on SQLite and
/// 72–246 ms on PostgreSQL; `ci` runs 8–39 ms and 27–53 ms). Only the build profile chooses; the
/// test always runs.
const ME_P99: Duration = if cfg!(debug_assertions) {
    Duration::from_millis(400)
} else {
    Duration::from_millis(100)
};

/// One burst at a time in this process: the SQLite and PostgreSQL runs of the burst test would
/// otherwise load the same two cores together and measure each other.
static ONE_BURST: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The probe's burst, bounded: 60 county bulletins with 30 in flight, one computed at a time (the
/// default on two cores) and four waiting, while a client asks who it is, again and again.
async fn a_burst_of_reports_leaves_light_requests_fast(app: TestApp) {
    const BURST: usize = 60;
    const IN_FLIGHT: usize = 30;
    const WORKERS: usize = 1;
    const QUEUE: usize = 4;
    let app = Arc::new(
        respawn(
            app,
            AppOptions {
                web: taizhang_web::WebOptions {
                    report_workers: Some(WORKERS),
                    report_queue: Some(QUEUE),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await,
    );
    let admin = app.token("admin").await;
    let me_token = app.token("jishu").await;
    let from = format!("{}-01-01", chrono::Datelike::year(&today()) - 1);
    let path = format!("/api/v1/bulletin?org=370828&from={from}&to={}", today());
    let _alone = ONE_BURST.lock().await;
    // Warm: the first bulletin pays for cold caches, and a first wave of callers for opening the
    // pools' connections (a new PostgreSQL connection is a new server process), not the burst.
    let (s, _) = app.get(&path, &admin).await;
    assert_eq!(s, StatusCode::OK);
    let mut wave = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (app, token) = (app.clone(), admin.clone());
        wave.spawn(async move { app.get("/api/v1/me", &token).await.0 });
    }
    while let Some(s) = wave.join_next().await {
        assert_eq!(s.expect("warming call"), StatusCode::OK);
    }

    // Four clients, so that the percentiles rest on over a hundred answers given during the burst.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let me: Vec<_> = (0..4)
        .map(|_| {
            let (app, done, token) = (app.clone(), done.clone(), me_token.clone());
            tokio::spawn(async move {
                let mut took = Vec::new();
                while !done.load(std::sync::atomic::Ordering::Relaxed) || took.len() < 25 {
                    let started = Instant::now();
                    let (s, v) = app.get("/api/v1/me", &token).await;
                    took.push(started.elapsed());
                    assert_eq!(s, StatusCode::OK, "{v}");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                took
            })
        })
        .collect();

    let started = Instant::now();
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..BURST {
        let slot = slots.clone().acquire_owned().await.expect("slot");
        let (app, admin, path) = (app.clone(), admin.clone(), path.clone());
        burst.spawn(async move {
            let r = app
                .client
                .get(app.url(&path))
                .bearer_auth(&admin)
                .send()
                .await
                .expect("bulletin");
            let status = r.status();
            let retry = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            let v: Value = r.json().await.unwrap_or(Value::Null);
            drop(slot);
            (status, retry, v)
        });
    }
    let (mut ok, mut busy) = (0, 0);
    while let Some(answer) = burst.join_next().await {
        let (status, retry, v) = answer.expect("bulletin task");
        match status {
            StatusCode::OK => {
                assert_eq!(v["org"]["name"], "金乡县");
                ok += 1;
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(retry.as_deref(), Some("2"));
                assert_eq!(v["code"], "busy", "{v}");
                assert_eq!(v["message"], "统计报表请求较多，请稍后再试");
                busy += 1;
            }
            other => panic!("bulletin answered {other}: {v}"),
        }
    }
    let burst_took = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut me_took = Vec::new();
    for client in me {
        me_took.extend(client.await.expect("me task"));
    }
    me_took.sort();
    let p = |q: f64| me_took[((me_took.len() - 1) as f64 * q).round() as usize];
    println!(
        "[{:?}] burst of {BURST} bulletins, {IN_FLIGHT} in flight: {ok} answered 200, {busy} 503, in {burst_took:?} ({:.1} bulletins/s); /api/v1/me ×{}: p50 {:?}, p99 {:?}",
        app.backend,
        ok as f64 / burst_took.as_secs_f64(),
        me_took.len(),
        p(0.5),
        p(0.99),
    );
    assert_eq!(ok + busy, BURST);
    // The first arrivals fill the running place and the queue, and are all answered; with 30 in
    // flight and room for 5, some are turned away.
    assert!(ok >= WORKERS + QUEUE, "{ok} answered");
    assert!(busy >= 1, "none refused");
    assert!(p(0.99) < ME_P99, "/api/v1/me p99 {:?}", p(0.99));

    // The bulletin page says the same in Chinese, with Retry-After, when its queue is full.
    let cookie = app.browser_login("admin").await;
    let page = format!("/bulletin?org=370828&from={from}");
    let mut pages = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (app, cookie, page) = (app.clone(), cookie.clone(), page.clone());
        pages.spawn(async move {
            let r = app
                .client
                .get(app.url(&page))
                .header("cookie", cookie)
                .send()
                .await
                .expect("page");
            let retry = r.headers().get("retry-after").is_some();
            (r.status(), retry, r.text().await.unwrap_or_default())
        });
    }
    let mut refused = 0;
    while let Some(answer) = pages.join_next().await {
        let (status, retry, html) = answer.expect("page task");
        match status {
            StatusCode::OK => assert!(html.contains("金乡县")),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(retry);
                assert!(html.contains("系统繁忙"), "{html}");
                assert!(html.contains("统计报表请求较多，请稍后再试"));
                refused += 1;
            }
            other => panic!("bulletin page answered {other}"),
        }
    }
    assert!(refused >= 1, "no page refused");
}
