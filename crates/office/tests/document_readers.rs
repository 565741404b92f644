//! The documents read back by real readers: python-docx opens the .docx (the section's page
//! size and margins, the title run's East-Asian font and size), openpyxl opens the .xlsx (the
//! header and a number cell), LibreOffice headless lays the .docx out as a PDF whose text is the
//! bulletin's and opens the .xlsx. CI installs all three (`.ci/run`); a missing one fails the test.

use chrono::NaiveDate;
use std::path::PathBuf;
use std::process::Command;
use taizhang_office::document::{bulletin_docx, bulletin_xlsx, sample_bulletin, Masthead};

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bulletin-documents");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn masthead() -> Masthead {
    Masthead::new(
        "中共金乡县委组织部",
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    )
}

/// Runs a Python script on `file`, giving its standard output.
fn python(script: &str, file: &PathBuf) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(file)
        .output()
        .expect("python3 is installed");
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const DOCX_SCRIPT: &str = r#"
import sys
import docx
from docx.oxml.ns import qn
d = docx.Document(sys.argv[1])
s = d.sections[0]
print("page", s.page_width.twips, s.page_height.twips)
print("margins", s.top_margin.twips, s.bottom_margin.twips, s.left_margin.twips, s.right_margin.twips)
title = d.paragraphs[0]
run = title.runs[0]
fonts = run._element.rPr.find(qn("w:rFonts"))
print("title", title.text)
print("align", title.alignment)
print("east_asia", fonts.get(qn("w:eastAsia")))
print("size", run.font.size.pt)
body = [p for p in d.paragraphs if p.text.startswith("开展走访")][0]
print("line", body.paragraph_format.line_spacing.pt, body.paragraph_format.line_spacing_rule)
print("units", len(d.tables[0].rows))
print("last", d.paragraphs[-1].text)
footer = s.footer.paragraphs[0]._element.xml
print("page_field", "PAGE" in footer)
"#;

#[test]
fn python_docx_reads_the_page_the_margins_and_the_title_font() {
    let path = out_dir().join("bulletin.docx");
    std::fs::write(
        &path,
        bulletin_docx(&sample_bulletin(12), &masthead()).unwrap(),
    )
    .unwrap();
    let out = python(DOCX_SCRIPT, &path);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "page 11906 16838",
            "margins 2098 1984 1587 1474",
            "title 金乡县2026年台账工作统计通报",
            "align CENTER (1)",
            "east_asia 方正小标宋简体",
            "size 22.0",
            "line 28.0 EXACTLY (4)",
            "units 13",
            "last 2026年12月1日",
            "page_field True",
        ],
        "{out}"
    );
}

const XLSX_SCRIPT: &str = r#"
import sys
import openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
print("sheets", ",".join(wb.sheetnames))
ws = wb["各单位情况"]
print("header", ",".join(c.value for c in ws[1]))
print("frozen", ws.freeze_panes)
print("filter", ws.auto_filter.ref)
total = ws.cell(row=2, column=5)
print("total", type(total.value).__name__, total.value)
share = ws.cell(row=2, column=6)
print("share", type(share.value).__name__, round(share.value, 4), share.number_format)
f = wb["分类情况"]
print("records", f.cell(row=2, column=2).value, f.cell(row=2, column=3).value)
"#;

#[test]
fn openpyxl_reads_the_headers_and_numbers() {
    let path = out_dir().join("bulletin.xlsx");
    std::fs::write(&path, bulletin_xlsx(&sample_bulletin(12)).unwrap().bytes).unwrap();
    let out = python(XLSX_SCRIPT, &path);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "sheets 分类情况,各单位情况",
            "header 排名,单位,三会一课,走访,合计,占比",
            "frozen A2",
            "filter A1:F13",
            "total int 120",
            "share float 0.038 0.0%",
            "records 记录数 2000",
        ],
        "{out}"
    );
}

/// Converts `file` with LibreOffice headless into `to` (a format such as `pdf` or `csv`) in
/// `dir`. CI installs LibreOffice (`.ci/run`); a missing one fails the test.
fn libreoffice(file: &std::path::Path, to: &str, dir: &std::path::Path) {
    // A profile of its own, so a LibreOffice the user has open does not take the conversion.
    let profile = format!(
        "-env:UserInstallation=file://{}",
        dir.join("profile").display()
    );
    let out = Command::new("libreoffice")
        .arg(profile)
        .args(["--headless", "--convert-to", to, "--outdir"])
        .arg(dir)
        .arg(file)
        .output()
        .expect("libreoffice is installed (.ci/run installs libreoffice-writer-nogui)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// LibreOffice lays the .docx out and prints it: a 12-unit bulletin is more than one page, and
/// the text it prints is the bulletin's.
#[test]
fn libreoffice_lays_out_the_docx_with_its_sentences() {
    let dir = out_dir().join("libreoffice-docx");
    std::fs::create_dir_all(&dir).unwrap();
    let docx = dir.join("bulletin.docx");
    std::fs::write(
        &docx,
        bulletin_docx(&sample_bulletin(12), &masthead()).unwrap(),
    )
    .unwrap();
    libreoffice(&docx, "pdf", &dir);
    let pdf = dir.join("bulletin.pdf");
    let info = Command::new("pdfinfo").arg(&pdf).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout).to_string();
    let pages: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(pages >= 2, "{info}");
    let text = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text: String = String::from_utf8_lossy(&text.stdout)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for sentence in [
        "金乡县2026年台账工作统计通报",
        "中共金乡县委组织部",
        "2026年12月1日",
        "鸡黍镇12",
    ] {
        assert!(text.contains(sentence), "{sentence} not in {text}");
    }
}

/// LibreOffice opens the bulletin's workbook and writes its units' sheet as CSV: the header and
/// the first unit's figures come out as written.
#[test]
fn libreoffice_reads_the_xlsx() {
    let dir = out_dir().join("libreoffice-xlsx");
    std::fs::create_dir_all(&dir).unwrap();
    let xlsx = dir.join("bulletin.xlsx");
    std::fs::write(&xlsx, bulletin_xlsx(&sample_bulletin(12)).unwrap().bytes).unwrap();
    // LibreOffice's CSV filter: comma, double quote, UTF-8 (76), the second sheet (各单位情况),
    // which it writes to a file named after the sheet.
    let filter = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,2";
    libreoffice(&xlsx, filter, &dir);
    let text = std::fs::read_to_string(dir.join("bulletin-各单位情况.csv")).unwrap();
    let lines: Vec<&str> = text.lines().take(2).collect();
    assert_eq!(lines[0], "排名,单位,三会一课,走访,合计,占比", "{text}");
    assert!(lines[1].starts_with("1,鸡黍镇1,0,120,120,"), "{text}");
}
