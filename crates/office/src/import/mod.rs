//! Reading .xlsx and .csv sheets into rows of cells, matching their header row to the fields of
//! what is imported, and reading each cell into a domain value with a Chinese message for what
//! cannot be read. Nothing here writes: the store's bulk path takes the rows that pass.
//!
//! - [`Workbook`]: opens a file by what its bytes are (not its name) and streams its rows
//!   ([`Row`]: typed [`Cell`]s and the row's number in the sheet), within [`ReadOptions`]' bounds.
//! - [`header`]: the header row found and matched to a [`header::Target`]'s fields, by name,
//!   alias or a saved [`header::SavedMapping`].
//! - [`normalize`]: one cell into one value (dates, 身份证号, phones, numbers, money, options,
//!   organisation paths), or a [`normalize::CellError`].

mod cell;
mod csv_sheet;
mod error;
pub mod header;
pub mod normalize;
mod reader;
pub mod rows;
mod sniff;
mod xlsx_sheet;

pub use cell::{column_name, number_text, Cell, Row};
pub use error::ImportError;
pub use reader::{ReadOptions, Rows, SheetFormat, TextEncoding, Workbook, HEADER_SEARCH_ROWS};
