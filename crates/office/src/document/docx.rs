//! The outline as WordprocessingML, packed with `zip`: a handful of parts written directly,
//! which keeps the build free of a document library and every measure of GB/T 9704-2012 in
//! plain sight.
//!
//! Units: lengths in twips (1/20 pt; 1 mm = 56.69 twips), font sizes in half-points.

use super::outline::{outline, Block, UnitTable};
use super::{date_cn, DocumentError, Masthead};
use std::io::{Cursor, Write};
use taizhang_domain::bulletin::Bulletin;
use zip::write::SimpleFileOptions;

/// The media type of a .docx document.
pub const DOCX_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// A4 and the margins of the standard (top 37 mm, bottom 35 mm, left 28 mm, right 26 mm), in
/// twips: the 版心 is 156 × 225 mm.
pub(crate) const PAGE_W: u32 = 11906;
pub(crate) const PAGE_H: u32 = 16838;
pub(crate) const MARGIN_TOP: u32 = 2098;
pub(crate) const MARGIN_BOTTOM: u32 = 1984;
pub(crate) const MARGIN_LEFT: u32 = 1587;
pub(crate) const MARGIN_RIGHT: u32 = 1474;
/// The foot's page number sits 7 mm below the 版心: the footer starts 28 mm − 14 pt up.
const FOOTER: u32 = 1307;

pub(crate) const TITLE_FONT: &str = "方正小标宋简体";
pub(crate) const BODY_FONT: &str = "仿宋_GB2312";
pub(crate) const HEADING1_FONT: &str = "黑体";
pub(crate) const HEADING2_FONT: &str = "楷体_GB2312";
pub(crate) const PAGE_NUMBER_FONT: &str = "宋体";
/// 二号 22 pt, 三号 16 pt, 四号 14 pt, 小四 12 pt, in half-points.
pub(crate) const TITLE_SIZE: u32 = 44;
pub(crate) const BODY_SIZE: u32 = 32;
pub(crate) const TABLE_SIZE: u32 = 24;
pub(crate) const PAGE_NUMBER_SIZE: u32 = 28;
/// Exactly 28 pt between lines.
pub(crate) const LINE: u32 = 560;
/// Two characters of 三号: 32 pt.
const INDENT: u32 = 640;
/// Four characters of 三号 to the right of the 署名 and the date.
const SIGNATURE_RIGHT: u32 = 1280;

const NS: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;

/// Text as XML character data.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Run properties naming `font` in every slot (ascii, hAnsi, eastAsia, cs) at `size`.
fn rpr(font: &str, size: u32) -> String {
    format!(
        r#"<w:rPr><w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:eastAsia="{font}" w:cs="{font}"/><w:sz w:val="{size}"/><w:szCs w:val="{size}"/></w:rPr>"#
    )
}

fn run(text: &str, font: &str, size: u32) -> String {
    format!(
        r#"<w:r>{}<w:t xml:space="preserve">{}</w:t></w:r>"#,
        rpr(font, size),
        esc(text)
    )
}

/// A paragraph with exact 28 pt lines; `extra` goes into its properties (alignment, indent).
fn para(extra: &str, text: &str, font: &str, size: u32) -> String {
    format!(
        r#"<w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="{LINE}" w:lineRule="exact"/>{extra}{}</w:pPr>{}</w:p>"#,
        rpr(font, size),
        if text.is_empty() {
            String::new()
        } else {
            run(text, font, size)
        }
    )
}

