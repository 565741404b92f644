//! Benchmark: export to .xlsx. First the writer alone (`taizhang_office::export`, constant-memory
//! mode) over generated rows shaped like a ledger's records — a date, CJK organisation names,
//! a code, a choice, a topic, an integer, money and a date-time — then, with `BENCH_EXPORT_STORE`,
//! the records of a generated county, one ledger type after another, read a page at a time from
//! the store (`Store::records_after`, as the web export reads them) and written the same way, beside the database's own bare read
//! of the same rows (`SELECT … FROM ledger_records` through sqlx, nothing decoded but the row).
//! Prints rows/s, the workbook's size and the process's peak RSS (`VmHWM`).
//!
//! `cargo bench -p taizhang --bench export`; environment: `BENCH_EXPORT_ROWS` (default
//! 1,000,000), `BENCH_EXPORT_STORE` (`sqlite` or `postgres` to add the store pass; unset: the
//! writer alone), `BENCH_GEN_YEARS` (default 4: about 960,000 records of the county).

use std::time::Instant;
use taizhang_demo::gen::{generate, GenOptions, Scale};
use taizhang_office::export::{Cell, Column, ColumnKind, Sheet, SheetWriter};
use taizhang_store::{Actor, Record, RecordQuery, Store};
use taizhang_testkit::{fresh_store, Backend};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Peak resident set size of this process, in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn sheet() -> Sheet {
    let col = |h: &str, k| Column::new(h, k);
    Sheet::new(
        "三会一课",
        vec![
            col("日期", ColumnKind::Date),
            col("组织", ColumnKind::Text),
            col("组织编码", ColumnKind::Text),
            col("会议类型", ColumnKind::Text),
            col("主题", ColumnKind::Text),
            col("实到人数（人次）", ColumnKind::Integer),
            col("经费（元）", ColumnKind::Money),
            col("录入时间（北京时间）", ColumnKind::DateTime),
        ],
    )
}

const ORGS: &[&str] = &[
    "鸡黍镇西李村党支部",
    "金乡街道城东社区党委",
    "高河街道马坡村党支部",
    "县直机关工委第一党支部",
];
const KINDS: &[&str] = &["支部委员会", "党小组会", "支部党员大会", "党课"];

fn generated_row(i: usize) -> Vec<Cell> {
    let day = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()
        + chrono::Duration::days((i % 1800) as i64);
    vec![
        Cell::Date(day),
        Cell::Text(ORGS[i % ORGS.len()].to_string()),
        Cell::Text(format!("370828{:06}", i % 999_983)),
        Cell::Text(KINDS[i % KINDS.len()].to_string()),
        Cell::Text(format!("学习贯彻党的二十届三中全会精神第{}次", i % 97)),
        Cell::Integer((i % 60) as i64),
        Cell::Money((i % 100_000) as i64 * 7),
        Cell::DateTime(day.and_hms_opt(9, (i % 60) as u32, 0).unwrap()),
    ]
}

fn writer_alone(rows: usize) {
    let t = Instant::now();
    let mut w = SheetWriter::new(sheet()).expect("writer");
    for i in 0..rows {
        w.push(&generated_row(i)).expect("row");
    }
    let out = w.finish().expect("finish");
    let s = t.elapsed().as_secs_f64();
    println!(
        "writer alone: {} rows, 8 columns, {:.1} MB in {s:.2} s = {:.0} rows/s; peak RSS {:.0} MB",
        out.rows,
        out.bytes.len() as f64 / 1e6,
        out.rows as f64 / s,
        peak_rss_mb()
    );
}

