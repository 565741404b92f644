//! A bulletin's figures as a workbook: a sheet of the ledger types' figures and a sheet of the
//! ranked units, numbers as numbers and shares as percentages.

use super::outline::type_name;
use super::{clean, DocumentError, MAX_UNITS};
use crate::export::{Cell, Column, ColumnKind, Exported, Sheet, SheetWriter};
use taizhang_domain::bulletin::{Bulletin, Section};

/// "88.7%" as the fraction 0.887; `Empty` when the bulletin has no share (nothing to divide by).
fn share(s: Option<&str>) -> Cell {
    s.and_then(|s| s.strip_suffix('%'))
        .and_then(|n| n.parse::<f64>().ok())
        .map_or(Cell::Empty, |x| Cell::Decimal(x / 100.0))
}

/// An exact total as text ("14230", "10.8") as a number.
fn number(s: &str) -> Cell {
    s.parse::<f64>().map_or(Cell::Empty, Cell::Decimal)
}

fn section_rows(s: &Section) -> Vec<[Cell; 5]> {
    let name = || Cell::Text(clean(&s.type_name));
    let text = |t: &str| Cell::Text(clean(t));
    let mut rows = vec![
        [
            name(),
            text("记录数"),
            Cell::Decimal(s.records as f64),
            text("条"),
            Cell::Empty,
        ],
        [
            name(),
            text("涉及组织"),
            Cell::Decimal(s.organisations as f64),
            text("个"),
            Cell::Empty,
        ],
        [
            name(),
            text("涉及人数"),
            Cell::Decimal(s.people as f64),
            text("人"),
            Cell::Empty,
        ],
    ];
    for sum in &s.sums {
        rows.push([
            name(),
            text(&sum.label),
            number(&sum.total),
            text(&sum.unit),
            Cell::Empty,
        ]);
    }
    for b in &s.breakdown {
        rows.push([
            name(),
            text(&b.option),
            Cell::Decimal(b.records as f64),
            text("条"),
            share(b.share.as_deref()),
        ]);
    }
    rows
}

/// The bulletin as .xlsx: sheet 分类情况 (one row per figure of each ledger type: records,
/// organisations, people, each sum, each option of a breakdown with its share) and sheet
/// 各单位情况 (rank, unit, records per type, total, share).
pub fn bulletin_xlsx(b: &Bulletin) -> Result<Exported, DocumentError> {
    if b.units.len() > MAX_UNITS {
        return Err(DocumentError::TooManyUnits { limit: MAX_UNITS });
    }
    let mut w = SheetWriter::new(Sheet::new(
        "分类情况",
        vec![
            Column::new("台账类型", ColumnKind::Text),
            Column::new("项目", ColumnKind::Text),
            Column::new("数值", ColumnKind::Decimal),
            Column::new("单位", ColumnKind::Text),
            Column::new("占比", ColumnKind::Percent),
        ],
    ))?;
    for s in &b.sections {
        for row in section_rows(s) {
            w.push(&row)?;
        }
    }
    let mut columns = vec![
        Column::new("排名", ColumnKind::Integer),
        Column::new("单位", ColumnKind::Text),
    ];
    columns.extend(
        b.unit_columns
            .iter()
            .map(|k| Column::new(type_name(b, k), ColumnKind::Integer)),
    );
    columns.push(Column::new("合计", ColumnKind::Integer));
    columns.push(Column::new("占比", ColumnKind::Percent));
    w.add_sheet(Sheet::new("各单位情况", columns))?;
    for u in &b.units {
        let mut row = vec![
            Cell::Integer(i64::try_from(u.rank).unwrap_or(i64::MAX)),
            Cell::Text(clean(&u.org.name)),
        ];
        row.extend(u.counts.iter().map(|n| Cell::Integer(*n)));
        // A unit row always has one count per column; a short one is padded, never refused.
        row.resize(2 + b.unit_columns.len(), Cell::Integer(0));
        row.push(Cell::Integer(u.records));
        row.push(share(u.share.as_deref()));
        w.push(&row)?;
    }
    Ok(w.finish()?)
}
