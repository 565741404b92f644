use super::docx::parts;
use super::*;
use calamine::{Data, Reader, Xlsx};
use std::io::{Cursor, Read};

fn masthead() -> Masthead {
    Masthead::new(
        "中共金乡县委组织部",
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    )
}

fn part(name: &str) -> String {
    parts(&sample_bulletin(5), &masthead())
        .unwrap()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, xml)| xml)
        .unwrap()
}

/// The paragraph of `document.xml` holding `text`.
fn paragraph_with(xml: &str, text: &str) -> String {
    let at = xml.find(text).unwrap();
    let start = xml[..at].rfind("<w:p>").unwrap();
    let end = at + xml[at..].find("</w:p>").unwrap();
    xml[start..end].to_string()
}

#[test]
fn dates_are_written_in_arabic_numerals_without_zeros() {
    assert_eq!(
        date_cn(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()),
        "2026年1月5日"
    );
    assert_eq!(
        date_cn(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()),
        "2026年12月31日"
    );
}

#[test]
fn the_outline_follows_the_bulletin() {
    let o = outline(&sample_bulletin(5), &masthead()).unwrap();
    assert_eq!(o.title, "金乡县2026年台账工作统计通报");
    let headings: Vec<&str> = o
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading1(t) | Block::Heading2(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        headings,
        [
            "一、总体情况",
            "二、分类情况",
            "（一）三会一课",
            "（二）走访",
            "三、各单位情况"
        ]
    );
    let table = o
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Units(t) => Some(t),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        table.headers,
        ["排名", "单位", "三会一课", "走访", "合计", "占比"]
    );
    assert_eq!(table.rows.len(), 5);
    assert_eq!(table.rows[0], ["1", "鸡黍镇1", "0", "50", "50", "1.6%"]);
    assert_eq!(table.bars[4], ("鸡黍镇5".to_string(), 11));
    assert_eq!(
        o.blocks[o.blocks.len() - 2..],
        [
            Block::Signature("中共金乡县委组织部".into()),
            Block::Signature("2026年12月1日".into())
        ]
    );
}

