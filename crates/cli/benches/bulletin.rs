//! Benchmark: the full-year bulletin of one county, next to what answers the same question
//! without taizhang — the bare SQL aggregation over the raw records (plain, and with the subtree
//! through the closure table) on the same database, and DuckDB over the same rows exported to
//! Parquet — each with its ratio to taizhang's bulletin, after checking that all of them give the
//! same totals (records, organisations and people per ledger type; count and sum per fact).
//!
//! `cargo bench -p taizhang --bench bulletin`; environment:
//! - `TAIZHANG_BENCH_DB`: run on this database (a file path, `sqlite://PATH` or `postgres://…`, opened as
//!   `serve` opens it, so set `TAIZHANG_DATA_DIR` to its keys) instead of fresh demo counties;
//!   `BENCH_COUNTY` (default `370828`, else the first county) and `BENCH_YEAR` (default: the
//!   year of the latest record) choose the bulletin;
//! - otherwise `BENCH_SCALE` (demo scale, default 1) and `BENCH_BACKENDS` (default
//!   `sqlite,postgres`) seed a demo county per backend, bulletin over the last 365 days;
//! - `BENCH_REGION` (a city's or province's code): also its bulletin; with `BENCH_REGION_BARE`
//!   the bare SQL over all its counties' records and DuckDB over them (`BENCH_DUCKDB_DIR` keeps
//!   the export and its Parquet for the next run); `BENCH_REGION_ONLY` skips the county;
//! - `BENCH_ITERS` (default 20; DuckDB and the bare SQL run `BENCH_BARE_ITERS`, default 5);
//! - `TAIZHANG_DUCKDB_PYTHONPATH` (default `/work/.cache/tools/py`): where DuckDB from PyPI is
//!   installed; without it the DuckDB column is skipped with a note.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use taizhang_domain::bulletin::Grouping;
use taizhang_domain::period::DateRange;
use taizhang_store::{today, Actor, FigureSource, Store};
use taizhang_testkit::{fresh_store, Backend};

/// `{live}` is the records of the period, not voided; `{subtree}` either nothing or the join
/// through the closure table to the county's root as the records' dates saw it.
const TYPES: &str =
    "SELECT r.ledger_type_id, COUNT(*), COUNT(DISTINCT r.org_id) FROM ledger_records r {subtree}
    WHERE {live} GROUP BY r.ledger_type_id";
const PEOPLE: &str =
    "SELECT r.ledger_type_id, COUNT(DISTINCT p.person_id) FROM ledger_records r {subtree}
    JOIN record_people p ON p.record_id = r.id WHERE {live} GROUP BY r.ledger_type_id";
const FACTS: &str = "SELECT r.ledger_type_id, f.field_key, f.option_value, COUNT(*), CAST(COALESCE(SUM(f.num_value), 0) AS BIGINT)
    FROM ledger_records r {subtree} JOIN record_facts f ON f.record_id = r.id
    WHERE {live} GROUP BY r.ledger_type_id, f.field_key, f.option_value";
const LIVE: &str = "r.county_id = $1 AND r.voided_at IS NULL AND r.occurred_on BETWEEN $2 AND $3";
const SUBTREE: &str = "JOIN org_closure c ON c.descendant_id = r.org_id AND c.ancestor_id = $4
    AND c.valid_from <= r.occurred_on AND (c.valid_to IS NULL OR r.occurred_on < c.valid_to)";

/// The answers every contender must agree on, sorted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Totals {
    /// ledger type → (records, distinct organisations).
    types: BTreeMap<i64, (i64, i64)>,
    /// ledger type → distinct people named.
    people: BTreeMap<i64, i64>,
    /// (type, field, option) → (count, sum).
    facts: BTreeMap<(i64, String, Option<String>), (i64, i64)>,
}

