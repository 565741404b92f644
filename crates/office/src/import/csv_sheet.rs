//! .csv files: UTF-8 (with or without a byte-order mark) or GB18030 (which covers GBK and
//! GB2312, what Excel and WPS write on a Chinese Windows). A file that is valid UTF-8 throughout
//! is UTF-8; any other is GB18030. The file is read twice: once to tell the encoding, once to
//! decode it as it is parsed, so that a file of any length is never held in memory.
//!
//! A row's number is the row a spreadsheet shows it on: the line it starts on, less the line
//! breaks inside quoted cells of the rows before it.

use super::cell::Cell;
use super::{ImportError, TextEncoding};
use std::cell::Cell as Shared;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Seek, SeekFrom};
use std::rc::Rc;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Tells the encoding of the file, and leaves `r` at its start.
pub(crate) fn detect<R: Read + Seek>(r: &mut R) -> Result<TextEncoding, ImportError> {
    r.seek(SeekFrom::Start(0))?;
    let mut head = Vec::with_capacity(3);
    r.by_ref().take(3).read_to_end(&mut head)?;
    let bom = head == BOM;
    r.seek(SeekFrom::Start(0))?;
    let utf8 = is_utf8(r)?;
    r.seek(SeekFrom::Start(0))?;
    match (utf8, bom) {
        (true, true) => Ok(TextEncoding::Utf8Bom),
        (true, false) => Ok(TextEncoding::Utf8),
        (false, true) => Err(ImportError::BadUtf8),
        (false, false) => Ok(TextEncoding::Gb18030),
    }
}

/// Whether everything `r` holds is valid UTF-8, read in chunks.
fn is_utf8<R: Read>(r: &mut R) -> io::Result<bool> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry = 0;
    loop {
        let n = r.read(&mut buf[carry..])?;
        if n == 0 {
            // A character cut off by the end of the file.
            return Ok(carry == 0);
        }
        let filled = carry + n;
        match std::str::from_utf8(&buf[..filled]) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_some() => return Ok(false),
            Err(e) => {
                let valid = e.valid_up_to();
                buf.copy_within(valid..filled, 0);
                carry = filled - valid;
            }
        }
    }
}

/// GB18030 decoded to UTF-8 as it is read.
struct Decoding<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    done: bool,
}

impl<R: Read> Decoding<R> {
    fn new(inner: R) -> Self {
        Decoding {
            inner,
            decoder: encoding_rs::GB18030.new_decoder_without_bom_handling(),
            input: vec![0; 16 * 1024],
            start: 0,
            end: 0,
            eof: false,
            output: vec![0; 32 * 1024],
            out_start: 0,
            out_end: 0,
            done: false,
        }
    }
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.out_end {
                let n = out.len().min(self.out_end - self.out_start);
                out[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            if self.start == self.end && !self.eof {
                self.start = 0;
                self.end = self.inner.read(&mut self.input)?;
                self.eof = self.end == 0;
            }
            let (result, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.start..self.end],
                &mut self.output,
                self.eof,
            );
            self.start += read;
            self.out_start = 0;
            self.out_end = written;
            if self.eof && result == encoding_rs::CoderResult::InputEmpty {
                self.done = true;
            }
        }
    }
}

