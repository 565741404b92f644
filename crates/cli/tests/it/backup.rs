//! `taizhang backup` and `taizhang restore`, as an operator runs them: a backup taken while the
//! server is writing, restored into a fresh SQLite file and a fresh PostgreSQL database, and the
//! backups and targets a restore must refuse.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use taizhang_domain::bulletin::Grouping;
use taizhang_domain::period::DateRange;
use taizhang_store::{Actor, Store, StoreOptions, TableSum};
use taizhang_testkit::{spawn_app, test_audit_key, Backend, PgCluster, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_taizhang");

/// Runs the binary with the test audit key (or `key`) and `data_dir` as its data directory.
async fn taizhang(args: &[&str], data_dir: &Path, key: Option<String>) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let data_dir = data_dir.to_path_buf();
    let key = key.unwrap_or_else(|| test_audit_key().to_hex());
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env("TAIZHANG_AUDIT_KEY", key)
            .env(
                "TAIZHANG_FIELD_KEY",
                taizhang_testkit::test_field_key().to_hex(),
            )
            .env("TAIZHANG_DATA_DIR", data_dir)
            .env_remove("TAIZHANG_AUDIT_KEY_FILE")
            .env_remove("TAIZHANG_AUDIT_MAC")
            // The error must be the last line, whatever the caller's backtrace settings.
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .output()
            .expect("run taizhang")
    })
    .await
    .expect("join")
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// The manifest as the backup file holds it, read straight from the file.
async fn manifest_of(file: &Path) -> Vec<TableSum> {
    let url = format!("sqlite://{}?mode=ro", file.display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("open backup");
    let rows: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT table_name, row_count, checksum FROM backup_manifest")
            .fetch_all(&pool)
            .await
            .expect("manifest");
    pool.close().await;
    rows.into_iter()
        .map(|(table, rows, checksum)| TableSum {
            table,
            rows,
            checksum,
        })
        .collect()
}

fn year() -> DateRange {
    let to = taizhang_store::today();
    DateRange::new(to - chrono::Duration::days(364), to).unwrap()
}

async fn bulletin(store: &Store) -> Value {
    let county = store.county_by_code("370828").await.unwrap();
    let actor = Actor::system(county.id, "test");
    let b = store
        .bulletin(&actor, "370828", year(), Grouping::Children)
        .await
        .unwrap();
    serde_json::to_value(b).unwrap()
}

async fn open(url: &str, data_dir: &Path) -> Store {
    Store::open_with(
        url,
        StoreOptions {
            data_dir: Some(data_dir.to_path_buf()),
            audit_key: Some(test_audit_key()),
            field_key: Some(taizhang_testkit::test_field_key()),
        },
    )
    .await
    .expect("open restored database")
}

/// A fresh PostgreSQL database, not even migrated.
async fn fresh_pg() -> String {
    PgCluster::shared()
        .await
        .expect("postgres")
        .create_database()
        .await
        .expect("create database")
}

async fn upload_png(app: &TestApp, token: &str, tag: &str) -> (String, Vec<u8>) {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(format!("backup test image {tag}").as_bytes());
    let r = app
        .client
        .post(app.url("/api/v1/attachments?name=photo.png"))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(bytes.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.expect("json");
    (v["id"].as_str().unwrap().to_string(), bytes)
}

fn visit(note: &str) -> Value {
    json!({"ledger_type": "visit", "org": "370828005101", "occurred_on": taizhang_store::today(),
           "fields": {"category": "脱贫户", "households": 3, "notes": note}})
}

/// Every table of `store` has the count and checksum the manifest lists.
async fn assert_matches_manifest(store: &Store, manifest: &[TableSum]) {
    let sums = store.table_sums().await.unwrap();
    assert_eq!(sums.len(), 26);
    for s in &sums {
        let m = manifest
            .iter()
            .find(|m| m.table == s.table)
            .unwrap_or_else(|| panic!("{} in the manifest", s.table));
        assert_eq!(s, m, "{} as restored vs the manifest", s.table);
    }
}

/// Writers post records over HTTP while `taizhang backup` runs against the same database; the
/// backup is restored into a fresh SQLite file and a fresh PostgreSQL database.
async fn backup_under_load_then_restore(backend: Backend) {
    let app = Arc::new(spawn_app(backend).await);
    let token = app.token("jishu").await;
    let (attachment, png) = upload_png(&app, &token, "one").await;
    let records_at_start = app
        .store
        .table_sums()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.table == "ledger_records")
        .unwrap()
        .rows;

    // Writers, bounded: they stop when told, after at most 2,000 requests each, or after 120 s.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<i64>::new()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut writers = Vec::new();
    for w in 0..6 {
        let (app, token, stop, acked) = (app.clone(), token.clone(), stop.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..2_000 {
                if stop.load(Ordering::SeqCst) || Instant::now() >= deadline {
                    break;
                }
                let (s, v) = app
                    .post(
                        "/api/v1/records",
                        &token,
                        visit(&format!("writer {w} entry {i}")),
                    )
                    .await;
                if s == StatusCode::CREATED {
                    acked.lock().unwrap().push(v["id"].as_i64().unwrap());
                }
                statuses.push(s);
            }
            statuses
        }));
    }
    // Let them get going, then take the backup while they write.
    let started = Instant::now();
    while acked.lock().unwrap().len() < 30 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before: Vec<i64> = acked.lock().unwrap().clone();
    assert!(before.len() >= 30, "the writers made progress");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("county.tzbackup");
    let out = taizhang(
        &[
            "backup",
            "--db",
            &app.db_url,
            "--to",
            file.to_str().unwrap(),
        ],
        app.store.data_dir(),
        None,
    )
    .await;
    let during = acked.lock().unwrap().len() - before.len();
    stop.store(true, Ordering::SeqCst);
    let mut statuses = Vec::new();
    for w in writers {
        statuses.extend(w.await.unwrap());
    }
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("备份完成"), "{stdout}");
    assert!(stdout.contains("ledger_records") && stdout.contains("backup_files"));
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "every write accepted while the backup ran: {:?}",
        statuses.iter().find(|s| **s != StatusCode::CREATED)
    );
    let all: Vec<i64> = acked.lock().unwrap().clone();
    println!(
        "{backend:?}: {} records acknowledged before the backup, {during} while it ran",
        before.len()
    );
    // No partial file is left beside the backup.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    let manifest = manifest_of(&file).await;
    assert_eq!(manifest.len(), 27);
    let files = manifest.iter().find(|m| m.table == "backup_files").unwrap();
    assert_eq!(files.rows, 1, "the attachment file is in the backup");
    let records = manifest
        .iter()
        .find(|m| m.table == "ledger_records")
        .unwrap()
        .rows;
    // One snapshot: everything acknowledged before the backup began, nothing never written.
    assert!(records >= records_at_start + before.len() as i64);
    assert!(records <= records_at_start + all.len() as i64);

    // Restore into a fresh SQLite file and a fresh PostgreSQL database.
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!(
        "sqlite://{}",
        sqlite_dir.path().join("restored.db").display()
    );
    let pg_url = fresh_pg().await;
    let pg_dir = tempfile::tempdir().unwrap();
    let mut restored = Vec::new();
    for (url, data) in [
        (sqlite_url.clone(), sqlite_dir.path().join("data")),
        (pg_url.clone(), pg_dir.path().join("data")),
    ] {
        let out = taizhang(
            &["restore", "--from", file.to_str().unwrap(), "--db", &url],
            &data,
            None,
        )
        .await;
        assert!(out.status.success(), "restore into {url}: {}", show(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("恢复完成"), "{stdout}");
        assert!(stdout.contains("审计日志完整"), "{stdout}");

        let store = open(&url, &data).await;
        assert_matches_manifest(&store, &manifest).await;
        let county = store.county_by_code("370828").await.unwrap();
        assert!(
            matches!(store.verify_audit_chain(county.id).await.unwrap(), Ok(n) if n > 100),
            "the restored chain verifies"
        );
        let system = Actor::system(county.id, "test");
        for id in &before {
            store
                .record(&system, taizhang_domain::RecordId::new(*id))
                .await
                .unwrap_or_else(|e| panic!("record {id}, acknowledged before the backup: {e}"));
        }
        // The attachment file came back into the data directory.
        let jishu = store.actor_for_user("jishu").await.unwrap();
        let (_, _, bytes) = store.attachment(&jishu, &attachment).await.unwrap();
        assert_eq!(bytes, png);
        // And the restored database serves: logins work.
        store
            .login("jishu", taizhang_testkit::PASSWORD, None)
            .await
            .unwrap();
        restored.push(store);
    }
    // The same snapshot on both backends: the same bulletin.
    assert_eq!(bulletin(&restored[0]).await, bulletin(&restored[1]).await);

    // Once the writers have stopped, a backup restores to exactly the source's bulletin.
    let quiet = dir.path().join("quiet.tzbackup");
    let out = taizhang(
        &[
            "backup",
            "--db",
            &app.db_url,
            "--to",
            quiet.to_str().unwrap(),
        ],
        app.store.data_dir(),
        None,
    )
    .await;
    assert!(out.status.success(), "{}", show(&out));
    let again_dir = tempfile::tempdir().unwrap();
    let again_url = format!("sqlite://{}", again_dir.path().join("again.db").display());
    let out = taizhang(
        &[
            "restore",
            "--from",
            quiet.to_str().unwrap(),
            "--db",
            &again_url,
        ],
        &again_dir.path().join("data"),
        None,
    )
    .await;
    assert!(out.status.success(), "{}", show(&out));
    let again = open(&again_url, &again_dir.path().join("data")).await;
    assert_eq!(bulletin(&again).await, bulletin(&app.store).await);
    let source_sums = app.store.table_sums().await.unwrap();
    assert_eq!(again.table_sums().await.unwrap(), source_sums);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_under_load_restores_on_both_backends() {
    backup_under_load_then_restore(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backup_under_load_restores_on_both_backends() {
    backup_under_load_then_restore(Backend::Postgres).await
}

/// A restore refuses a non-empty target, another audit key, a damaged or altered backup, and
/// leaves the target as it was; a backup never overwrites a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_what_it_cannot_trust() {
    let app = spawn_app(Backend::Sqlite).await;
    let token = app.token("jishu").await;
    upload_png(&app, &token, "two").await;
    let marker = "backup-marker-0123456789";
    let (s, _) = app.post("/api/v1/records", &token, visit(marker)).await;
    assert_eq!(s, StatusCode::CREATED);
    let data = app.store.data_dir().to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("county.tzbackup");
    let file_s = file.to_str().unwrap().to_string();
    let out = taizhang(
        &["backup", "--db", &app.db_url, "--to", &file_s],
        &data,
        None,
    )
    .await;
    assert!(out.status.success(), "{}", show(&out));
    let original = std::fs::read(&file).unwrap();

    // A backup never overwrites a file.
    let out = taizhang(
        &["backup", "--db", &app.db_url, "--to", &file_s],
        &data,
        None,
    )
    .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("已存在"), "{}", show(&out));
    assert_eq!(std::fs::read(&file).unwrap(), original);

    // Not into a database that has data.
    let out = taizhang(
        &["restore", "--from", &file_s, "--db", &app.db_url],
        &data,
        None,
    )
    .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("不是空的"), "{}", show(&out));
    let pg_url = fresh_pg().await;
    let pg_data = dir.path().join("pg-data");
    let out = taizhang(
        &["restore", "--from", &file_s, "--db", &pg_url],
        &pg_data,
        None,
    )
    .await;
    assert!(out.status.success(), "{}", show(&out));
    let out = taizhang(
        &["restore", "--from", &file_s, "--db", &pg_url],
        &pg_data,
        None,
    )
    .await;
    assert!(!out.status.success(), "a second restore is refused");
    assert!(stderr(&out).contains("不是空的"), "{}", show(&out));

    // Not with another audit key; the target is left as it was (here: not created at all).
    let target = |name: &str| -> (PathBuf, String) {
        let p = dir.path().join(name);
        let url = format!("sqlite://{}", p.display());
        (p, url)
    };
    let (path, url) = target("wrong-key.db");
    let out = taizhang(
        &["restore", "--from", &file_s, "--db", &url],
        &dir.path().join("wrong-key-data"),
        Some("ab".repeat(32)),
    )
    .await;
    assert!(!out.status.success());
    // One line (after the log lines) names the county and says which key to use.
    let err = stderr(&out);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("Error:")).collect();
    assert_eq!(errors.len(), 1, "{}", show(&out));
    assert!(errors[0].contains("TAIZHANG_AUDIT_KEY"), "{}", show(&out));
    assert!(errors[0].contains("370828"), "{}", show(&out));
    assert_eq!(err.lines().last(), Some(errors[0]), "{}", show(&out));
    assert!(!path.exists(), "nothing left of a failed restore");

    // Not when the manifest was changed.
    let altered = dir.path().join("altered-manifest.tzbackup");
    std::fs::write(&altered, &original).unwrap();
    {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", altered.display()))
            .await
            .unwrap();
        sqlx::query("UPDATE backup_manifest SET checksum = '00' || substr(checksum, 3) WHERE table_name = 'people'")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let (path, url) = target("altered.db");
    let out = taizhang(
        &["restore", "--from", altered.to_str().unwrap(), "--db", &url],
        &dir.path().join("altered-data"),
        None,
    )
    .await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("people") && stderr(&out).contains("清单"),
        "{}",
        show(&out)
    );
    assert!(!path.exists());

    // Not when an attachment file was changed inside the backup.
    let altered = dir.path().join("altered-file.tzbackup");
    std::fs::write(&altered, &original).unwrap();
    {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", altered.display()))
            .await
            .unwrap();
        sqlx::query("UPDATE backup_files SET bytes = X'00'")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let (_, url) = target("altered-file.db");
    let out = taizhang(
        &["restore", "--from", altered.to_str().unwrap(), "--db", &url],
        &dir.path().join("altered-file-data"),
        None,
    )
    .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("附件"), "{}", show(&out));

    // Not when bytes of a row were flipped in the file; a PostgreSQL target stays empty.
    let mut flipped = original.clone();
    let at = flipped
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .expect("the marker is in the file");
    flipped[at + 14] ^= 0x01;
    let damaged = dir.path().join("flipped.tzbackup");
    std::fs::write(&damaged, &flipped).unwrap();
    let pg_url = fresh_pg().await;
    let out = taizhang(
        &[
            "restore",
            "--from",
            damaged.to_str().unwrap(),
            "--db",
            &pg_url,
        ],
        &dir.path().join("flipped-data"),
        None,
    )
    .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("恢复失败") && (err.contains("与清单不符") || err.contains("损坏")),
        "{}",
        show(&out)
    );
    let pg = open(&pg_url, &dir.path().join("flipped-data")).await;
    assert!(pg.counties().await.unwrap().is_empty(), "nothing restored");
    assert!(pg.table_sums().await.unwrap().iter().all(|t| t.rows == 0));

    // Not from a file that is not a backup, or is missing.
    let out = taizhang(
        &[
            "restore",
            "--from",
            &app.db_url.replace("sqlite://", ""),
            "--db",
            &target("x.db").1,
        ],
        &dir.path().join("x-data"),
        None,
    )
    .await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("不是taizhang备份文件"),
        "{}",
        show(&out)
    );
    let out = taizhang(
        &[
            "restore",
            "--from",
            "/nonexistent/backup",
            "--db",
            &target("y.db").1,
        ],
        &dir.path().join("y-data"),
        None,
    )
    .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("找不到备份文件"), "{}", show(&out));
}

