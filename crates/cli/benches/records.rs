//! Benchmark: the records list of a subtree (记录列表: its total and first page, and a deep page),
//! as `Store::records` gives it — counted from the rollups, reading only the days that hold the
//! page — beside the same list read from the records alone (`Store::records_scanned`) and the
//! database's own bare query (a `COUNT(*)` and the page over the records joined to the closure
//! table), over a generated county. Every answer is checked against the others; prints medians
//! and ratios.
//!
//! `cargo bench -p taizhang --bench records`; environment: `BENCH_BACKENDS` (default `sqlite`),
//! `BENCH_ITERS` (default 7), `BENCH_GEN_SCALE` (`county`, default, or `test`).

use std::time::Instant;
use taizhang_demo::gen::{generate, GenOptions, Scale};
use taizhang_store::{Actor, RecordQuery, Store};
use taizhang_testkit::{fresh_store, Backend};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The bare count and page: every record under the root on its date, newest first.
async fn bare(url: &str, root: i64, offset: i64) -> (i64, Vec<i64>) {
    let cond = format!("FROM ledger_records r JOIN org_closure c ON c.descendant_id = r.org_id AND c.ancestor_id = {root} AND c.valid_from <= r.occurred_on AND (c.valid_to IS NULL OR r.occurred_on < c.valid_to) WHERE r.voided_at IS NULL");
    let count = format!("SELECT COUNT(*) {cond}");
    let page = format!(
        "SELECT r.id {cond} ORDER BY r.occurred_on DESC, r.id DESC LIMIT 50 OFFSET {offset}"
    );
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("pg");
        let (n,): (i64,) = sqlx::query_as(&count)
            .fetch_one(&pool)
            .await
            .expect("count");
        let ids: Vec<(i64,)> = sqlx::query_as(&page).fetch_all(&pool).await.expect("page");
        pool.close().await;
        (n, ids.into_iter().map(|r| r.0).collect())
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite");
        let (n,): (i64,) = sqlx::query_as(&count)
            .fetch_one(&pool)
            .await
            .expect("count");
        let ids: Vec<(i64,)> = sqlx::query_as(&page).fetch_all(&pool).await.expect("page");
        pool.close().await;
        (n, ids.into_iter().map(|r| r.0).collect())
    }
}

async fn run(backend: Backend, scale: Scale, iters: usize) {
    let (store, url, _dir) = fresh_store(backend).await.expect("store");
    let opts = GenOptions {
        scale,
        years: 1,
        seed: 1,
        tree_only: false,
    };
    let summary = generate(&store, &opts, &mut |_| {}).await.expect("gen");
    let county = store.county_by_code("370828").await.expect("county");
    let actor = Actor::system(county.id, "bench");
    let root = store.org(&actor, "370828").await.expect("county org");
    let towns = store.children(&actor, root.id, false).await.expect("towns");
    let mut roots = vec![root];
    roots.extend(towns.into_iter().take(2));
    println!(
        "{backend:?}, {} records: the records list of a subtree, median of {iters} runs",
        summary.records
    );
    println!(
        "{:<28} {:>9} {:>8} {:>12} {:>12} {:>10} {:>8} {:>8}",
        "subtree", "records", "page", "taizhang ms", "scanned ms", "bare ms", "scan/tz", "bare/tz"
    );
    for org in &roots {
        for offset in [0i64, 5_000] {
            let rq = RecordQuery {
                org: Some(org.org_ref.clone()),
                limit: Some(50),
                offset: Some(offset),
                ..Default::default()
            };
            let (mut fast, mut slow, mut plain) = (Vec::new(), Vec::new(), Vec::new());
            let mut answer = None;
            for _ in 0..iters {
                let t = Instant::now();
                let a = timed(&store, &actor, &rq, false).await;
                fast.push(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                let b = timed(&store, &actor, &rq, true).await;
                slow.push(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                let c = bare(&url, org.id.get(), offset).await;
                plain.push(t.elapsed().as_secs_f64() * 1e3);
                assert_eq!(a, b, "{}: the rollups' list differs", org.name);
                assert_eq!(a, c, "{}: the bare query's list differs", org.name);
                answer = Some(a.0);
            }
            let (f, s, p) = (median(fast), median(slow), median(plain));
            println!(
                "{:<28} {:>9} {:>8} {:>12.2} {:>12.2} {:>10.2} {:>8.1} {:>8.1}",
                org.name,
                answer.unwrap_or(0),
                offset,
                f,
                s,
                p,
                s / f,
                p / f
            );
        }
    }
}

async fn timed(store: &Store, actor: &Actor, rq: &RecordQuery, scanned: bool) -> (i64, Vec<i64>) {
    let page = if scanned {
        store.records_scanned(actor, rq).await
    } else {
        store.records(actor, rq).await
    }
    .expect("page");
    (
        page.total,
        page.records.iter().map(|r| r.id.get()).collect(),
    )
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("records: bench");
        return;
    }
    let scale: Scale = std::env::var("BENCH_GEN_SCALE")
        .unwrap_or_else(|_| "county".into())
        .parse()
        .expect("BENCH_GEN_SCALE");
    let iters: usize = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7)
        .max(1);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite".into());
    for name in backends.split(',') {
        let backend = match name.trim() {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => panic!("unknown backend {other}"),
        };
        run(backend, scale, iters).await;
    }
}
