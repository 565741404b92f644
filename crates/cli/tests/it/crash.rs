//! Crash safety (security checklist item 8): the real `taizhang serve`, killed with SIGKILL while
//! concurrent clients write through the API, loses no acknowledged write and leaves no half-done
//! one — on a SQLite file and on PostgreSQL.
//!
//! There is no spreadsheet importer yet. Until there is, the multi-row writes stand in for an
//! import's batch: a new organisation (the org, its edge, its closure rows and its audit entry in
//! one transaction) and a 走访 record (the record, its facts, the people it names and its audit
//! entry); a new person is the single-row write (the person and its audit entry). When the
//! importer arrives, its batches belong in this test.
//!
//! SIGKILL ends the process, not the machine: what the kernel has accepted reaches the disk. This
//! test therefore proves that every acknowledged transaction was committed and that no
//! transaction is left half-applied; it does not simulate a power cut.

use crate::common::{seeded_database, Serve};
use rand::Rng;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use taizhang_domain::id_number::IdNumber;
use taizhang_testkit::{Backend, PASSWORD};

const WRITERS: u64 = 6;
const KILLS: usize = 3;
/// The town the writers write under (鸡黍镇).
const TOWN: &str = "370828005";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_write_across_sigkills() {
    crash_and_check(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_every_acknowledged_write_across_sigkills() {
    crash_and_check(Backend::Postgres).await;
}

/// After a kill the rollups are what the committed records make: equal, row for row, to the
/// rollups rebuilt from them (a write's rollup rows commit or vanish with the write).
async fn rollups_equal_a_rebuild(url: &str, dir: &Path) {
    let store = taizhang_store::Store::open_with(url, taizhang_testkit::test_options(dir))
        .await
        .expect("store opens after the kill");
    let county = store.county_by_code("370828").await.unwrap();
    let kept = store.rollup_dump(county.id.get()).await.unwrap();
    assert!(!kept.cells.is_empty());
    store.rebuild_rollups(Some("370828")).await.unwrap();
    let rebuilt = store.rollup_dump(county.id.get()).await.unwrap();
    assert!(
        kept == rebuilt,
        "the rollups differ from a rebuild after a kill"
    );
    store.close().await;
}

/// What the clients were told was written: the id the server answered with, and the unique marker
/// the client put into the write (an organisation's or person's name, a record's notes).
#[derive(Default)]
struct Acknowledged {
    orgs: Vec<(i64, String)>,
    people: Vec<(i64, String)>,
    records: Vec<(i64, String)>,
}

impl Acknowledged {
    fn total(&self) -> usize {
        self.orgs.len() + self.people.len() + self.records.len()
    }
}

async fn crash_and_check(backend: Backend) {
    let (url, dir) = seeded_database(backend).await;
    let baseline = Snapshot::take(backend, &url).await;
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let serial = Arc::new(AtomicU64::new(0));
    let client = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut previous = baseline.clone();
    for round in 0..KILLS {
        let mut server = Serve::start(&url, dir.path(), dir.path().join("serve.log"), &[]).await;
        let token = login(&client, &server.base).await;
        let round_acks = Arc::new(AtomicU64::new(0));
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            writers.push(tokio::spawn(writer(
                client.clone(),
                server.base.clone(),
                token.clone(),
                w,
                serial.clone(),
                acked.clone(),
                round_acks.clone(),
            )));
        }
        // Kill in the middle: once this round has had a write acknowledged, after a random
        // 0.5–2.5 s more of writing. Bounded: a round that acknowledges nothing for 120 s fails.
        let deadline = Instant::now() + Duration::from_secs(120);
        while round_acks.load(Ordering::SeqCst) == 0 {
            assert!(
                Instant::now() < deadline,
                "round {round}: no write acknowledged within 120 s\n{}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let delay = rand::thread_rng().gen_range(500..2500);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.kill9();
        for w in writers {
            let refused = w.await.expect("writer task");
            assert!(
                refused.is_empty(),
                "round {round}: the server answered writes with errors: {refused:?}"
            );
        }
        let now = Snapshot::take(backend, &url).await;
        now.check_consistent(&acked.lock().unwrap(), &baseline)
            .unwrap_or_else(|e| panic!("{backend:?} after kill {round}: {e}"));
        now.check_grew_from(&previous)
            .unwrap_or_else(|e| panic!("{backend:?} after kill {round}: {e}"));
        println!(
            "{backend:?} round {round}: killed after {delay} ms; {} writes acknowledged so far, {} audit entries",
            acked.lock().unwrap().total(),
            now.audit_entries
        );
        previous = now;
        rollups_equal_a_rebuild(&url, dir.path()).await;
    }

    // Restarted after the last kill, the server serves what it acknowledged.
    let mut server = Serve::start(&url, dir.path(), dir.path().join("serve.log"), &[]).await;
    let token = login(&client, &server.base).await;
    let (records, people) = {
        let a = acked.lock().unwrap();
        (a.records.clone(), a.people.clone())
    };
    for (id, marker) in records.iter().rev().take(5) {
        let r = client
            .get(format!("{}/api/v1/records/{id}", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["fields"]["notes"], json!(marker), "{v}");
    }
    for (id, name) in people.iter().rev().take(5) {
        let r = client
            .get(format!("{}/api/v1/people/{id}", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["name"], json!(name), "{v}");
    }
    server.kill9();

    let last = Snapshot::take(backend, &url).await;
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    last.check_consistent(&acked, &baseline)
        .unwrap_or_else(|e| panic!("{backend:?} at the end: {e}"));
    last.check_grew_from(&previous)
        .unwrap_or_else(|e| panic!("{backend:?} at the end: {e}"));
    assert!(
        !acked.orgs.is_empty() && !acked.people.is_empty() && !acked.records.is_empty(),
        "every kind of write was acknowledged at least once (orgs {}, people {}, records {})",
        acked.orgs.len(),
        acked.people.len(),
        acked.records.len()
    );
    audit_verify(&url, dir.path());

    // The checks can fail: one closure row of the last acknowledged organisation removed behind
    // the application's back is caught, as a missing row and as a shrunken table.
    let (org, _) = acked.orgs.last().unwrap().clone();
    let sql = format!("DELETE FROM org_closure WHERE descendant_id = {org} AND depth = 1");
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query(&sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query(&sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
    let broken = Snapshot::take(backend, &url).await;
    let missing = broken.check_consistent(&acked, &baseline);
    assert!(
        missing
            .as_ref()
            .is_err_and(|e| e.contains("closure rows of organisation")),
        "a missing closure row is caught: {missing:?}"
    );
    let shrunk = broken.check_grew_from(&last);
    assert!(
        shrunk
            .as_ref()
            .is_err_and(|e| e.contains("org_closure shrank")),
        "a shrunken table is caught: {shrunk:?}"
    );
}

async fn login(client: &Client, base: &str) -> String {
    let r = client
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Writes until the server goes away (a transport error: the write is unacknowledged), at most
/// 100,000 times. Returns every answer that was neither 201 nor a transport error.
async fn writer(
    client: Client,
    base: String,
    token: String,
    w: u64,
    serial: Arc<AtomicU64>,
    acked: Arc<Mutex<Acknowledged>>,
    round_acks: Arc<AtomicU64>,
) -> Vec<(StatusCode, String)> {
    let mut refused = Vec::new();
    let mut my_people: Vec<i64> = Vec::new();
    for i in 0..100_000_u64 {
        let n = serial.fetch_add(1, Ordering::SeqCst);
        let (path, body, marker) = match (w + i) % 3 {
            0 => {
                let name = format!("崩溃测试{n}村");
                let body = json!({"kind": "village", "name": name});
                (format!("/api/v1/orgs/{TOWN}/children"), body, name)
            }
            1 => {
                // A synthetic, valid, unique number: one birth day per write, outside the demo's
                // region.
                let birth = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap()
                    + chrono::Duration::days(n as i64);
                let id = IdNumber::from_parts(
                    "370881",
                    birth,
                    (n % 1000) as u16,
                    taizhang_store::today(),
                )
                .unwrap();
                let name = format!("测试{n}号");
                let body = json!({"name": name, "org": TOWN, "id_number": id.as_str(),
                                  "phone": format!("139{:08}", n), "party_member": true});
                ("/api/v1/people".to_string(), body, name)
            }
            _ => {
                let notes = format!("crash-test write {n}.");
                let visitors: Vec<i64> = my_people.iter().rev().take(2).copied().collect();
                let body = json!({"ledger_type": "visit", "org": TOWN, "occurred_on": taizhang_store::today(),
                                  "fields": {"category": "脱贫户", "households": 1 + n % 40, "problems_found": n % 5,
                                             "topics": ["村情民意"], "visitors": visitors, "notes": notes}});
                ("/api/v1/records".to_string(), body, notes)
            }
        };
        let sent = client
            .post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await;
        let r = match sent {
            Ok(r) => r,
            Err(_) => break,
        };
        let status = r.status();
        let text = match r.text().await {
            Ok(t) => t,
            Err(_) => break, // killed while answering: not acknowledged
        };
        if status != StatusCode::CREATED {
            refused.push((status, text));
            continue;
        }
        let v: Value = serde_json::from_str(&text).expect("json answer");
        let id = v["id"].as_i64().expect("id");
        {
            let mut a = acked.lock().unwrap();
            match (w + i) % 3 {
                0 => a.orgs.push((id, marker)),
                1 => {
                    a.people.push((id, marker));
                    my_people.push(id);
                }
                _ => a.records.push((id, marker)),
            }
        }
        round_acks.fetch_add(1, Ordering::SeqCst);
    }
    refused
}

fn audit_verify(url: &str, dir: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .args(["audit", "verify", "--db", url])
        .envs(crate::common::child_env(dir))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the audit chain verifies after the crashes: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("审计日志完整"), "{stdout}");
}

/// `assert!` and `assert_eq!` that return the failure instead of panicking, so that the test can
/// also show that its checks fail on a broken database.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($msg:tt)+) => {
        if $left != $right {
            return Err(format!("{}: {:?} is not {:?}", format!($($msg)+), $left, $right));
        }
    };
}

/// The database as the killed server left it, read directly.
#[derive(Clone)]
struct Snapshot {
    /// name → how many organisations have it.
    org_names: HashMap<String, i64>,
    org_ids: HashSet<i64>,
    person_names: HashMap<String, i64>,
    person_ids: HashSet<i64>,
    /// notes → how many records have them.
    record_notes: HashMap<String, i64>,
    record_ids: HashSet<i64>,
    /// (entity, id) of every `create` audit entry.
    audit_creates: HashMap<(String, i64), i64>,
    audit_entries: i64,
    /// child → parent, open edges only.
    open_edges: HashMap<i64, i64>,
    /// descendant → {ancestor → depth}, open closure rows only.
    open_closure: HashMap<i64, BTreeMap<i64, i64>>,
    /// Organisations with a depth-0 closure row, open or closed.
    self_rows: HashSet<i64>,
    /// Organisations with an edge, open or closed.
    with_edge: HashSet<i64>,
    roots: HashSet<i64>,
    counts: BTreeMap<&'static str, i64>,
}

const COUNTED: [&str; 8] = [
    "orgs",
    "org_edges",
    "org_closure",
    "people",
    "ledger_records",
    "record_facts",
    "record_people",
    "audit_log",
];

/// Each query returns (text, integer, integer) rows, on both backends.
fn queries(backend: Backend) -> [(&'static str, String); 7] {
    let notes = match backend {
        Backend::Sqlite => "json_extract(fields, '$.notes')",
        Backend::Postgres => "fields->>'notes'",
    };
    [
        ("orgs", "SELECT name, id, CAST(0 AS BIGINT) FROM orgs".to_string()),
        ("people", "SELECT name, id, CAST(0 AS BIGINT) FROM people".to_string()),
        (
            "records",
            format!("SELECT COALESCE({notes}, ''), id, CAST(0 AS BIGINT) FROM ledger_records"),
        ),
        (
            "audit",
            "SELECT entity, CAST(entity_id AS BIGINT), seq FROM audit_log WHERE action = 'create' AND entity IN ('org', 'person', 'record')".to_string(),
        ),
        (
            "edges",
            "SELECT CASE WHEN valid_to IS NULL THEN 'open' ELSE 'closed' END, child_id, parent_id FROM org_edges".to_string(),
        ),
        (
            "closure",
            "SELECT CASE WHEN valid_to IS NULL THEN CAST(depth AS TEXT) ELSE 'closed' END, descendant_id, ancestor_id FROM org_closure".to_string(),
        ),
        (
            "roots",
            "SELECT 'root', COALESCE(root_org_id, 0), id FROM counties".to_string(),
        ),
    ]
}

type Row = (String, i64, i64);

async fn fetch(
    backend: Backend,
    url: &str,
) -> (HashMap<&'static str, Vec<Row>>, BTreeMap<&'static str, i64>) {
    let mut rows = HashMap::new();
    let mut counts = BTreeMap::new();
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.expect("open sqlite");
            let (ok,): (String,) = sqlx::query_as("PRAGMA integrity_check")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(ok, "ok", "PRAGMA integrity_check");
            let broken: Vec<(String, i64, String, i64)> =
                sqlx::query_as("PRAGMA foreign_key_check")
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            assert!(broken.is_empty(), "PRAGMA foreign_key_check: {broken:?}");
            for (name, sql) in queries(backend) {
                rows.insert(
                    name,
                    sqlx::query_as::<_, Row>(&sql)
                        .fetch_all(&pool)
                        .await
                        .unwrap(),
                );
            }
            for t in COUNTED {
                let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {t}"))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                counts.insert(t, n);
            }
            pool.close().await;
        }
        Backend::Postgres => {
            // The killed server's backends may still be finishing a COMMIT it sent: read
            // everything from one snapshot, so that no commit lands between two queries.
            let pool = sqlx::PgPool::connect(url).await.expect("connect postgres");
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *tx)
                .await
                .unwrap();
            for (name, sql) in queries(backend) {
                rows.insert(
                    name,
                    sqlx::query_as::<_, Row>(&sql)
                        .fetch_all(&mut *tx)
                        .await
                        .unwrap(),
                );
            }
            for t in COUNTED {
                let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {t}"))
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                counts.insert(t, n);
            }
            tx.rollback().await.unwrap();
            pool.close().await;
        }
    }
    (rows, counts)
}

fn tally(rows: &[Row]) -> (HashMap<String, i64>, HashSet<i64>) {
    let mut names = HashMap::new();
    let mut ids = HashSet::new();
    for (name, id, _) in rows {
        *names.entry(name.clone()).or_insert(0) += 1;
        ids.insert(*id);
    }
    (names, ids)
}

impl Snapshot {
    async fn take(backend: Backend, url: &str) -> Snapshot {
        let (rows, counts) = fetch(backend, url).await;
        let (org_names, org_ids) = tally(&rows["orgs"]);
        let (person_names, person_ids) = tally(&rows["people"]);
        let (record_notes, record_ids) = tally(&rows["records"]);
        let mut audit_creates = HashMap::new();
        for (entity, id, _) in &rows["audit"] {
            *audit_creates.entry((entity.clone(), *id)).or_insert(0) += 1;
        }
        let mut open_edges = HashMap::new();
        let mut with_edge = HashSet::new();
        for (state, child, parent) in &rows["edges"] {
            with_edge.insert(*child);
            if state == "open" {
                assert!(
                    open_edges.insert(*child, *parent).is_none(),
                    "organisation {child} has two open edges"
                );
            }
        }
        let mut open_closure: HashMap<i64, BTreeMap<i64, i64>> = HashMap::new();
        let mut self_rows = HashSet::new();
        for (depth, desc, anc) in &rows["closure"] {
            if desc == anc {
                self_rows.insert(*desc);
            }
            if depth != "closed" {
                let d: i64 = depth.parse().expect("depth");
                let previous = open_closure.entry(*desc).or_default().insert(*anc, d);
                assert!(
                    previous.is_none(),
                    "two open closure rows for ({anc}, {desc})"
                );
            }
        }
        Snapshot {
            org_names,
            org_ids,
            person_names,
            person_ids,
            record_notes,
            record_ids,
            audit_creates,
            audit_entries: counts["audit_log"],
            open_edges,
            open_closure,
            self_rows,
            with_edge,
            roots: rows["roots"].iter().map(|r| r.1).collect(),
            counts,
        }
    }

    /// Every acknowledged write is there exactly once; every object created since the seed is
    /// whole (its audit entry is there, once, and an audit entry has its object); the closure
    /// table agrees with the edges.
    fn check_consistent(&self, acked: &Acknowledged, baseline: &Snapshot) -> Result<(), String> {
        let acknowledged = [
            ("organisation", &acked.orgs, &self.org_ids, &self.org_names),
            (
                "person",
                &acked.people,
                &self.person_ids,
                &self.person_names,
            ),
            (
                "record",
                &acked.records,
                &self.record_ids,
                &self.record_notes,
            ),
        ];
        for (kind, written, ids, by_name) in acknowledged {
            for (id, name) in written {
                ensure!(
                    ids.contains(id),
                    "acknowledged {kind} {id} ({name}) is missing"
                );
                ensure_eq!(by_name.get(name), Some(&1), "{kind} {name} exactly once");
            }
        }
        // Atomicity, acknowledged or not: a new object and its audit entry exist together.
        let kinds = [
            ("org", &self.org_ids, &baseline.org_ids),
            ("person", &self.person_ids, &baseline.person_ids),
            ("record", &self.record_ids, &baseline.record_ids),
        ];
        for (entity, now, before) in kinds {
            for id in now.difference(before) {
                ensure_eq!(
                    self.audit_creates.get(&(entity.to_string(), *id)),
                    Some(&1),
                    "new {entity} {id} has exactly one audit entry"
                );
            }
            for (e, id) in self.audit_creates.keys() {
                if e == entity {
                    ensure!(
                        now.contains(id),
                        "audit entry for a {entity} {id} that does not exist"
                    );
                }
            }
        }
        // No organisation without its closure rows, none but a county's root without an edge,
        // and the open closure rows are exactly those the open edges imply.
        for id in &self.org_ids {
            ensure!(
                self.self_rows.contains(id),
                "organisation {id} has no closure row"
            );
            ensure!(
                self.roots.contains(id) || self.with_edge.contains(id),
                "organisation {id} has no edge"
            );
        }
        for (child, parent) in &self.open_edges {
            let mut expected: BTreeMap<i64, i64> = self
                .open_closure
                .get(parent)
                .map(|m| m.iter().map(|(a, d)| (*a, d + 1)).collect())
                .unwrap_or_default();
            expected.insert(*child, 0);
            ensure_eq!(
                self.open_closure.get(child),
                Some(&expected),
                "closure rows of organisation {child} (under {parent}) match its edges"
            );
        }
        for root in &self.roots {
            ensure_eq!(
                self.open_closure.get(root),
                Some(&BTreeMap::from([(*root, 0)])),
                "a county's root is its own only ancestor"
            );
        }
        Ok(())
    }

    fn check_grew_from(&self, earlier: &Snapshot) -> Result<(), String> {
        for (table, n) in &self.counts {
            ensure!(
                *n >= earlier.counts[table],
                "{table} shrank from {} to {n}",
                earlier.counts[table]
            );
        }
        Ok(())
    }
}
