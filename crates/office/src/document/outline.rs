//! The layout of a bulletin as a 公文, shared by the Word and the PDF writers.

use super::{clean, date_cn, DocumentError, Masthead, MAX_UNITS};
use taizhang_domain::bulletin::Bulletin;

/// One block of the document, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// The title (标题): 方正小标宋简体 二号, centred.
    Title(String),
    /// A level-1 heading ("一、总体情况"): 黑体 三号.
    Heading1(String),
    /// A level-2 heading ("（一）三会一课"): 楷体_GB2312 三号.
    Heading2(String),
    /// A body paragraph: 仿宋_GB2312 三号, first line indented two characters.
    Paragraph(String),
    /// The ranked units.
    Units(UnitTable),
    /// An empty line of body text.
    Blank,
    /// A line at the end, right-aligned (the 署名 and the 成文日期).
    Signature(String),
}

/// The ranked units as a table: headers, then rows of cells as text; the chart of the PDF takes
/// its bars from `bars` (unit name, records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitTable {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub bars: Vec<(String, i64)>,
}

/// A bulletin laid out: its blocks and the document's title (for the file's properties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    pub title: String,
    pub blocks: Vec<Block>,
}

const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

/// The Chinese ordinal of `n` (1-based) up to 99: "一", "十", "十二", "二十一".
fn ordinal(n: usize) -> String {
    let digit = |d: usize| NUMERALS[(d + 9) % 10];
    match n {
        1..=10 => digit(n).to_string(),
        11..=19 => format!("十{}", digit(n - 10)),
        20..=99 => {
            let (t, u) = (n / 10, n % 10);
            if u == 0 {
                format!("{}十", digit(t))
            } else {
                format!("{}十{}", digit(t), digit(u))
            }
        }
        _ => n.to_string(),
    }
}

/// Lays a bulletin out as a 公文: 一、总体情况 (the overall sentence), 二、分类情况 (one level-2
/// heading per ledger type with records, its sentence below), 三、各单位情况 (the ranking
/// sentence and the table of units), then the 署名 and the date.
pub fn outline(b: &Bulletin, m: &Masthead) -> Result<Outline, DocumentError> {
    if b.units.len() > MAX_UNITS {
        return Err(DocumentError::TooManyUnits { limit: MAX_UNITS });
    }
    let issuer = clean(m.issuer.trim());
    if issuer.is_empty() {
        return Err(DocumentError::NoIssuer);
    }
    let title = clean(&b.title);
    let mut blocks = vec![Block::Title(title.clone()), Block::Blank];
    let mut level1 = 0;
    let mut heading = |blocks: &mut Vec<Block>, text: &str| {
        level1 += 1;
        blocks.push(Block::Heading1(format!("{}、{text}", ordinal(level1))));
    };

    heading(&mut blocks, "总体情况");
    let overall = b.sentences.first().map(|s| clean(s)).unwrap_or_default();
    blocks.push(Block::Paragraph(overall));

    let active: Vec<_> = b.sections.iter().filter(|s| s.records > 0).collect();
    if !active.is_empty() {
        heading(&mut blocks, "分类情况");
        for (i, s) in active.iter().enumerate() {
            blocks.push(Block::Heading2(format!(
                "（{}）{}",
                ordinal(i + 1),
                clean(&s.type_name)
            )));
            blocks.push(Block::Paragraph(clean(&s.sentence)));
        }
    }

    if !b.units.is_empty() {
        heading(&mut blocks, "各单位情况");
        // The ranking sentence, when the bulletin has one, is the last and is not a section's.
        if b.sentences.len() > 1 {
            if let Some(last) = b.sentences.last() {
                if last.starts_with("从各单位看") {
                    blocks.push(Block::Paragraph(clean(last)));
                }
            }
        }
        blocks.push(Block::Units(unit_table(b)));
    }

    blocks.push(Block::Blank);
    blocks.push(Block::Blank);
    blocks.push(Block::Signature(issuer));
    blocks.push(Block::Signature(date_cn(m.date)));
    Ok(Outline { title, blocks })
}

/// The name of a ledger type of the bulletin, from its section; the key when none has it.
pub(crate) fn type_name(b: &Bulletin, key: &str) -> String {
    b.sections
        .iter()
        .find(|s| s.type_key == key)
        .map_or_else(|| clean(key), |s| clean(&s.type_name))
}

fn unit_table(b: &Bulletin) -> UnitTable {
    let mut headers = vec!["排名".to_string(), "单位".to_string()];
    headers.extend(b.unit_columns.iter().map(|k| type_name(b, k)));
    headers.push("合计".to_string());
    headers.push("占比".to_string());
    let rows = b
        .units
        .iter()
        .map(|u| {
            let mut row = vec![u.rank.to_string(), clean(&u.org.name)];
            row.extend(u.counts.iter().map(|n| n.to_string()));
            row.push(u.records.to_string());
            row.push(u.share.clone().unwrap_or_else(|| "—".to_string()));
            row
        })
        .collect();
    let bars = b
        .units
        .iter()
        .map(|u| (clean(&u.org.name), u.records))
        .collect();
    UnitTable {
        headers,
        rows,
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::ordinal;

    #[test]
    fn ordinals_read_as_written() {
        let got: Vec<String> = [1, 3, 10, 11, 19, 20, 21, 99, 100]
            .iter()
            .map(|n| ordinal(*n))
            .collect();
        assert_eq!(
            got,
            [
                "一",
                "三",
                "十",
                "十一",
                "十九",
                "二十",
                "二十一",
                "九十九",
                "100"
            ]
        );
    }
}
