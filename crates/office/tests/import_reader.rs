//! The sheet reader over real files: .xlsx written by rust_xlsxwriter, .csv in each encoding,
//! and the files it must refuse, each with its code and message.

use chrono::NaiveDate;
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook as XlsxBook};
use std::io::Cursor;
use taizhang_office::import::{
    Cell, ImportError, ReadOptions, Row, SheetFormat, TextEncoding, Workbook,
};

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

/// Every row of `bytes`, and the blank rows passed over.
fn read(bytes: Vec<u8>, options: ReadOptions) -> Result<(Vec<Row>, u32), ImportError> {
    let mut book = Workbook::open(Cursor::new(bytes), options)?;
    let mut rows = book.rows()?;
    let all = rows.by_ref().collect::<Result<Vec<_>, _>>()?;
    Ok((all, rows.blank_rows()))
}

fn refusal(bytes: Vec<u8>, options: ReadOptions) -> ImportError {
    read(bytes, options).expect_err("should be refused")
}

fn row(number: u32, cells: Vec<Cell>) -> Row {
    Row { number, cells }
}

#[test]
fn an_xlsx_is_read_as_typed_cells_with_the_sheets_row_numbers() {
    let mut book = XlsxBook::new();
    let sheet = book.add_worksheet();
    let day = Format::new().set_num_format("yyyy-mm-dd");
    let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    for (c, h) in ["姓名", "人数", "日期", "党员", "备注"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "张三").unwrap();
    sheet.write_number(1, 1, 3).unwrap();
    let may_day = ExcelDateTime::from_ymd(2024, 5, 1).unwrap();
    sheet
        .write_datetime_with_format(1, 2, &may_day, &day)
        .unwrap();
    sheet.write_boolean(1, 3, true).unwrap();
    // Row 3 is left blank; row 4 holds a formula's cached value, a time of day and a hidden row.
    sheet.write_string(3, 0, " 李四 ").unwrap();
    sheet
        .write_formula(3, 1, Formula::new("=3+4").set_result("7"))
        .unwrap();
    let morning = ExcelDateTime::from_ymd(2024, 5, 1)
        .unwrap()
        .and_hms(8, 30, 0)
        .unwrap();
    sheet
        .write_datetime_with_format(3, 2, &morning, &stamp)
        .unwrap();
    sheet.set_row_hidden(3).unwrap();
    // A merged range holds its value in its top-left cell only; a styled blank is empty.
    sheet
        .merge_range(4, 0, 4, 1, "合并", &Format::new())
        .unwrap();
    sheet.write_string(4, 4, "末列").unwrap();
    sheet.write_blank(5, 2, &day).unwrap();
    sheet.write_number(6, 1, 1234.5).unwrap();
    let bytes = book.save_to_buffer().unwrap();

    let mut opened = Workbook::open(Cursor::new(bytes.clone()), ReadOptions::default()).unwrap();
    assert_eq!(opened.format(), SheetFormat::Xlsx);
    assert_eq!(opened.sheet_name(), Some("Sheet1"));
    assert!(opened.rows().is_ok());

    let (rows, blank) = read(bytes, ReadOptions::default()).unwrap();
    let expected = vec![
        row(
            1,
            vec![
                text("姓名"),
                text("人数"),
                text("日期"),
                text("党员"),
                text("备注"),
            ],
        ),
        row(
            2,
            vec![
                text("张三"),
                Cell::Number(3.0),
                Cell::Date(date(2024, 5, 1)),
                Cell::Bool(true),
            ],
        ),
        row(
            4,
            vec![
                text(" 李四 "),
                Cell::Number(7.0),
                Cell::DateTime(date(2024, 5, 1).and_hms_opt(8, 30, 0).unwrap()),
            ],
        ),
        row(
            5,
            vec![
                text("合并"),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                text("末列"),
            ],
        ),
        row(7, vec![Cell::Empty, Cell::Number(1234.5)]),
    ];
    assert_eq!(rows, expected);
    // Row 3 (absent) and row 6 (a styled blank).
    assert_eq!(blank, 2);
}

#[test]
fn a_named_sheet_is_read_and_a_missing_one_is_named_with_those_there_are() {
    let mut book = XlsxBook::new();
    book.add_worksheet()
        .set_name("说明")
        .unwrap()
        .write_string(0, 0, "填表说明")
        .unwrap();
    book.add_worksheet()
        .set_name("党员")
        .unwrap()
        .write_string(0, 0, "姓名")
        .unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let (first, _) = read(bytes.clone(), ReadOptions::default()).unwrap();
    assert_eq!(first, vec![row(1, vec![text("填表说明")])]);
    let named = ReadOptions {
        sheet: Some("党员".into()),
        ..Default::default()
    };
    let (rows, _) = read(bytes.clone(), named).unwrap();
    assert_eq!(rows, vec![row(1, vec![text("姓名")])]);
    let missing = ReadOptions {
        sheet: Some("组织".into()),
        ..Default::default()
    };
    let e = refusal(bytes, missing);
    assert_eq!(e.code(), "import.no_such_sheet");
    assert_eq!(
        e.to_string(),
        "工作簿中没有名为“组织”的工作表（现有：说明、党员）"
    );
}

