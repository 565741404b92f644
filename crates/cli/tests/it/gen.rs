//! `taizhang gen` as an operator runs it: the same seed gives the same rows twice on SQLite and
//! once on PostgreSQL (counts of every table and a digest of every record's content), another
//! seed gives other rows, and bad input is refused with exit code 2, nothing written.

use super::common::child_env;
use std::path::Path;
use std::process::{Command, Output};
use taizhang_store::{Actor, Store};
use taizhang_testkit::{fresh_store, test_options, Backend};

fn gen(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .envs(child_env(dir))
        .arg("gen")
        .args(args)
        .output()
        .expect("run taizhang gen")
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The summary lines that do not depend on time.
fn counts_of(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| !l.starts_with("seconds") && !l.starts_with("records/s"))
        .map(str::to_string)
        .collect()
}

/// Rows of the tables gen writes, and each county's record digest.
async fn fingerprint(store: &Store) -> (Vec<(String, i64)>, Vec<(String, i64, String)>) {
    let wanted = [
        "counties",
        "orgs",
        "org_edges",
        "org_closure",
        "people",
        "positions",
        "org_links",
        "ledger_records",
        "record_people",
        "record_facts",
    ];
    let tables = store
        .table_counts()
        .await
        .expect("counts")
        .into_iter()
        .filter(|(t, _)| wanted.contains(&t.as_str()))
        .collect();
    let mut digests = Vec::new();
    for c in store.counties().await.expect("counties") {
        let d = store
            .record_digest(&Actor::system(c.id, "test"))
            .await
            .expect("digest");
        digests.push((c.code, d.records, d.sha256));
    }
    (tables, digests)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_rows_on_both_backends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = format!("sqlite://{}", dir.path().join("a.db").display());
    let b = format!("sqlite://{}", dir.path().join("b.db").display());
    let c = format!("sqlite://{}", dir.path().join("c.db").display());
    let args = |db: &str, seed: &str| {
        vec![
            "--scale".to_string(),
            "test".into(),
            "--years".into(),
            "1".into(),
            "--seed".into(),
            seed.into(),
            "--db".into(),
            db.into(),
        ]
    };
    let run = |db: &str, seed: &str| {
        let a = args(db, seed);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        ok(&gen(dir.path(), &a))
    };
    let out_a = run(&a, "7");
    let out_b = run(&b, "7");
    assert!(run(&c, "8").contains("counties  2: 379901 甲县, 379902 乙县"));
    let (_pg_store, pg, _pg_dir) = fresh_store(Backend::Postgres).await.expect("pg");
    let out_pg = run(&pg, "7");
    assert!(
        out_a.contains("counties  2: 379901 甲县, 379902 乙县"),
        "{out_a}"
    );
    assert_eq!(counts_of(&out_a), counts_of(&out_b));
    assert_eq!(counts_of(&out_a), counts_of(&out_pg));

    let reader = dir.path().join("reader");
    let open = |url: String| {
        let reader = reader.clone();
        async move {
            Store::open_with(&url, test_options(&reader))
                .await
                .expect("open")
        }
    };
    let fa = fingerprint(&open(a.clone()).await).await;
    let fb = fingerprint(&open(b.clone()).await).await;
    let fc = fingerprint(&open(c.clone()).await).await;
    let fpg = fingerprint(&open(pg.clone()).await).await;
    // The summary's record count is what the database holds.
    let records: i64 = fa.1.iter().map(|d| d.1).sum();
    assert!(out_a.contains(&format!("records   {records}\n")), "{out_a}");
    assert!(records > 5000, "{records}");
    assert_eq!(fa, fb, "same seed, same rows on SQLite");
    assert_eq!(fa, fpg, "same seed, same rows on PostgreSQL");
    assert_ne!(fa.1, fc.1, "another seed, other records");
    // Every record has people or facts to count (the built-in types' figures).
    let one = open(a.clone()).await;
    let facts = one
        .table_counts()
        .await
        .expect("counts")
        .into_iter()
        .find(|(t, _)| t == "record_facts")
        .map(|x| x.1)
        .unwrap_or(0);
    assert!(facts >= records, "{facts} facts for {records} records");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("x.db");
    let url = format!("sqlite://{}", db.display());
    for (args, says) in [
        (
            vec!["--scale", "planet", "--seed", "1", "--db", &url],
            "planet",
        ),
        (
            vec!["--scale", "test", "--seed", "seven", "--db", &url],
            "seven",
        ),
        (vec!["--scale", "test", "--seed", "-3", "--db", &url], "-3"),
    ] {
        let out = gen(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
        assert!(!db.exists(), "nothing written for {args:?}");
    }
    // A database that holds a county already is refused without --append.
    let (store, pg, _pg_dir) = fresh_store(Backend::Postgres).await.expect("pg");
    store
        .create_county(
            "370828",
            "金乡县",
            chrono::NaiveDate::from_ymd_opt(1990, 1, 1).expect("date"),
        )
        .await
        .expect("county");
    let before = store.table_counts().await.expect("counts");
    let out = gen(
        dir.path(),
        &[
            "--scale", "test", "--years", "1", "--seed", "1", "--db", &pg,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("已有1个县") && stderr.contains("--append"),
        "{stderr}"
    );
    assert_eq!(store.table_counts().await.expect("counts"), before);
    // With --append it writes its counties beside the one there.
    let out = ok(&gen(
        dir.path(),
        &[
            "--scale", "test", "--years", "0", "--seed", "1", "--db", &pg, "--append",
        ],
    ));
    assert!(out.contains("records   0"), "{out}");
    assert_eq!(store.counties().await.expect("counties").len(), 3);
}
