//! The writer's output read back with calamine (values and types) and, for the sheet's view
//! settings, from the package's XML.

use super::*;
use calamine::{Data, Reader, Xlsx};
use std::io::{Cursor, Read};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn sample_sheet(whole: bool) -> Sheet {
    let mut s = Sheet::new(
        "三会一课",
        vec![
            Column::new("组织", ColumnKind::Text),
            Column::new("人数", ColumnKind::Integer),
            Column::new("时长（小时）", ColumnKind::Decimal),
            Column::new("日期", ColumnKind::Date),
            Column::new("录入时间", ColumnKind::DateTime),
            Column::new("经费（元）", ColumnKind::Money),
            Column::new("身份证号", ColumnKind::Masked { head: 4, tail: 4 }),
        ],
    );
    s.whole = whole;
    s
}

fn sample_rows() -> Vec<Vec<Cell>> {
    vec![
        vec![
            Cell::Text("鸡黍镇西李村党支部".into()),
            Cell::Integer(23),
            Cell::Decimal(1.5),
            Cell::Date(d(2024, 5, 1)),
            Cell::DateTime(d(2024, 5, 1).and_hms_opt(18, 0, 0).unwrap()),
            Cell::Money(123_456),
            Cell::Text("370828199001011234".into()),
        ],
        vec![
            Cell::Text("寻庄村".into()),
            Cell::Integer(-4),
            Cell::Empty,
            Cell::Date(d(1949, 10, 1)),
            Cell::Empty,
            Cell::Money(5),
            Cell::Empty,
        ],
    ]
}

fn read_back(bytes: &[u8], sheet: &str) -> calamine::Range<Data> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("an xlsx");
    book.worksheet_range(sheet).expect("the sheet")
}

fn part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    let mut f = zip.by_name(name).expect("the part");
    let mut s = String::new();
    f.read_to_string(&mut s).expect("utf-8");
    s
}

#[test]
fn cells_keep_their_types_and_values() {
    let out = write_xlsx(sample_sheet(false), sample_rows()).unwrap();
    assert_eq!(out.rows, 2);
    let r = read_back(&out.bytes, "三会一课");
    assert_eq!(r.get_size(), (3, 7));
    let header: Vec<String> = r
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        header,
        [
            "组织",
            "人数",
            "时长（小时）",
            "日期",
            "录入时间",
            "经费（元）",
            "身份证号"
        ]
    );
    let row = &r.rows().nth(1).unwrap().to_vec();
    assert_eq!(row[0], Data::String("鸡黍镇西李村党支部".into()));
    assert_eq!(row[1], Data::Float(23.0));
    assert_eq!(row[2], Data::Float(1.5));
    match &row[3] {
        Data::DateTime(t) => {
            // 2024-05-01 is day 45,413 of Excel's calendar.
            assert_eq!(t.as_f64(), 45_413.0);
        }
        other => panic!("a date cell, not {other:?}"),
    }
    match &row[4] {
        Data::DateTime(t) => assert_eq!(t.as_f64(), 45_413.75),
        other => panic!("a date-time cell, not {other:?}"),
    }
    assert_eq!(row[5], Data::Float(1234.56));
    assert_eq!(row[6], Data::String("3708**********1234".into()));
    let row = &r.rows().nth(2).unwrap().to_vec();
    assert_eq!(row[1], Data::Float(-4.0));
    assert_eq!(row[2], Data::Empty);
    match &row[3] {
        // 1949-10-01: 1950-01-01 (18,264) less the 92 days of its last quarter.
        Data::DateTime(t) => assert_eq!(t.as_f64(), 18_172.0),
        other => panic!("a date cell, not {other:?}"),
    }
    assert_eq!(row[5], Data::Float(0.05));
    assert_eq!(row[6], Data::Empty);
}

#[test]
fn formats_header_view_and_widths() {
    let out = write_xlsx(sample_sheet(false), sample_rows()).unwrap();
    let styles = part(&out.bytes, "xl/styles.xml");
    assert!(styles.contains("formatCode=\"yyyy-mm-dd\""), "{styles}");
    assert!(styles.contains("formatCode=\"#,##0.00\""), "{styles}");
    let ws = part(&out.bytes, "xl/worksheets/sheet1.xml");
    assert!(
        ws.contains(
            "<pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>"
        ),
        "{ws}"
    );
    assert!(ws.contains("<autoFilter ref=\"A1:G3\"/>"), "{ws}");
    // 组织: “鸡黍镇西李村党支部” is 9 CJK characters = 18, plus 2.
    assert!(
        ws.contains("<col min=\"1\" max=\"1\" width=\"20.7109375\" customWidth=\"1\"/>"),
        "{ws}"
    );
    // 人数: the header (4) is wider than “-4” and “23”: 6, the least.
    assert!(
        ws.contains("<col min=\"2\" max=\"2\" width=\"6.7109375\" customWidth=\"1\"/>"),
        "{ws}"
    );
    // Strings are inline in constant-memory mode: no shared-string table to hold in memory.
    assert!(ws.contains("t=\"inlineStr\""), "{ws}");
}

#[test]
fn masked_columns_are_whole_when_asked() {
    let out = write_xlsx(sample_sheet(true), sample_rows()).unwrap();
    let r = read_back(&out.bytes, "三会一课");
    assert_eq!(
        r.get((1, 6)),
        Some(&Data::String("370828199001011234".into()))
    );
    assert_eq!(mask("13812345678", 3, 4), "138****5678");
    assert_eq!(mask("3708**********123X", 4, 4), "3708**********123X");
    assert_eq!(mask("abc", 2, 2), "***");
}