/// Times a backup and a restore of the whole demo county (scale 1) on both backends. Not run by
/// default: `cargo test --release -p taizhang --test it -- --ignored --nocapture`
/// (`BENCH_BACKENDS=sqlite` or `postgres` for one source backend).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn demo_county_backup_and_restore_timing() {
    let only = std::env::var("BENCH_BACKENDS").unwrap_or_default();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if !only.is_empty() && !format!("{backend:?}").eq_ignore_ascii_case(&only) {
            continue;
        }
        let (store, _url, dir) = taizhang_testkit::fresh_store(backend).await.unwrap();
        let opts = taizhang_demo::DemoOptions::default();
        taizhang_demo::seed(&store, &opts).await.unwrap();
        let file = dir.path().join("demo.tzbackup");
        let t = Instant::now();
        let report = store.backup_to(&file).await.unwrap();
        let backup = t.elapsed();
        let size = std::fs::metadata(&file).unwrap().len();
        let records = report
            .manifest
            .iter()
            .find(|m| m.table == "ledger_records")
            .unwrap()
            .rows;
        let rows: i64 = report.manifest.iter().map(|m| m.rows).sum();
        for target in [Backend::Sqlite, Backend::Postgres] {
            let (to, _to_url, _to_dir) = taizhang_testkit::fresh_store(target).await.unwrap();
            let t = Instant::now();
            to.restore_from(&file).await.unwrap();
            println!(
                "{backend:?} → {target:?}: {records} records, {rows} rows, file {:.1} MB; backup {:.2} s, restore {:.2} s",
                size as f64 / 1e6,
                backup.as_secs_f64(),
                t.elapsed().as_secs_f64()
            );
        }
    }
}
