//! Writing lists and tables as .xlsx workbooks: one sheet described by [`Sheet`] (its title and
//! typed [`Column`]s with Chinese headers), filled from an iterator of rows of [`Cell`]s.
//!
//! The cells keep their types — numbers are numbers, dates are Excel dates with a date format,
//! money is kept in 分 and written in 元 with two decimals — the header row is frozen and
//! filtered, and each column is as wide as its widest value (a CJK character counts as two,
//! within [`MIN_WIDTH`]..=[`MAX_WIDTH`]). The sheet is written in rust_xlsxwriter's constant
//! memory mode: each row goes to a temporary file as it comes, so a million rows never sit in
//! memory; only the finished workbook's bytes do.

mod rejected;
mod sheet;
mod width;

pub use rejected::{rejected_workbook, ERROR_HEADER};

pub use sheet::{write_xlsx, Exported, SheetWriter};
pub use width::{display_width, MAX_WIDTH, MIN_WIDTH};

use chrono::{NaiveDate, NaiveDateTime};

/// The most data rows a sheet holds: Excel's 1,048,576 rows less the header.
pub const MAX_ROWS: usize = 1_048_575;

/// The media type of an .xlsx workbook.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// What a column holds, and so how its cells are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    /// Whole numbers, written as numbers.
    Integer,
    /// Numbers with a fraction, written as numbers.
    Decimal,
    /// A share as a fraction (0.887), written as a number formatted `0.0%` (88.7%).
    Percent,
    /// Days, as Excel dates formatted `yyyy-mm-dd`.
    Date,
    /// Moments, as Excel date-times formatted `yyyy-mm-dd hh:mm:ss` (the caller picks the zone).
    DateTime,
    /// An amount kept in 分, written in 元 as a number with two decimals (`#,##0.00`).
    Money,
    /// Personal text (身份证号, phone) that is masked unless the sheet is written whole: all but
    /// the first `head` and last `tail` characters become `*`. Always text, never a number, so
    /// an 18-digit 身份证号 keeps every digit.
    Masked {
        head: u8,
        tail: u8,
    },
}

/// One column: its Chinese header and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub header: String,
    pub kind: ColumnKind,
}

impl Column {
    pub fn new(header: impl Into<String>, kind: ColumnKind) -> Column {
        Column {
            header: header.into(),
            kind,
        }
    }
}

/// A sheet: its title (the worksheet's name, cut to Excel's 31 characters) and its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    pub title: String,
    pub columns: Vec<Column>,
    /// Masked columns written whole (the caller checked that the reader may see them).
    pub whole: bool,
}

impl Sheet {
    pub fn new(title: impl Into<String>, columns: Vec<Column>) -> Sheet {
        Sheet {
            title: title.into(),
            columns,
            whole: false,
        }
    }
}

/// One cell's value. `Empty` fits every column; the others fit their own kind (text also fits
/// a masked column).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Integer(i64),
    Decimal(f64),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    /// 分.
    Money(i64),
}

impl Cell {
    /// Text, or `Empty` for `None`.
    pub fn text_opt(s: Option<impl Into<String>>) -> Cell {
        s.map_or(Cell::Empty, |s| Cell::Text(s.into()))
    }

    /// A date, or `Empty` for `None`.
    pub fn date_opt(d: Option<NaiveDate>) -> Cell {
        d.map_or(Cell::Empty, Cell::Date)
    }

    fn fits(&self, kind: ColumnKind) -> bool {
        matches!(
            (self, kind),
            (Cell::Empty, _)
                | (Cell::Text(_), ColumnKind::Text | ColumnKind::Masked { .. })
                | (Cell::Integer(_), ColumnKind::Integer)
                | (Cell::Decimal(_), ColumnKind::Decimal | ColumnKind::Percent)
                | (Cell::Date(_), ColumnKind::Date)
                | (Cell::DateTime(_), ColumnKind::DateTime)
                | (Cell::Money(_), ColumnKind::Money)
        )
    }
}

/// Everything that can go wrong writing a workbook.
#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    /// More rows than a sheet holds.
    #[error("导出的行数超过了Excel单表上限（{limit}行），请缩小范围后分批导出")]
    TooManyRows { limit: usize },
    /// A row with another number of cells than the sheet has columns.
    #[error("第{row}行有{found}个单元格，表头有{expected}列")]
    RowShape {
        row: usize,
        expected: usize,
        found: usize,
    },
    /// A cell whose value is not of its column's kind.
    #[error("第{row}行“{column}”列的值与该列类型不符")]
    CellKind { row: usize, column: String },
    /// The sheet has no columns, or more than Excel's 16,384.
    #[error("表格须有1至16384列")]
    Columns,
    /// The workbook library refused (a bad title, an I/O error of its temporary file …).
    #[error("生成Excel文件失败：{0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

impl OfficeError {
    /// A stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            OfficeError::TooManyRows { .. } => "export_too_large",
            OfficeError::RowShape { .. } | OfficeError::CellKind { .. } | OfficeError::Columns => {
                "export_shape"
            }
            OfficeError::Xlsx(_) => "export_failed",
        }
    }
}

/// `text` with all but its first `head` and last `tail` characters replaced by `*`; text too
/// short to keep both ends is all stars.
pub fn mask(text: &str, head: u8, tail: u8) -> String {
    let chars: Vec<char> = text.chars().collect();
    let (head, tail) = (usize::from(head), usize::from(tail));
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < head || i >= chars.len() - tail {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

/// Excel's serial number of a day (days since 1899-12-30, which is right from 1900-03-01 on).
pub fn excel_date(d: NaiveDate) -> f64 {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
    (d - epoch).num_days() as f64
}

/// Excel's serial number of a moment: its day and the fraction of the day gone.
pub fn excel_datetime(t: NaiveDateTime) -> f64 {
    let secs = t.time().signed_duration_since(chrono::NaiveTime::MIN);
    excel_date(t.date()) + secs.num_milliseconds() as f64 / 86_400_000.0
}

#[cfg(test)]
mod tests;