const SHEET_CSV: &str =
    "姓名,所在党支部,备注\r\n张三,西李村党支部,\"含,逗号\"\r\n李四,鸡黍镇机关党支部,\r\n";

fn expected_csv_rows() -> Vec<Row> {
    vec![
        row(1, vec![text("姓名"), text("所在党支部"), text("备注")]),
        row(2, vec![text("张三"), text("西李村党支部"), text("含,逗号")]),
        row(3, vec![text("李四"), text("鸡黍镇机关党支部")]),
    ]
}

#[test]
fn a_csv_is_read_in_utf8_with_or_without_a_bom_and_in_gb18030() {
    let (gb, _, lossy) = encoding_rs::GB18030.encode(SHEET_CSV);
    assert!(!lossy);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(SHEET_CSV.as_bytes());
    for (bytes, encoding) in [
        (SHEET_CSV.as_bytes().to_vec(), TextEncoding::Utf8),
        (bom, TextEncoding::Utf8Bom),
        (gb.into_owned(), TextEncoding::Gb18030),
    ] {
        let book = Workbook::open(Cursor::new(bytes.clone()), ReadOptions::default()).unwrap();
        assert_eq!(book.format(), SheetFormat::Csv(encoding));
        assert_eq!(book.sheet_name(), None);
        let (rows, blank) = read(bytes, ReadOptions::default()).unwrap();
        assert_eq!(rows, expected_csv_rows(), "{encoding:?}");
        assert_eq!(blank, 0);
    }
}

#[test]
fn a_csv_rows_numbers_are_the_sheets_despite_line_breaks_in_cells_and_blank_lines() {
    let csv = "姓名,备注\n张三,\"第一行\n第二行\"\n\n李四,\"a\r\nb\nc\"\n,\n王五,\n";
    let (rows, blank) = read(csv.as_bytes().to_vec(), ReadOptions::default()).unwrap();
    assert_eq!(
        rows,
        vec![
            row(1, vec![text("姓名"), text("备注")]),
            row(2, vec![text("张三"), text("第一行\n第二行")]),
            row(4, vec![text("李四"), text("a\r\nb\nc")]),
            row(6, vec![text("王五")]),
        ]
    );
    // The blank line (row 3) and the row of empty cells (row 5).
    assert_eq!(blank, 2);
}