fn record_cells(r: &Record) -> Vec<Cell> {
    let text = |k: &str| {
        r.fields
            .get(k)
            .and_then(|v| v.as_str())
            .map_or(Cell::Empty, |s| Cell::Text(s.to_string()))
    };
    vec![
        Cell::Date(r.occurred_on),
        Cell::Text(r.org.name.clone()),
        Cell::Text(r.org.org_ref.clone()),
        text("meeting_kind"),
        text("topic"),
        r.fields
            .get("attendance")
            .and_then(|v| v.as_i64())
            .map_or(Cell::Empty, Cell::Integer),
        Cell::Empty,
        Cell::DateTime(r.created_at.naive_utc() + chrono::Duration::hours(8)),
    ]
}

async fn through_the_store(backend: Backend) {
    let years = env_num("BENCH_GEN_YEARS", 4) as u32;
    let (store, url, _dir) = fresh_store(backend).await.expect("store");
    let t = Instant::now();
    let opts = GenOptions {
        scale: Scale::County,
        years,
        seed: 1,
        tree_only: false,
    };
    let summary = generate(&store, &opts, &mut |_| {}).await.expect("gen");
    println!(
        "{backend:?}: generated the county, {years} years: {} records in {:.1} s",
        summary.records,
        t.elapsed().as_secs_f64()
    );
    let county = store.county_by_code("370828").await.expect("county");
    let actor = Actor::system(county.id, "bench");
    // One ledger type at a time, as the records page's export asks.
    let types = store.ledger_types(&actor).await.expect("types");
    let t = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Vec<Cell>>>(2);
    let writer = tokio::task::spawn_blocking(move || {
        let mut w = SheetWriter::new(sheet()).expect("writer");
        while let Some(page) = rx.blocking_recv() {
            for row in page {
                w.push(&row).expect("row");
            }
        }
        w.finish().expect("finish")
    });
    for ty in &types {
        let q = RecordQuery {
            ledger_type: Some(ty.key.clone()),
            ..Default::default()
        };
        let mut after = None;
        loop {
            let page = store
                .records_after(&actor, &q, after, 2_000)
                .await
                .expect("page");
            let Some(last) = page.last() else { break };
            after = Some((last.occurred_on, last.id));
            tx.send(page.iter().map(record_cells).collect())
                .await
                .expect("send");
        }
    }
    drop(tx);
    let out = writer.await.expect("writer");
    let s = t.elapsed().as_secs_f64();
    assert_eq!(out.rows as u64, summary.records);
    // Before the bare read, which holds its rows at once.
    let rss = peak_rss_mb();
    let bare = bare_read(&store, &url).await;
    println!(
        "{backend:?}: store + writer: {} records, {:.1} MB in {s:.2} s = {:.0} rows/s; bare read of the same rows {bare:.2} s = {:.0} rows/s; ratio {:.1}; peak RSS {rss:.0} MB",
        out.rows,
        out.bytes.len() as f64 / 1e6,
        out.rows as f64 / s,
        out.rows as f64 / bare,
        s / bare,
    );
}

/// The database's own read of the rows the export reads (the records with their type and
/// organisation), type by type in the export's order, every column fetched.
async fn bare_read(_store: &Store, url: &str) -> f64 {
    let sql = "SELECT r.id, r.occurred_on, r.fields, o.name, o.code, t.key, r.created_at FROM ledger_records r JOIN orgs o ON o.id = r.org_id JOIN ledger_types t ON t.id = r.ledger_type_id ORDER BY t.key, r.occurred_on DESC, r.id DESC";
    let t = Instant::now();
    let n = if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("pg");
        let rows = sqlx::query(sql).fetch_all(&pool).await.expect("bare");
        rows.len()
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite");
        let rows = sqlx::query(sql).fetch_all(&pool).await.expect("bare");
        rows.len()
    };
    assert!(n > 0);
    t.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    writer_alone(env_num("BENCH_EXPORT_ROWS", 1_000_000));
    match std::env::var("BENCH_EXPORT_STORE").as_deref() {
        Ok("sqlite") => through_the_store(Backend::Sqlite).await,
        Ok("postgres") => through_the_store(Backend::Postgres).await,
        _ => {}
    }
}
