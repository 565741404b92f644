//! The PDF read back by real readers: poppler's pdftotext gives the Chinese text back and
//! pdfinfo counts the pages; pdftoppm renders each page to a PNG kept under the target
//! directory (`…/tmp/bulletin-pdf/`) for a person to look at. CI installs poppler-utils and
//! fonts-noto-cjk (`.ci/run`); a missing tool fails the test.

use chrono::NaiveDate;
use std::path::PathBuf;
use std::process::Command;
use taizhang_office::document::{sample_bulletin, Masthead};
use taizhang_print::{bulletin_pdf, system_font};

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bulletin-pdf");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(name: &str, units: usize) -> PathBuf {
    let m = Masthead::new(
        "中共金乡县委组织部",
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    );
    let font = system_font().expect("a CJK font (fonts-noto-cjk) is installed");
    let bytes = bulletin_pdf(&sample_bulletin(units), &m, font).unwrap();
    let path = out_dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils) must be installed: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn pdftotext_gives_the_chinese_text_back() {
    let pdf = write("short.pdf", 5);
    let text = run("pdftotext", &["-layout", pdf.to_str().unwrap(), "-"]);
    assert!(text.contains("金乡县2026年台账工作统计通报"), "{text}");
    assert!(text.contains("鸡黍镇3"), "{text}");
    assert!(text.contains("中共金乡县委组织部"), "{text}");
    assert!(text.contains("2026年12月1日"), "{text}");
    assert!(text.replace(' ', "").contains("—1—"), "{text}");
}

#[test]
fn a_long_table_runs_over_pages_numbered_at_the_foot() {
    let pdf = write("long.pdf", 120);
    let path = pdf.to_str().unwrap();
    let info = run("pdfinfo", &[path]);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert_eq!(pages, 7, "{info}");
    assert!(info.contains("595.276 x 841.89 pts (A4)"), "{info}");
    let last = run("pdftotext", &["-f", "7", "-l", "7", path, "-"]);
    assert!(last.contains("鸡黍镇120"), "{last}");
    assert!(last.replace(' ', "").contains("—7—"), "{last}");
    assert!(last.contains("排名"), "the header is repeated: {last}");
    let fonts = run("pdffonts", &[path]);
    assert!(fonts.contains("Noto") || std::env::var_os("TAIZHANG_PDF_FONT").is_some());
    // emb, sub: embedded and subset.
    assert!(
        fonts.lines().skip(2).all(|l| l.contains(" yes yes ")),
        "{fonts}"
    );
}

#[test]
fn pdftoppm_renders_every_page() {
    let pdf = write("render.pdf", 120);
    // No page of an earlier run is left to be mistaken for this one's.
    for n in 1..=50 {
        let _ = std::fs::remove_file(out_dir().join(format!("render-{n}.png")));
    }
    let prefix = out_dir().join("render");
    run(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "60",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    for n in 1..=7 {
        let png = out_dir().join(format!("render-{n}.png"));
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{}", png.display());
    }
}
