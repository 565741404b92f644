//! Seeds the demo into throwaway SQLite files and prints what was created, how long it took,
//! the table counts and a few spot checks (logins, scopes, overdue items).
//!
//!     cargo run --release -p taizhang-demo --example seed_check [-- SCALE...]
//!
//! Scales default to `0 1`. Set `SEED_CHECK_MONTHS=n` for other than 12 months of records, and
//! `SEED_CHECK_KEEP=1` to keep the database files.

use std::time::Instant;
use taizhang_demo::{seed, DemoOptions};
use taizhang_domain::org::LinkKind;
use taizhang_store::{RecordQuery, Store};

#[tokio::main]
async fn main() {
    let scales: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("scale must be a number"))
        .collect();
    let scales = if scales.is_empty() {
        vec![0, 1]
    } else {
        scales
    };
    let dir = std::env::temp_dir().join(format!("taizhang-seed-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    for scale in scales {
        check(&dir, scale).await;
    }
    if std::env::var_os("SEED_CHECK_KEEP").is_none() {
        std::fs::remove_dir_all(&dir).expect("remove temp dir");
    } else {
        println!("kept {}", dir.display());
    }
}

async fn check(dir: &std::path::Path, scale: u32) {
    let path = dir.join(format!("scale{scale}.db"));
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("open store");
    let months = std::env::var("SEED_CHECK_MONTHS")
        .map_or(12, |m| m.parse().expect("months must be a number"));
    let opts = DemoOptions {
        scale,
        months,
        ..DemoOptions::default()
    };
    let started = Instant::now();
    let summary = match seed(&store, &opts).await {
        Ok(s) => s,
        Err(taizhang_store::StoreError::Invalid(errs)) => panic!("seed refused: {errs:#?}"),
        Err(e) => panic!("seed failed: {e}"),
    };
    let elapsed = started.elapsed();
    println!(
        "== scale {scale}: seeded in {:.1} s ==",
        elapsed.as_secs_f64()
    );
    println!(
        "county {} ({}), orgs {}, people {}, links {}, records {}",
        summary.county.name,
        summary.county.code,
        summary.orgs,
        summary.people,
        summary.links,
        summary.records
    );
    for (user, role, org) in &summary.users {
        println!("  user {user:<10} {role:<6} {org}");
    }
    for (table, n) in store.table_counts().await.expect("table counts") {
        println!("  {table:<22} {n}");
    }

    // Spot checks through the same API the web layer uses.
    let admin = store.actor_for_user("admin").await.expect("admin");
    for kind in LinkKind::ALL {
        let n = store
            .links(&admin, None, Some(*kind))
            .await
            .expect("links")
            .len();
        println!("  links {:<16} {n}", kind.key());
    }
    let today = taizhang_store::today();
    let overdue = store
        .overdue(&admin, "370828005", today)
        .await
        .expect("overdue");
    let late = overdue
        .iter()
        .filter(|o| o.status == taizhang_domain::OverdueStatus::Overdue)
        .count();
    println!(
        "  鸡黍镇 overdue/due items: {late} overdue, {} due",
        overdue.len() - late
    );
    for name in ["diyishuji", "xunzhuang", "jishu"] {
        let actor = store.actor_for_user(name).await.expect("user");
        let roots = store.scope_roots(&actor).await.expect("scope roots");
        let names: Vec<_> = roots.iter().map(|o| o.name.as_str()).collect();
        let q = RecordQuery {
            limit: Some(1),
            ..RecordQuery::default()
        };
        let total = store.records(&actor, &q).await.expect("records").total;
        println!("  {name} sees {names:?}, {total} records");
    }
    let lj = store.org(&admin, "370828005102").await.expect("李集村");
    println!("  370828005102 = {}", lj.name);
    store
        .login("admin", &opts.admin_password, None)
        .await
        .expect("admin can log in");
    match store
        .verify_audit_chain(summary.county.id)
        .await
        .expect("audit chain")
    {
        Ok(n) => println!("  audit chain intact: {n} entries"),
        Err(at) => panic!("audit chain broken at {at}"),
    }
    store.close().await;
}
