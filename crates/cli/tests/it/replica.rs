//! `serve --read-replica` refuses what cannot work before it serves anything.

use crate::common::child_env;
use std::process::Command;

fn serve(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let db = format!("sqlite://{}", dir.join("taizhang.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .envs(child_env(dir))
        .args(["serve", "--db", &db, "--listen", "127.0.0.1:0"])
        .args(args)
        .output()
        .expect("run taizhang");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_refuses_a_replica_beside_a_sqlite_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stderr) = serve(
        dir.path(),
        &["--read-replica", "postgres://postgres@127.0.0.1:1/taizhang"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("无法使用只读副本 postgres://postgres@127.0.0.1:1/taizhang"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "配置错误：只读副本（--read-replica）仅支持 PostgreSQL 主库；SQLite 数据库没有副本"
        ),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_a_lag_bound_that_is_not_a_positive_number_of_seconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in ["0", "NaN", "abc", "3601"] {
        let (code, stderr) = serve(
            dir.path(),
            &[
                "--read-replica",
                "postgres://postgres@127.0.0.1:1/taizhang",
                "--replica-max-lag",
                bad,
            ],
        );
        assert_eq!(code, Some(2), "{bad}: {stderr}");
        assert!(
            stderr.contains(&format!("{bad}：应为大于0、不超过3600的秒数")),
            "{bad}: {stderr}"
        );
    }
    // A bound without a replica is a usage error too.
    let (code, stderr) = serve(dir.path(), &["--replica-max-lag", "2"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--read-replica"), "{stderr}");
}
