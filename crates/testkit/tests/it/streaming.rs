//! Copy, backup and restore stream their tables in batches: with a batch far smaller than the
//! county, every table still arrives exactly (counts, checksums, ids), PostgreSQL's sequences
//! follow the copied ids, and a failure in a late batch leaves nothing behind.

use sqlx::Row;
use taizhang_store::{Store, StoreError, TableCopy};
use taizhang_testkit::{each_backend, fresh_store, Backend, TestApp};

each_backend!(
    a_county_copies_exactly_in_small_batches,
    a_backup_restores_exactly_in_small_batches,
    a_copy_failing_in_a_late_batch_leaves_the_target_empty,
);

/// Far fewer rows than the demo county has in any of its large tables.
const BATCH: usize = 50;

/// The tables the demo county fills with many batches' worth of rows.
const LARGE: &[&str] = &[
    "orgs",
    "org_closure",
    "people",
    "positions",
    "ledger_records",
    "record_people",
    "record_facts",
    "audit_log",
];

/// Tables with an identity column that the demo county fills.
const IDENTITY: &[&str] = &[
    "counties",
    "orgs",
    "org_edges",
    "people",
    "positions",
    "users",
    "ledger_types",
    "ledger_records",
];

/// One row of integers, read straight from the database at `url`.
async fn ints(url: &str, sql: &str) -> Vec<i64> {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        let row = sqlx::query(sql).fetch_one(&pool).await.expect(sql);
        let out = (0..row.len()).map(|i| row.get::<i64, _>(i)).collect();
        pool.close().await;
        out
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
        let row = sqlx::query(sql).fetch_one(&pool).await.expect(sql);
        let out = (0..row.len()).map(|i| row.get::<i64, _>(i)).collect();
        pool.close().await;
        out
    }
}

/// Count, smallest, largest and sum of the ids of a table.
async fn id_summary(url: &str, table: &str) -> Vec<i64> {
    ints(
        url,
        &format!(
            "SELECT COUNT(*), COALESCE(MIN(id), 0), COALESCE(MAX(id), 0), CAST(COALESCE(SUM(id), 0) AS BIGINT) FROM {table}"
        ),
    )
    .await
}

/// The counts and checksums of every table read whole (one batch larger than any table): what
/// a batched read must equal.
async fn whole_table_sums(store: &Store) -> Vec<(String, i64, String)> {
    store
        .clone()
        .with_batch_rows(100_000_000)
        .table_sums()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.table, s.rows, s.checksum))
        .collect()
}

/// Every table of the report copied exactly, equal to the source read whole, and with many
/// batches' worth of rows in the large tables.
fn assert_exact(report: &[TableCopy], whole: &[(String, i64, String)]) {
    let got: Vec<(String, i64, String)> = report
        .iter()
        .map(|t| (t.table.clone(), t.target_rows, t.target_checksum.clone()))
        .collect();
    assert_eq!(&got, whole);
    for t in report {
        assert_eq!(t.source_rows, t.target_rows, "{t:?}");
        assert_eq!(t.source_checksum, t.target_checksum, "{t:?}");
    }
    for name in LARGE {
        let rows = whole.iter().find(|w| w.0 == *name).unwrap().1;
        assert!(rows > 3 * BATCH as i64, "{name} has only {rows} rows");
    }
}

/// On PostgreSQL, the next id of every identity table is one past the largest copied id.
async fn assert_sequences_follow(source_url: &str, pg_url: &str) {
    for table in IDENTITY {
        let max = id_summary(source_url, table).await[2];
        assert!(max > 0, "{table} is empty in the source");
        let next = ints(
            pg_url,
            &format!("SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"),
        )
        .await[0];
        assert_eq!(next, max + 1, "{table}");
    }
}