/// The text as the parser reads it, watched: it refuses to read more than `limit` bytes between
/// two rows (one row of a CSV — an unclosed quote makes the rest of the file one cell — never
/// fills the memory), and notes where each \r and \n is and whether it makes a line break of
/// its own (\n, \r\n and a lone \r count once), for the line a row starts on. The parser reads
/// ahead by its buffer, so the breaks noted and not yet passed are at most a buffer's worth.
struct Watched<R> {
    inner: R,
    since_mark: Rc<Shared<u64>>,
    tripped: Rc<Shared<bool>>,
    limit: u64,
    offset: u64,
    after_cr: bool,
    breaks: Rc<RefCell<VecDeque<(u64, bool)>>>,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.since_mark.get() + n as u64;
        self.since_mark.set(total);
        if total > self.limit {
            self.tripped.set(true);
            return Err(io::Error::other("row too long"));
        }
        let mut breaks = self.breaks.borrow_mut();
        for (i, b) in buf[..n].iter().enumerate() {
            if matches!(b, b'\r' | b'\n') {
                let counts = *b == b'\r' || !self.after_cr;
                breaks.push_back((self.offset + i as u64, counts));
            }
            self.after_cr = *b == b'\r';
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Line breaks in a cell, counted as `Watched` counts them.
fn breaks_in(field: &str) -> u64 {
    let mut count = 0;
    let mut after_cr = false;
    for b in field.bytes() {
        if b == b'\r' || (b == b'\n' && !after_cr) {
            count += 1;
        }
        after_cr = b == b'\r';
    }
    count
}

pub(crate) struct CsvRows<'a> {
    reader: csv::Reader<Watched<Box<dyn Read + 'a>>>,
    breaks: Rc<RefCell<VecDeque<(u64, bool)>>>,
    /// Line breaks before the current row.
    lines_before: u64,
    record: csv::StringRecord,
    since_mark: Rc<Shared<u64>>,
    tripped: Rc<Shared<bool>>,
    limit: usize,
    /// Line breaks inside the quoted cells of the rows read so far.
    embedded: u64,
    last_row: u32,
}

impl<'a> CsvRows<'a> {
    pub(crate) fn new<R: Read + Seek + 'a>(
        r: &'a mut R,
        encoding: TextEncoding,
        max_record_bytes: usize,
    ) -> Result<Self, ImportError> {
        let skip = if encoding == TextEncoding::Utf8Bom {
            3
        } else {
            0
        };
        r.seek(SeekFrom::Start(skip))?;
        let text: Box<dyn Read + 'a> = match encoding {
            TextEncoding::Gb18030 => Box::new(Decoding::new(r)),
            TextEncoding::Utf8 | TextEncoding::Utf8Bom => Box::new(r),
        };
        let since_mark = Rc::new(Shared::new(0));
        let tripped = Rc::new(Shared::new(false));
        // The parser's own buffer reads ahead; the bound leaves room for it.
        let limit = max_record_bytes.max(64 * 1024);
        let breaks = Rc::new(RefCell::new(VecDeque::new()));
        let watched = Watched {
            inner: text,
            since_mark: since_mark.clone(),
            tripped: tripped.clone(),
            limit: limit as u64,
            offset: 0,
            after_cr: false,
            breaks: breaks.clone(),
        };
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(watched);
        Ok(CsvRows {
            reader,
            record: csv::StringRecord::new(),
            breaks,
            lines_before: 0,
            since_mark,
            tripped,
            limit,
            embedded: 0,
            last_row: 0,
        })
    }

    /// The next row with its number (blank lines are skipped by the parser; the numbers of the
    /// rows after them tell how many).
    pub(crate) fn next_raw(&mut self) -> Result<Option<(u32, Vec<Cell>)>, ImportError> {
        self.since_mark.set(0);
        let read = self.reader.read_record(&mut self.record);
        match read {
            Ok(false) => Ok(None),
            Ok(true) => {
                let start = self.record.position().map_or(0, |p| p.byte());
                {
                    // The parser's record starts after the previous record, before the blank
                    // lines it passed over: those are the line breaks right at its start.
                    let mut breaks = self.breaks.borrow_mut();
                    let mut at = start;
                    while let Some(&(pos, counts)) = breaks.front() {
                        if pos > at {
                            break;
                        }
                        if pos == at {
                            at += 1;
                        }
                        breaks.pop_front();
                        self.lines_before += u64::from(counts);
                    }
                }
                let line = self.lines_before + 1;
                let number = u32::try_from(line.saturating_sub(self.embedded)).unwrap_or(u32::MAX);
                self.last_row = number;
                let mut cells = Vec::with_capacity(self.record.len());
                for field in self.record.iter() {
                    self.embedded += breaks_in(field);
                    cells.push(if field.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(field.to_string())
                    });
                }
                Ok(Some((number, cells)))
            }
            Err(_) if self.tripped.get() => Err(ImportError::RecordTooLong {
                row: self.last_row.saturating_add(1),
                max: self.limit,
            }),
            Err(e) => {
                let row = self.last_row.saturating_add(1);
                Err(match e.into_kind() {
                    csv::ErrorKind::Io(e) => ImportError::Io(e.to_string()),
                    csv::ErrorKind::Utf8 { .. } => ImportError::BadCsv {
                        row,
                        detail: "含有无效的文字编码".into(),
                    },
                    _ => ImportError::BadCsv {
                        row,
                        detail: "格式错误".into(),
                    },
                })
            }
        }
    }
}