#[test]
fn an_empty_list_is_its_header() {
    let out = write_xlsx(sample_sheet(false), Vec::<Vec<Cell>>::new()).unwrap();
    assert_eq!(out.rows, 0);
    let r = read_back(&out.bytes, "三会一课");
    assert_eq!(r.get_size(), (1, 7));
    assert!(part(&out.bytes, "xl/worksheets/sheet1.xml").contains("<autoFilter ref=\"A1:G1\"/>"));
}

#[test]
fn bad_rows_are_refused_with_their_place() {
    let mut w = SheetWriter::new(sample_sheet(false)).unwrap();
    match w.push(&[Cell::Empty]) {
        Err(OfficeError::RowShape {
            row: 1,
            expected: 7,
            found: 1,
        }) => {}
        other => panic!("{other:?}"),
    }
    let mut row = sample_rows().remove(0);
    row[1] = Cell::Text("二十三".into());
    match w.push(&row) {
        Err(e @ OfficeError::CellKind { row: 1, .. }) => {
            assert_eq!(e.to_string(), "第1行“人数”列的值与该列类型不符");
            assert_eq!(e.code(), "export_shape");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        SheetWriter::new(Sheet::new("空", vec![])),
        Err(OfficeError::Columns)
    ));
}

#[test]
fn rows_past_the_bound_are_refused() {
    assert_eq!(MAX_ROWS, 1_048_575);
    let sheet = Sheet::new("n", vec![Column::new("n", ColumnKind::Integer)]);
    let mut w = SheetWriter::with_limit(sheet.clone(), 3).unwrap();
    for i in 0..3 {
        w.push(&[Cell::Integer(i)]).unwrap();
    }
    let e = w.push(&[Cell::Integer(0)]).unwrap_err();
    assert!(matches!(e, OfficeError::TooManyRows { limit: 3 }));
    assert_eq!(e.code(), "export_too_large");
    assert_eq!(w.rows(), 3);
    let out = w.finish().unwrap();
    assert_eq!(read_back(&out.bytes, "n").get_size(), (4, 1));
    // A limit above Excel's is Excel's.
    let e = SheetWriter::with_limit(sheet, usize::MAX).unwrap();
    assert_eq!(e.limit(), MAX_ROWS);
}

#[test]
fn sheet_names_are_made_acceptable() {
    let out = write_xlsx(
        Sheet::new(
            "台账/2024:全年[汇总]",
            vec![Column::new("a", ColumnKind::Text)],
        ),
        [[Cell::Text("x".into())]],
    )
    .unwrap();
    let r = read_back(&out.bytes, "台账_2024_全年_汇总_");
    assert_eq!(r.get((1, 0)), Some(&Data::String("x".into())));
}

#[test]
fn excel_serials() {
    assert_eq!(excel_date(d(1900, 3, 1)), 61.0);
    assert_eq!(excel_date(d(2024, 5, 1)), 45_413.0);
    assert_eq!(
        excel_datetime(d(2024, 5, 1).and_hms_opt(6, 0, 0).unwrap()),
        45_413.25
    );
}

#[test]
fn rejected_rows_keep_their_cells_and_gain_an_error_column() {
    use crate::import::{Cell as In, ReadOptions, Row, Workbook};
    let headers: Vec<String> = ["组织", "日期", "户数", "身份证号"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rows = [
        (
            Row {
                number: 3,
                cells: vec![
                    In::Text("寻庄村".into()),
                    In::Date(d(2024, 3, 4)),
                    In::Number(0.0),
                    In::Text("370828199001011234".into()),
                ],
            },
            "“户数”不能小于1",
        ),
        (
            Row {
                number: 9,
                cells: vec![In::Text("不存在村".into()), In::Empty, In::Number(2.5)],
            },
            "“组织”中的“不存在村”不是您可管理的组织；请填写“日期”",
        ),
    ];
    let bytes = rejected_workbook(
        "错误行-走访.xlsx",
        &headers,
        rows.iter().map(|(r, e)| (r, *e)),
    )
    .expect("written");
    // Read back by the import's own reader: the header is found and the types are kept.
    let mut book = Workbook::open(Cursor::new(bytes.clone()), ReadOptions::default()).unwrap();
    assert_eq!(book.sheet_name(), Some("错误行-走访.xlsx"));
    let back: Vec<Row> = book.rows().unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(back.len(), 3);
    let header: Vec<String> = back[0].cells.iter().map(In::display).collect();
    assert_eq!(header, ["组织", "日期", "户数", "身份证号", "错误"]);
    assert_eq!(back[1].cells[1], In::Date(d(2024, 3, 4)));
    assert_eq!(back[1].cells[2], In::Number(0.0));
    assert_eq!(back[1].cells[3], In::Text("370828199001011234".into()));
    assert_eq!(back[1].cells[4], In::Text("“户数”不能小于1".into()));
    assert_eq!(back[2].cells[1], In::Empty);
    assert_eq!(
        back[2].cells[4].display(),
        "“组织”中的“不存在村”不是您可管理的组织；请填写“日期”"
    );
    // Frozen, filtered header, as every export.
    let xml = part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(xml.contains("<autoFilter ref=\"A1:E3\"/>"), "{xml}");
    assert!(xml.contains("state=\"frozen\""), "{xml}");
}