async fn a_county_copies_exactly_in_small_batches(app: TestApp) {
    let source = app.store.clone().with_batch_rows(BATCH);
    let whole = whole_table_sums(&app.store).await;
    for target_backend in [Backend::Sqlite, Backend::Postgres] {
        let (target, target_url, _dir) = fresh_store(target_backend).await.unwrap();
        let target = target.with_batch_rows(BATCH);
        let report = source.copy_to(&target, Some("370828")).await.unwrap();
        assert_exact(&report, &whole);
        // The ids themselves, not only their checksum.
        for table in IDENTITY {
            assert_eq!(
                id_summary(&target_url, table).await,
                id_summary(&app.db_url, table).await,
                "{table}"
            );
        }
        if target_backend == Backend::Postgres {
            assert_sequences_follow(&app.db_url, &target_url).await;
        }
        // Read back whole on the target: the same as the source read whole.
        assert_eq!(whole_table_sums(&target).await, whole);
    }
}

async fn a_backup_restores_exactly_in_small_batches(app: TestApp) {
    let source = app.store.clone().with_batch_rows(BATCH);
    let whole = whole_table_sums(&app.store).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("county.backup");
    let backup = source.backup_to(&file).await.unwrap();
    let manifest: Vec<(String, i64, String)> = backup
        .manifest
        .iter()
        .filter(|m| m.table != "backup_files")
        .map(|m| (m.table.clone(), m.rows, m.checksum.clone()))
        .collect();
    assert_eq!(manifest, whole);
    for target_backend in [Backend::Sqlite, Backend::Postgres] {
        let (target, target_url, _dir) = fresh_store(target_backend).await.unwrap();
        let target = target.with_batch_rows(BATCH);
        let restored = target.restore_from(&file).await.unwrap();
        assert_eq!(restored.manifest, backup.manifest);
        assert_eq!(whole_table_sums(&target).await, whole);
        let audit_rows = whole.iter().find(|w| w.0 == "audit_log").unwrap().1;
        assert_eq!(restored.chains.len(), 1);
        assert_eq!(restored.chains[0].0, "370828");
        assert_eq!(restored.chains[0].2, audit_rows);
        for table in IDENTITY {
            assert_eq!(
                id_summary(&target_url, table).await,
                id_summary(&app.db_url, table).await,
                "{table}"
            );
        }
        if target_backend == Backend::Postgres {
            assert_sequences_follow(&app.db_url, &target_url).await;
        }
    }
}

async fn a_copy_failing_in_a_late_batch_leaves_the_target_empty(app: TestApp) {
    let source = app.store.clone().with_batch_rows(BATCH);
    let county = app.store.county_by_code("370828").await.unwrap();
    for target_backend in [Backend::Sqlite, Backend::Postgres] {
        let (target, target_url, _dir) = fresh_store(target_backend).await.unwrap();
        let target = target.with_batch_rows(BATCH);
        // An audit entry already in the target where the county's 40th will go: the copy fails
        // at audit_log, after every earlier table has been written in many batches.
        let plant = format!(
            "INSERT INTO audit_log (seq, county_id, at, actor, action, entity, entity_id, prev_hash, hash) \
             VALUES (40, {}, '2026-01-01T00:00:00Z', 'x', 'x', 'x', 'x', 'x', 'x')",
            county.id.get()
        );
        if target_url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(&target_url).await.unwrap();
            sqlx::query(&plant).execute(&pool).await.unwrap();
            pool.close().await;
        } else {
            let pool = sqlx::SqlitePool::connect(&target_url).await.unwrap();
            sqlx::query(&plant).execute(&pool).await.unwrap();
            pool.close().await;
        }
        let err = source.copy_to(&target, Some("370828")).await.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Conflict {
                    code: "duplicate",
                    ..
                }
            ),
            "{err:?}"
        );
        for table in [
            "counties",
            "orgs",
            "people",
            "ledger_records",
            "record_facts",
        ] {
            assert_eq!(
                ints(&target_url, &format!("SELECT COUNT(*) FROM {table}")).await,
                vec![0],
                "{table}"
            );
        }
        assert_eq!(
            ints(&target_url, "SELECT COUNT(*) FROM audit_log").await,
            vec![1]
        );
    }
}