/// A zip archive holding one stored file: a container that is not a workbook.
fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
    let crc = crc32(data);
    let mut out = Vec::new();
    let local = |out: &mut Vec<u8>, sig: u32| out.extend_from_slice(&sig.to_le_bytes());
    local(&mut out, 0x0403_4b50);
    for v in [20u16, 0, 0, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in [crc, data.len() as u32, data.len() as u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(data);
    let central = out.len() as u32;
    local(&mut out, 0x0201_4b50);
    for v in [20u16, 20, 0, 0, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in [crc, data.len() as u32, data.len() as u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in [name.len() as u16, 0, 0, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    let size = out.len() as u32 - central;
    local(&mut out, 0x0605_4b50);
    for v in [0u16, 0, 1, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&central.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An OLE compound file's signature, padding, and a directory entry named `stream`.
fn compound_with(stream: &str) -> Vec<u8> {
    let mut out = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    out.resize(70_000, 0);
    out.extend(stream.encode_utf16().flat_map(u16::to_le_bytes));
    out.resize(80_000, 0);
    out
}

fn one_cell_xlsx() -> Vec<u8> {
    let mut book = XlsxBook::new();
    book.add_worksheet().write_string(0, 0, "姓名").unwrap();
    book.save_to_buffer().unwrap()
}

#[test]
fn files_that_are_not_readable_sheets_are_refused_with_one_clear_error_each() {
    let o = ReadOptions::default;
    let pdf = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let e = refusal(pdf, o());
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (
            "import.not_a_spreadsheet",
            "这不是电子表格文件（PDF 文档）：请上传 .xlsx 或 .csv 文件"
        )
    );
    let docx = zip_of("word/document.xml", b"<w:document/>");
    assert_eq!(
        refusal(docx, o()).to_string(),
        "这不是电子表格文件（压缩包或其他文档，不是 Excel 工作簿）：请上传 .xlsx 或 .csv 文件"
    );
    let whole = one_cell_xlsx();
    let truncated = whole[..whole.len() / 2].to_vec();
    let e = refusal(truncated, o());
    assert_eq!(e.code(), "import.corrupt_xlsx");
    assert_eq!(
        e.to_string(),
        ".xlsx 文件已损坏，无法读取（压缩结构损坏）：请在 Excel 或 WPS 中打开并重新保存后再导入"
    );
    let mut garbled = whole.clone();
    let middle = garbled.len() / 2;
    for b in &mut garbled[middle - 200..middle + 200] {
        *b = b.wrapping_add(91);
    }
    assert_eq!(refusal(garbled, o()).code(), "import.corrupt_xlsx");
    let e = refusal(compound_with("EncryptedPackage"), o());
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (
            "import.encrypted",
            "文件设置了打开密码（已加密）：请在 Excel 或 WPS 中取消密码，另存为 .xlsx 后再导入"
        )
    );
    assert_eq!(
        refusal(compound_with("Workbook"), o()).code(),
        "import.legacy_office"
    );
    assert_eq!(refusal(Vec::new(), o()).code(), "import.empty_file");
    let utf16: Vec<u8> = b"\xFF\xFE"
        .iter()
        .copied()
        .chain("姓名".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert_eq!(refusal(utf16, o()).code(), "import.utf16");
    let mut bad_bom = b"\xEF\xBB\xBF".to_vec();
    bad_bom.extend_from_slice(&encoding_rs::GB18030.encode("姓名").0);
    assert_eq!(refusal(bad_bom, o()).code(), "import.bad_utf8");
}

#[test]
fn an_empty_sheet_is_refused_as_empty() {
    let mut book = XlsxBook::new();
    book.add_worksheet()
        .write_blank(3, 3, &Format::new().set_bold())
        .unwrap();
    let e = refusal(book.save_to_buffer().unwrap(), ReadOptions::default());
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        ("import.empty_sheet", "工作表是空的，没有任何内容")
    );
    let mut none = XlsxBook::new();
    none.add_worksheet();
    assert_eq!(
        refusal(none.save_to_buffer().unwrap(), ReadOptions::default()).code(),
        "import.empty_sheet"
    );
    for csv in ["\n\n\r\n", ",,\n,\n", " "] {
        let got = read(csv.as_bytes().to_vec(), ReadOptions::default());
        if csv == " " {
            // One space is content: a row with one cell.
            assert_eq!(got.unwrap().0, vec![row(1, vec![text(" ")])]);
        } else {
            assert_eq!(got.unwrap_err().code(), "import.empty_sheet", "{csv:?}");
        }
    }
}

#[test]
fn rows_and_cells_beyond_the_bounds_end_the_reading_with_a_clear_error() {
    let few = ReadOptions {
        max_data_rows: 5,
        ..Default::default()
    };
    let mut csv = String::from("姓名\n");
    for i in 0..15 {
        csv.push_str(&format!("人{i}\n"));
    }
    // Five data rows and the rows above a header the search may look through are allowed.
    let e = refusal(csv.clone().into_bytes(), few.clone());
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (
            "import.too_many_rows",
            "数据超过5行（第16行起超出）：请拆分成多个文件分别导入"
        )
    );
    let mut book = XlsxBook::new();
    let sheet = book.add_worksheet();
    for r in 0..40 {
        sheet.write_number(r, 0, f64::from(r)).unwrap();
    }
    let e = refusal(book.save_to_buffer().unwrap(), few);
    assert_eq!(e, ImportError::TooManyRows { max: 5, row: 16 });

    let short = ReadOptions {
        max_cell_chars: 10,
        ..Default::default()
    };
    let (ok, _) = read("一二三四五六七八九十\n".as_bytes().to_vec(), short.clone()).unwrap();
    assert_eq!(ok.len(), 1);
    let e = refusal(
        "姓名,备注\n张三,一二三四五六七八九十一\n"
            .as_bytes()
            .to_vec(),
        short,
    );
    assert_eq!(e.to_string(), "第2行B列的内容超过10个字");

    let tight = ReadOptions {
        max_record_bytes: 64 * 1024,
        ..Default::default()
    };
    let mut runaway = String::from("姓名,备注\n张三,\"引号未闭合\n");
    for _ in 0..20_000 {
        runaway.push_str("李四,其他\n");
    }
    let e = refusal(runaway.into_bytes(), tight);
    assert_eq!(
        e,
        ImportError::RecordTooLong {
            row: 2,
            max: 64 * 1024
        }
    );
}

#[test]
fn an_xlsx_part_held_whole_is_measured_before_it_is_read() {
    let mut book = XlsxBook::new();
    let sheet = book.add_worksheet();
    for r in 0..300 {
        sheet
            .write_string(r, 0, format!("第{r}位党员的姓名"))
            .unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let small = ReadOptions {
        max_part_bytes: 4096,
        ..Default::default()
    };
    let e = refusal(bytes.clone(), small);
    assert_eq!(
        e,
        ImportError::XlsxTooLarge {
            part: "xl/sharedStrings.xml".into(),
            max: 4096
        }
    );
    assert_eq!(
        e.to_string(),
        "工作簿的“xl/sharedStrings.xml”解压后超过1MB：文件过大或已损坏，请拆分成多个文件后再导入"
    );
    let (rows, _) = read(bytes, ReadOptions::default()).unwrap();
    assert_eq!(rows.len(), 300);
    assert_eq!(rows[299], row(300, vec![text("第299位党员的姓名")]));
}