fn block_xml(block: &Block, out: &mut String) {
    match block {
        Block::Title(t) => out.push_str(&para(
            r#"<w:jc w:val="center"/>"#,
            t,
            TITLE_FONT,
            TITLE_SIZE,
        )),
        Block::Heading1(t) => out.push_str(&para(
            &format!(r#"<w:ind w:firstLine="{INDENT}"/>"#),
            t,
            HEADING1_FONT,
            BODY_SIZE,
        )),
        Block::Heading2(t) => out.push_str(&para(
            &format!(r#"<w:ind w:firstLine="{INDENT}"/>"#),
            t,
            HEADING2_FONT,
            BODY_SIZE,
        )),
        Block::Paragraph(t) => out.push_str(&para(
            &format!(
                r#"<w:ind w:firstLineChars="200" w:firstLine="{INDENT}"/><w:jc w:val="both"/>"#
            ),
            t,
            BODY_FONT,
            BODY_SIZE,
        )),
        Block::Blank => out.push_str(&para("", "", BODY_FONT, BODY_SIZE)),
        Block::Signature(t) => out.push_str(&para(
            &format!(r#"<w:ind w:right="{SIGNATURE_RIGHT}"/><w:jc w:val="right"/>"#),
            t,
            BODY_FONT,
            BODY_SIZE,
        )),
        Block::Units(table) => table_xml(table, out),
    }
}

fn cell(text: &str, width: u32, header: bool) -> String {
    let font = if header { HEADING1_FONT } else { BODY_FONT };
    format!(
        r#"<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/><w:vAlign w:val="center"/></w:tcPr><w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="400" w:lineRule="exact"/><w:jc w:val="center"/>{}</w:pPr>{}</w:p></w:tc>"#,
        rpr(font, TABLE_SIZE),
        run(text, font, TABLE_SIZE)
    )
}

/// The units: 版心-wide, single borders, the header row repeated on each page and rows never
/// split across pages; the unit column takes what the others leave.
fn table_xml(t: &UnitTable, out: &mut String) {
    let total = PAGE_W - MARGIN_LEFT - MARGIN_RIGHT;
    let n = t.headers.len().max(2) as u32;
    // The narrow columns as wide as their longest header in 小四 (240 twips a character) and
    // the cell's margins, within the 版心; the unit column takes the rest.
    let longest = t
        .headers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, h)| h.chars().count() as u32)
        .max()
        .unwrap_or(2);
    let narrow = (longest * 240 + 260).max(700).min(total / (n + 1));
    let wide = total.saturating_sub(narrow * (n - 1));
    let width = |i: usize| if i == 1 { wide } else { narrow };
    out.push_str(
        r#"<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/><w:jc w:val="center"/><w:tblBorders>"#,
    );
    for side in ["top", "left", "bottom", "right", "insideH", "insideV"] {
        out.push_str(&format!(
            r#"<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>"#
        ));
    }
    out.push_str(r#"</w:tblBorders><w:tblLayout w:type="fixed"/></w:tblPr><w:tblGrid>"#);
    for i in 0..t.headers.len() {
        out.push_str(&format!(r#"<w:gridCol w:w="{}"/>"#, width(i)));
    }
    out.push_str(r#"</w:tblGrid><w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>"#);
    for (i, h) in t.headers.iter().enumerate() {
        out.push_str(&cell(h, width(i), true));
    }
    out.push_str("</w:tr>");
    for row in &t.rows {
        out.push_str("<w:tr><w:trPr><w:cantSplit/></w:trPr>");
        for (i, c) in row.iter().enumerate() {
            out.push_str(&cell(c, width(i), false));
        }
        out.push_str("</w:tr>");
    }
    out.push_str("</w:tbl>");
}

fn document_xml(blocks: &[Block]) -> String {
    let mut body = String::new();
    for b in blocks {
        block_xml(b, &mut body);
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document {NS}><w:body>{body}<w:sectPr><w:footerReference w:type="default" r:id="rIdFooter1"/><w:pgSz w:w="{PAGE_W}" w:h="{PAGE_H}"/><w:pgMar w:top="{MARGIN_TOP}" w:right="{MARGIN_RIGHT}" w:bottom="{MARGIN_BOTTOM}" w:left="{MARGIN_LEFT}" w:header="851" w:footer="{FOOTER}" w:gutter="0"/><w:pgNumType w:fmt="decimal" w:start="1"/><w:cols w:space="425"/></w:sectPr></w:body></w:document>"#
    )
}

/// The foot: "— 1 —" in 4号 宋体, half-width digits from a PAGE field, centred.
fn footer_xml() -> String {
    let r = rpr(PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:ftr {NS}><w:p><w:pPr><w:jc w:val="center"/>{r}</w:pPr><w:r>{r}<w:t xml:space="preserve">— </w:t></w:r><w:r>{r}<w:fldChar w:fldCharType="begin"/></w:r><w:r>{r}<w:instrText xml:space="preserve"> PAGE </w:instrText></w:r><w:r>{r}<w:fldChar w:fldCharType="separate"/></w:r><w:r>{r}<w:t>1</w:t></w:r><w:r>{r}<w:fldChar w:fldCharType="end"/></w:r><w:r>{r}<w:t xml:space="preserve"> —</w:t></w:r></w:p></w:ftr>"#
    )
}

/// The defaults: body text in 仿宋_GB2312 三号 with exact 28 pt lines, so text a reader adds
/// keeps the layout.
fn styles_xml() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles {NS}><w:docDefaults><w:rPrDefault>{}</w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:before="0" w:after="0" w:line="{LINE}" w:lineRule="exact"/></w:pPr></w:pPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style><w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style></w:styles>"#,
        rpr(BODY_FONT, BODY_SIZE)
    )
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>"#;

const DOCUMENT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rIdStyles" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rIdFooter1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer1.xml"/></Relationships>"#;

fn core_xml(title: &str, m: &Masthead) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{}</dc:title><dc:creator>{}</dc:creator><dc:description>{}</dc:description><dcterms:created xsi:type="dcterms:W3CDTF">{}T00:00:00Z</dcterms:created></cp:coreProperties>"#,
        esc(title),
        esc(&m.issuer),
        esc(&date_cn(m.date)),
        m.date.format("%Y-%m-%d")
    )
}

/// The parts of the package, by name.
pub(crate) fn parts(
    b: &Bulletin,
    m: &Masthead,
) -> Result<Vec<(&'static str, String)>, DocumentError> {
    let o = outline(b, m)?;
    Ok(vec![
        ("[Content_Types].xml", CONTENT_TYPES.to_string()),
        ("_rels/.rels", ROOT_RELS.to_string()),
        ("docProps/core.xml", core_xml(&o.title, m)),
        ("word/_rels/document.xml.rels", DOCUMENT_RELS.to_string()),
        ("word/document.xml", document_xml(&o.blocks)),
        ("word/styles.xml", styles_xml()),
        ("word/footer1.xml", footer_xml()),
    ])
}

/// A bulletin as a .docx in the layout of GB/T 9704-2012.
pub fn bulletin_docx(b: &Bulletin, m: &Masthead) -> Result<Vec<u8>, DocumentError> {
    let pack = |e: &dyn std::fmt::Display| DocumentError::Pack(e.to_string());
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, xml) in parts(b, m)? {
        zip.start_file(name, options).map_err(|e| pack(&e))?;
        zip.write_all(xml.as_bytes()).map_err(|e| pack(&e))?;
    }
    let cursor = zip.finish().map_err(|e| pack(&e))?;
    Ok(cursor.into_inner())
}
