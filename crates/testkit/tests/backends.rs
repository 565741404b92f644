//! Moving a county between backends, schema versions, and many concurrent writers.

use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
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
    let (_, v) = app
        .post(
            "/api/v1/orgs/370828005/children",
            &t,
            json!({"kind": "village", "name": "搬迁村", "established_on": "2020-01-01"}),
        )
        .await;
    let village = v["ref"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/orgs/{village}/move"),
        &t,
        json!({"parent": "370828002", "on": "2026-02-01"}),
    )
    .await;
    app.post(
        &format!("/api/v1/orgs/{village}/dissolve"),
        &t,
        json!({"on": "2026-04-01"}),
    )
    .await;

    let county = app.store.county_by_code("370828").await.unwrap();
    let (pg, _pg_url, _pg_dir) = fresh_store(Backend::Postgres).await.unwrap();
    let report = app.store.copy_to(&pg, Some("370828")).await.unwrap();
    assert_eq!(report.len(), 17);
    for table in &report {
        assert!(table.matches(), "{table:?}");
    }
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

/// 50 writers recording ledger entries for a while: every acknowledged write is there, none is
/// lost or doubled, and no request fails with a 5xx. Duration: `CONCURRENCY_SECS` (default 30).
async fn concurrent_writers_lose_nothing(app: TestApp) {
    let secs: u64 = std::env::var("CONCURRENCY_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
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
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut writers = Vec::new();
    for w in 0..50_u64 {
        let (app, token, ok) = (app.clone(), token.clone(), ok.clone());
        writers.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            // Bounded: stops at the deadline, and after at most 10,000 requests per writer.
            for i in 0..10_000_u64 {
                if Instant::now() >= deadline {
                    break;
                }
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
    assert!(
        acknowledged >= 50,
        "the writers made progress ({acknowledged})"
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
        "{:?}: {acknowledged} records written by 50 writers in {secs} s",
        app.backend
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