type FactRow = (i64, String, Option<String>, i64, i64);

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Pool {
    async fn connect(url: &str) -> Pool {
        if url.starts_with("postgres") {
            Pool::Postgres(sqlx::PgPool::connect(url).await.expect("postgres"))
        } else {
            Pool::Sqlite(sqlx::SqlitePool::connect(url).await.expect("sqlite"))
        }
    }

    /// The three bare queries, one after the other, with their answers.
    async fn aggregate(&self, county: i64, root: i64, range: DateRange, subtree: bool) -> Totals {
        self.aggregate_where(LIVE, county, root, range, subtree)
            .await
    }

    /// The same with another condition for the live records (`$1` bound to `county`).
    async fn aggregate_where(
        &self,
        live: &str,
        county: i64,
        root: i64,
        range: DateRange,
        subtree: bool,
    ) -> Totals {
        let q = |template: &str| {
            template
                .replace("{live}", live)
                .replace("{subtree}", if subtree { SUBTREE } else { "" })
        };
        let (tq, pq, fq) = (q(TYPES), q(PEOPLE), q(FACTS));
        macro_rules! run {
            ($pool:expr) => {{
                let types: Vec<(i64, i64, i64)> = {
                    let mut s = sqlx::query_as(&tq)
                        .bind(county)
                        .bind(range.from)
                        .bind(range.to);
                    if subtree {
                        s = s.bind(root);
                    }
                    s.fetch_all($pool).await.expect("types query")
                };
                let people: Vec<(i64, i64)> = {
                    let mut s = sqlx::query_as(&pq)
                        .bind(county)
                        .bind(range.from)
                        .bind(range.to);
                    if subtree {
                        s = s.bind(root);
                    }
                    s.fetch_all($pool).await.expect("people query")
                };
                let facts: Vec<FactRow> = {
                    let mut s = sqlx::query_as(&fq)
                        .bind(county)
                        .bind(range.from)
                        .bind(range.to);
                    if subtree {
                        s = s.bind(root);
                    }
                    s.fetch_all($pool).await.expect("facts query")
                };
                totals_of(types, people, facts)
            }};
        }
        match self {
            Pool::Sqlite(p) => run!(p),
            Pool::Postgres(p) => run!(p),
        }
    }

    /// (text, integer) rows of a query (`$1` bound to `county`).
    async fn pairs(&self, sql: &str, county: i64) -> Vec<(String, i64)> {
        match self {
            Pool::Sqlite(p) => sqlx::query_as(sql).bind(county).fetch_all(p).await,
            Pool::Postgres(p) => sqlx::query_as(sql).bind(county).fetch_all(p).await,
        }
        .expect(sql)
    }

    /// Up to `limit` rows (an id, then four text columns) of a query, after key `after` (`$1`
    /// the county, `$2` the key, `$3` the limit).
    async fn page(&self, sql: &str, county: i64, after: i64, limit: i64) -> Vec<Vec<String>> {
        type Row = (i64, String, String, String, String);
        let rows: Vec<Row> = match self {
            Pool::Sqlite(p) => {
                sqlx::query_as(sql)
                    .bind(county)
                    .bind(after)
                    .bind(limit)
                    .fetch_all(p)
                    .await
            }
            Pool::Postgres(p) => {
                sqlx::query_as(sql)
                    .bind(county)
                    .bind(after)
                    .bind(limit)
                    .fetch_all(p)
                    .await
            }
        }
        .expect(sql);
        rows.into_iter()
            .map(|(k, a, b, c, d)| vec![k.to_string(), a, b, c, d])
            .collect()
    }

    /// Rows (an id, then four text columns) of a query with `$1` the region, `$2`..`$3` an id range.
    async fn span(&self, sql: &str, region: i64, lo: i64, hi: i64) -> Vec<Vec<String>> {
        type Row = (i64, String, String, String, String);
        let rows: Vec<Row> = match self {
            Pool::Sqlite(p) => {
                sqlx::query_as(sql)
                    .bind(region)
                    .bind(lo)
                    .bind(hi)
                    .fetch_all(p)
                    .await
            }
            Pool::Postgres(p) => {
                sqlx::query_as(sql)
                    .bind(region)
                    .bind(lo)
                    .bind(hi)
                    .fetch_all(p)
                    .await
            }
        }
        .expect(sql);
        rows.into_iter()
            .map(|(k, a, b, c, d)| vec![k.to_string(), a, b, c, d])
            .collect()
    }

    async fn close(self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

fn totals_of(types: Vec<(i64, i64, i64)>, people: Vec<(i64, i64)>, facts: Vec<FactRow>) -> Totals {
    Totals {
        types: types.into_iter().map(|(t, n, o)| (t, (n, o))).collect(),
        people: people.into_iter().collect(),
        facts: facts
            .into_iter()
            .map(|(t, f, o, n, s)| ((t, f, o), (n, s)))
            .collect(),
    }
}

async fn time_bare(
    pool: &Pool,
    county: i64,
    root: i64,
    range: DateRange,
    subtree: bool,
    iters: usize,
) -> (Duration, Totals) {
    let mut times = Vec::new();
    let mut totals = Totals::default();
    for _ in 0..iters {
        let t = Instant::now();
        totals = pool.aggregate(county, root, range, subtree).await;
        times.push(t.elapsed());
    }
    (median(times), totals)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes the county's records (all of them, voided ones flagged), facts and named people as
/// CSV for DuckDB, in pages by record id.
async fn export(pool: &Pool, county: i64, dir: &Path) {
    let files = [
        ("records.csv", "SELECT id, CAST(ledger_type_id AS TEXT), CAST(org_id AS TEXT), CAST(occurred_on AS TEXT), CASE WHEN voided_at IS NULL THEN '0' ELSE '1' END
            FROM ledger_records WHERE county_id = $1 AND id > $2 ORDER BY id LIMIT $3", 5),
        ("facts.csv", "SELECT f.record_id, f.field_key, COALESCE(CAST(f.num_value AS TEXT), ''), COALESCE(f.option_value, ''), ''
            FROM record_facts f WHERE f.county_id = $1 AND f.record_id IN (SELECT id FROM ledger_records WHERE county_id = $1 AND id > $2 ORDER BY id LIMIT $3)", 4),
        ("people.csv", "SELECT p.record_id, p.field_key, CAST(p.person_id AS TEXT), '', ''
            FROM record_people p WHERE p.county_id = $1 AND p.record_id IN (SELECT id FROM ledger_records WHERE county_id = $1 AND id > $2 ORDER BY id LIMIT $3)", 0),
    ];
    let (n,): (i64,) = match pool {
        Pool::Sqlite(p) => {
            sqlx::query_as("SELECT COUNT(*) FROM ledger_records WHERE county_id = $1")
                .bind(county)
                .fetch_one(p)
                .await
        }
        Pool::Postgres(p) => {
            sqlx::query_as("SELECT COUNT(*) FROM ledger_records WHERE county_id = $1")
                .bind(county)
                .fetch_one(p)
                .await
        }
    }
    .expect("count");
    const PAGE: i64 = 50_000;
    let ids = pool
        .pairs(
            "SELECT '', id FROM ledger_records WHERE county_id = $1 ORDER BY id",
            county,
        )
        .await;
    assert_eq!(ids.len() as i64, n);
    for (file, sql, width) in files {
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(file)).expect("csv"));
        let mut after = 0;
        for chunk in ids.chunks(PAGE as usize) {
            for row in pool.page(sql, county, after, PAGE).await {
                // people.csv: record_id, person_id (the field key is not needed).
                let cols: Vec<&String> = if width == 0 {
                    vec![&row[0], &row[2]]
                } else {
                    row.iter().take(width).collect()
                };
                let line: Vec<String> = cols.iter().map(|c| csv_field(c)).collect();
                writeln!(out, "{}", line.join(",")).expect("write csv");
            }
            after = chunk.last().map(|r| r.1).unwrap_or(after);
        }
        out.flush().expect("flush");
    }
}

/// DuckDB over the exported rows: median time, Parquet conversion seconds, totals, version; or
/// why it did not run (not installed).
fn duckdb(
    dir: &Path,
    range: DateRange,
    iters: usize,
) -> Result<(Duration, f64, Totals, String), String> {
    let pythonpath = std::env::var("TAIZHANG_DUCKDB_PYTHONPATH")
        .unwrap_or_else(|_| "/work/.cache/tools/py".into());
    let probe = Command::new("python3")
        .args(["-c", "import duckdb"])
        .env("PYTHONPATH", &pythonpath)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !probe.status.success() {
        return Err(format!(
            "DuckDB is not installed at {pythonpath} (pip install --target {pythonpath} duckdb; or set TAIZHANG_DUCKDB_PYTHONPATH)"
        ));
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/duckdb-bulletin.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(dir)
        .arg(range.from.to_string())
        .arg(range.to.to_string())
        .arg(iters.to_string())
        .env("PYTHONPATH", &pythonpath)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "duckdb-bulletin.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("duckdb output: {e}"))?;
    let runs: Vec<Duration> = v["runs_ms"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_f64())
                .map(|ms| Duration::from_secs_f64(ms / 1e3))
                .collect()
        })
        .unwrap_or_default();
    if runs.is_empty() {
        return Err("duckdb gave no runs".into());
    }
    let int = |x: &serde_json::Value| x.as_i64().unwrap_or(i64::MIN);
    let rows = |k: &str| v[k].as_array().cloned().unwrap_or_default();
    let types = rows("types")
        .iter()
        .map(|r| (int(&r[0]), int(&r[1]), int(&r[2])))
        .collect();
    let people = rows("people")
        .iter()
        .map(|r| (int(&r[0]), int(&r[1])))
        .collect();
    let facts = rows("facts")
        .iter()
        .map(|r| {
            (
                int(&r[0]),
                r[1].as_str().unwrap_or_default().to_string(),
                r[2].as_str().map(str::to_string),
                int(&r[3]),
                int(&r[4]),
            )
        })
        .collect();
    Ok((
        median(runs),
        v["convert_s"].as_f64().unwrap_or(0.0),
        totals_of(types, people, facts),
        v["duckdb"].as_str().unwrap_or("?").to_string(),
    ))
}

/// What the bulletin says per ledger type: (records, organisations, people), by type id.
async fn bulletin_types(
    pool: &Pool,
    county: i64,
    b: &taizhang_domain::bulletin::Bulletin,
) -> BTreeMap<i64, (i64, i64, i64)> {
    let keys: BTreeMap<String, i64> = pool
        .pairs(
            "SELECT key, id FROM ledger_types WHERE county_id = $1",
            county,
        )
        .await
        .into_iter()
        .collect();
    b.sections
        .iter()
        .filter(|s| s.records > 0)
        .map(|s| {
            (
                keys.get(&s.type_key).copied().unwrap_or(-1),
                (s.records, s.organisations, s.people),
            )
        })
        .collect()
}

async fn bench_one(label: &str, store: &Store, url: &str, county_code: &str, range: DateRange) {
    let iters = env_num("BENCH_ITERS", 20);
    let bare_iters = env_num("BENCH_BARE_ITERS", 5);
    let county = store.county_by_code(county_code).await.expect("county");
    let actor = Actor::system(county.id, "bench");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;

    let mut times = Vec::new();
    let mut bulletin = None;
    for _ in 0..iters {
        let t = Instant::now();
        let b = store
            .bulletin(&actor, county_code, range, Grouping::Children)
            .await
            .expect("bulletin");
        times.push(t.elapsed());
        bulletin = Some(b);
    }
    let ours = median(times);
    let Some(bulletin) = bulletin else { return };
    let mut times = Vec::new();
    let mut from_records = 0;
    for _ in 0..bare_iters {
        let t = Instant::now();
        let (b, _) = store
            .bulletin_figures(
                &actor,
                county_code,
                range,
                Grouping::Children,
                FigureSource::Records,
            )
            .await
            .expect("bulletin from records");
        times.push(t.elapsed());
        from_records = b.total_records;
    }
    let raw = median(times);
    assert_eq!(
        from_records, bulletin.total_records,
        "rollups and records disagree"
    );

    let pool = Pool::connect(url).await;
    let (id, root) = (county.id.get(), county.root_org_id.get());
    let (plain, plain_totals) = time_bare(&pool, id, root, range, false, bare_iters).await;
    let (sub, sub_totals) = time_bare(&pool, id, root, range, true, bare_iters).await;
    assert_eq!(
        plain_totals, sub_totals,
        "the subtree of the root is the county"
    );
    let theirs: BTreeMap<i64, (i64, i64, i64)> = plain_totals
        .types
        .iter()
        .map(|(t, (n, o))| {
            (
                *t,
                (*n, *o, plain_totals.people.get(t).copied().unwrap_or(0)),
            )
        })
        .collect();
    let said = bulletin_types(&pool, id, &bulletin).await;
    assert_eq!(
        said, theirs,
        "the bulletin and the bare SQL disagree per ledger type"
    );
    let total: i64 = theirs.values().map(|v| v.0).sum();
    assert_eq!(total, bulletin.total_records);

    println!(
        "{label}: county {county_code}, {} .. {}, {} records in the period; totals agree (records, organisations, people per type)",
        range.from, range.to, total
    );
    let line = |name: &str, d: Duration| {
        println!(
            "  {name:<40} {:>10.2} ms  {:>8.1}× taizhang's",
            ms(d),
            d.as_secs_f64() / ours.as_secs_f64()
        )
    };
    line("taizhang bulletin (rollups)", ours);
    line("taizhang bulletin from the records", raw);
    line("bare SQL over the records", plain);
    line("bare SQL, subtree through org_closure", sub);

    let dir = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    export(&pool, id, dir.path()).await;
    let exported = t.elapsed();
    match duckdb(dir.path(), range, bare_iters) {
        Ok((d, convert, totals, version)) => {
            assert_eq!(totals, plain_totals, "DuckDB and the bare SQL disagree");
            line(&format!("DuckDB {version} over Parquet"), d);
            println!(
                "  (DuckDB's totals equal the bare SQL's: {} per-type rows, {} fact rows; CSV export {:.1} s, Parquet conversion {convert:.1} s, not timed)",
                totals.types.len(),
                totals.facts.len(),
                exported.as_secs_f64()
            );
        }
        Err(note) => println!("  DuckDB skipped: {note}"),
    }
    pool.close().await;
}

/// The bulletin of a city or province (`BENCH_REGION`): every county's bulletin over its root,
/// added up and ranked; its total is checked against the counties' own bulletins.
async fn bench_region(
    store: &Store,
    county: taizhang_domain::CountyId,
    code: &str,
    range: DateRange,
) -> Duration {
    let iters = env_num("BENCH_ITERS", 20);
    let actor = Actor::system(county, "bench");
    let mut times = Vec::new();
    let mut total = 0;
    let mut counties = 0;
    for _ in 0..iters {
        let t = Instant::now();
        let b = store
            .region_bulletin(&actor, code, range)
            .await
            .expect("region bulletin");
        times.push(t.elapsed());
        total = b.total_records;
        counties = b.counties.len();
    }
    let (_, below) = store.region_counties(&actor, code).await.expect("counties");
    let mut sum = 0;
    for c in &below {
        let reader = store.county_reader(&actor, &c.code).await.expect("reader");
        sum += store
            .bulletin(&reader, &c.code, range, Grouping::Children)
            .await
            .expect("county bulletin")
            .total_records;
    }
    assert_eq!(
        total, sum,
        "the region's total is not the sum of its counties'"
    );
    println!(
        "region {code}: {counties} counties, {} .. {}, {total} records; region bulletin {:.2} ms (median of {iters})",
        range.from,
        range.to,
        median(times.clone()).as_secs_f64() * 1e3
    );
    median(times)
}

/// The live records of every county below a city (`$1` the region's id).
const REGION_LIVE: &str = "r.county_id IN (SELECT id FROM counties WHERE region_id = $1)
    AND r.voided_at IS NULL AND r.occurred_on BETWEEN $2 AND $3";

/// Writes the region's records, facts and named people as CSV for DuckDB, by ranges of record
/// ids (`BENCH_DUCKDB_DIR` keeps them, and the Parquet made from them, for the next run).
async fn export_region(pool: &Pool, region: i64, dir: &Path) {
    let ids = pool
        .pairs(
            "SELECT '', CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM ledger_records",
            region,
        )
        .await;
    let last = ids.first().map(|r| r.1).unwrap_or(0);
    let files = [
        ("records.csv", "SELECT id, CAST(ledger_type_id AS TEXT), CAST(org_id AS TEXT), CAST(occurred_on AS TEXT), CASE WHEN voided_at IS NULL THEN '0' ELSE '1' END
            FROM ledger_records WHERE county_id IN (SELECT id FROM counties WHERE region_id = $1) AND id > $2 AND id <= $3", 5),
        ("facts.csv", "SELECT f.record_id, f.field_key, COALESCE(CAST(f.num_value AS TEXT), ''), COALESCE(f.option_value, ''), ''
            FROM record_facts f WHERE f.county_id IN (SELECT id FROM counties WHERE region_id = $1) AND f.record_id > $2 AND f.record_id <= $3", 4),
        ("people.csv", "SELECT p.record_id, p.field_key, CAST(p.person_id AS TEXT), '', ''
            FROM record_people p WHERE p.county_id IN (SELECT id FROM counties WHERE region_id = $1) AND p.record_id > $2 AND p.record_id <= $3", 0),
    ];
    const SPAN: i64 = 200_000;
    for (file, sql, width) in files {
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(file)).expect("csv"));
        let mut lo = 0;
        while lo < last {
            for row in pool.span(sql, region, lo, lo + SPAN).await {
                let cols: Vec<&String> = if width == 0 {
                    vec![&row[0], &row[2]]
                } else {
                    row.iter().take(width).collect()
                };
                let line: Vec<String> = cols.iter().map(|c| csv_field(c)).collect();
                writeln!(out, "{}", line.join(",")).expect("write csv");
            }
            lo += SPAN;
        }
        out.flush().expect("flush");
    }
}

/// `BENCH_REGION_BARE`: the bare SQL over every record of the region's counties and DuckDB over
/// the same rows, beside the region bulletin's time; the bare SQL's records must add up to the
/// bulletin's total, and DuckDB's answers must equal the bare SQL's.
async fn bench_region_bare(store: &Store, url: &str, code: &str, range: DateRange, ours: Duration) {
    let bare_iters = env_num("BENCH_BARE_ITERS", 5);
    let region = store.region_by_code(code).await.expect("region");
    let actor = Actor::system(store.counties().await.expect("counties")[0].id, "bench");
    let total = store
        .region_bulletin(&actor, code, range)
        .await
        .expect("region bulletin")
        .total_records;
    let pool = Pool::connect(url).await;
    let (id, ms) = (region.id.get(), |d: Duration| d.as_secs_f64() * 1e3);
    let mut times = Vec::new();
    let mut totals = Totals::default();
    for _ in 0..bare_iters {
        let t = Instant::now();
        totals = pool.aggregate_where(REGION_LIVE, id, 0, range, false).await;
        times.push(t.elapsed());
    }
    let bare = median(times);
    let records: i64 = totals.types.values().map(|v| v.0).sum();
    assert_eq!(
        records, total,
        "the region bulletin and the bare SQL disagree"
    );
    let line = |name: &str, d: Duration| {
        println!(
            "  {name:<40} {:>10.2} ms  {:>8.1}× taizhang's",
            ms(d),
            d.as_secs_f64() / ours.as_secs_f64()
        )
    };
    println!("region {code}: {records} records in the period; the bare SQL's records equal the region bulletin's");
    line("region bulletin", ours);
    line("bare SQL over the region's records", bare);
    let kept = std::env::var("BENCH_DUCKDB_DIR").ok().map(PathBuf::from);
    let temp = tempfile::tempdir().expect("tempdir");
    if kept.is_some() {
        // The script drops the CSV once it has made the Parquet, which the next run reuses.
        std::env::set_var("BENCH_DUCKDB_KEEP", "1");
    }
    let dir = kept.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("DuckDB dir");
    let t = Instant::now();
    if !dir.join("records.parquet").exists() {
        export_region(&pool, id, &dir).await;
    }
    let exported = t.elapsed();
    match duckdb(&dir, range, bare_iters) {
        Ok((d, convert, theirs, version)) => {
            assert_eq!(theirs, totals, "DuckDB and the bare SQL disagree");
            line(&format!("DuckDB {version} over Parquet"), d);
            println!(
                "  (DuckDB's totals equal the bare SQL's: {} per-type rows, {} fact rows; CSV export {:.1} s, Parquet conversion {convert:.1} s, not timed)",
                theirs.types.len(),
                theirs.facts.len(),
                exported.as_secs_f64()
            );
        }
        Err(note) => println!("  DuckDB skipped: {note}"),
    }
    pool.close().await;
}

/// The calendar year of the county's latest record, or `BENCH_YEAR`.
async fn year_range(url: &str, county: i64) -> DateRange {
    let year: i32 = match std::env::var("BENCH_YEAR")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(y) => y,
        None => {
            let pool = Pool::connect(url).await;
            let latest = pool
                .pairs(
                    "SELECT COALESCE(MAX(CAST(occurred_on AS TEXT)), ''), CAST(0 AS BIGINT) FROM ledger_records WHERE county_id = $1",
                    county,
                )
                .await;
            pool.close().await;
            latest
                .first()
                .and_then(|r| r.0.get(..4).and_then(|y| y.parse().ok()))
                .unwrap_or(2025)
        }
    };
    let day = |m, d| chrono::NaiveDate::from_ymd_opt(year, m, d).expect("date");
    DateRange::new(day(1, 1), day(12, 31)).expect("range")
}

/// `TAIZHANG_BENCH_DB` as a URL: a bare path is a SQLite file.
fn db_url(given: &str) -> String {
    if given.starts_with("sqlite:") || given.starts_with("postgres") {
        given.to_string()
    } else {
        format!("sqlite://{given}")
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("bulletin: bench");
        return;
    }
    if let Ok(url) = std::env::var("TAIZHANG_BENCH_DB") {
        let url = db_url(&url);
        let t = Instant::now();
        let store = Store::open(&url).await.expect("open TAIZHANG_BENCH_DB");
        println!("opened {url} in {:.1} s", t.elapsed().as_secs_f64());
        let counties = store.counties().await.expect("counties");
        let code = std::env::var("BENCH_COUNTY").ok().unwrap_or_else(|| {
            counties
                .iter()
                .find(|c| c.code == "370828")
                .or(counties.first())
                .map(|c| c.code.clone())
                .expect("a county")
        });
        let county = store.county_by_code(&code).await.expect("county");
        let range = year_range(&url, county.id.get()).await;
        let label = if url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        };
        if let Ok(region) = std::env::var("BENCH_REGION") {
            let ours = bench_region(&store, county.id, &region, range).await;
            if std::env::var("BENCH_REGION_BARE").is_ok() {
                bench_region_bare(&store, &url, &region, range, ours).await;
            }
        }
        if std::env::var("BENCH_REGION_ONLY").is_err() {
            bench_one(label, &store, &url, &code, range).await;
        }
        store.close().await;
        return;
    }
    let scale: u32 = env_num("BENCH_SCALE", 1) as u32;
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let to = today();
    let range = DateRange::new(to - chrono::Duration::days(364), to).expect("range");
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
        println!(
            "{name}: demo county 370828 at scale {scale}: {} organisations, {} records, seeded in {:.1} s",
            summary.orgs,
            summary.records,
            seed_start.elapsed().as_secs_f64()
        );
        bench_one(name, &store, &url, "370828", range).await;
        store.close().await;
    }
}
