//! The copy queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::*;
use crate::copy::{Col, Rows, Sink, TableSpec, Tally, Val, TABLES};
use crate::{Pools, StoreError, StoreResult};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::Arguments;

pub(crate) async fn analyze(p: &Pools<DB>) -> StoreResult<()> {
    sqlx::raw_sql("ANALYZE").execute(&p.write).await?;
    Ok(())
}

pub(crate) async fn table_counts(p: &Pools<DB>) -> StoreResult<Vec<(String, i64)>> {
    // The tables a copy or backup carries: one list for all of them.
    let mut out = Vec::new();
    for t in TABLES {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {}", t.name))
            .fetch_one(&p.read)
            .await?;
        out.push((t.name.to_string(), n));
    }
    Ok(out)
}

// ---- copy between databases --------------------------------------------------------------------

pub(crate) fn read_val(row: &Row, i: usize, col: Col) -> Result<Val, sqlx::Error> {
    use sqlx::Row as _;
    Ok(match col {
        Col::I64 => row.try_get::<Option<i64>, _>(i)?.map(Val::I64),
        Col::Text => row.try_get::<Option<String>, _>(i)?.map(Val::Text),
        Col::Date => row.try_get::<Option<NaiveDate>, _>(i)?.map(Val::Date),
        Col::Ts => row.try_get::<Option<DateTime<Utc>>, _>(i)?.map(Val::Ts),
        Col::Bool => row.try_get::<Option<bool>, _>(i)?.map(Val::Bool),
        Col::Json => row
            .try_get::<Option<Json<Value>>, _>(i)?
            .map(|j| Val::Json(j.0)),
        Col::Blob => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Val::Blob),
    }
    .unwrap_or(Val::Null))
}

pub(crate) fn county_filter(t: &TableSpec) -> &'static str {
    if t.name == "counties" {
        "id"
    } else {
        "county_id"
    }
}

/// The query that reads a table (of one county, or all) in key order.
fn select_sql(t: &TableSpec, county: Option<i64>) -> String {
    let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
    let filter = match county {
        // One county's regions: its city or province, and the province above its city.
        Some(_) if t.name == "regions" => " WHERE id IN (SELECT region_id FROM counties WHERE id = $1) OR id IN (SELECT r.parent_id FROM regions r JOIN counties c ON c.region_id = r.id WHERE c.id = $1)".to_string(),
        Some(_) => format!(" WHERE {} = $1", county_filter(t)),
        None => String::new(),
    };
    format!(
        "SELECT {} FROM {}{filter} ORDER BY {}",
        cols.join(", "),
        t.name,
        t.order
    )
}

/// Streams `tables` (of one county, or all), each in key order, on `c`, inside the caller's
/// transaction (one snapshot: copy, backup, a restore reading back what it wrote), into `sink` in
/// batches of at most `batch` rows. Each table is one ordered query whose rows the driver hands
/// over as they are read (SQLite steps its statement, PostgreSQL's rows wait on the socket), so
/// only the batch being filled is held here.
pub(crate) async fn stream_tables<S: Sink>(
    c: &mut Conn,
    county: Option<i64>,
    tables: impl IntoIterator<Item = &'static TableSpec>,
    batch: usize,
    sink: &mut S,
) -> StoreResult<()> {
    use futures_util::TryStreamExt;
    let batch = batch.max(1);
    for t in tables {
        let sql = select_sql(t, county);
        let mut q = sqlx::query(&sql);
        if let Some(id) = county {
            q = q.bind(id);
        }
        let mut rows = q.fetch(&mut *c);
        let mut buf: Rows = Vec::with_capacity(batch.min(1024));
        while let Some(r) = rows.try_next().await? {
            let mut v = Vec::with_capacity(t.columns.len());
            for (i, (_, col)) in t.columns.iter().enumerate() {
                v.push(read_val(&r, i, *col)?);
            }
            buf.push(v);
            if buf.len() >= batch {
                let full = std::mem::replace(&mut buf, Vec::with_capacity(batch));
                sink.batch(t, full).await?;
            }
        }
        drop(rows);
        sink.batch(t, buf).await?;
    }
    Ok(())
}

