//! The workbook of an import's rejected rows: the original sheet's header and each rejected row
//! as it was read — text as text, numbers as numbers, dates as dates — with a last column,
//! 错误, naming what is wrong with the row in Chinese. The user corrects those rows and imports
//! this file as it is: its header matches as the original's did, and the 错误 column is not read.

use super::width::{column_width, display_width};
use super::{excel_date, excel_datetime, OfficeError, MAX_ROWS};
use crate::import::{Cell, Row};
use rust_xlsxwriter::{Color, Format, Workbook};

/// The added column's header.
pub const ERROR_HEADER: &str = "错误";

/// Writes the header and the rejected rows (each with its errors joined, see
/// `import::normalize::join_errors`) as one sheet named `title`.
pub fn rejected_workbook<'a, I>(
    title: &str,
    headers: &[String],
    rows: I,
) -> Result<Vec<u8>, OfficeError>
where
    I: IntoIterator<Item = (&'a Row, &'a str)>,
{
    let error_col = headers.len();
    if error_col >= 16_384 {
        return Err(OfficeError::Columns);
    }
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let error_format = Format::new().set_font_color(Color::RGB(0xC0_0000));
    let mut book = Workbook::new();
    let ws = book.add_worksheet_with_constant_memory();
    ws.set_name(super::sheet::sheet_name(title))?;
    ws.set_freeze_panes(1, 0)?;
    let mut widest: Vec<usize> = headers.iter().map(|h| display_width(h)).collect();
    widest.push(display_width(ERROR_HEADER));
    for (i, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, h, &bold)?;
    }
    ws.write_string_with_format(0, error_col as u16, ERROR_HEADER, &bold)?;
    let mut n: u32 = 0;
    for (row, errors) in rows {
        if n as usize >= MAX_ROWS {
            return Err(OfficeError::TooManyRows { limit: MAX_ROWS });
        }
        n += 1;
        // Cells past the header's columns are kept too, before the 错误 column's place would
        // be overwritten: a row never has more cells than the sheet's widest row, and the
        // header is found as the widest named row, so extra cells are dropped.
        for (i, cell) in row.cells.iter().take(error_col).enumerate() {
            let c = i as u16;
            let width = match cell {
                Cell::Empty => 0,
                Cell::Text(s) | Cell::Error(s) => {
                    ws.write_string(n, c, s)?;
                    display_width(s)
                }
                Cell::Number(x) => {
                    ws.write_number(n, c, *x)?;
                    crate::import::number_text(*x).len()
                }
                Cell::Bool(b) => {
                    ws.write_boolean(n, c, *b)?;
                    5
                }
                Cell::Date(d) => {
                    ws.write_number_with_format(n, c, excel_date(*d), &date)?;
                    10
                }
                Cell::DateTime(t) => {
                    ws.write_number_with_format(n, c, excel_datetime(*t), &datetime)?;
                    19
                }
            };
            if width > widest[i] {
                widest[i] = width;
            }
        }
        ws.write_string_with_format(n, error_col as u16, errors, &error_format)?;
        widest[error_col] = widest[error_col].max(display_width(errors));
    }
    for (i, w) in widest.iter().enumerate() {
        ws.set_column_width(i as u16, f64::from(column_width(*w)))?;
    }
    ws.autofilter(0, 0, n, error_col as u16)?;
    Ok(book.save_to_buffer()?)
}
