//! Benchmark: the full-year bulletin of the whole demo county, on each backend, next to the
//! database's own bare aggregate over the same records, with their ratio.
//!
//! `cargo bench -p taizhang --bench bulletin`; environment: `BENCH_SCALE` (demo scale, default 1;
//! 10 gives a county ten times larger), `BENCH_BACKENDS` (default `sqlite,postgres`),
//! `BENCH_ITERS` (default 20).

use std::time::{Duration, Instant};
use taizhang_domain::bulletin::Grouping;
use taizhang_domain::period::DateRange;
use taizhang_store::{today, Actor, FigureSource};
use taizhang_testkit::{fresh_store, Backend};

/// The bare query: counts and sums per ledger type and field over the county's year of records,
/// with no tree, scope or phrasing — what the database does on its own.
const BARE: &str = "SELECT r.ledger_type_id, f.field_key, f.option_value, COUNT(*), CAST(COALESCE(SUM(f.num_value), 0) AS BIGINT)
    FROM ledger_records r JOIN record_facts f ON f.record_id = r.id
    WHERE r.county_id = $1 AND r.voided_at IS NULL AND r.occurred_on BETWEEN $2 AND $3
    GROUP BY r.ledger_type_id, f.field_key, f.option_value";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn bare(url: &str, county: i64, range: DateRange, iters: usize) -> Duration {
    let mut times = Vec::new();
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("pg");
        for _ in 0..iters {
            let t = Instant::now();
            let rows: Vec<(i64, String, Option<String>, i64, i64)> = sqlx::query_as(BARE)
                .bind(county)
                .bind(range.from)
                .bind(range.to)
                .fetch_all(&pool)
                .await
                .expect("bare query");
            times.push(t.elapsed());
            assert!(!rows.is_empty());
        }
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite");
        for _ in 0..iters {
            let t = Instant::now();
            let rows: Vec<(i64, String, Option<String>, i64, i64)> = sqlx::query_as(BARE)
                .bind(county)
                .bind(range.from)
                .bind(range.to)
                .fetch_all(&pool)
                .await
                .expect("bare query");
            times.push(t.elapsed());
            assert!(!rows.is_empty());
        }
    }
    median(times)
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("bulletin: bench");
        return;
    }
    let scale: u32 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let iters: usize = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let to = today();
    let range = DateRange::new(to - chrono::Duration::days(364), to).expect("range");
    println!(
        "full-year bulletin of the demo county 370828 (scale {scale}), {iters} runs each, median"
    );
    for name in backends.split(',') {
        let backend = match name.trim() {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => panic!("unknown backend {other}"),
        };
        let (store, url, _dir) = fresh_store(backend).await.expect("store");
        let seed_start = Instant::now();
        let opts = taizhang_demo::DemoOptions {
            admin_password: "bench-Password-1".into(),
            months: 12,
            scale,
        };
        let summary = taizhang_demo::seed(&store, &opts).await.expect("seed");
        let seeded = seed_start.elapsed();
        let actor = Actor::system(summary.county.id, "bench");
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..iters {
            let t = Instant::now();
            let b = store
                .bulletin(&actor, "370828", range, Grouping::Children)
                .await
                .expect("bulletin");
            times.push(t.elapsed());
            total = b.total_records;
        }
        let ours = median(times);
        // The same bulletin with its figures taken from the records, as before the rollups.
        let mut times = Vec::new();
        let mut from_records = None;
        for _ in 0..iters {
            let t = Instant::now();
            let (b, _) = store
                .bulletin_figures(
                    &actor,
                    "370828",
                    range,
                    Grouping::Children,
                    FigureSource::Records,
                )
                .await
                .expect("bulletin from records");
            times.push(t.elapsed());
            from_records = Some(b.total_records);
        }
        let raw = median(times);
        assert_eq!(from_records, Some(total), "rollups and records disagree");
        let base = bare(&url, summary.county.id.get(), range, iters).await;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{name:<8} orgs {:>6}  records {:>8}  seed {:>6.1}s  bulletin {:>8.2} ms  from records {:>8.2} ms  bare GROUP BY {:>8.2} ms  bare/bulletin {:.1}  ({} records counted)",
            summary.orgs,
            summary.records,
            seeded.as_secs_f64(),
            ms(ours),
            ms(raw),
            ms(base),
            base.as_secs_f64() / ours.as_secs_f64(),
            total
        );
        store.close().await;
    }
}
