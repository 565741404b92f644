//! What a file really is, told by its first bytes rather than by its name: a zip container
//! (an .xlsx, or another zip), an OLE compound file (an encrypted .xlsx or a legacy .xls/.doc),
//! another binary format, or text (read as CSV).

use super::ImportError;
use std::io::{Read, Seek, SeekFrom};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// A zip container; whether it is a workbook is the xlsx reader's question.
    Zip,
    /// An OLE compound file (CFB): Office encrypts .xlsx files into one, and .xls/.doc are one.
    Compound,
    Text,
}

const ZIP: &[u8] = b"PK\x03\x04";
const EMPTY_ZIP: &[u8] = b"PK\x05\x06";
const CFB: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Binary formats people upload by mistake, by their magic bytes.
const BINARY: &[(&[u8], &str)] = &[
    (b"%PDF", "PDF 文档"),
    (b"\x89PNG", "PNG 图片"),
    (b"\xFF\xD8\xFF", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xBC\xAF\x27\x1C", "7z 压缩包"),
    (b"\x1F\x8B", "gzip 压缩包"),
    (b"{\\rtf", "RTF 文档"),
    (b"\x7FELF", "程序文件"),
];

/// Looks at the first 8 KiB of `r`, and leaves it at its start.
pub(crate) fn sniff<R: Read + Seek>(r: &mut R) -> Result<Sniffed, ImportError> {
    r.seek(SeekFrom::Start(0))?;
    let mut head = Vec::with_capacity(8192);
    r.by_ref().take(8192).read_to_end(&mut head)?;
    r.seek(SeekFrom::Start(0))?;
    classify(&head)
}

fn classify(head: &[u8]) -> Result<Sniffed, ImportError> {
    if head.is_empty() {
        return Err(ImportError::EmptyFile);
    }
    if head.starts_with(ZIP) {
        return Ok(Sniffed::Zip);
    }
    if head.starts_with(EMPTY_ZIP) {
        return Err(ImportError::NotASpreadsheet("空的压缩包"));
    }
    if head.starts_with(CFB) {
        return Ok(Sniffed::Compound);
    }
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return Err(ImportError::Utf16);
    }
    if let Some((_, what)) = BINARY.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Err(ImportError::NotASpreadsheet(what));
    }
    if head.contains(&0) {
        return Err(ImportError::NotASpreadsheet("二进制文件"));
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let opening: Vec<u8> = text[start..]
        .iter()
        .take(9)
        .map(u8::to_ascii_lowercase)
        .collect();
    let markup = [
        &b"<?xml"[..],
        b"<html",
        b"<!doctype",
        b"<table",
        b"<workbook",
    ];
    if markup.iter().any(|m| opening.starts_with(m)) {
        // Excel's "XML spreadsheet 2003" and sheets saved as web pages (often named .xls).
        return Err(ImportError::NotASpreadsheet(
            "网页或 XML 文件，请另存为 .xlsx",
        ));
    }
    Ok(Sniffed::Text)
}

/// What an OLE compound file holds: Office encrypts an .xlsx (or .docx) into one with an
/// `EncryptedPackage` stream; any other is a legacy .xls/.doc/.ppt. The directory's entry names
/// are UTF-16 in the file; the file is searched for the name as bytes, a chunk at a time, rather
/// than parsed (a compound file's header states sizes a parser would trust).
pub(crate) fn compound_error<R: Read + Seek>(r: &mut R) -> Result<ImportError, ImportError> {
    let name: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    r.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut kept = 0;
    loop {
        let n = r.read(&mut buf[kept..])?;
        if n == 0 {
            return Ok(ImportError::LegacyOffice);
        }
        let filled = kept + n;
        if buf[..filled].windows(name.len()).any(|w| w == name) {
            return Ok(ImportError::Encrypted);
        }
        kept = (name.len() - 1).min(filled);
        buf.copy_within(filled - kept..filled, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(head: &[u8]) -> &'static str {
        match classify(head) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn files_are_told_by_their_first_bytes() {
        assert_eq!(classify(b"PK\x03\x04rest"), Ok(Sniffed::Zip));
        assert_eq!(classify(CFB), Ok(Sniffed::Compound));
        assert_eq!(classify("姓名,性别\n".as_bytes()), Ok(Sniffed::Text));
        assert_eq!(classify(b"\xEF\xBB\xBFa,b\n"), Ok(Sniffed::Text));
        assert_eq!(code(b""), "import.empty_file");
        assert_eq!(code(b"%PDF-1.7"), "import.not_a_spreadsheet");
        assert_eq!(code(b"\x89PNG\r\n"), "import.not_a_spreadsheet");
        assert_eq!(code(b"PK\x05\x06"), "import.not_a_spreadsheet");
        assert_eq!(code(b"\xFF\xFEa\x00"), "import.utf16");
        assert_eq!(code(b"a,b\x00c"), "import.not_a_spreadsheet");
        assert_eq!(code(b"  <html><table>"), "import.not_a_spreadsheet");
        assert_eq!(
            code(b"<?xml version=\"1.0\"?><Workbook"),
            "import.not_a_spreadsheet"
        );
        assert_eq!(code(b"<!DOCTYPE html>"), "import.not_a_spreadsheet");
        // A CSV may start with "<" all the same.
        assert_eq!(classify(b"<5,>3\n"), Ok(Sniffed::Text));
        assert_eq!(
            classify(b"%PDF").unwrap_err().to_string(),
            "这不是电子表格文件（PDF 文档）：请上传 .xlsx 或 .csv 文件"
        );
    }
}
