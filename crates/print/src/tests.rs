use super::*;
use crate::layout::{PAGE_H, PAGE_W};
use chrono::NaiveDate;
use taizhang_office::document::sample_bulletin;

fn masthead() -> Masthead {
    Masthead::new(
        "中共金乡县委组织部",
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    )
}

/// The font the tests print with: CI installs fonts-noto-cjk, so its absence is a failure.
fn font() -> &'static Font {
    system_font().expect("a CJK font (fonts-noto-cjk) is installed")
}

fn pages(units: usize) -> Pages {
    let o = outline(&sample_bulletin(units), &masthead()).unwrap();
    layout(&o, font())
}

#[test]
fn the_font_is_found_once_and_is_the_simplified_face() {
    let f = font();
    assert!(std::ptr::eq(f, system_font().unwrap()));
    if std::env::var_os(FONT_ENV).is_none() {
        assert!(f.family().ends_with(" SC"), "{}", f.family());
    }
    // A CJK character is an em wide.
    assert!((f.width("中文", 16.0) - 32.0).abs() < 0.01);
}

#[test]
fn a_missing_or_wrong_font_file_is_a_clear_error() {
    let err = Font::load(std::path::Path::new("/nonexistent/font.ttc")).unwrap_err();
    assert_eq!(err.code(), "pdf_font_missing");
    assert!(err
        .to_string()
        .starts_with("字体文件 /nonexistent/font.ttc 无法使用"));
    let dir = std::env::temp_dir().join(format!("taizhang-print-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.ttf");
    std::fs::write(&junk, b"not a font").unwrap();
    assert!(matches!(
        Font::load(&junk),
        Err(PrintError::FontUnreadable { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(PrintError::FontMissing
        .to_string()
        .contains("TAIZHANG_PDF_FONT"));
}

#[test]
fn the_title_comes_first_and_the_signature_last() {
    let p = pages(5);
    // The sentences, the chart and the first row fill page 1; the other rows go to page 2.
    assert_eq!(p.pages.len(), 2);
    let first = p.text(0);
    assert_eq!(first[0], "金乡县2026年台账工作统计通报");
    assert!(first.contains(&"一、总体情况"));
    assert!(first.contains(&"（二）走访"));
    let last = p.text(1);
    assert_eq!(
        last[last.len() - 2..],
        ["中共金乡县委组织部", "2026年12月1日"]
    );
}

#[test]
fn lines_stay_within_the_type_area() {
    let p = pages(60);
    let f = font();
    for ops in &p.pages {
        for op in ops {
            if let Op::Text { x, y, size, text } = op {
                let right = x + f.width(text, *size);
                // Closing punctuation may hang at most one character past the edge.
                assert!(right <= PAGE_W - 26.0 * 72.0 / 25.4 + size + 0.1, "{text}");
                assert!(*x >= 28.0 * 72.0 / 25.4 - 0.1, "{text}");
                assert!(*y <= PAGE_H - 35.0 * 72.0 / 25.4, "{text}");
                assert!(*y >= 37.0 * 72.0 / 25.4, "{text}");
            }
        }
    }
}

#[test]
fn a_long_table_breaks_across_pages_with_its_header_repeated() {
    let p = pages(120);
    // Page 1 the text, page 2 the chart and 8 rows, then 24 rows a page.
    assert_eq!(p.pages.len(), 7);
    for i in 1..p.pages.len() {
        let text = p.text(i);
        if i > 1 {
            assert_eq!(text[..2], ["排名", "单位"], "page {}", i + 1);
        }
    }
    // Every unit is printed once, in rank order.
    let names: Vec<&str> = (0..p.pages.len())
        .flat_map(|i| p.text(i))
        .filter(|t| t.starts_with("鸡黍镇") && !t.contains('、'))
        .collect();
    // The chart names the first 20, the table all 120.
    assert_eq!(names.len(), MAX_BARS + 120);
    assert_eq!(names[MAX_BARS], "鸡黍镇1");
    assert_eq!(names[MAX_BARS + 119], "鸡黍镇120");
}

#[test]
fn the_chart_is_drawn_as_rectangles_scaled_to_the_largest() {
    let p = pages(4);
    let bars: Vec<f32> = p.pages[0]
        .iter()
        .filter_map(|op| match op {
            Op::Rect { w, red: true, .. } => Some(*w),
            _ => None,
        })
        .collect();
    // 鸡黍镇1 40 records, 鸡黍镇2 31, 鸡黍镇3 22, 鸡黍镇4 10.
    assert_eq!(bars.len(), 4);
    assert!((bars[1] / bars[0] - 31.0 / 40.0).abs() < 1e-4, "{bars:?}");
    assert!((bars[3] / bars[0] - 10.0 / 40.0).abs() < 1e-4, "{bars:?}");
}

#[test]
fn the_pdf_embeds_a_subset_of_the_font_and_numbers_each_page() {
    let bytes = bulletin_pdf(&sample_bulletin(120), &masthead(), font()).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&bytes);
    // Embedded as a CID font program (FontFile2 for TrueType outlines, FontFile3 for CFF) with
    // a subset tag ("ABCDEF+") in its name, and mapped back to text.
    assert!(text.contains("/FontFile2") || text.contains("/FontFile3"));
    assert!(text.contains("/ToUnicode"));
    let subset = text
        .split("/BaseFont")
        .nth(1)
        .map(|s| {
            s.trim_start_matches([' ', '/'])
                .chars()
                .take(7)
                .collect::<String>()
        })
        .unwrap_or_default();
    assert!(
        subset.len() == 7
            && subset.ends_with('+')
            && subset[..6].chars().all(|c| c.is_ascii_uppercase()),
        "{subset}"
    );
    // A subset: far smaller than the font file.
    let file = std::fs::metadata(font().path()).unwrap().len();
    assert!(
        (bytes.len() as u64) < file / 20,
        "{} of {file}",
        bytes.len()
    );
}

#[test]
fn too_many_units_are_refused_with_the_documents_code() {
    let mut b = sample_bulletin(1);
    b.units = vec![b.units[0].clone(); taizhang_office::document::MAX_UNITS + 1];
    let err = bulletin_pdf(&b, &masthead(), font()).unwrap_err();
    assert_eq!(err.code(), "export_too_large");
}

#[test]
fn many_ledger_types_shrink_the_table_and_never_fail() {
    for columns in [2, 12, 40, 200] {
        let mut b = sample_bulletin(30);
        b.unit_columns = (0..columns).map(|i| format!("type{i}")).collect();
        for u in &mut b.units {
            u.counts = vec![1; columns];
        }
        let o = outline(&b, &masthead()).unwrap();
        let p = layout(&o, font());
        assert!(p.pages.len() >= 2, "{columns}");
        let widest = p
            .pages
            .iter()
            .flatten()
            .filter_map(|op| match op {
                Op::Rect {
                    x, w, red: false, ..
                } => Some(x + w),
                _ => None,
            })
            .fold(0.0, f32::max);
        // The table's rules stay inside the 版心.
        assert!(
            widest <= PAGE_W - 26.0 * 72.0 / 25.4 + 0.6,
            "{columns}: {widest}"
        );
        bulletin_pdf(&b, &masthead(), font()).unwrap();
    }
}
