//! The writer: a workbook of one constant-memory sheet, filled row by row.

use super::width::{column_width, display_width};
use super::{excel_date, excel_datetime, mask, Cell, ColumnKind, OfficeError, Sheet, MAX_ROWS};
use rust_xlsxwriter::{Format, Workbook, Worksheet};

/// A finished workbook.
#[derive(Debug)]
pub struct Exported {
    pub bytes: Vec<u8>,
    /// Data rows written (the header not counted).
    pub rows: usize,
}

struct Formats {
    header: Format,
    date: Format,
    datetime: Format,
    money: Format,
    percent: Format,
}

/// Writes one sheet row by row; [`SheetWriter::finish`] gives the workbook's bytes.
pub struct SheetWriter {
    book: Workbook,
    sheet: Sheet,
    formats: Formats,
    /// The widest value seen in each column, in half-width cells.
    widest: Vec<usize>,
    rows: usize,
    limit: usize,
    /// The worksheet being filled, and the data rows of the sheets finished before it.
    current: usize,
    done_rows: usize,
}

/// A worksheet name Excel accepts: without `[]:*?/\`, at most 31 characters, not empty.
pub(super) fn sheet_name(title: &str) -> String {
    let name: String = title
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    let name = name.trim_matches('\'').to_string();
    if name.trim().is_empty() {
        "Sheet1".to_string()
    } else {
        name
    }
}

impl SheetWriter {
    /// Starts the workbook: the header row written, frozen.
    pub fn new(sheet: Sheet) -> Result<SheetWriter, OfficeError> {
        SheetWriter::with_limit(sheet, MAX_ROWS)
    }

