//! The sheet of a ledger type's records: the record's date and organisation, then each of the
//! type's fields as a column of its kind, then who entered it and when.

use super::lists::{beijing, OrgPaths};
use serde_json::Value;
use std::collections::HashMap;
use taizhang_domain::ledger::{FieldDef, FieldKind};
use taizhang_office::export::{Cell, Column, ColumnKind, Sheet};
use taizhang_store::{LedgerType, Record};

/// How a field is written: a decimal field counted in 元 with two decimals is money (its value
/// in 分 is the stored scaled integer); people are named; options and choices are text.
fn column_kind(f: &FieldDef) -> ColumnKind {
    match &f.kind {
        FieldKind::Integer { .. } => ColumnKind::Integer,
        FieldKind::Decimal { scale: 2, .. } if f.unit.as_deref() == Some("元") => {
            ColumnKind::Money
        }
        FieldKind::Decimal { .. } => ColumnKind::Decimal,
        FieldKind::Date => ColumnKind::Date,
        FieldKind::Attachment { .. } => ColumnKind::Integer,
        _ => ColumnKind::Text,
    }
}

fn header(f: &FieldDef) -> String {
    let mut h = f.label.clone();
    if matches!(f.kind, FieldKind::Attachment { .. }) {
        h.push_str("（个数）");
    } else if let Some(unit) = f.unit.as_deref().filter(|u| !u.is_empty()) {
        h.push_str(&format!("（{unit}）"));
    }
    if f.retired {
        h.push_str("（已停用）");
    }
    h
}

pub(crate) fn records_sheet(t: &LedgerType) -> Sheet {
    let mut columns = vec![
        Column::new("日期", ColumnKind::Date),
        Column::new("组织", ColumnKind::Text),
        Column::new("组织编码", ColumnKind::Text),
    ];
    columns.extend(
        t.definition
            .fields
            .iter()
            .map(|f| Column::new(header(f), column_kind(f))),
    );
    columns.push(Column::new("录入人", ColumnKind::Text));
    columns.push(Column::new("录入时间（北京时间）", ColumnKind::DateTime));
    Sheet::new(t.name.clone(), columns)
}

/// A decimal's text ("12.5", 12.5) as its value scaled by `10^scale`, exactly.
fn scaled(v: &Value, scale: u32) -> Option<i64> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    taizhang_domain::ledger::parse_scaled(&text, scale)
}

fn field_cell(
    f: &FieldDef,
    v: Option<&Value>,
    names: &HashMap<i64, &str>,
    tree: &OrgPaths,
) -> Cell {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Cell::Empty;
    };
    match (&f.kind, column_kind(f)) {
        (_, ColumnKind::Money) => scaled(v, 2).map_or(Cell::Empty, Cell::Money),
        (FieldKind::Decimal { scale, .. }, _) => scaled(v, *scale).map_or(Cell::Empty, |n| {
            Cell::Decimal(n as f64 / 10_f64.powi(*scale as i32))
        }),
        (FieldKind::Integer { .. }, _) => v.as_i64().map_or(Cell::Empty, Cell::Integer),
        (FieldKind::Date, _) => v
            .as_str()
            .and_then(|s| s.parse().ok())
            .map_or(Cell::Empty, Cell::Date),
        (FieldKind::Attachment { .. }, _) => {
            Cell::Integer(v.as_array().map_or(1, |a| a.len() as i64))
        }
        (FieldKind::People { .. }, _) => {
            let ids = v.as_array().cloned().unwrap_or_else(|| vec![v.clone()]);
            let named: Vec<String> = ids
                .iter()
                .filter_map(Value::as_i64)
                .map(|id| {
                    names
                        .get(&id)
                        .map_or_else(|| id.to_string(), |n| n.to_string())
                })
                .collect();
            Cell::Text(named.join("、"))
        }
        // By its path, as the 组织 column: the stored code or `o{id}` would not import into
        // another installation.
        (FieldKind::Organisation, _) => match v.as_str() {
            Some(r) => Cell::Text(tree.path_of_ref(r).unwrap_or_else(|| r.to_string())),
            None => Cell::Text(v.to_string()),
        },
        (FieldKind::MultiChoice { .. }, _) => Cell::Text(
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("、")
                })
                .unwrap_or_default(),
        ),
        (_, _) => match v {
            Value::String(s) => Cell::Text(s.clone()),
            other => Cell::Text(other.to_string()),
        },
    }
}

/// 组织 is the organisation's path and 组织编码 its official code (as in the people's sheet),
/// so that the sheet imports back into the same organisations.
pub(crate) fn record_row(t: &LedgerType, r: &Record, tree: &OrgPaths) -> Vec<Cell> {
    let names: HashMap<i64, &str> = r
        .people
        .iter()
        .map(|p| (p.id.get(), p.name.as_str()))
        .collect();
    let mut row = vec![
        Cell::Date(r.occurred_on),
        Cell::Text(
            tree.path(r.org.id.get())
                .unwrap_or_else(|| r.org.name.clone()),
        ),
        Cell::text_opt(tree.code(r.org.id.get())),
    ];
    row.extend(
        t.definition
            .fields
            .iter()
            .map(|f| field_cell(f, r.fields.get(&f.key), &names, tree)),
    );
    row.push(Cell::text_opt(r.created_by.clone()));
    row.push(Cell::DateTime(beijing(r.created_at)));
    row
}
