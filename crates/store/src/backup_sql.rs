// Included once per backend by backup.rs (as queries.rs is by lib.rs): `DB` and `IS_PG` come from
// the including module. Every statement here runs on a connection the caller holds, so that a
// backup reads one snapshot and a restore writes, reads back and checks inside one transaction.

use crate::copy::{Col, TableSpec, Val, TABLES};
use crate::{StoreError, StoreResult};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::Arguments;

pub type Conn = <DB as sqlx::Database>::Connection;
type Row = <DB as sqlx::Database>::Row;

fn read_val(row: &Row, i: usize, col: Col) -> Result<Val, sqlx::Error> {
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

fn add_val(args: &mut <DB as sqlx::Database>::Arguments<'_>, col: Col, v: &Val) -> StoreResult<()> {
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

/// Every row of every table, in key order, read on `c`: inside the caller's transaction, one
/// snapshot.
pub async fn export_all(c: &mut Conn) -> StoreResult<Vec<(&'static TableSpec, Vec<Vec<Val>>)>> {
    let mut out = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            cols.join(", "),
            t.name,
            t.order
        );
        let rows = sqlx::query::<DB>(&sql).fetch_all(&mut *c).await?;
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

/// The first table (of those a backup holds, and sessions) that has rows, and how many.
pub async fn first_non_empty(c: &mut Conn) -> StoreResult<Option<(&'static str, i64)>> {
    let names = TABLES.iter().map(|t| t.name).chain(["sessions"]);
    for name in names {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {name}"))
            .fetch_one(&mut *c)
            .await?;
        if n > 0 {
            return Ok(Some((name, n)));
        }
    }
    Ok(None)
}

/// Inserts the rows, parents before children, on `c` (the caller's transaction); on PostgreSQL
/// the identity sequences then continue after the restored ids.
pub async fn import_all(c: &mut Conn, tables: &[(&'static TableSpec, Vec<Vec<Val>>)]) -> StoreResult<()> {
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
            sqlx::query_with::<DB, _>(&sql, args).execute(&mut *c).await?;
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
