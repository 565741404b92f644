//! The sheet reader: opens a file of either kind, told by its bytes, and streams its rows.

use super::cell::{trimmed, Cell, Row};
use super::csv_sheet::{self, CsvRows};
use super::sniff::{compound_error, sniff, Sniffed};
use super::xlsx_sheet::{self, XlsxRows};
use super::ImportError;
use calamine::{Reader, Xlsx};
use std::io::{Read, Seek};

/// How many rows above the header row (a title, a note) the header search looks through.
pub const HEADER_SEARCH_ROWS: usize = 10;

/// The bounds and choices of one reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// The worksheet of an .xlsx to read; the first one when none is named.
    pub sheet: Option<String>,
    /// The most data rows (below the header) a file may hold.
    pub max_data_rows: usize,
    /// The longest cell, in characters (Excel's own limit is 32,767).
    pub max_cell_chars: usize,
    /// The longest row of a .csv, in bytes (at least 64 KiB is allowed).
    pub max_record_bytes: usize,
    /// The most an .xlsx part held in memory whole (the shared-string table, styles, the
    /// workbook) may unpack to, in bytes; a sheet itself is streamed.
    pub max_part_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            sheet: None,
            max_data_rows: 1_000_000,
            max_cell_chars: 32_767,
            max_record_bytes: 1 << 20,
            max_part_bytes: 256 << 20,
        }
    }
}

/// The encoding a .csv was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    /// UTF-8 after a byte-order mark (what Excel writes as "CSV UTF-8").
    Utf8Bom,
    /// GB18030, which includes GBK and GB2312.
    Gb18030,
}

/// What the file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    Xlsx,
    Csv(TextEncoding),
}

enum Source<R> {
    Xlsx { book: Box<Xlsx<R>>, sheet: String },
    Csv { reader: R, encoding: TextEncoding },
}

/// An opened file, ready to be read row by row with [`Workbook::rows`].
pub struct Workbook<R> {
    source: Source<R>,
    options: ReadOptions,
}

impl<R: Read + Seek> Workbook<R> {
    /// Opens `reader`, whatever its name says, as an .xlsx or a .csv by its first bytes.
    pub fn open(mut reader: R, options: ReadOptions) -> Result<Self, ImportError> {
        let source = match sniff(&mut reader)? {
            Sniffed::Compound => return Err(compound_error(&mut reader)?),
            Sniffed::Zip => {
                xlsx_sheet::check_parts(&mut reader, options.max_part_bytes)?;
                let book = xlsx_sheet::open(reader)?;
                let names = book.sheet_names();
                let sheet = match &options.sheet {
                    Some(name) if names.contains(name) => name.clone(),
                    Some(name) => {
                        return Err(ImportError::NoSuchSheet {
                            name: name.clone(),
                            available: names,
                        })
                    }
                    None => names
                        .first()
                        .cloned()
                        .ok_or_else(|| ImportError::CorruptXlsx("工作簿中没有工作表".into()))?,
                };
                Source::Xlsx {
                    book: Box::new(book),
                    sheet,
                }
            }
            Sniffed::Text => {
                let encoding = csv_sheet::detect(&mut reader)?;
                Source::Csv { reader, encoding }
            }
        };
        Ok(Workbook { source, options })
    }

    pub fn format(&self) -> SheetFormat {
        match &self.source {
            Source::Xlsx { .. } => SheetFormat::Xlsx,
            Source::Csv { encoding, .. } => SheetFormat::Csv(*encoding),
        }
    }

    /// The worksheet being read (none for a .csv).
    pub fn sheet_name(&self) -> Option<&str> {
        match &self.source {
            Source::Xlsx { sheet, .. } => Some(sheet),
            Source::Csv { .. } => None,
        }
    }

    pub fn options(&self) -> &ReadOptions {
        &self.options
    }

    /// The rows that hold something, in order, each with its number in the sheet. A sheet with
    /// none gives `EmptySheet`; every error ends the reading.
    pub fn rows(&mut self) -> Result<Rows<'_>, ImportError> {
        let raw = match &mut self.source {
            Source::Xlsx { book, sheet } => {
                let sheet = sheet.clone();
                Raw::Xlsx(XlsxRows::new(book, &sheet)?)
            }
            Source::Csv { reader, encoding } => Raw::Csv(CsvRows::new(
                reader,
                *encoding,
                self.options.max_record_bytes,
            )?),
        };
        Ok(Rows {
            raw,
            max_rows: self
                .options
                .max_data_rows
                .saturating_add(HEADER_SEARCH_ROWS),
            max_data_rows: self.options.max_data_rows,
            max_cell_chars: self.options.max_cell_chars,
            last: 0,
            rows: 0,
            blank_rows: 0,
            finished: false,
        })
    }
}

enum Raw<'a> {
    Xlsx(XlsxRows<'a>),
    Csv(CsvRows<'a>),
}

/// The rows of a sheet as they are read (see [`Workbook::rows`]).
pub struct Rows<'a> {
    raw: Raw<'a>,
    max_rows: usize,
    max_data_rows: usize,
    max_cell_chars: usize,
    last: u32,
    rows: usize,
    blank_rows: u32,
    finished: bool,
}

impl Rows<'_> {
    /// Rows with nothing in them passed over so far (before the last row read).
    pub fn blank_rows(&self) -> u32 {
        self.blank_rows
    }

    fn next_row(&mut self) -> Result<Option<Row>, ImportError> {
        loop {
            let raw = match &mut self.raw {
                Raw::Xlsx(x) => x.next_raw()?,
                Raw::Csv(c) => c.next_raw()?,
            };
            let Some((number, cells)) = raw else {
                if self.rows == 0 {
                    return Err(ImportError::EmptySheet);
                }
                return Ok(None);
            };
            self.blank_rows += number.saturating_sub(self.last.saturating_add(1));
            self.last = number;
            let Some(cells) = trimmed(cells) else {
                self.blank_rows += 1;
                continue;
            };
            for (column, c) in cells.iter().enumerate() {
                if let Cell::Text(s) = c {
                    if s.len() > self.max_cell_chars && s.chars().count() > self.max_cell_chars {
                        return Err(ImportError::CellTooLong {
                            row: number,
                            column,
                            max: self.max_cell_chars,
                        });
                    }
                }
            }
            self.rows += 1;
            if self.rows > self.max_rows {
                return Err(ImportError::TooManyRows {
                    max: self.max_data_rows,
                    row: number,
                });
            }
            return Ok(Some(Row { number, cells }));
        }
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<Row, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let next = self.next_row();
        if !matches!(next, Ok(Some(_))) {
            self.finished = true;
        }
        next.transpose()
    }
}
