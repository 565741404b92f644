//! Batches into PostgreSQL with `COPY … FROM STDIN` (text format) instead of multi-row inserts:
//! one statement per batch, rows encoded the way PostgreSQL reads them back.

use super::{Col, TableSpec, Val};
use crate::{StoreError, StoreResult};
use std::io::Write;

/// Appends one value in COPY's text format: `\N` for NULL, text with backslash, tab, newline and
/// carriage return escaped, instants in UTC to the microsecond, bytes as `\\x…` hex.
fn encode(buf: &mut Vec<u8>, col: Col, v: &Val) -> std::io::Result<()> {
    match (col, v) {
        (Col::I64, Val::I64(x)) => write!(buf, "{x}"),
        (Col::Text, Val::Text(x)) => {
            escape(buf, x);
            Ok(())
        }
        (Col::Date, Val::Date(x)) => write!(buf, "{}", x.format("%Y-%m-%d")),
        (Col::Ts, Val::Ts(x)) => write!(buf, "{}", x.format("%Y-%m-%d %H:%M:%S%.6f+00")),
        (Col::Bool, Val::Bool(x)) => {
            buf.push(if *x { b't' } else { b'f' });
            Ok(())
        }
        (Col::Json, Val::Json(x)) => {
            escape(buf, &x.to_string());
            Ok(())
        }
        (Col::Blob, Val::Blob(x)) => {
            buf.extend_from_slice(b"\\\\x");
            buf.extend_from_slice(hex::encode(x).as_bytes());
            Ok(())
        }
        // As the inserts bind it: a value of another kind than its column is NULL.
        _ => {
            buf.extend_from_slice(b"\\N");
            Ok(())
        }
    }
}

fn escape(buf: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

/// The rows of one batch as COPY's text format: one line per row, tab between columns.
pub(crate) fn encode_rows(t: &TableSpec, rows: &[Vec<Val>]) -> StoreResult<Vec<u8>> {
    let mut buf = Vec::with_capacity(rows.len() * 64);
    for row in rows {
        if row.len() != t.columns.len() {
            return Err(StoreError::Internal(format!(
                "{} 表的一行有{}列，应为{}列",
                t.name,
                row.len(),
                t.columns.len()
            )));
        }
        for (i, ((_, col), v)) in t.columns.iter().zip(row).enumerate() {
            if i > 0 {
                buf.push(b'\t');
            }
            encode(&mut buf, *col, v)?;
        }
        buf.push(b'\n');
    }
    Ok(buf)
}

/// Writes one batch of a table's rows on `c` (inside the caller's transaction) with one COPY.
pub(crate) async fn copy_rows(
    c: &mut sqlx::PgConnection,
    t: &TableSpec,
    rows: &[Vec<Val>],
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let data = encode_rows(t, rows)?;
    let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
    let mut copy = c
        .copy_in_raw(&format!("COPY {} ({}) FROM STDIN", t.name, cols.join(", ")))
        .await?;
    if let Err(e) = copy.send(data).await {
        // The server already has what it needs to refuse; tell it the load is off.
        let _ = copy.abort("taizhang: send failed").await;
        return Err(e.into());
    }
    let written = copy.finish().await?;
    if written != rows.len() as u64 {
        return Err(StoreError::Internal(format!(
            "{} 表 COPY 写入{written}行，应为{}行",
            t.name,
            rows.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    const SPEC: TableSpec = TableSpec {
        name: "t",
        columns: &[
            ("a", Col::I64),
            ("b", Col::Text),
            ("c", Col::Date),
            ("d", Col::Ts),
            ("e", Col::Bool),
            ("f", Col::Json),
            ("g", Col::Blob),
            ("h", Col::Text),
        ],
        order: "a",
        identity: None,
    };

    #[test]
    fn rows_encode_as_copy_text() {
        let ts =
            Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap() + chrono::Duration::microseconds(89);
        let row = vec![
            Val::I64(-12),
            Val::Text("a\\b\tc\nd\re 台账".into()),
            Val::Date(NaiveDate::from_ymd_opt(2026, 1, 2).unwrap()),
            Val::Ts(ts),
            Val::Bool(true),
            Val::Json(serde_json::json!({"k": "x\ty", "n": [1, 2]})),
            Val::Blob(vec![0, 0xab, 0xff]),
            Val::Null,
        ];
        let got = encode_rows(&SPEC, &[row.clone(), row]).unwrap();
        let line = "-12\ta\\\\b\\tc\\nd\\re 台账\t2026-01-02\t2026-03-04 05:06:07.000089+00\tt\t{\"k\":\"x\\\\ty\",\"n\":[1,2]}\t\\\\x00abff\t\\N\n";
        assert_eq!(String::from_utf8(got).unwrap(), format!("{line}{line}"));
    }

    #[test]
    fn a_value_of_another_kind_is_null_and_a_short_row_is_refused() {
        let got = encode_rows(
            &SPEC,
            &[vec![
                Val::Text("1".into()),
                Val::I64(2),
                Val::Null,
                Val::Null,
                Val::Bool(false),
                Val::Null,
                Val::Null,
                Val::Text(String::new()),
            ]],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "\\N\t\\N\t\\N\t\\N\tf\t\\N\t\\N\t\n"
        );
        assert!(matches!(
            encode_rows(&SPEC, &[vec![Val::I64(1)]]),
            Err(StoreError::Internal(_))
        ));
    }
}
