//! `taizhang import` as an operator runs it on the demo county: a sheet with a bad row refused
//! whole with exit code 1 and its rejected rows written beside it (read back: the original
//! columns and 错误); with `--valid-only` the good rows written; run again, nothing written twice.

use super::common::{child_env, seeded_database};
use std::path::Path;
use std::process::{Command, Output};
use taizhang_office::import::{Cell, ReadOptions, Workbook};
use taizhang_testkit::Backend;

fn taizhang(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .envs(child_env(dir))
        .args(args)
        .output()
        .expect("run taizhang")
}

/// `taizhang import --valid-only` of `path` into `url`.
fn import_valid(dir: &Path, url: &str, path: &str) -> Output {
    taizhang(
        dir,
        &[
            "import",
            "--db",
            url,
            "--ledger",
            "visit",
            "--valid-only",
            path,
        ],
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

async fn visits_on(url: &str, day: &str) -> i64 {
    let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM ledger_records r JOIN ledger_types t ON t.id = r.ledger_type_id WHERE t.key = 'visit' AND r.occurred_on = $1",
    )
    .bind(day)
    .fetch_one(&pool)
    .await
    .expect("count");
    pool.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sheet_is_imported_from_the_command_line() {
    let (url, dir) = seeded_database(Backend::Sqlite).await;
    let day = "2024-03-04";
    let sheet = dir.path().join("走访.csv");
    // GB18030, as WPS saves a CSV on a Chinese desktop.
    let text = format!(
        "组织,日期,走访对象（五必访）,走访户数\n寻庄村,{day},党员干部,3\n李集村,{day},脱贫户,5\n寻庄村,{day},不存在的对象,2\n"
    );
    let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
    std::fs::write(&sheet, &gbk).unwrap();
    let path = sheet.display().to_string();
    let before = visits_on(&url, day).await;

    let out = taizhang(
        dir.path(),
        &["import", "--db", &url, "--ledger", "visit", &path],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let said = stdout(&out);
    assert!(
        said.contains("导入未导入（有错误行）：共3行，写入0行，已存在0行，错误1行"),
        "{said}"
    );
    assert_eq!(visits_on(&url, day).await, before);
    let rejected = dir.path().join("走访_错误行.xlsx");
    assert!(said.contains(&rejected.display().to_string()), "{said}");
    let bytes = std::fs::read(&rejected).expect("the rejected rows");
    let mut book = Workbook::open(std::io::Cursor::new(bytes), ReadOptions::default()).unwrap();
    let rows: Vec<_> = book.rows().unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    let header: Vec<String> = rows[0].cells.iter().map(Cell::display).collect();
    assert_eq!(
        header,
        ["组织", "日期", "走访对象（五必访）", "走访户数", "错误"]
    );
    assert_eq!(rows[1].cells[2], Cell::Text("不存在的对象".into()));
    assert!(
        rows[1].cells[4].display().contains("走访对象（五必访）"),
        "{:?}",
        rows[1]
    );

    let out = import_valid(dir.path(), &url, &path);
    assert!(
        out.status.success(),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains("共3行，写入2行，已存在0行，错误1行"),
        "{}",
        stdout(&out)
    );
    assert_eq!(visits_on(&url, day).await, before + 2);
    // The progress went to stderr, a line per batch when not on a terminal.
    assert!(String::from_utf8_lossy(&out.stderr).contains("正在写入：已读3行"));

    let out = import_valid(dir.path(), &url, &path);
    assert!(
        stdout(&out).contains("共3行，写入0行，已存在2行，错误1行"),
        "{}",
        stdout(&out)
    );
    assert_eq!(visits_on(&url, day).await, before + 2);

    // An unknown ledger type: refused before anything is kept.
    let out = taizhang(
        dir.path(),
        &["import", "--db", &url, "--ledger", "nonsense", &path],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("无法开始导入"));
}

/// `taizhang import` killed (SIGKILL) after its first batch: the records in the database are
/// whole batches of the file (each batch is one transaction), and running the same command
/// again writes the rest and nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_import_leaves_whole_batches_and_finishes_when_run_again() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let (url, dir) = seeded_database(Backend::Sqlite).await;
    let day = "2024-03-05";
    let rows = 4 * taizhang_domain::import::IMPORT_BATCH_ROWS;
    let mut text = String::from("组织,日期,走访对象（五必访）,走访户数,走访情况\n");
    for i in 0..rows {
        let village = if i % 2 == 0 { "寻庄村" } else { "李集村" };
        text.push_str(&format!("{village},{day},党员干部,{},第{i}次\n", 1 + i % 9));
    }
    let sheet = dir.path().join("many.csv");
    std::fs::write(&sheet, text).unwrap();
    let path = sheet.display().to_string();
    let before = visits_on(&url, day).await;
    let log = dir.path().join("import.log");
    let out = std::fs::File::create(&log).unwrap();
    let err = out.try_clone().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .envs(child_env(dir.path()))
        .args([
            "import",
            "--db",
            &url,
            "--ledger",
            "visit",
            "--valid-only",
            &path,
        ])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn taizhang import");
    let deadline = Instant::now() + Duration::from_secs(300);
    while visits_on(&url, day).await == before {
        assert!(child.try_wait().unwrap().is_none(), "ended before the kill");
        assert!(Instant::now() < deadline, "no batch within 300 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let written = visits_on(&url, day).await - before;
    assert!(
        written > 0 && written < rows as i64,
        "killed mid-way: {written}"
    );
    assert_eq!(
        written % taizhang_domain::import::IMPORT_BATCH_ROWS as i64,
        0,
        "whole batches only: {written}"
    );
    let out = import_valid(dir.path(), &url, &path);
    let said = stdout(&out);
    assert!(out.status.success(), "{said}");
    let expected = format!(
        "共{rows}行，写入{}行，已存在{written}行，错误0行",
        rows as i64 - written
    );
    assert!(said.contains(&expected), "{said}");
    assert_eq!(visits_on(&url, day).await, before + rows as i64);
}

async fn count(url: &str, sql: &str) -> i64 {
    let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.expect("count");
    pool.close().await;
    n
}

/// `taizhang import --orgs` and `--people`: an organisation sheet whose child comes before its
/// parent, then a member sheet in the new branch; run again, nothing is created twice; without
/// a target the command is refused with its usage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_and_members_are_imported_from_the_command_line() {
    let (url, dir) = seeded_database(Backend::Sqlite).await;
    let orgs = dir.path().join("组织.csv");
    std::fs::write(
        &orgs,
        "组织名称,上级组织,组织类别\n命令行支部,命令行管区,村党组织\n命令行管区,鸡黍镇,管区\n",
    )
    .unwrap();
    let orgs = orgs.display().to_string();
    let out = taizhang(dir.path(), &["import", "--db", &url, "--orgs", &orgs]);
    assert!(
        out.status.success(),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains("共2行，写入2行，已存在0行，错误0行"),
        "{}",
        stdout(&out)
    );
    let out = taizhang(dir.path(), &["import", "--db", &url, "--orgs", &orgs]);
    assert!(
        stdout(&out).contains("共2行，写入0行，已存在2行，错误0行"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM orgs WHERE name LIKE '命令行%'").await,
        2
    );

    let first17 = "37082819880808123";
    let check = taizhang_domain::id_number::check_char(first17.as_bytes());
    let people = dir.path().join("党员.csv");
    std::fs::write(
        &people,
        format!("姓名,公民身份号码,所在党支部,联系电话\n命令行党员,{first17}{check},命令行支部,13812345678\n"),
    )
    .unwrap();
    let people = people.display().to_string();
    let out = taizhang(dir.path(), &["import", "--db", &url, "--people", &people]);
    assert!(
        out.status.success(),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains("共1行，写入1行，更新0行，已存在0行，错误0行"),
        "{}",
        stdout(&out)
    );
    let out = taizhang(dir.path(), &["import", "--db", &url, "--people", &people]);
    assert!(
        stdout(&out).contains("共1行，写入0行，更新0行，已存在1行，错误0行"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        count(
            &url,
            "SELECT COUNT(*) FROM people WHERE name = '命令行党员'"
        )
        .await,
        1
    );
    // No target, or two: the usage, exit code 2.
    let out = taizhang(dir.path(), &["import", "--db", &url, &people]);
    assert_eq!(out.status.code(), Some(2));
    let out = taizhang(
        dir.path(),
        &["import", "--db", &url, "--orgs", "--people", &people],
    );
    assert_eq!(out.status.code(), Some(2));
}
