//! .xlsx workbooks, read with calamine cell by cell from the sheet's XML as it is unzipped, so a
//! sheet of a million rows is never held whole (the workbook's shared-string table is, as Excel
//! keeps it: it is a part of the file).
//!
//! Formulas are read as the values Excel or WPS last computed and saved with them; a formula
//! never computed (a file written by a program that does not compute) reads as an empty cell.
//! Merged cells hold their value in the top-left cell; calamine reads the others as empty, and so
//! does the importer: it does not copy a merged value down (a required field left empty that way
//! is reported on its row). Hidden rows and columns are read like the others.

use super::cell::Cell;
use super::ImportError;
use calamine::{DataRef, Reader, Xlsx, XlsxError};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use std::io::{self, Read, Seek, SeekFrom};

/// Excel's widest sheet: columns A to XFD.
const MAX_COLUMNS: usize = 16_384;

/// Measures, unpacked, the parts of the zip container `r` that calamine reads whole when it
/// opens a workbook, and refuses one beyond `max` bytes (a "zip bomb" of a shared-string
/// table would otherwise fill the memory). Leaves `r` at its start.
pub(crate) fn check_parts<R: Read + Seek>(r: &mut R, max: u64) -> Result<(), ImportError> {
    let broken = || ImportError::CorruptXlsx("压缩结构损坏".into());
    r.seek(SeekFrom::Start(0))?;
    {
        let mut zip = zip::ZipArchive::new(&mut *r).map_err(|_| broken())?;
        for i in 0..zip.len() {
            let mut part = zip.by_index(i).map_err(|_| broken())?;
            let name = part.name().to_ascii_lowercase();
            let whole = ["sharedstrings.xml", "styles.xml", "workbook.xml", ".rels"]
                .iter()
                .any(|end| name.ends_with(end));
            if !whole {
                continue;
            }
            let shown = part.name().to_string();
            let unpacked = io::copy(&mut part.by_ref().take(max + 1), &mut io::sink())
                .map_err(|_| broken())?;
            if unpacked > max {
                return Err(ImportError::XlsxTooLarge { part: shown, max });
            }
        }
    }
    r.seek(SeekFrom::Start(0))?;
    Ok(())
}

/// Opens the workbook in the zip container `r`. A panic inside the parser (on a crafted file)
/// is caught and reported as a corrupt file.
pub(crate) fn open<R: Read + Seek>(r: R) -> Result<Xlsx<R>, ImportError> {
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Xlsx::new(r)))
        .map_err(|_| ImportError::CorruptXlsx("内容格式错误".into()))?;
    opened.map_err(|e| match e {
        XlsxError::Password => ImportError::Encrypted,
        XlsxError::FileNotFound(path) if path.ends_with("workbook.xml.rels") => {
            ImportError::NotASpreadsheet("压缩包或其他文档，不是 Excel 工作簿")
        }
        other => corrupt(other),
    })
}

pub(crate) fn corrupt(e: XlsxError) -> ImportError {
    ImportError::CorruptXlsx(
        match e {
            XlsxError::Io(_) | XlsxError::Zip(_) => "压缩结构损坏",
            XlsxError::FileNotFound(_) | XlsxError::WorksheetNotFound(_) => "缺少组成部分",
            _ => "内容格式错误",
        }
        .into(),
    )
}

type NextCell<'a> = Box<dyn FnMut() -> Result<Option<calamine::Cell<DataRef<'a>>>, XlsxError> + 'a>;

pub(crate) struct XlsxRows<'a> {
    /// calamine's cell reader (its type is not exported, so it is held as its `next_cell`).
    next_cell: NextCell<'a>,
    pending: Option<calamine::Cell<DataRef<'a>>>,
    /// The sheet's cells have all been read (calamine reads past them if asked again).
    done: bool,
}

impl<'a> XlsxRows<'a> {
    pub(crate) fn new<R: Read + Seek>(
        book: &'a mut Xlsx<R>,
        sheet: &str,
    ) -> Result<Self, ImportError> {
        let mut cells = book.worksheet_cells_reader(sheet).map_err(corrupt)?;
        Ok(XlsxRows {
            next_cell: Box::new(move || cells.next_cell()),
            pending: None,
            done: false,
        })
    }

    /// The next row that has cells in the file, with its 1-based number.
    pub(crate) fn next_raw(&mut self) -> Result<Option<(u32, Vec<Cell>)>, ImportError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.read_row()))
            .unwrap_or_else(|_| Err(ImportError::CorruptXlsx("内容格式错误".into())))
    }

    fn read_row(&mut self) -> Result<Option<(u32, Vec<Cell>)>, ImportError> {
        let first = match self.pending.take() {
            Some(c) => c,
            None if self.done => return Ok(None),
            None => match (self.next_cell)().map_err(corrupt)? {
                Some(c) => c,
                None => {
                    self.done = true;
                    return Ok(None);
                }
            },
        };
        let row = first.get_position().0;
        let mut cells = Vec::new();
        put(&mut cells, first)?;
        loop {
            match (self.next_cell)().map_err(corrupt)? {
                Some(c) if c.get_position().0 == row => put(&mut cells, c)?,
                Some(c) => {
                    self.pending = Some(c);
                    break;
                }
                None => {
                    self.done = true;
                    break;
                }
            }
        }
        Ok(Some((row.saturating_add(1), cells)))
    }
}

fn put(cells: &mut Vec<Cell>, c: calamine::Cell<DataRef<'_>>) -> Result<(), ImportError> {
    let column = c.get_position().1 as usize;
    if column >= MAX_COLUMNS {
        return Err(ImportError::CorruptXlsx("列数超出 Excel 的上限".into()));
    }
    if cells.len() <= column {
        cells.resize(column + 1, Cell::Empty);
    }
    cells[column] = cell(c.get_value());
    Ok(())
}

/// A calamine value as a typed cell.
fn cell(v: &DataRef<'_>) -> Cell {
    match v {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) if s.is_empty() => Cell::Empty,
        DataRef::SharedString("") => Cell::Empty,
        DataRef::String(s) => Cell::Text(s.clone()),
        DataRef::SharedString(s) => Cell::Text((*s).to_string()),
        DataRef::Int(i) => Cell::Number(*i as f64),
        DataRef::Float(f) => Cell::Number(*f),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(dt) if dt.is_datetime() => match dt.as_datetime() {
            Some(t) => date_or_time(t),
            None => Cell::Number(dt.as_f64()),
        },
        // A duration ([h]:mm) is a number of days.
        DataRef::DateTime(dt) => Cell::Number(dt.as_f64()),
        DataRef::DateTimeIso(s) => iso(s),
        DataRef::DurationIso(s) => Cell::Text(s.clone()),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

fn date_or_time(t: NaiveDateTime) -> Cell {
    if t.time() == NaiveTime::MIN {
        Cell::Date(t.date())
    } else {
        Cell::DateTime(t)
    }
}

fn iso(s: &str) -> Cell {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Cell::Date(d);
    }
    match NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        Ok(t) => date_or_time(t),
        Err(_) => Cell::Text(s.to_string()),
    }
}
