//! `taizhang region` as an operator runs it, on SQLite and PostgreSQL: a city and a province
//! created, counties and a city attached, a city user created with a temporary password; bad
//! input refused with exit code 2 and the store's stable code, nothing written; and `gen`
//! putting its counties under their city.

use super::common::child_env;
use std::path::Path;
use std::process::{Command, Output};
use taizhang_domain::CountyId;
use taizhang_store::{Actor, SessionStage, Store};
use taizhang_testkit::{fresh_store, Backend};

fn taizhang(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .envs(child_env(dir))
        .args(args)
        .output()
        .expect("run taizhang")
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

/// Refused with exit code 2, its stderr naming `code`.
fn refused(out: &Output, code: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(code), "{code}: {stderr}");
    assert!(stderr.contains("未写入任何数据"), "{stderr}");
}

async fn regions_on(backend: Backend) {
    let (store, url, dir) = fresh_store(backend).await.expect("store");
    let d = dir.path();
    let founded = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).expect("date");
    for (code, name) in [("370828", "金乡县"), ("370811", "任城区")] {
        store
            .create_county(code, name, founded)
            .await
            .expect("county");
    }
    let region = |args: &[&str]| {
        let mut all = vec!["region"];
        all.extend_from_slice(args);
        taizhang(d, &all)
    };
    let out = ok(&region(&[
        "create",
        "--db",
        &url,
        "--code",
        "370800",
        "--name",
        "中共济宁市委员会",
        "--level",
        "city",
    ]));
    assert_eq!(out, "已创建中共济宁市委员会（370800，city）\n");
    let out = ok(&region(&[
        "create",
        "--db",
        &url,
        "--code",
        "370000",
        "--name",
        "中共山东省委员会",
        "--level",
        "province",
    ]));
    assert_eq!(out, "已创建中共山东省委员会（370000，province）\n");
    let out = ok(&region(&[
        "create",
        "--db",
        &url,
        "--code",
        "370900",
        "--name",
        "中共泰安市委员会",
        "--level",
        "city",
        "--parent",
        "370000",
    ]));
    assert_eq!(
        out,
        "已创建中共泰安市委员会（370900，city），隶属于370000\n"
    );
    refused(
        &region(&[
            "create",
            "--db",
            &url,
            "--code",
            "370100",
            "--name",
            "中共济南市委员会",
            "--level",
            "county",
        ]),
        "region.bad_level",
    );
    refused(
        &region(&[
            "create",
            "--db",
            &url,
            "--code",
            "370828",
            "--name",
            "中共济南市委员会",
            "--level",
            "city",
        ]),
        "region.bad_code",
    );
    refused(
        &region(&[
            "create", "--db", &url, "--code", "370800", "--name", "重复", "--level", "city",
        ]),
        "region.exists",
    );
    let out = ok(&region(&[
        "attach", "--db", &url, "--region", "370800", "--county", "370828",
    ]));
    assert_eq!(out, "金乡县（370828）已挂接到370800\n");
    ok(&region(&[
        "attach", "--db", &url, "--region", "370800", "--county", "370811",
    ]));
    refused(
        &region(&[
            "attach", "--db", &url, "--region", "370800", "--county", "370899",
        ]),
        "region.unknown_county",
    );
    refused(
        &region(&[
            "attach", "--db", &url, "--region", "370900", "--county", "370828",
        ]),
        "region.county_attached",
    );
    let out = ok(&region(&[
        "attach", "--db", &url, "--region", "370000", "--city", "370800",
    ]));
    assert_eq!(out, "中共济宁市委员会（370800）已隶属于370000\n");
    refused(
        &region(&[
            "attach", "--db", &url, "--region", "370800", "--city", "370000",
        ]),
        "region.cycle",
    );
    refused(
        &region(&[
            "user",
            "--db",
            &url,
            "--region",
            "370900",
            "--username",
            "taian",
            "--display-name",
            "泰安市委",
        ]),
        "region.no_counties",
    );
    let out = ok(&region(&[
        "user",
        "--db",
        &url,
        "--region",
        "370800",
        "--username",
        "jiningshi",
        "--display-name",
        "济宁市委组织部",
    ]));
    let password = out
        .split("临时密码 ")
        .nth(1)
        .and_then(|s| s.split('（').next())
        .expect("a temporary password")
        .to_string();
    assert!(
        out.starts_with("已创建370800的账号 jiningshi（济宁市委组织部，市/省级查看）"),
        "{out}"
    );

    // What the commands wrote, read back.
    let sys = Actor::system(CountyId::new(0), "test");
    let (_, below) = store.region_counties(&sys, "370000").await.expect("below");
    let codes: Vec<&str> = below.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["370811", "370828"]);
    assert_eq!(
        store.regions().await.expect("regions").len(),
        3,
        "the refused ones wrote nothing"
    );
    // The city user logs in with the temporary password, and must change it first.
    let (session, _) = store
        .login("jiningshi", &password, None)
        .await
        .expect("login");
    assert_eq!(session.stage, SessionStage::ChangePassword);
    assert_eq!(session.org_name, "中共济宁市委员会");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_commands_on_sqlite() {
    regions_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_commands_on_postgres() {
    regions_on(Backend::Postgres).await;
}

/// `gen` puts the counties it writes under their city, the same on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen_puts_its_counties_under_their_city() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (store, url, dir): (Store, String, _) = fresh_store(backend).await.expect("store");
        let out = ok(&taizhang(
            dir.path(),
            &[
                "gen", "--scale", "test", "--years", "0", "--seed", "3", "--db", &url,
            ],
        ));
        assert!(
            out.contains("regions   1: 379900 中共甲乙市委员会\n"),
            "{out}"
        );
        let sys = Actor::system(CountyId::new(0), "test");
        let (city, below) = store.region_counties(&sys, "379900").await.expect("city");
        assert_eq!(city.level.key(), "city");
        let codes: Vec<&str> = below.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, ["379901", "379902"], "{backend:?}");
        store.close().await;
    }
}
