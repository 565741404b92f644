//! Benchmark: the bulk write path end to end — `taizhang gen`'s records phase (generating,
//! validating by the ledger rules and scope, and writing records, their people and facts, one
//! transaction per batch) — beside the database's own bulk load of the same rows: `sqlite3`'s
//! `.import` of them as CSV, and PostgreSQL's `COPY … FROM` through `psql`, each into bare tables
//! with the same columns and indexes (no checks, no audit). Prints both and their ratio.
//!
//! `cargo bench -p taizhang --bench bulk`; environment: `BENCH_GEN_SCALE` (`county`, default, or
//! `city`, `test`), `BENCH_BACKENDS` (default `sqlite,postgres`), `BENCH_SEED` (default 1).

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use taizhang_demo::gen::{generate, GenOptions, Scale};
use taizhang_testkit::{fresh_store, Backend};

/// The three tables a record writes, bare: the same columns and indexes as the migrations, no
/// foreign keys. `{json}` and `{ts}` stand for each backend's types.
const BARE_SCHEMA: &str = "
CREATE TABLE bare_records (id BIGINT PRIMARY KEY, county_id BIGINT NOT NULL, ledger_type_id BIGINT NOT NULL, type_version BIGINT NOT NULL, org_id BIGINT NOT NULL, occurred_on DATE NOT NULL, fields {json} NOT NULL, created_by BIGINT, created_at {ts} NOT NULL);
CREATE INDEX bare_records_type_date ON bare_records(county_id, ledger_type_id, occurred_on);
CREATE INDEX bare_records_org_date ON bare_records(org_id, occurred_on);
CREATE TABLE bare_people (county_id BIGINT NOT NULL, record_id BIGINT NOT NULL, field_key TEXT NOT NULL, person_id BIGINT NOT NULL, PRIMARY KEY (record_id, field_key, person_id));
CREATE INDEX bare_people_person ON bare_people(person_id);
CREATE TABLE bare_facts (county_id BIGINT NOT NULL, record_id BIGINT NOT NULL, field_key TEXT NOT NULL, num_value BIGINT, option_value TEXT);
CREATE INDEX bare_facts_record ON bare_facts(record_id, field_key);
";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes the county's records, people and facts as three CSV files; returns the row counts.
async fn export(url: &str, dir: &Path) -> (usize, usize, usize) {
    let queries = [
        ("records.csv", "SELECT CAST(id AS TEXT), CAST(county_id AS TEXT), CAST(ledger_type_id AS TEXT), CAST(type_version AS TEXT), CAST(org_id AS TEXT), CAST(occurred_on AS TEXT), CAST(fields AS TEXT), COALESCE(CAST(created_by AS TEXT), ''), CAST(created_at AS TEXT) FROM ledger_records ORDER BY id"),
        ("people.csv", "SELECT CAST(county_id AS TEXT), CAST(record_id AS TEXT), field_key, CAST(person_id AS TEXT), '', '', '', '', '' FROM record_people"),
        ("facts.csv", "SELECT CAST(county_id AS TEXT), CAST(record_id AS TEXT), field_key, COALESCE(CAST(num_value AS TEXT), ''), COALESCE(option_value, ''), '', '', '', '' FROM record_facts"),
    ];
    let widths = [9, 4, 5];
    let mut counts = Vec::new();
    for ((file, q), width) in queries.iter().zip(widths) {
        type Row = (
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
        );
        let rows: Vec<Row> = if url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(url).await.expect("pg");
            sqlx::query_as(q).fetch_all(&pool).await.expect("export")
        } else {
            let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite");
            sqlx::query_as(q).fetch_all(&pool).await.expect("export")
        };
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(file)).expect("csv"));
        for r in &rows {
            let cols = [&r.0, &r.1, &r.2, &r.3, &r.4, &r.5, &r.6, &r.7, &r.8];
            let line: Vec<String> = cols[..width].iter().map(|c| csv_field(c)).collect();
            writeln!(out, "{}", line.join(",")).expect("write csv");
        }
        out.flush().expect("flush");
        counts.push(rows.len());
    }
    (counts[0], counts[1], counts[2])
}

