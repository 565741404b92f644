//! Property tests over generated sheets: rows written as .csv (UTF-8, with and without a BOM,
//! and GB18030) and as .xlsx are read back whole — every row that holds something exactly once,
//! with its row number and the values written — and no string makes a cell reader panic.

use chrono::NaiveDate;
use proptest::prelude::*;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook as XlsxBook};
use std::io::Cursor;
use taizhang_domain::period::{MAX_DATE, MIN_DATE};
use taizhang_domain::IdNumber;
use taizhang_office::import::header::{normalize_header, Target};
use taizhang_office::import::normalize as n;
use taizhang_office::import::rows::member_row;
use taizhang_office::import::{Cell, ReadOptions, Row, Workbook};

/// Text people put in cells: CJK, Latin, digits, the CSV's own signs, spaces, line breaks.
fn cell_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9 ]{1,8}",
        "[张三李四王五西李村党支部鸡黍镇金乡县（）、，。]{1,6}",
        "[a-z\",;\r\n _x0-9A-F]{1,10}",
        "[０-９．／年月日]{1,8}",
        any::<String>().prop_map(|s| s.chars().filter(|c| !c.is_control()).take(12).collect()),
    ]
}

fn sheet_rows() -> impl Strategy<Value = Vec<Vec<String>>> {
    prop::collection::vec(prop::collection::vec(cell_text(), 1..6), 0..25)
}

/// The rows a reader should give for `rows`: those with something in them, numbered from 1,
/// without the empty cells after the last filled one.
fn expected(rows: &[Vec<Cell>]) -> Vec<Row> {
    rows.iter()
        .enumerate()
        .filter_map(|(i, cells)| {
            let mut cells = cells.clone();
            while cells.last().is_some_and(Cell::is_empty) {
                cells.pop();
            }
            (!cells.is_empty()).then(|| Row {
                number: i as u32 + 1,
                cells,
            })
        })
        .collect()
}

fn as_cells(rows: &[Vec<String>]) -> Vec<Vec<Cell>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|s| {
                    if s.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(s.clone())
                    }
                })
                .collect()
        })
        .collect()
}

fn read_all(bytes: Vec<u8>) -> Result<Vec<Row>, String> {
    let mut book =
        Workbook::open(Cursor::new(bytes), ReadOptions::default()).map_err(|e| e.to_string())?;
    let rows = book.rows().map_err(|e| e.to_string())?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

fn csv_bytes(rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for r in rows {
        w.write_record(r).expect("a row written");
    }
    w.into_inner().expect("the CSV's bytes")
}

/// What a reading of `rows` gives: the rows, or the empty sheet's error.
fn reading(rows: &[Vec<Cell>]) -> Result<Vec<Row>, String> {
    let want = expected(rows);
    if want.is_empty() {
        Err("工作表是空的，没有任何内容".into())
    } else {
        Ok(want)
    }
}

proptest! {
    #[test]
    fn a_csv_in_utf8_is_read_back_row_for_row(rows in sheet_rows(), bom in any::<bool>()) {
        let mut bytes = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        bytes.extend(csv_bytes(&rows));
        let got = read_all(bytes.clone());
        if bytes.is_empty() {
            prop_assert_eq!(got, Err("文件是空的（0字节）".to_string()));
        } else {
            prop_assert_eq!(got, reading(&as_cells(&rows)));
        }
    }

    #[test]
    fn a_csv_in_gb18030_is_read_back_row_for_row(rows in sheet_rows()) {
        let text = String::from_utf8(csv_bytes(&rows)).expect("the writer writes UTF-8");
        let (gb, _, unmappable) = encoding_rs::GB18030.encode(&text);
        prop_assert!(!unmappable);
        let gb = gb.into_owned();
        // GB18030 bytes that happen to be valid UTF-8 (ASCII among them) are read as UTF-8.
        prop_assume!(std::str::from_utf8(&gb).is_err());
        prop_assert_eq!(read_all(gb), reading(&as_cells(&rows)));
    }
}

#[derive(Debug, Clone)]
enum Written {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    Date(NaiveDate),
}

fn written_cell() -> impl Strategy<Value = Written> {
    let text = cell_text().prop_map(|s| s.replace('\r', ""));
    prop_oneof![
        Just(Written::Empty),
        text.prop_map(Written::Text),
        (-1.0e12..1.0e12f64).prop_map(Written::Number),
        (-100_000i64..100_000).prop_map(|i| Written::Number(i as f64)),
        any::<bool>().prop_map(Written::Bool),
        (0i64..54_000).prop_map(|days| Written::Date(
            NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + chrono::Duration::days(days)
        )),
    ]
}

fn xlsx_bytes(rows: &[Vec<Written>], hidden: &[bool]) -> Vec<u8> {
    use chrono::Datelike;
    let mut book = XlsxBook::new();
    let sheet = book.add_worksheet();
    let day = Format::new().set_num_format("yyyy-mm-dd");
    for (r, cells) in rows.iter().enumerate() {
        let r32 = r as u32;
        for (c, cell) in cells.iter().enumerate() {
            let c16 = c as u16;
            match cell {
                Written::Empty => {}
                Written::Text(s) => {
                    sheet.write_string(r32, c16, s).expect("a string");
                }
                Written::Number(x) => {
                    sheet.write_number(r32, c16, *x).expect("a number");
                }
                Written::Bool(b) => {
                    sheet.write_boolean(r32, c16, *b).expect("a bool");
                }
                Written::Date(d) => {
                    let date =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                            .expect("a date");
                    sheet
                        .write_datetime_with_format(r32, c16, &date, &day)
                        .expect("a date");
                }
            }
        }
        if hidden.get(r).copied().unwrap_or(false) {
            sheet.set_row_hidden(r32).expect("hidden");
        }
    }
    book.save_to_buffer().expect("the workbook's bytes")
}

fn as_read(rows: &[Vec<Written>]) -> Vec<Vec<Cell>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|w| match w {
                    Written::Empty => Cell::Empty,
                    Written::Text(s) if s.is_empty() => Cell::Empty,
                    Written::Text(s) => Cell::Text(s.clone()),
                    Written::Number(x) => Cell::Number(*x),
                    Written::Bool(b) => Cell::Bool(*b),
                    Written::Date(d) => Cell::Date(*d),
                })
                .collect()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn an_xlsx_is_read_back_cell_for_cell_hidden_rows_included(
        rows in prop::collection::vec(prop::collection::vec(written_cell(), 1..6), 0..25),
        hidden in prop::collection::vec(any::<bool>(), 25),
    ) {
        let bytes = xlsx_bytes(&rows, &hidden);
        prop_assert_eq!(read_all(bytes), reading(&as_read(&rows)));
    }
}

