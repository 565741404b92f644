//! What a sheet is read into: rows of typed cells, each row with its number in the original sheet.

use chrono::{NaiveDate, NaiveDateTime};

/// One cell as the file holds it. A .csv has no types, so its cells are all text (or empty);
/// an .xlsx cell keeps its type, a number in one of Excel's date formats being a date.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    Date(NaiveDate),
    /// A date with a time of day other than midnight.
    DateTime(NaiveDateTime),
    /// An Excel error value, as Excel shows it: "#DIV/0!", "#N/A" …
    Error(String),
}

impl Cell {
    pub fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }

    /// The cell as a person reads it in a sheet: what the rejected-rows workbook and the
    /// messages show. Numbers in their shortest exact form, dates as YYYY-MM-DD.
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) | Cell::Error(s) => s.clone(),
            Cell::Number(n) => number_text(*n),
            Cell::Bool(true) => "TRUE".into(),
            Cell::Bool(false) => "FALSE".into(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::DateTime(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }
}

/// A number as text: integers without a decimal point ("42", not "42.0").
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// One row of a sheet that holds something: its 1-based number as the spreadsheet shows it, and
/// its cells from column A, without the empty cells after the last filled one.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub number: u32,
    pub cells: Vec<Cell>,
}

const EMPTY: Cell = Cell::Empty;

impl Row {
    /// The cell in column `index` (0 = A); empty beyond the row's last cell.
    pub fn cell(&self, index: usize) -> &Cell {
        self.cells.get(index).unwrap_or(&EMPTY)
    }
}

/// Drops the empty cells after the last filled one; `None` for a row with nothing in it.
pub(crate) fn trimmed(mut cells: Vec<Cell>) -> Option<Vec<Cell>> {
    while cells.last().is_some_and(Cell::is_empty) {
        cells.pop();
    }
    (!cells.is_empty()).then_some(cells)
}

/// A column's letters as Excel names it: 0 → A, 25 → Z, 26 → AA.
pub fn column_name(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_follow_excel() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(51), "AZ");
        assert_eq!(column_name(52), "BA");
        assert_eq!(column_name(16_383), "XFD");
    }

    #[test]
    fn cells_display_as_a_sheet_shows_them() {
        assert_eq!(Cell::Number(42.0).display(), "42");
        assert_eq!(Cell::Number(1234.5).display(), "1234.5");
        assert_eq!(
            Cell::Number(3.708_281_985_070_9e17).display(),
            "370828198507090000"
        );
        assert_eq!(Cell::Bool(true).display(), "TRUE");
        let d = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        assert_eq!(Cell::Date(d).display(), "2024-05-01");
        assert_eq!(Cell::Error("#N/A".into()).display(), "#N/A");
    }

    #[test]
    fn trailing_empty_cells_are_dropped() {
        let row = trimmed(vec![Cell::Empty, Cell::Text("a".into()), Cell::Empty]);
        assert_eq!(row, Some(vec![Cell::Empty, Cell::Text("a".into())]));
        assert_eq!(trimmed(vec![Cell::Empty, Cell::Empty]), None);
        assert_eq!(trimmed(vec![]), None);
    }
}