    /// As [`SheetWriter::new`], refusing rows past `limit` (at most [`MAX_ROWS`]).
    pub fn with_limit(sheet: Sheet, limit: usize) -> Result<SheetWriter, OfficeError> {
        if sheet.columns.is_empty() || sheet.columns.len() > 16_384 {
            return Err(OfficeError::Columns);
        }
        let formats = Formats {
            header: Format::new().set_bold(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            money: Format::new().set_num_format("#,##0.00"),
            percent: Format::new().set_num_format("0.0%"),
        };
        let mut book = Workbook::new();
        let widest = start_sheet(&mut book, &sheet, &formats)?;
        Ok(SheetWriter {
            book,
            sheet,
            formats,
            widest,
            rows: 0,
            limit: limit.min(MAX_ROWS),
            current: 0,
            done_rows: 0,
        })
    }

    /// Finishes the sheet being filled (its widths and filter) and starts another one in the same
    /// workbook, with the same row limit; rows pushed from now on go to it.
    pub fn add_sheet(&mut self, sheet: Sheet) -> Result<(), OfficeError> {
        if sheet.columns.is_empty() || sheet.columns.len() > 16_384 {
            return Err(OfficeError::Columns);
        }
        self.close_sheet()?;
        self.widest = start_sheet(&mut self.book, &sheet, &self.formats)?;
        self.sheet = sheet;
        self.current += 1;
        self.done_rows += self.rows;
        self.rows = 0;
        Ok(())
    }

    /// The widths and the header's filter of the sheet being filled.
    fn close_sheet(&mut self) -> Result<(), OfficeError> {
        let last_row =
            u32::try_from(self.rows).map_err(|_| OfficeError::TooManyRows { limit: MAX_ROWS })?;
        let last_col = col(self.sheet.columns.len() - 1);
        let ws = self.book.worksheet_from_index(self.current)?;
        for (i, w) in self.widest.iter().enumerate() {
            ws.set_column_width(col(i), f64::from(column_width(*w)))?;
        }
        ws.autofilter(0, 0, last_row, last_col)?;
        Ok(())
    }

    /// The most data rows this sheet takes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Data rows written so far to the sheet being filled.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends one row; past the limit ([`MAX_ROWS`] unless lower), `TooManyRows`.
    pub fn push(&mut self, cells: &[Cell]) -> Result<(), OfficeError> {
        if self.rows >= self.limit {
            return Err(OfficeError::TooManyRows { limit: self.limit });
        }
        let expected = self.sheet.columns.len();
        if cells.len() != expected {
            return Err(OfficeError::RowShape {
                row: self.rows + 1,
                expected,
                found: cells.len(),
            });
        }
        let row = u32::try_from(self.rows + 1)
            .map_err(|_| OfficeError::TooManyRows { limit: MAX_ROWS })?;
        let ws: &mut Worksheet = self.book.worksheet_from_index(self.current)?;
        for (i, (cell, column)) in cells.iter().zip(&self.sheet.columns).enumerate() {
            if !cell.fits(column.kind) {
                return Err(OfficeError::CellKind {
                    row: self.rows + 1,
                    column: column.header.clone(),
                });
            }
            let c = col(i);
            let width = match (cell, column.kind) {
                (Cell::Empty, _) => 0,
                (Cell::Text(s), ColumnKind::Masked { head, tail }) if !self.sheet.whole => {
                    let m = mask(s, head, tail);
                    ws.write_string(row, c, &m)?;
                    display_width(&m)
                }
                (Cell::Text(s), _) => {
                    ws.write_string(row, c, s)?;
                    display_width(s)
                }
                (Cell::Integer(n), _) => {
                    ws.write_number(row, c, *n as f64)?;
                    digits(*n)
                }
                (Cell::Decimal(x), ColumnKind::Percent) => {
                    ws.write_number_with_format(row, c, *x, &self.formats.percent)?;
                    6
                }
                (Cell::Decimal(x), _) => {
                    ws.write_number(row, c, *x)?;
                    12
                }
                (Cell::Date(d), _) => {
                    ws.write_number_with_format(row, c, excel_date(*d), &self.formats.date)?;
                    0
                }
                (Cell::DateTime(t), _) => {
                    ws.write_number_with_format(
                        row,
                        c,
                        excel_datetime(*t),
                        &self.formats.datetime,
                    )?;
                    0
                }
                (Cell::Money(fen), _) => {
                    ws.write_number_with_format(row, c, *fen as f64 / 100.0, &self.formats.money)?;
                    // Digits, the two decimals and a separator per three digits.
                    let d = digits(*fen / 100);
                    d + 3 + d / 3
                }
            };
            if width > self.widest[i] {
                self.widest[i] = width;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Sets the widths and the header's filter, and gives the workbook's bytes.
    /// The data rows of every sheet are counted in `rows`.
    pub fn finish(mut self) -> Result<Exported, OfficeError> {
        self.close_sheet()?;
        let bytes = self.book.save_to_buffer()?;
        Ok(Exported {
            bytes,
            rows: self.done_rows + self.rows,
        })
    }
}

/// Adds a constant-memory worksheet named after `sheet`, its header row written and frozen;
/// gives the header's widths.
fn start_sheet(
    book: &mut Workbook,
    sheet: &Sheet,
    formats: &Formats,
) -> Result<Vec<usize>, OfficeError> {
    let ws = book.add_worksheet_with_constant_memory();
    ws.set_name(sheet_name(&sheet.title))?;
    ws.set_freeze_panes(1, 0)?;
    let mut widest = Vec::with_capacity(sheet.columns.len());
    for (i, c) in sheet.columns.iter().enumerate() {
        ws.write_string_with_format(0, col(i), &c.header, &formats.header)?;
        widest.push(display_width(&c.header).max(fixed_width(c.kind)));
    }
    Ok(widest)
}

/// Writes a whole sheet from its rows.
pub fn write_xlsx<I>(sheet: Sheet, rows: I) -> Result<Exported, OfficeError>
where
    I: IntoIterator,
    I::Item: AsRef<[Cell]>,
{
    let mut w = SheetWriter::new(sheet)?;
    for r in rows {
        w.push(r.as_ref())?;
    }
    w.finish()
}

/// A column index; a sheet has at most 16,384 columns (checked in `new`).
fn col(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

/// The width of the values of a kind that does not depend on them.
fn fixed_width(kind: ColumnKind) -> usize {
    match kind {
        ColumnKind::Date => 10,
        ColumnKind::DateTime => 19,
        _ => 0,
    }
}

/// Characters of a whole number written out, its sign included.
fn digits(n: i64) -> usize {
    let sign = usize::from(n < 0);
    let mut v = n.unsigned_abs();
    let mut d = 1;
    while v >= 10 {
        v /= 10;
        d += 1;
    }
    d + sign
}
