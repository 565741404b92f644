//! A bulk write killed with SIGKILL: `taizhang gen` writing a county's records (one transaction
//! per batch of up to 20,000 records, with their facts, people, rollup rows and one `import`
//! audit entry) is killed while it writes, on a SQLite file and on PostgreSQL. Afterwards the
//! database holds exactly the batches that committed — every record lies in the id range of an
//! `import` audit entry, the ranges add up to the record count, no fact or person row is left
//! without its record — and the rollups equal a rebuild from the records.

use crate::common::child_env;
use rand::Rng;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use taizhang_testkit::{fresh_store, Backend};

/// `gen --scale county` writes this county.
const COUNTY: &str = "370828";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_whole_batches_when_gen_is_killed() {
    kill_gen_and_check(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_whole_batches_when_gen_is_killed() {
    kill_gen_and_check(Backend::Postgres).await;
}

/// (text, integer) rows of a query, on either backend.
async fn rows(url: &str, sql: &str) -> Vec<(String, i64)> {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("connect postgres");
        let r = sqlx::query_as(sql).fetch_all(&pool).await.expect(sql);
        pool.close().await;
        r
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("open sqlite");
        let r = sqlx::query_as(sql).fetch_all(&pool).await.expect(sql);
        pool.close().await;
        r
    }
}

async fn one(url: &str, sql: &str) -> i64 {
    let r = rows(url, &format!("SELECT '', CAST(({sql}) AS BIGINT)")).await;
    r.first().map(|r| r.1).expect("one row")
}

/// Committed record batches so far: the `import` audit entries of records.
const BATCHES: &str =
    "SELECT COUNT(*) FROM audit_log WHERE action = 'import' AND entity = 'record'";

async fn kill_gen_and_check(backend: Backend) {
    let (store, url, dir) = fresh_store(backend).await.expect("empty database");
    store.close().await;
    let log = dir.path().join("gen.log");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .args([
            "gen", "--scale", "county", "--years", "1", "--seed", "7", "--db", &url,
        ])
        .envs(child_env(dir.path()))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn taizhang gen");

    // Bounded wait for the first committed batch of records, then a little more writing.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        assert!(
            child.try_wait().expect("child status").is_none(),
            "gen ended before it was killed:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        assert!(
            Instant::now() < deadline,
            "no batch of records committed within 600 s:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        if one(&url, BATCHES).await >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delay = rand::thread_rng().gen_range(200..1500);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    assert!(
        child.try_wait().expect("child status").is_none(),
        "gen finished before the kill; the kill must land mid-write:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    child.kill().expect("SIGKILL gen");
    child.wait().expect("reap gen");
    if backend == Backend::Postgres {
        settle_postgres(&url).await;
    }

    let records = check_whole_batches(&url).await;
    rollups_equal_a_rebuild(&url, dir.path(), records).await;
    println!(
        "{backend:?}: gen killed {delay} ms after its first batch; {} batches committed",
        one(&url, BATCHES).await
    );
}

/// The killed client's server processes end (rolling back what was in flight) before the
/// database is read: no other session on the database. A server process notices its client is
/// gone only when it next talks to it, which a long statement on a loaded machine postpones, so
/// they are terminated as an operator would after a crash — the same rollback — and waited for
/// at most 60 s.
async fn settle_postgres(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let others = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
    one(
        url,
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await;
    while one(url, others).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the killed client's sessions did not end"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every record lies in exactly one committed batch's id range, the ranges' sizes add up to the
/// records and to the counts the audit entries state, and no fact or named person is orphaned.
/// Returns the records.
async fn check_whole_batches(url: &str) -> i64 {
    let entries = rows(
        url,
        "SELECT entity_id || ' ' || CAST(after_json AS TEXT), seq FROM audit_log WHERE action = 'import' AND entity = 'record' ORDER BY seq",
    )
    .await;
    assert!(!entries.is_empty(), "at least one batch committed");
    let mut ranges = Vec::new();
    for (text, seq) in &entries {
        let (range, after) = text.split_once(' ').expect("range and payload");
        let (first, last) = range.split_once("..").expect("first..last");
        let first: i64 = first.parse().expect("first id");
        let last: i64 = last.parse().expect("last id");
        let stated: serde_json::Value = serde_json::from_str(after).expect("payload json");
        assert_eq!(
            stated["count"].as_i64(),
            Some(last - first + 1),
            "audit entry {seq}: a batch's ids are consecutive"
        );
        ranges.push((first, last));
    }
    ranges.sort();
    for w in ranges.windows(2) {
        assert!(w[0].1 < w[1].0, "batch ranges overlap: {w:?}");
    }
    let ids = rows(url, "SELECT '', id FROM ledger_records ORDER BY id").await;
    let in_batches: i64 = ranges.iter().map(|(f, l)| l - f + 1).sum();
    assert_eq!(
        ids.len() as i64,
        in_batches,
        "records are exactly the committed batches"
    );
    for (_, id) in &ids {
        let i = ranges.partition_point(|(f, _)| f <= id);
        assert!(
            i > 0 && *id <= ranges[i - 1].1,
            "record {id} lies in no committed batch"
        );
    }
    for table in ["record_facts", "record_people"] {
        let orphans = one(
            url,
            &format!("SELECT COUNT(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM ledger_records r WHERE r.id = t.record_id)"),
        )
        .await;
        assert_eq!(orphans, 0, "{table} rows without their record");
    }
    in_batches
}

/// The rollups count every committed record once, and equal, row for row, a rebuild.
async fn rollups_equal_a_rebuild(url: &str, dir: &Path, records: i64) {
    let store = taizhang_store::Store::open_with(url, taizhang_testkit::test_options(dir))
        .await
        .expect("store opens after the kill");
    let county = store.county_by_code(COUNTY).await.expect("the county");
    let kept = store.rollup_dump(county.id.get()).await.expect("dump");
    let counted: i64 = kept.cells.iter().map(|c| c.records).sum();
    assert_eq!(counted, records, "records counted by the rollups");
    let rebuilt_counts = store.rebuild_rollups(Some(COUNTY)).await.expect("rebuild");
    assert_eq!(
        rebuilt_counts,
        vec![(COUNTY.to_string(), u64::try_from(records).expect("count"))]
    );
    let rebuilt = store.rollup_dump(county.id.get()).await.expect("dump");
    assert!(
        kept == rebuilt,
        "the rollups differ from a rebuild after the kill"
    );
    store.close().await;
}
