//! The binary as an operator runs it: `copy` between backends, `report` in JSON and Markdown
//! and as documents (.docx, .pdf, .xlsx) written to a file.

use reqwest::StatusCode;
use std::process::Command;
use taizhang_testkit::{fresh_store, spawn_app, Backend};

/// The binary reads the audit key and data directory from the environment: the test stores' key,
/// and a directory of the test's own, never the working tree.
fn test_env() -> Vec<(&'static str, String)> {
    let dir = std::env::temp_dir().join(format!("taizhang-cli-test-{}", std::process::id()));
    let mut env = taizhang_testkit::test_key_env();
    env.push(("TAIZHANG_DATA_DIR", dir.display().to_string()));
    env
}

/// The `copy` and `report` subcommands, as an operator runs them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_copies_and_reports() {
    let bin = env!("CARGO_BIN_EXE_taizhang");
    let app = spawn_app(Backend::Sqlite).await;
    let (_pg, pg_url, _dir) = fresh_store(Backend::Postgres).await.unwrap();
    let out = Command::new(bin)
        .envs(test_env())
        .args(["copy", "--from", &app.db_url, "--to", &pg_url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ledger_records"));
    assert!(!stdout.contains("MISMATCH"));
    assert!(stdout.contains("26张表的行数与校验和一致"));

    let to = taizhang_store::today();
    let from = to - chrono::Duration::days(364);
    let args = |db: &str, format: &str| {
        vec![
            "report".to_string(),
            "--db".into(),
            db.to_string(),
            "--org".into(),
            "370828".into(),
            "--from".into(),
            from.to_string(),
            "--to".into(),
            to.to_string(),
            "--format".into(),
            format.into(),
        ]
    };
    let sqlite_json = Command::new(bin)
        .envs(test_env())
        .args(args(&app.db_url, "json"))
        .output()
        .unwrap();
    let pg_json = Command::new(bin)
        .envs(test_env())
        .args(args(&pg_url, "json"))
        .output()
        .unwrap();
    assert!(sqlite_json.status.success());
    let a: serde_json::Value = serde_json::from_slice(&sqlite_json.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&pg_json.stdout).unwrap();
    assert_eq!(a, b, "the same bulletin from both backends");
    // The API gives the same bulletin as the CLI.
    let t = app.token("admin").await;
    let (s, api) = app
        .get(
            &format!("/api/v1/bulletin?org=370828&from={from}&to={to}"),
            &t,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(api["sentences"], a["sentences"]);
    assert_eq!(api["units"], a["units"]);
    let md = Command::new(bin)
        .envs(test_env())
        .args(args(&app.db_url, "md"))
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.starts_with("# 金乡县"));
    assert!(md.contains("| 名次 | 单位 |"));
    let bad = Command::new(bin)
        .envs(test_env())
        .args([
            "report",
            "--db",
            &app.db_url,
            "--org",
            "999999",
            "--from",
            "2026-01-01",
            "--to",
            "2026-02-01",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("找不到组织"));
}

/// `report --format docx|pdf|xlsx` writes the document to `--out`, signed by the county's
/// organisation department; without `--out` it refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_writes_documents_to_a_file() {
    let bin = env!("CARGO_BIN_EXE_taizhang");
    let app = spawn_app(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let run = |format: &str, out: Option<&std::path::Path>| {
        let mut c = Command::new(bin);
        c.envs(test_env()).args([
            "report",
            "--db",
            &app.db_url,
            "--org",
            "370828005",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--format",
            format,
        ]);
        if let Some(out) = out {
            c.arg("--out").arg(out);
        }
        c.output().unwrap()
    };
    for (format, magic) in [("docx", &b"PK"[..]), ("pdf", b"%PDF-"), ("xlsx", b"PK")] {
        let path = dir.path().join(format!("bulletin.{format}"));
        let out = run(format, Some(&path));
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("已写入"));
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(magic), "{format}");
        if format == "docx" {
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
            let mut xml = String::new();
            std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").unwrap(), &mut xml)
                .unwrap();
            // The demo county has a 县委组织部: it signs the document.
            let end = xml.rfind("年").unwrap_or(0);
            assert!(
                xml.contains(">县委组织部<"),
                "the issuer: {}",
                &xml[end.saturating_sub(600)..end]
            );
            assert!(xml.contains("鸡黍镇"));
        }
        let refused = run(format, None);
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("须用 --out 指定输出文件"),
            "{format}"
        );
    }
}

/// `report` takes only dates in the platform's window, and says so before it opens a database.
#[test]
fn report_refuses_dates_outside_the_window() {
    let bin = env!("CARGO_BIN_EXE_taizhang");
    for (from, to) in [
        ("-262143-01-01", "2026-01-01"),
        ("2026-01-01", "+262142-12-31"),
    ] {
        let out = Command::new(bin)
            .envs(test_env())
            .args([
                "report",
                "--db",
                "sqlite:///nonexistent/taizhang.db",
                "--org",
                "370828",
            ])
            .arg(format!("--from={from}"))
            .arg(format!("--to={to}"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "a usage error");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("日期须在1949年10月1日至2100年12月31日之间"),
            "{stderr}"
        );
    }
}

/// `taizhang audit verify` passes on an intact chain, and names the first entry that was changed
/// behind the application's back, or that a different key does not vouch for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_names_the_first_broken_entry() {
    let bin = env!("CARGO_BIN_EXE_taizhang");
    let app = spawn_app(Backend::Sqlite).await;
    let key = taizhang_testkit::test_audit_key().to_hex();
    let verify = |key: &str| {
        Command::new(bin)
            .envs(test_env())
            .args(["audit", "verify", "--db", &app.db_url])
            .env("TAIZHANG_AUDIT_KEY", key)
            .output()
            .unwrap()
    };
    let ok = verify(&key);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("审计日志完整"));

    let wrong = verify(&"ab".repeat(32));
    assert!(
        !wrong.status.success(),
        "another key does not vouch for the chain"
    );
    assert!(String::from_utf8_lossy(&wrong.stdout).contains("第1条"));

    // Someone with the database file but without the key edits entry 7.
    let pool = sqlx::SqlitePool::connect(&app.db_url).await.unwrap();
    assert!(
        sqlx::query("UPDATE audit_log SET actor = 'nobody' WHERE seq = 7")
            .execute(&pool)
            .await
            .is_err(),
        "the log refuses updates"
    );
    assert!(
        sqlx::query("DELETE FROM audit_log WHERE seq = 7")
            .execute(&pool)
            .await
            .is_err(),
        "the log refuses deletes"
    );
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET actor = 'nobody' WHERE seq = 7")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let broken = verify(&key);
    assert!(!broken.status.success());
    assert!(
        String::from_utf8_lossy(&broken.stdout).contains("第7条"),
        "{}",
        String::from_utf8_lossy(&broken.stdout)
    );
    assert!(String::from_utf8_lossy(&broken.stderr).contains("370828 第7条"));
}