/// Streams every table (of one county, or all) from one snapshot of the database: one read
/// transaction, `REPEATABLE READ` on PostgreSQL.
pub(crate) async fn stream_snapshot<S: Sink>(
    p: &Pools<DB>,
    county: Option<i64>,
    batch: usize,
    sink: &mut S,
) -> StoreResult<()> {
    let mut c = p.read.begin().await?;
    if IS_PG {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *c)
            .await?;
    }
    stream_tables(&mut c, county, TABLES, batch, sink).await?;
    c.commit().await?;
    Ok(())
}

/// The first table (of those a copy or backup holds, and sessions) that has rows, and how many.
pub(crate) async fn first_non_empty(c: &mut Conn) -> StoreResult<Option<(&'static str, i64)>> {
    for name in TABLES.iter().map(|t| t.name).chain(["sessions"]) {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {name}"))
            .fetch_one(&mut *c)
            .await?;
        if n > 0 {
            return Ok(Some((name, n)));
        }
    }
    Ok(None)
}

/// Counts and checksums of the county's rows in every table, from one snapshot.
pub(crate) async fn table_checksums(
    p: &Pools<DB>,
    county: Option<i64>,
    batch: usize,
) -> StoreResult<Vec<(String, i64, String)>> {
    let mut tally = Tally::new();
    stream_snapshot(p, county, batch, &mut tally).await?;
    Ok(tally.finish())
}

pub(crate) fn add_val<'q>(
    args: &mut <DB as sqlx::Database>::Arguments<'q>,
    col: Col,
    v: &'q Val,
) -> StoreResult<()> {
    let r = match (col, v) {
        (Col::I64, Val::I64(x)) => args.add(Some(*x)),
        (Col::I64, _) => args.add(None::<i64>),
        (Col::Text, Val::Text(x)) => args.add(Some(x.as_str())),
        (Col::Text, _) => args.add(None::<&str>),
        (Col::Date, Val::Date(x)) => args.add(Some(*x)),
        (Col::Date, _) => args.add(None::<NaiveDate>),
        (Col::Ts, Val::Ts(x)) => args.add(Some(*x)),
        (Col::Ts, _) => args.add(None::<DateTime<Utc>>),
        (Col::Bool, Val::Bool(x)) => args.add(Some(*x)),
        (Col::Bool, _) => args.add(None::<bool>),
        (Col::Json, Val::Json(x)) => args.add(Some(Json(x))),
        (Col::Json, _) => args.add(None::<Json<&Value>>),
        (Col::Blob, Val::Blob(x)) => args.add(Some(x.as_slice())),
        (Col::Blob, _) => args.add(None::<&[u8]>),
    };
    r.map_err(|e| StoreError::Internal(e.to_string()))
}

/// Inserts one batch of a table's rows on `c` (the caller's transaction), in multi-row
/// statements. Parents come before children in TABLES, so every foreign key holds as rows
/// arrive.
pub(crate) async fn insert_rows(c: &mut Conn, t: &TableSpec, rows: &[Vec<Val>]) -> StoreResult<()> {
    let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
    let per_stmt = (30_000 / t.columns.len()).clamp(1, 500);
    for chunk in rows.chunks(per_stmt) {
        let mut args = <DB as sqlx::Database>::Arguments::default();
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", t.name, cols.join(", "));
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            if row.len() != t.columns.len() {
                return Err(StoreError::Internal(format!(
                    "{} 表的一行有{}列，应为{}列",
                    t.name,
                    row.len(),
                    t.columns.len()
                )));
            }
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for (j, ((_, col), v)) in t.columns.iter().zip(row).enumerate() {
                add_val(&mut args, *col, v)?;
                n += 1;
                if j > 0 {
                    sql.push_str(", ");
                }
                sql.push('$');
                sql.push_str(&n.to_string());
            }
            sql.push(')');
        }
        sqlx::query_with::<DB, _>(&sql, args)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// After a bulk load on `c`: on PostgreSQL the identity sequences continue after the loaded ids.
pub(crate) async fn follow_identities(c: &mut Conn) -> StoreResult<()> {
    if !IS_PG {
        return Ok(());
    }
    for t in TABLES {
        if let Some(col) = t.identity {
            sqlx::raw_sql(&format!(
                "SELECT setval(pg_get_serial_sequence('{0}', '{col}'), GREATEST((SELECT MAX({col}) FROM {0}), 1))",
                t.name
            ))
            .execute(&mut *c)
            .await?;
        }
    }
    Ok(())
}