#[test]
fn the_page_is_a4_with_the_standard_margins_in_twips() {
    let xml = part("word/document.xml");
    assert!(
        xml.contains(r#"<w:pgSz w:w="11906" w:h="16838"/>"#),
        "{xml}"
    );
    assert!(xml.contains(
        r#"<w:pgMar w:top="2098" w:right="1474" w:bottom="1984" w:left="1587" w:header="851" w:footer="1307" w:gutter="0"/>"#
    ));
    // The 版心: 156 × 225 mm, within a twip of rounding.
    assert_eq!(11906 - 1587 - 1474, 8845); // 156.0 mm
    assert_eq!(16838 - 2098 - 1984, 12756); // 225.0 mm
}

#[test]
fn the_title_is_xiaobiaosong_erhao_centred_in_every_font_slot() {
    let xml = part("word/document.xml");
    let p = paragraph_with(&xml, "金乡县2026年台账工作统计通报");
    assert!(p.contains(r#"<w:jc w:val="center"/>"#), "{p}");
    assert!(p.contains(
        r#"<w:rFonts w:ascii="方正小标宋简体" w:hAnsi="方正小标宋简体" w:eastAsia="方正小标宋简体" w:cs="方正小标宋简体"/><w:sz w:val="44"/><w:szCs w:val="44"/>"#
    ));
}

#[test]
fn body_text_is_fangsong_sanhao_on_exact_28_point_lines_indented_two_characters() {
    let xml = part("word/document.xml");
    let p = paragraph_with(&xml, "开展走访1200次");
    assert!(p.contains(r#"<w:spacing w:before="0" w:after="0" w:line="560" w:lineRule="exact"/>"#));
    assert!(p.contains(r#"<w:ind w:firstLineChars="200" w:firstLine="640"/>"#));
    assert!(p.contains(r#"w:eastAsia="仿宋_GB2312""#));
    assert!(p.contains(r#"<w:sz w:val="32"/>"#));
    let styles = part("word/styles.xml");
    assert!(styles.contains(r#"w:eastAsia="仿宋_GB2312""#));
    assert!(styles.contains(r#"w:line="560" w:lineRule="exact""#));
}

#[test]
fn headings_are_heiti_then_kaiti() {
    let xml = part("word/document.xml");
    let h1 = paragraph_with(&xml, "一、总体情况");
    assert!(h1.contains(r#"w:eastAsia="黑体""#), "{h1}");
    assert!(h1.contains(r#"<w:sz w:val="32"/>"#));
    let h2 = paragraph_with(&xml, "（二）走访");
    assert!(h2.contains(r#"w:eastAsia="楷体_GB2312""#), "{h2}");
}

#[test]
fn the_issuer_and_date_close_the_document_right_aligned() {
    let xml = part("word/document.xml");
    for text in ["中共金乡县委组织部", "2026年12月1日"] {
        let p = paragraph_with(&xml, text);
        assert!(
            p.contains(r#"<w:ind w:right="1280"/><w:jc w:val="right"/>"#),
            "{p}"
        );
    }
    assert!(xml.find("2026年12月1日").unwrap() > xml.find("中共金乡县委组织部").unwrap());
}

#[test]
fn the_units_are_a_table_with_a_repeated_header() {
    let xml = part("word/document.xml");
    assert_eq!(xml.matches("<w:tbl>").count(), 1);
    // A header row and one row per unit.
    assert_eq!(xml.matches("<w:tr>").count(), 6);
    assert_eq!(xml.matches("<w:tblHeader/>").count(), 1);
    // 小四 in the table.
    assert!(paragraph_with(&xml, ">合计<").contains(r#"<w:sz w:val="24"/>"#));
    // The narrow columns fit "三会一课" (4 × 240 + 260), the unit column the rest of 8845.
    assert!(
        xml.contains(
            r#"<w:tblGrid><w:gridCol w:w="1220"/><w:gridCol w:w="2745"/><w:gridCol w:w="1220"/>"#
        ),
        "{xml}"
    );
}

#[test]
fn page_numbers_are_a_page_field_in_sihao_between_dashes() {
    let xml = part("word/footer1.xml");
    assert!(xml.contains(r#"<w:instrText xml:space="preserve"> PAGE </w:instrText>"#));
    assert!(xml.contains(r#"<w:t xml:space="preserve">— </w:t>"#));
    assert!(xml.contains(r#"<w:t xml:space="preserve"> —</w:t>"#));
    assert!(xml.contains(r#"<w:sz w:val="28"/>"#));
    assert!(xml.contains(r#"<w:jc w:val="center"/>"#));
    let doc = part("word/document.xml");
    assert!(doc.contains(r#"<w:footerReference w:type="default" r:id="rIdFooter1"/>"#));
}

#[test]
fn the_docx_is_a_zip_of_the_parts() {
    let bytes = bulletin_docx(&sample_bulletin(3), &masthead()).unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut names: Vec<String> = zip.file_names().map(String::from).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "[Content_Types].xml",
            "_rels/.rels",
            "docProps/core.xml",
            "word/_rels/document.xml.rels",
            "word/document.xml",
            "word/footer1.xml",
            "word/styles.xml"
        ]
    );
    let mut core = String::new();
    zip.by_name("docProps/core.xml")
        .unwrap()
        .read_to_string(&mut core)
        .unwrap();
    assert!(core.contains("<dc:title>金乡县2026年台账工作统计通报</dc:title>"));
}

#[test]
fn markup_in_names_is_escaped() {
    let mut b = sample_bulletin(1);
    b.units[0].org.name = "<w:p>&镇".into();
    let xml = parts(&b, &masthead())
        .unwrap()
        .into_iter()
        .find(|(n, _)| *n == "word/document.xml")
        .unwrap()
        .1;
    assert!(xml.contains("&lt;w:p&gt;&amp;镇"));
    assert!(!xml.contains("<w:p>&镇"));
}

#[test]
fn an_empty_issuer_and_too_many_units_are_refused() {
    let b = sample_bulletin(1);
    let none = Masthead::new("  ", NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
    assert!(matches!(
        bulletin_docx(&b, &none),
        Err(DocumentError::NoIssuer)
    ));
    let mut big = sample_bulletin(1);
    big.units = vec![big.units[0].clone(); MAX_UNITS + 1];
    let err = bulletin_docx(&big, &masthead()).unwrap_err();
    assert_eq!(err.code(), "export_too_large");
    assert!(matches!(
        bulletin_xlsx(&big),
        Err(DocumentError::TooManyUnits { limit: MAX_UNITS })
    ));
}

#[test]
fn the_workbook_has_figures_and_units_as_numbers() {
    let out = bulletin_xlsx(&sample_bulletin(4)).unwrap();
    let b = sample_bulletin(4);
    let figures: usize = b
        .sections
        .iter()
        .map(|s| 3 + s.sums.len() + s.breakdown.len())
        .sum();
    assert_eq!(out.rows, figures + 4);
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(out.bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["分类情况", "各单位情况"]);
    let figures = book.worksheet_range("分类情况").unwrap();
    assert_eq!(figures.get((0, 0)), Some(&Data::String("台账类型".into())));
    assert_eq!(figures.get((1, 2)), Some(&Data::Float(2000.0)));
    let units = book.worksheet_range("各单位情况").unwrap();
    let header: Vec<String> = (0..6)
        .map(|c| units.get((0, c)).unwrap().to_string())
        .collect();
    assert_eq!(header, ["排名", "单位", "三会一课", "走访", "合计", "占比"]);
    assert_eq!(units.get((1, 1)), Some(&Data::String("鸡黍镇1".into())));
    assert_eq!(units.get((1, 3)), Some(&Data::Float(40.0)));
    match units.get((1, 5)) {
        Some(Data::Float(x)) => assert!((x - 0.013).abs() < 1e-9, "{x}"),
        other => panic!("share {other:?}"),
    }
}
