//! The audit chain anchored outside the database, and the files taizhang creates being its
//! owner's alone — through the real binary, as an operator runs it.

use crate::common::{child_env, seeded_database, Serve};
use std::path::Path;
use std::process::{Command, Output};
use taizhang_testkit::Backend;

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .args(args)
        .envs(child_env(dir))
        .output()
        .expect("run taizhang")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Runs SQL on the test database past the append-only triggers, as someone with the database
/// (but not the key or the data directory) could.
async fn tamper(url: &str, sql: &str) {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        for s in [
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
            sql,
        ] {
            sqlx::query(s).execute(&pool).await.expect(s);
        }
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
        let drop = "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete";
        for s in [drop, sql] {
            sqlx::raw_sql(s).execute(&pool).await.expect(s);
        }
    }
}

/// The number of entries an intact `audit verify` reports (`共N条`).
fn entries(stdout: &str) -> i64 {
    let after = stdout.split('共').nth(1).expect("共N条");
    after
        .split('条')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {stdout}"))
}

async fn a_removed_tail_and_a_changed_user_are_found(backend: Backend) {
    let (url, dir) = seeded_database(backend).await;
    let verify = || run(&["audit", "verify", "--db", &url], dir.path());
    let first = verify();
    assert!(first.status.success(), "{}{}", out(&first), err(&first));
    let n = entries(&out(&first));
    assert!(
        out(&first).contains(&format!("审计日志完整，共{n}条，此前无检查点")),
        "{}",
        out(&first)
    );
    let again = verify();
    assert!(again.status.success(), "{}", err(&again));
    assert!(
        out(&again).contains(&format!("与检查点（第{n}条）一致")),
        "{}",
        out(&again)
    );

    // The last three entries removed: the chain itself still holds together, the checkpoint
    // does not.
    tamper(
        &url,
        &format!("DELETE FROM audit_log WHERE seq > {}", n - 3),
    )
    .await;
    let cut = verify();
    assert!(
        !cut.status.success(),
        "a truncated chain passes: {}",
        out(&cut)
    );
    let missing = format!("缺失第{}至{n}条", n - 2);
    assert!(
        out(&cut).contains(&format!(
            "审计链被截断：检查点记录至第{n}条，现仅有{}条，{missing}",
            n - 3
        )),
        "{}",
        out(&cut)
    );
    assert!(
        err(&cut).contains(&format!("370828 {missing}")),
        "{}",
        err(&cut)
    );

    // The acting user's id is covered by the hash.
    tamper(
        &url,
        "UPDATE audit_log SET actor_user_id = COALESCE(actor_user_id, 0) + 1 WHERE seq = 7",
    )
    .await;
    let moved = verify();
    assert!(!moved.status.success());
    assert!(
        out(&moved).contains("审计链在第7条处断裂"),
        "{}",
        out(&moved)
    );
    assert!(err(&moved).contains("370828 第7条"), "{}", err(&moved));
}

/// `taizhang audit verify` anchors the chain's head in `audit.checkpoint` and finds the entries
/// missing since; a changed `actor_user_id` breaks the chain at its entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_finds_a_removed_tail_on_sqlite() {
    a_removed_tail_and_a_changed_user_are_found(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_finds_a_removed_tail_on_postgres() {
    a_removed_tail_and_a_changed_user_are_found(Backend::Postgres).await;
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Uploads an image as the administrator of a running server; returns the attachment's id.
async fn upload(base: &str) -> String {
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({"username": "admin", "password": taizhang_testkit::PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login json");
    let token = login["token"].as_str().expect("token").to_string();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(b"a photo of a meeting");
    let r = client
        .post(format!("{base}/api/v1/attachments?name=meeting.png"))
        .bearer_auth(&token)
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let v: serde_json::Value = r.json().await.expect("upload json");
    v["id"].as_str().expect("id").to_string()
}

/// The database (and SQLite's `-wal` and `-shm` beside it), the data directory, the key files,
/// the attachments and the backups are created 0600 (directories 0700), whatever the umask.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_their_owners_alone() {
    // `init` on a new file, with the keys created in the data directory beside it.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("county.db");
    let db_text = db.display().to_string();
    let init = Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .args(["init", "--db", &db_text, "--county-code", "370828"])
        .args(["--county-name", "金乡县"])
        .env_remove("TAIZHANG_DATA_DIR")
        .env_remove("TAIZHANG_AUDIT_KEY")
        .env_remove("TAIZHANG_FIELD_KEY")
        .output()
        .expect("taizhang init");
    assert!(init.status.success(), "{}", err(&init));
    let data = dir.path().join("county-data");
    assert_eq!(mode(&db), 0o600, "the database");
    assert_eq!(mode(&data), 0o700, "the data directory");
    for key in ["audit.key", "field.key"] {
        assert_eq!(mode(&data.join(key)), 0o600, "{key}");
    }
    // A server on it: SQLite's -wal and -shm take the database's mode.
    let key = |name: &str| std::fs::read_to_string(data.join(name)).expect("key file");
    let (audit_key, field_key) = (key("audit.key"), key("field.key"));
    let data_text = data.display().to_string();
    let mut server = Serve::start(
        &db_text,
        dir.path(),
        dir.path().join("serve.log"),
        &[
            ("TAIZHANG_DATA_DIR", data_text.as_str()),
            ("TAIZHANG_AUDIT_KEY", audit_key.trim()),
            ("TAIZHANG_FIELD_KEY", field_key.trim()),
        ],
    )
    .await;
    for suffix in ["-wal", "-shm"] {
        let p = dir.path().join(format!("county.db{suffix}"));
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    server.interrupt();

    // An upload, and a backup, on each backend.
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (url, dir) = seeded_database(backend).await;
        let server = Serve::start(&url, dir.path(), dir.path().join("serve.log"), &[]).await;
        let id = upload(&server.base).await;
        drop(server);
        let data = dir.path().join("data");
        let shard = data.join("attachments").join(&id[..2]);
        assert_eq!(mode(&shard), 0o700, "{backend:?} {}", shard.display());
        assert_eq!(mode(&shard.join(&id)), 0o600, "{backend:?} the attachment");
        if backend == Backend::Postgres {
            assert_eq!(mode(&data), 0o700, "the data directory the server created");
        }
        let file = dir.path().join("county.backup");
        let b = run(
            &["backup", "--db", &url, "--to", &file.display().to_string()],
            dir.path(),
        );
        assert!(b.status.success(), "{}", err(&b));
        assert_eq!(mode(&file), 0o600, "{backend:?} the backup");
    }
}
