//! Moving a county between backends, schema versions, and many concurrent writers.

use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use taizhang_domain::bulletin::Grouping;
use taizhang_domain::period::DateRange;
use taizhang_store::{Actor, Store, StoreError};
use taizhang_testkit::{each_backend, fresh_store, spawn_app, Backend, TestApp};

each_backend!(newer_schema_is_refused, concurrent_writers_lose_nothing);

fn year() -> DateRange {
    let to = taizhang_store::today();
    DateRange::new(to - chrono::Duration::days(364), to).unwrap()
}

async fn bulletin_json(store: &Store, county_id: taizhang_domain::CountyId) -> serde_json::Value {
    let actor = Actor::system(county_id, "test");
    let b = store
        .bulletin(&actor, "370828", year(), Grouping::Children)
        .await
        .unwrap();
    serde_json::to_value(b).unwrap()
}

/// SQLite → PostgreSQL → SQLite: every table identical, the same bulletin, a valid audit chain,
/// working logins, and new rows getting fresh ids on the target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_moves_between_backends_without_loss() {
    let app = spawn_app(Backend::Sqlite).await;
    let t = app.token("admin").await;
    // Some history worth keeping: a move and a dissolution.
    let (s, v) = app
        .post(
            "/api/v1/orgs/370828005/children",
            &t,
            json!({"kind": "village", "name": "搬迁村", "established_on": "2020-01-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let village = v["ref"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(
            &format!("/api/v1/orgs/{village}/move"),
            &t,
            json!({"parent": "370828002", "on": "2026-02-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/v1/orgs/{village}/dissolve"),
            &t,
            json!({"on": "2026-04-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["dissolved_on"], "2026-04-01", "{v}");
    let (s, history) = app
        .get(&format!("/api/v1/orgs/{village}/history"), &t)
        .await;
    assert_eq!(s, StatusCode::OK, "{history}");
    let history = history.as_array().unwrap().clone();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["parent_name"], "鸡黍镇");
    assert_eq!(history[0]["valid_to"], "2026-02-01");
    assert_eq!(history[1]["valid_from"], "2026-02-01");

    let county = app.store.county_by_code("370828").await.unwrap();
    let (pg, pg_url, _pg_dir) = fresh_store(Backend::Postgres).await.unwrap();
    let report = app.store.copy_to(&pg, Some("370828")).await.unwrap();
    let copied: Vec<&str> = report.iter().map(|t| t.table.as_str()).collect();
    for table in schema_tables(&app).await {
        assert!(
            copied.contains(&table.as_str()) || NOT_COPIED.contains(&table.as_str()),
            "table {table} is neither copied nor deliberately left behind"
        );
    }
    for table in &report {
        assert!(table.matches(), "{table:?}");
    }
    // Both backends have the same tables.
    assert_eq!(schema_tables(&app).await, pg_schema_tables(&pg_url).await);
    assert!(
        report
            .iter()
            .find(|t| t.table == "ledger_records")
            .unwrap()
            .target_rows
            > 1000
    );
    assert_eq!(
        bulletin_json(&app.store, county.id).await,
        bulletin_json(&pg, county.id).await
    );
    assert!(matches!(pg.verify_audit_chain(county.id).await.unwrap(), Ok(n) if n > 100));

    // Copying again is refused, and nothing changes.
    assert!(matches!(
        app.store.copy_to(&pg, Some("370828")).await,
        Err(StoreError::Conflict {
            code: "copy.exists",
            ..
        })
    ));

    // The copy serves: logins work and new rows get ids past the copied ones.
    let (_, token) = pg
        .login("jishu", taizhang_testkit::PASSWORD, None)
        .await
        .unwrap();
    let session = pg.session(&token).await.unwrap();
    let max_before = report
        .iter()
        .find(|t| t.table == "orgs")
        .unwrap()
        .target_rows;
    let org = pg
        .create_org(
            &session.actor,
            "370828005",
            taizhang_store::NewOrg {
                kind: taizhang_domain::org::OrgKind::Village,
                name: "新村".into(),
                code: None,
                established_on: None,
            },
        )
        .await
        .unwrap();
    assert!(
        org.id.get() > max_before,
        "identity continues after the copied ids"
    );

    // And back into a fresh SQLite file.
    let (back, _url, _dir) = fresh_store(Backend::Sqlite).await.unwrap();
    let report = pg.copy_to(&back, None).await.unwrap();
    assert!(report.iter().all(|t| t.matches()), "{report:?}");
    assert_eq!(
        bulletin_json(&pg, county.id).await,
        bulletin_json(&back, county.id).await
    );
}

/// The tables a copy leaves behind on purpose: the schema's own bookkeeping, sessions (a copy
/// starts without anyone logged in), one-time setup codes (short-lived secrets of the source's
/// first start), requests for review of privileged accounts with their activation codes (as
/// short-lived; the audit log keeps their history) and the settings of the database itself (the
/// fingerprint of its field key), which the target has of its own; and uploaded import files
/// with their rejected rows (working files; the records they wrote are copied, and the audit
/// log keeps each import's history).
const NOT_COPIED: &[&str] = &[
    "schema_migrations",
    "sessions",
    // A replay answer belongs to one account's retry window on one server.
    "idempotency_keys",
    "setup_codes",
    "account_requests",
    "instance_settings",
    "imports",
];

/// Every table of the test database's schema, as the database itself lists them.
async fn schema_tables(app: &TestApp) -> Vec<String> {
    let path = app.db_url.trim_start_matches("sqlite://");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert!(tables.len() > 10, "{tables:?}");
    tables.into_iter().map(|(t,)| t).collect()
}

/// Every table of a PostgreSQL database's schema.
async fn pg_schema_tables(url: &str) -> Vec<String> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    tables.into_iter().map(|(t,)| t).collect()
}

async fn newer_schema_is_refused(app: TestApp) {
    // Every migration this binary knows has been applied.
    let supported = app.store.schema_version().await.unwrap();
    assert!(supported >= 2, "{supported}");
    // A later binary has migrated this database further.
    let sql = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from the future', '2030-01-01')";
    app.execute_raw(sql).await;
    let dir = tempfile::tempdir().unwrap();
    match Store::open_with(&app.db_url, taizhang_testkit::test_options(dir.path())).await {
        Err(e @ StoreError::SchemaTooNew { found: 999, .. }) => {
            assert!(matches!(e, StoreError::SchemaTooNew { supported: s, .. } if s == supported));
            assert!(e.to_string().contains("请升级taizhang"));
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

/// 50 writers recording ledger entries at once, a fixed number each: every acknowledged write is
/// there, none is lost or doubled, and no request fails with a 5xx. Requests per writer:
/// `CONCURRENCY_REQUESTS` (default 20).
async fn concurrent_writers_lose_nothing(app: TestApp) {
    const WRITERS: u64 = 50;
    let per_writer: u64 = std::env::var("CONCURRENCY_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let app = Arc::new(app);
    let token = app.token("jishu").await;
    let (_, before) = app
        .get(
            "/api/v1/records?org=370828005101&ledger_type=visit&limit=1",
            &token,
        )
        .await;
    let before = before["total"].as_i64().unwrap();
    let ok = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (app, token, ok) = (app.clone(), token.clone(), ok.clone());
        writers.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..per_writer {
                let body = json!({"ledger_type": "visit", "org": "370828005101", "occurred_on": taizhang_store::today(),
                                  "fields": {"category": "脱贫户", "households": 1 + (w * 7 + i) % 50, "notes": format!("writer {w} entry {i}")}});
                let (s, _) = app.post("/api/v1/records", &token, body).await;
                if s == StatusCode::CREATED {
                    ok.fetch_add(1, Ordering::SeqCst);
                }
                statuses.push(s);
            }
            statuses
        }));
    }
    let mut all = Vec::new();
    for w in writers {
        all.extend(w.await.unwrap());
    }
    let server_errors = all.iter().filter(|s| s.is_server_error()).count();
    assert_eq!(server_errors, 0, "no 5xx under concurrent writes");
    assert!(
        all.iter().all(|s| *s == StatusCode::CREATED),
        "every write accepted: {:?}",
        all.iter().find(|s| **s != StatusCode::CREATED)
    );
    let acknowledged = ok.load(Ordering::SeqCst) as i64;
    assert_eq!(
        acknowledged,
        (WRITERS * per_writer) as i64,
        "every request was answered and acknowledged"
    );
    let (_, after) = app
        .get(
            "/api/v1/records?org=370828005101&ledger_type=visit&limit=1",
            &token,
        )
        .await;
    assert_eq!(
        after["total"].as_i64().unwrap(),
        before + acknowledged,
        "every acknowledged write is there, once"
    );
    let county = app.store.county_by_code("370828").await.unwrap();
    assert!(
        app.store
            .verify_audit_chain(county.id)
            .await
            .unwrap()
            .is_ok(),
        "the audit chain stays whole under concurrency"
    );
    println!(
        "{:?}: {acknowledged} records written by {WRITERS} writers in {:.1} s",
        app.backend,
        started.elapsed().as_secs_f64()
    );
}

/// The append-only triggers hold on both backends, and a change made past them breaks the chain
/// at that entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_breaks_the_chain_on_postgres() {
    let app = spawn_app(Backend::Postgres).await;
    let county = app.store.county_by_code("370828").await.unwrap();
    assert!(app
        .store
        .verify_audit_chain(county.id)
        .await
        .unwrap()
        .is_ok());
    let pool = sqlx::PgPool::connect(&app.db_url).await.unwrap();
    assert!(
        sqlx::query("UPDATE audit_log SET actor = 'nobody' WHERE seq = 9")
            .execute(&pool)
            .await
            .is_err()
    );
    assert!(sqlx::query("DELETE FROM audit_log WHERE seq = 9")
        .execute(&pool)
        .await
        .is_err());
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = 9")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        app.store.verify_audit_chain(county.id).await.unwrap(),
        Err(10),
        "a removed entry breaks the chain where it was"
    );
}