fn sqlite_import(dir: &Path) -> f64 {
    let db = dir.join("bare.db");
    let _ = std::fs::remove_file(&db);
    let schema = BARE_SCHEMA
        .replace("{json}", "TEXT")
        .replace("{ts}", "TEXT");
    let status = Command::new("sqlite3")
        .arg(&db)
        .arg(format!("PRAGMA journal_mode=WAL; {schema}"))
        .output()
        .expect("sqlite3");
    assert!(status.status.success(), "{status:?}");
    let script = format!(
        ".import --csv {} bare_records\n.import --csv {} bare_people\n.import --csv {} bare_facts\n",
        dir.join("records.csv").display(),
        dir.join("people.csv").display(),
        dir.join("facts.csv").display()
    );
    let t = Instant::now();
    let mut child = Command::new("sqlite3")
        .arg(&db)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sqlite3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script");
    assert!(child.wait().expect("sqlite3").success());
    t.elapsed().as_secs_f64()
}

async fn pg_copy(dir: &Path) -> f64 {
    let (_store, url, _d) = fresh_store(Backend::Postgres).await.expect("pg");
    let schema = BARE_SCHEMA
        .replace("{json}", "JSONB")
        .replace("{ts}", "TIMESTAMPTZ");
    let out = Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", &url, "-c", &schema])
        .output()
        .expect("psql");
    assert!(out.status.success(), "{out:?}");
    let script = format!(
        "BEGIN;\n\\copy bare_records FROM '{}' CSV\n\\copy bare_people FROM '{}' CSV\n\\copy bare_facts FROM '{}' CSV\nCOMMIT;\n",
        dir.join("records.csv").display(),
        dir.join("people.csv").display(),
        dir.join("facts.csv").display()
    );
    let t = Instant::now();
    let mut child = Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", &url])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script");
    assert!(child.wait().expect("psql").success());
    t.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("bulk: bench");
        return;
    }
    let scale: Scale = std::env::var("BENCH_GEN_SCALE")
        .unwrap_or_else(|_| "county".into())
        .parse()
        .expect("BENCH_GEN_SCALE");
    let seed: u64 = std::env::var("BENCH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    println!("bulk writes: `gen --scale {scale:?} --years 1 --seed {seed}`, records phase, beside the database's own bulk load of the same rows");
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>9} {:>12} {:>9} {:>12} {:>7}",
        "backend",
        "records",
        "people",
        "facts",
        "gen s",
        "gen rec/s",
        "bare s",
        "bare rec/s",
        "ratio"
    );
    for name in backends.split(',') {
        let backend = match name.trim() {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => panic!("unknown backend {other}"),
        };
        let (store, url, dir) = fresh_store(backend).await.expect("store");
        let opts = GenOptions {
            scale,
            years: 1,
            seed,
            tree_only: false,
        };
        taizhang_store::take_bulk_timings();
        let s = generate(&store, &opts, &mut |_| {}).await.expect("gen");
        let phases = taizhang_store::take_bulk_timings();
        store.close().await;
        let (records, people, facts) = export(&url, dir.path()).await;
        assert_eq!(records as u64, s.records);
        let bare = match backend {
            Backend::Sqlite => sqlite_import(dir.path()),
            Backend::Postgres => pg_copy(dir.path()).await,
        };
        println!(
            "{:<10} {:>10} {:>10} {:>10} {:>9.2} {:>12.0} {:>9.2} {:>12.0} {:>7.2}",
            name,
            records,
            people,
            facts,
            s.record_seconds,
            s.records as f64 / s.record_seconds,
            bare,
            records as f64 / bare,
            s.record_seconds / bare
        );
        breakdown(s.record_seconds, &phases);
    }
}

/// Where the records phase went: the write transactions run one after the other while the next
/// batch is generated and checked, so the writer's phases add up to at most the phase's wall
/// time, and the checks overlap them.
fn breakdown(wall: f64, t: &taizhang_store::BulkTimings) {
    let write = [
        (
            "  before the inserts (orgs rechecked, ids)",
            t.before_insert,
        ),
        ("  INSERT ledger_records", t.insert_records),
        ("  INSERT record_people", t.insert_people),
        ("  INSERT record_facts", t.insert_facts),
        ("  own rollups (rollup_cells, rollup_facts)", t.own_rollups),
        (
            "  tree rollups (closure read, tree cells, facts)",
            t.tree_rollups,
        ),
        ("  audit entry and commit", t.audit_commit),
    ];
    let written: f64 = write.iter().map(|(_, d)| d.as_secs_f64()).sum();
    println!(
        "  records phase {wall:.2} s in {} batches; the writer busy {written:.2} s ({:.0} %), the checks {:.2} s (overlapping the writes); generating and waiting: the rest",
        t.batches,
        100.0 * written / wall,
        t.checking.as_secs_f64()
    );
    for (name, d) in write {
        println!(
            "  {name:<50} {:>8.2} s {:>5.1} %",
            d.as_secs_f64(),
            100.0 * d.as_secs_f64() / wall
        );
    }
}
