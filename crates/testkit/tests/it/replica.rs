//! `serve --read-replica`: reports and lists read from a PostgreSQL streaming replica while it is
//! fit, and from the primary when it is down or lags past the bound. Each test has its own
//! primary database and its own replica (see the testkit's `replica`). Which server answered is
//! told by the store's counters, and by a record the paused replica cannot yet have.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use taizhang_store::{ReadTarget, ReplicaOptions, ReplicaStatus, StoreError};
use taizhang_testkit::{spawn_replica_app, Backend, ReplicaPair, TestApp};

const CHECK_EVERY: Duration = Duration::from_millis(250);
const MAX_LAG: Duration = Duration::from_secs(3);
const OPTS: ReplicaOptions = ReplicaOptions {
    max_lag: MAX_LAG,
    check_every: CHECK_EVERY,
};
const TOWN: &str = "370828005";

async fn app() -> (TestApp, ReplicaPair) {
    spawn_replica_app(OPTS)
        .await
        .expect("primary and replica start")
}

fn status(app: &TestApp) -> ReplicaStatus {
    app.store.read_replica().expect("the store has a replica")
}

/// The town's bulletin over the last 30 days: how many records it counts.
async fn bulletin_total(app: &TestApp, token: &str) -> i64 {
    let today = taizhang_store::today();
    let from = today - chrono::Duration::days(30);
    let (s, b) = app
        .get(
            &format!("/api/v1/bulletin?org={TOWN}&from={from}&to={today}"),
            token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["total_records"].as_i64().expect("total_records")
}

/// A visit in the town yesterday, written through the API (on the primary).
async fn write_visit(app: &TestApp, token: &str) -> Value {
    let day = taizhang_store::today() - chrono::Duration::days(1);
    let (s, v) = app
        .post(
            "/api/v1/records",
            token,
            json!({"ledger_type": "visit", "org": TOWN, "occurred_on": day, "fields": {"category": "脱贫户", "households": 3}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// Polls `cond` every 50 ms for at most `limit`; the time it took, or `None`.
async fn within(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replica_answers_bulletins_once_replayed() {
    let (app, _pair) = app().await;
    let st = status(&app);
    assert_eq!(
        (st.target, st.lag, st.reason.as_str()),
        (ReadTarget::Replica, Some(Duration::ZERO), "")
    );
    let t = app.token("admin").await;
    let before = bulletin_total(&app, &t).await;
    assert_eq!(
        (status(&app).replica_reads, status(&app).primary_reads),
        (1, 0)
    );

    let record = write_visit(&app, &t).await;
    // The record just written reads from the primary, at once.
    let (s, v) = app
        .get(&format!("/api/v1/records/{}", record["id"]), &t)
        .await;
    assert_eq!((s, &v["id"]), (StatusCode::OK, &record["id"]));

    // The bulletin, read from the replica, shows it once replayed.
    assert_eq!(replayed_total(&app, &t, before + 1).await, before + 1);
    let st = status(&app);
    assert_eq!(st.target, ReadTarget::Replica);
    assert_eq!(st.primary_reads, 0, "no report went to the primary");
    assert!(st.replica_reads >= 2, "{st:?}");
    assert!(st.checks >= 1, "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replica_down_reads_fall_back_to_the_primary() {
    let (app, pair) = app().await;
    let t = app.token("admin").await;
    let cookie = app.browser_login("admin").await;
    let before = bulletin_total(&app, &t).await;
    assert_eq!(status(&app).replica_reads, 1);

    pair.stop_replica().await.expect("replica stops");
    let stopped = Instant::now();
    // Bulletins, the overdue list, the lists and the home page answer from the primary.
    assert_eq!(bulletin_total(&app, &t).await, before);
    let answered = stopped.elapsed();
    for path in [
        format!("/api/v1/records?org={TOWN}&limit=5"),
        format!("/api/v1/orgs/{TOWN}/children"),
        format!("/api/v1/people?org={TOWN}"),
        format!("/api/v1/overdue?org={TOWN}"),
    ] {
        let (s, v) = app.get(&path, &t).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
    }
    let (s, html) = app.page("/", &cookie).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        answered < CHECK_EVERY + Duration::from_secs(2),
        "the first bulletin after the stop took {answered:?}"
    );
    let st = status(&app);
    assert_eq!((st.target, st.lag), (ReadTarget::Primary, None));
    assert!(st.reason.starts_with("副本"), "{st:?}");
    // The bulletin, three lists, the overdue list, and the home page's scope roots (for its
    // figures and again for its navigation), the county's children, its overdue list and the
    // recent records: ten reads, all from the primary.
    assert_eq!(st.replica_reads, 1, "{st:?}");
    assert_eq!(st.primary_reads, 10, "{st:?}");

    // A write while the replica is down, then the replica back: it catches up and answers again.
    write_visit(&app, &t).await;
    assert_eq!(bulletin_total(&app, &t).await, before + 1);
    pair.start_replica().await.expect("replica starts again");
    let back = within(Duration::from_secs(10), || {
        status(&app).target == ReadTarget::Replica
    })
    .await;
    assert!(back.is_some(), "back to the replica: {:?}", status(&app));
    // Fit means within the bound, not caught up: the record written while it was down shows
    // once it is replayed, read from the replica.
    let st = status(&app);
    assert_eq!(replayed_total(&app, &t, before + 1).await, before + 1);
    let now = status(&app);
    assert_eq!(now.primary_reads, st.primary_reads, "{now:?}");
    assert!(now.replica_reads > st.replica_reads, "{now:?}");
}

/// Reads the bulletin until it counts `want` records, for at most 5 s; the last count.
async fn replayed_total(app: &TestApp, token: &str, want: i64) -> i64 {
    let start = Instant::now();
    loop {
        let total = bulletin_total(app, token).await;
        if total == want || start.elapsed() > Duration::from_secs(5) {
            return total;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replica_lagging_past_the_bound_reads_the_primary() {
    let (app, pair) = app().await;
    let t = app.token("admin").await;
    let before = bulletin_total(&app, &t).await;

    pair.pause_replay().await.expect("replay pauses");
    write_visit(&app, &t).await;
    let written = Instant::now();
    // Within the bound the replica still answers, without the record it has not replayed: the
    // proof that the bulletin is read there and not on the primary.
    assert_eq!(bulletin_total(&app, &t).await, before);
    let st = status(&app);
    assert_eq!(
        (st.target, st.replica_reads, st.primary_reads),
        (ReadTarget::Replica, 2, 0)
    );

    // Past the bound: the primary answers, with the record.
    let switched = within(Duration::from_secs(10), || {
        status(&app).target == ReadTarget::Primary
    })
    .await;
    assert!(switched.is_some(), "{:?}", status(&app));
    let after = written.elapsed();
    // The last check the replica passed ran at most an interval (and the check's own time)
    // before the write: the switch comes no earlier than about the bound after it.
    assert!(
        after + Duration::from_secs(1) >= MAX_LAG,
        "switched {after:?} after the write, well before the bound"
    );
    let st = status(&app);
    assert!(st.reason.starts_with("副本延迟"), "{st:?}");
    assert!(st.lag.is_some_and(|l| l > MAX_LAG), "{st:?}");
    assert_eq!(bulletin_total(&app, &t).await, before + 1);
    assert_eq!(status(&app).primary_reads, 1);

    // Replay resumed: the replica catches up and answers again, with the record.
    pair.resume_replay().await.expect("replay resumes");
    let back = within(Duration::from_secs(10), || {
        status(&app).target == ReadTarget::Replica
    })
    .await;
    assert!(back.is_some(), "{:?}", status(&app));
    assert_eq!(replayed_total(&app, &t, before + 1).await, before + 1);
    let st = status(&app);
    assert_eq!(st.primary_reads, 1, "{st:?}");
    assert!(st.replica_reads >= 3, "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_primary_refuses_a_read_replica() {
    let (store, _url, _dir) = taizhang_testkit::fresh_store(Backend::Sqlite)
        .await
        .expect("store");
    assert_eq!(store.read_replica(), None);
    let err = store
        .with_read_replica("postgres://postgres@127.0.0.1:1/x", OPTS)
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, StoreError::Config(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "配置错误：只读副本（--read-replica）仅支持 PostgreSQL 主库；SQLite 数据库没有副本"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_primary_refuses_a_replica_that_is_not_postgres() {
    let (store, _url, _dir) = taizhang_testkit::fresh_store(Backend::Postgres)
        .await
        .expect("store");
    assert_eq!(store.read_replica(), None);
    let err = store
        .with_read_replica("sqlite://replica.db", OPTS)
        .await
        .err()
        .expect("refused");
    assert_eq!(
        err.to_string(),
        "配置错误：只读副本必须是 PostgreSQL 地址（postgres://…）：sqlite://replica.db"
    );
}
