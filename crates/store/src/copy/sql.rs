//! The copy queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::*;
use crate::copy::{Checksum, Col, TableSpec, Val, TABLES};
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

/// Every row of every table that belongs to the county (all counties when `None`), in key order.
pub(crate) async fn export_tables(
    p: &Pools<DB>,
    county: Option<i64>,
) -> StoreResult<Vec<(&'static TableSpec, Vec<Vec<Val>>)>> {
    // One snapshot for every table, so a copy taken while the server runs is consistent.
    let mut c = p.read.begin().await?;
    if IS_PG {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *c)
            .await?;
    }
    let out = export_all(&mut c, county).await?;
    c.commit().await?;
    Ok(out)
}

/// Every row of every table (of one county, or all), in key order, read on `c`: inside the
/// caller's transaction, so one snapshot (copy, backup, a restore reading back what it wrote).
pub(crate) async fn export_all(
    c: &mut Conn,
    county: Option<i64>,
) -> StoreResult<Vec<(&'static TableSpec, Vec<Vec<Val>>)>> {
    let mut out = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
        let filter = match county {
            Some(_) => format!(" WHERE {} = $1", county_filter(t)),
            None => String::new(),
        };
        let sql = format!(
            "SELECT {} FROM {}{filter} ORDER BY {}",
            cols.join(", "),
            t.name,
            t.order
        );
        let mut q = sqlx::query(&sql);
        if let Some(id) = county {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&mut *c).await?;
        let mut vals = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut v = Vec::with_capacity(t.columns.len());
            for (i, (_, col)) in t.columns.iter().enumerate() {
                v.push(read_val(r, i, *col)?);
            }
            vals.push(v);
        }
        out.push((t, vals));
    }
    Ok(out)
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

/// Counts and checksums of the county's rows in every table.
pub(crate) async fn table_checksums(
    p: &Pools<DB>,
    county: Option<i64>,
) -> StoreResult<Vec<(String, i64, String)>> {
    Ok(export_tables(p, county)
        .await?
        .into_iter()
        .map(|(t, rows)| {
            let mut sum = Checksum::default();
            for r in &rows {
                sum.row(r);
            }
            (t.name.to_string(), rows.len() as i64, sum.hex())
        })
        .collect())
}

pub(crate) fn add_val(
    args: &mut <DB as sqlx::Database>::Arguments<'_>,
    col: Col,
    v: &Val,
) -> StoreResult<()> {
    let r = match (col, v) {
        (Col::I64, Val::I64(x)) => args.add(Some(*x)),
        (Col::I64, _) => args.add(None::<i64>),
        (Col::Text, Val::Text(x)) => args.add(Some(x.clone())),
        (Col::Text, _) => args.add(None::<String>),
        (Col::Date, Val::Date(x)) => args.add(Some(*x)),
        (Col::Date, _) => args.add(None::<NaiveDate>),
        (Col::Ts, Val::Ts(x)) => args.add(Some(*x)),
        (Col::Ts, _) => args.add(None::<DateTime<Utc>>),
        (Col::Bool, Val::Bool(x)) => args.add(Some(*x)),
        (Col::Bool, _) => args.add(None::<bool>),
        (Col::Json, Val::Json(x)) => args.add(Some(Json(x.clone()))),
        (Col::Json, _) => args.add(None::<Json<Value>>),
    };
    r.map_err(|e| StoreError::Internal(e.to_string()))
}

/// Writes exported rows into this (empty, migrated) database in one transaction.
pub(crate) async fn import_tables(
    p: &Pools<DB>,
    tables: &[(&'static TableSpec, Vec<Vec<Val>>)],
) -> StoreResult<()> {
    let mut tx = p.write.begin().await?;
    import_all(&mut tx, tables).await?;
    tx.commit().await?;
    Ok(())
}

/// Inserts exported rows on `c` (the caller's transaction); on PostgreSQL the identity sequences
/// then continue after the copied ids.
pub(crate) async fn import_all(
    c: &mut Conn,
    tables: &[(&'static TableSpec, Vec<Vec<Val>>)],
) -> StoreResult<()> {
    // Parents come before children in TABLES, so every foreign key holds as rows arrive.
    for (t, rows) in tables {
        let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
        let per_stmt = (30_000 / t.columns.len()).clamp(1, 500);
        for chunk in rows.chunks(per_stmt) {
            let mut args = <DB as sqlx::Database>::Arguments::default();
            let mut n = 0;
            let mut groups = Vec::with_capacity(chunk.len());
            for row in chunk {
                let mut ph = Vec::with_capacity(row.len());
                for ((_, col), v) in t.columns.iter().zip(row) {
                    add_val(&mut args, *col, v)?;
                    n += 1;
                    ph.push(format!("${n}"));
                }
                groups.push(format!("({})", ph.join(", ")));
            }
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                t.name,
                cols.join(", "),
                groups.join(", ")
            );
            sqlx::query_with::<DB, _>(&sql, args)
                .execute(&mut *c)
                .await?;
        }
        if IS_PG {
            if let Some(col) = t.identity {
                sqlx::raw_sql(&format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', '{col}'), GREATEST((SELECT MAX({col}) FROM {0}), 1))",
                    t.name
                ))
                .execute(&mut *c)
                .await?;
            }
        }
    }
    Ok(())
}