/// Member rows, valid and broken cells mixed.
fn member_cells(valid_id: String) -> impl Strategy<Value = Vec<String>> {
    let name = prop_oneof![
        Just(String::new()),
        "[张李王][三四五]{1,2}",
        Just("张".repeat(31))
    ];
    let branch = prop_oneof![Just(String::new()), Just("西李村党支部".to_string())];
    let id = prop_oneof![
        Just(String::new()),
        Just(valid_id.clone()),
        Just("3.70828E+17".to_string()),
        Just(format!("{}000", &valid_id[..15])),
        "[0-9]{18}",
    ];
    let phone = prop_oneof![
        Just(String::new()),
        Just("13800138000".to_string()),
        "[0-9]{3,12}"
    ];
    let date = prop_oneof![
        Just(String::new()),
        Just("2008.7.1".to_string()),
        cell_text()
    ];
    (name, branch, id, phone, date).prop_map(|(a, b, c, d, e)| vec![a, b, c, d, e])
}

proptest! {
    #[test]
    fn every_data_row_is_imported_or_rejected_exactly_once(
        rows in prop::collection::vec(
            member_cells(IdNumber::from_parts("370828", NaiveDate::from_ymd_opt(1985, 7, 9).unwrap(), 1,
                NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()).unwrap().as_str().to_string()),
            1..30,
        ),
    ) {
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let mut all = vec![vec!["姓名".to_string(), "所在党支部".into(), "公民身份号码".into(), "联系电话".into(), "入党日期".into()]];
        all.extend(rows.iter().cloned());
        let bytes = csv_bytes(&all);
        let mut book = Workbook::open(Cursor::new(bytes), ReadOptions::default()).unwrap();
        let mut table = book.table(&Target::members(), None).expect("the header row is there");
        let written = expected(&as_cells(&all)).len() - 1;
        let header = table.header().clone();
        let (mut imported, mut rejected, mut numbers) = (0, 0, Vec::new());
        for row in table.by_ref() {
            let row = match row {
                Ok(row) => row,
                Err(e) => {
                    // Only a sheet whose data rows are all blank ends so, before any row.
                    prop_assert_eq!(written, 0);
                    prop_assert_eq!(e.code(), "import.no_data_rows");
                    prop_assert!(numbers.is_empty());
                    break;
                }
            };
            numbers.push(row.number);
            match member_row(&header, &row, today) {
                Ok(_) => imported += 1,
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    prop_assert!(!n::join_errors(&errors).is_empty());
                    rejected += 1;
                }
            }
        }
        prop_assert_eq!(imported + rejected, written);
        prop_assert_eq!(table.data_rows(), written);
        let want: Vec<u32> = expected(&as_cells(&all)).iter().skip(1).map(|r| r.number).collect();
        prop_assert_eq!(numbers, want);
    }

    #[test]
    fn no_string_makes_a_cell_reader_panic(s in any::<String>(), x in any::<f64>()) {
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let options = vec!["党课".to_string(), "支部党员大会".to_string()];
        for cell in [Cell::Text(s.clone()), Cell::Number(x), Cell::Error(s.clone())] {
            if let Ok(Some(d)) = n::date(&cell, "日期") {
                prop_assert!((MIN_DATE..=MAX_DATE).contains(&d));
            }
            let _ = n::calendar_date(&cell, "日期");
            if let Ok(Some(id)) = n::id_number(&cell, "身份证号", today) {
                prop_assert_eq!(IdNumber::parse(id.as_str(), today), Ok(id.clone()));
            }
            let _ = n::phone(&cell, "电话");
            for scale in [0, 2, 6] {
                let _ = n::decimal(&cell, "数量", scale);
            }
            let _ = n::money(&cell, "金额");
            if let Ok(Some(o)) = n::choice(&cell, "类型", &options) {
                prop_assert!(options.contains(&o));
            }
            let _ = n::multi_choice(&cell, "类型", &options);
            let _ = n::gender(&cell, "性别");
            if let Ok(Some(path)) = n::org_path(&cell, "路径") {
                prop_assert!(path.iter().all(|p| !p.is_empty()));
            }
            let _ = n::org_kind(&cell, "类别");
        }
        let once = normalize_header(&s);
        prop_assert_eq!(normalize_header(&once), once.clone());
        let _ = taizhang_domain::period::parse_written_date(&s);
    }
}
