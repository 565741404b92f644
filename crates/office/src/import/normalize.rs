//! One cell read into one domain value, or a [`CellError`] whose message says in Chinese what is
//! wrong and how to put it right; a row's errors are joined ([`join_errors`]) into the "错误"
//! column of the rejected-rows workbook. Each reader takes the cell and the column's header (the
//! name messages use) and gives `Ok(None)` for an empty cell: whether a field may be empty is
//! the row's rule.
//!
//! Full-width digits, letters and signs (０-９, Ｘ, ．, ／, －, ，) are read as their half-width
//! forms wherever a number, a date, a code or an ID is read; free text keeps its own.
//! A 身份证号 stored as a number (a numeric cell, text in scientific notation like
//! "3.70828E+17", or 18 digits whose last ones were zeroed by a float's 15-digit precision) is
//! refused with a message saying so, never "repaired".

use super::cell::{number_text, Cell};
use calamine::{ExcelDateTime, ExcelDateTimeType};
use chrono::NaiveDate;
use serde::Serialize;
use taizhang_domain::ledger::parse_scaled;
use taizhang_domain::org::{validate_name, OrgKind};
use taizhang_domain::period::{check_date, parse_written_date, PeriodError};
use taizhang_domain::{Gender, IdNumber, Money, Phone};

/// What is wrong with one cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellError {
    /// The cell's column (0 = A), when the error belongs to one.
    pub column: Option<usize>,
    pub code: String,
    pub message: String,
}

impl CellError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        CellError {
            column: None,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn at(mut self, column: usize) -> Self {
        self.column = Some(column);
        self
    }
}

/// A row's errors as the "错误" column shows them: the messages, in column order, joined by "；".
pub fn join_errors(errors: &[CellError]) -> String {
    let mut sorted: Vec<&CellError> = errors.iter().collect();
    sorted.sort_by_key(|e| e.column.unwrap_or(usize::MAX));
    sorted
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("；")
}

type Read<T> = Result<Option<T>, CellError>;

/// Full-width letters, digits and signs as half-width, the ideographic space as a space.
pub fn fold_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// A cell's text, trimmed; none when it is empty or blank.
pub fn text(cell: &Cell) -> Option<String> {
    let s = cell.display();
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The cell's text folded to half-width and trimmed, or none when blank.
fn folded(cell: &Cell) -> Option<String> {
    text(cell).map(|s| fold_width(&s).trim().to_string())
}

fn date_message(label: &str) -> String {
    format!("“{label}”应为日期，如2024-05-01、2024.5.1、2024/5/1或2024年5月1日")
}

/// The day of an Excel serial number (1900 date system): 45413 is 2024-05-01.
pub fn excel_serial_date(serial: f64) -> Option<NaiveDate> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    ExcelDateTime::new(serial.floor(), ExcelDateTimeType::DateTime, false)
        .as_datetime()
        .map(|t| t.date())
}

/// A date as any real calendar day: a date cell, an Excel serial number, or text in the forms
/// `period::parse_written_date` reads ("2024.5.1", "2024年5月1日", "2024/05/01", "20240501" …);
/// text of 1 to 5 digits is read as an Excel serial number (a date column saved to CSV
/// unformatted).
pub fn calendar_date(cell: &Cell, label: &str) -> Read<NaiveDate> {
    let bad = || CellError::new("import.bad_date", date_message(label));
    match cell {
        Cell::Empty => Ok(None),
        Cell::Date(d) => Ok(Some(*d)),
        Cell::DateTime(t) => Ok(Some(t.date())),
        Cell::Number(n) => excel_serial_date(*n).map(Some).ok_or_else(bad),
        Cell::Text(_) => {
            let Some(s) = folded(cell) else {
                return Ok(None);
            };
            if let Some(d) = parse_written_date(&s) {
                return Ok(Some(d));
            }
            if (1..=5).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
                return s
                    .parse::<f64>()
                    .ok()
                    .and_then(excel_serial_date)
                    .map(Some)
                    .ok_or_else(bad);
            }
            Err(bad())
        }
        Cell::Bool(_) | Cell::Error(_) => Err(bad()),
    }
}

/// A date the platform records: [`calendar_date`] within 1949-10-01 … 2100-12-31.
pub fn date(cell: &Cell, label: &str) -> Read<NaiveDate> {
    match calendar_date(cell, label)? {
        None => Ok(None),
        Some(d) => check_date(d).map(Some).map_err(|e: PeriodError| {
            CellError::new(
                e.code(),
                format!("“{label}”{}（{}）", e, d.format("%Y-%m-%d")),
            )
        }),
    }
}

fn stored_as_number(label: &str, shown: &str) -> CellError {
    CellError::new(
        "import.id_number_as_number",
        format!(
            "“{label}”被存成了数字（{shown}），身份证号15位以后的数字已经丢失、无法还原：请把该列设为“文本”格式，重新填写完整号码"
        ),
    )
}

/// "3.70828E+17", "3.70828198507091e17": what Excel shows of a long number.
fn is_scientific(s: &str) -> bool {
    let Some((mantissa, exponent)) = s.split_once(['e', 'E']) else {
        return false;
    };
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, "0"));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction) && digits(exponent)
}

/// A 身份证号, read through the domain's check (length, region, birth date on or before `today`,
/// check digit). Refused, with a message saying so: a number cell, scientific notation, and 18
/// digits ending in 000 whose check digit fails (a number's last digits zeroed).
pub fn id_number(cell: &Cell, label: &str, today: NaiveDate) -> Read<IdNumber> {
    let s = match cell {
        Cell::Empty => return Ok(None),
        Cell::Number(n) => return Err(stored_as_number(label, &number_text(*n))),
        Cell::Text(_) => match folded(cell) {
            None => return Ok(None),
            Some(s) => s,
        },
        Cell::Bool(_) | Cell::Date(_) | Cell::DateTime(_) | Cell::Error(_) => {
            return Err(CellError::new(
                "id_number.length",
                format!("“{label}”应为18位身份证号"),
            ))
        }
    };
    // A leading apostrophe is how a sheet is told to keep digits as text; spaces split groups.
    let s: String = s
        .trim_start_matches('\'')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if is_scientific(&s) {
        return Err(stored_as_number(label, &s));
    }
    match IdNumber::parse(&s, today) {
        Ok(id) => Ok(Some(id)),
        Err(taizhang_domain::id_number::IdNumberError::CheckDigit) if s.ends_with("000") => {
            Err(CellError::new(
                "import.id_number_digits_lost",
                format!(
                    "“{label}”末三位是000且校验位不对，像是被存成数字后丢失了末几位：请核对原号码，把该列设为“文本”格式后重新填写"
                ),
            ))
        }
        Err(e) => Err(CellError::new(e.code(), format!("“{label}”有误：{e}"))),
    }
}

/// A phone number, read through `domain::phone`: a mobile given as a number cell, with a +86
/// prefix, or split by spaces or hyphens (138-0537-5678) is read as its 11 digits.
pub fn phone(cell: &Cell, label: &str) -> Read<Phone> {
    let s = match cell {
        Cell::Empty => return Ok(None),
        Cell::Number(n) if n.fract() == 0.0 && *n >= 0.0 => number_text(*n),
        Cell::Text(_) => match folded(cell) {
            None => return Ok(None),
            Some(s) => s,
        },
        _ => String::new(),
    };
    let s = s
        .strip_prefix("+86")
        .or_else(|| s.strip_prefix("0086"))
        .unwrap_or(&s)
        .trim();
    let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let candidate = if digits.len() == 11 && digits.starts_with('1') {
        digits
    } else {
        s.to_string()
    };
    Phone::parse(&candidate)
        .map(Some)
        .map_err(|e| CellError::new(e.code(), format!("“{label}”有误：{e}")))
}

/// Digits with "," between thousands ("1,234,567") without the commas; others unchanged.
fn without_thousands(s: &str) -> Option<String> {
    if !s.contains(',') {
        return Some(s.to_string());
    }
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s),
    };
    let (whole, fraction) = match rest.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (rest, None),
    };
    let groups: Vec<&str> = whole.split(',').collect();
    let well_grouped = (1..=3).contains(&groups[0].len())
        && groups[1..].iter().all(|g| g.len() == 3)
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
    if !well_grouped {
        return None;
    }
    let mut out = format!("{sign}{}", groups.concat());
    if let Some(f) = fraction {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

/// A number cell's value scaled by 10^scale, when it has at most `scale` decimals (up to the
/// float's own error).
fn scaled_number(n: f64, scale: u32) -> Option<i64> {
    let scaled = n * 10f64.powi(scale as i32);
    let rounded = scaled.round();
    let exact = (scaled - rounded).abs() <= 1e-6 * rounded.abs().max(1.0);
    (exact && rounded.abs() < 9.0e15).then_some(rounded as i64)
}

/// A number with at most `scale` decimals, scaled (12.5 at scale 2 is 1250): a number cell or
/// text, with full-width digits and thousands separators read.
pub fn decimal(cell: &Cell, label: &str, scale: u32) -> Read<i64> {
    let bad = || {
        let what = if scale == 0 {
            "整数".to_string()
        } else {
            format!("数字，最多{scale}位小数")
        };
        CellError::new(
            if scale == 0 {
                "field.not_integer"
            } else {
                "field.not_decimal"
            },
            format!("“{label}”应为{what}"),
        )
    };
    match cell {
        Cell::Empty => Ok(None),
        Cell::Number(n) => scaled_number(*n, scale).map(Some).ok_or_else(bad),
        Cell::Text(_) => {
            let Some(s) = folded(cell) else {
                return Ok(None);
            };
            without_thousands(&s)
                .and_then(|s| parse_scaled(&s, scale))
                .map(Some)
                .ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

/// A whole number ([`decimal`] at scale 0).
pub fn integer(cell: &Cell, label: &str) -> Read<i64> {
    decimal(cell, label, 0)
}

/// An amount in 元 into whole 分: a number cell, or text such as "1,234.50", "1234.5元",
/// "￥1,234.50"; more than two decimals, 万元 and other units are refused.
pub fn money(cell: &Cell, label: &str) -> Read<Money> {
    let bad = |code: &str| {
        CellError::new(
            code,
            format!("“{label}”应为以元为单位的金额，最多两位小数，如1234.50或1,234.50元"),
        )
    };
    let text = match cell {
        Cell::Empty => return Ok(None),
        Cell::Number(n) => {
            return scaled_number(*n, 2)
                .map(|fen| Some(Money::from_fen(fen)))
                .ok_or_else(|| bad("money.too_many_decimals"))
        }
        Cell::Text(_) => match folded(cell) {
            None => return Ok(None),
            Some(s) => s,
        },
        _ => return Err(bad("money.bad_format")),
    };
    if text.contains('万') {
        return Err(CellError::new(
            "money.bad_format",
            format!("“{label}”请以元为单位填写，不用“万”：如5300万元应写作53000000"),
        ));
    }
    let s = text.trim_start_matches(['¥', '￥']);
    let s = s.strip_prefix("RMB").unwrap_or(s);
    let s = s.strip_suffix('元').unwrap_or(s).trim();
    let s = without_thousands(s).ok_or_else(|| bad("money.bad_format"))?;
    Money::parse_yuan(&s).map(Some).map_err(|e| bad(e.code()))
}

/// An option compared as people type it: half-width, without spaces.
fn option_key(s: &str) -> String {
    fold_width(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// One of `options`, matched by its label (spaces and full-width forms aside).
pub fn choice(cell: &Cell, label: &str, options: &[String]) -> Read<String> {
    let Some(s) = text(cell) else {
        return Ok(None);
    };
    match_option(&s, label, options).map(Some)
}

fn match_option(s: &str, label: &str, options: &[String]) -> Result<String, CellError> {
    if let Some(o) = options.iter().find(|o| o.trim() == s) {
        return Ok(o.clone());
    }
    let key = option_key(s);
    options
        .iter()
        .find(|o| option_key(o) == key)
        .cloned()
        .ok_or_else(|| {
            CellError::new(
                "field.not_choice",
                format!(
                    "“{label}”的“{s}”不是可选项，应为以下之一：{}",
                    options.join("、")
                ),
            )
        })
}

/// Several of `options`, separated by "、", ",", "，", ";", "；" or line breaks; each once.
pub fn multi_choice(cell: &Cell, label: &str, options: &[String]) -> Read<Vec<String>> {
    let Some(s) = text(cell) else {
        return Ok(None);
    };
    let mut chosen: Vec<String> = Vec::new();
    for part in s.split(['、', ',', '，', ';', '；', '\n']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let o = match_option(part, label, options)?;
        if !chosen.contains(&o) {
            chosen.push(o);
        }
    }
    Ok((!chosen.is_empty()).then_some(chosen))
}

/// 男 or 女 (男性, 女性 too).
pub fn gender(cell: &Cell, label: &str) -> Read<Gender> {
    let Some(s) = text(cell) else {
        return Ok(None);
    };
    match s.as_str() {
        "男" | "男性" => Ok(Some(Gender::Male)),
        "女" | "女性" => Ok(Some(Gender::Female)),
        _ => Err(CellError::new(
            "person.bad_gender",
            format!("“{label}”应为“男”或“女”"),
        )),
    }
}

/// 是 or 否 (Y/N, √/×, true/false, 1/0 too).
pub fn yes_no(cell: &Cell, label: &str) -> Read<bool> {
    let Some(s) = text(cell) else {
        return Ok(None);
    };
    match fold_width(&s).to_lowercase().as_str() {
        "是" | "y" | "yes" | "√" | "true" | "1" => Ok(Some(true)),
        "否" | "n" | "no" | "×" | "false" | "0" => Ok(Some(false)),
        _ => Err(CellError::new(
            "import.bad_yes_no",
            format!("“{label}”应为“是”或“否”"),
        )),
    }
}

/// An organisation path, "金乡县/鸡黍镇/西李村": its names from the top, split at "/", "／",
/// ">" or "＞", each a valid organisation name.
pub fn org_path(cell: &Cell, label: &str) -> Read<Vec<String>> {
    let Some(s) = text(cell) else {
        return Ok(None);
    };
    let mut names = Vec::new();
    for part in s.split(['/', '／', '>', '＞']) {
        let part = part.trim();
        if part.is_empty() {
            return Err(CellError::new(
                "import.bad_path",
                format!("“{label}”的路径“{s}”中有空的一级，应写作“金乡县/鸡黍镇/西李村”"),
            ));
        }
        let name = validate_name(part, "import.bad_path").map_err(|e| {
            CellError::new(&e.code, format!("“{label}”中的“{part}”：{}", e.message))
        })?;
        names.push(name);
    }
    Ok(Some(names))
}

/// Words counties use for kinds of organisation, beside the platform's own labels and keys.
const ORG_KIND_WORDS: &[(&str, OrgKind)] = &[
    ("县委", OrgKind::County),
    ("县委组织部", OrgKind::County),
    ("镇党委", OrgKind::Township),
    ("乡党委", OrgKind::Township),
    ("街道党工委", OrgKind::Township),
    ("镇街党委", OrgKind::Township),
    ("村党支部", OrgKind::Village),
    ("村党总支", OrgKind::Village),
    ("村党委", OrgKind::Village),
    ("社区党支部", OrgKind::Community),
    ("社区党总支", OrgKind::Community),
    ("社区党委", OrgKind::Community),
    ("机关党委", OrgKind::SystemCommittee),
    ("企业党支部", OrgKind::Enterprise),
    ("非公企业党组织", OrgKind::Enterprise),
];

/// A kind of organisation by its label (村党组织, 机关党支部 …), its key, or a word counties use
/// for it (村党支部, 街道党工委 …).
pub fn org_kind(cell: &Cell, label: &str) -> Read<OrgKind> {
    let Some(s) = text(cell) else {
        return Ok(None);
    };
    let key = option_key(&s);
    let found = OrgKind::ALL
        .iter()
        .copied()
        .find(|k| option_key(k.label_cn()) == key || k.key() == key)
        .or_else(|| {
            ORG_KIND_WORDS
                .iter()
                .find(|(w, _)| *w == key)
                .map(|(_, k)| *k)
        });
    found.map(Some).ok_or_else(|| {
        let labels: Vec<&str> = OrgKind::ALL.iter().map(|k| k.label_cn()).collect();
        CellError::new(
            "import.bad_org_kind",
            format!(
                "“{label}”的“{s}”不是组织类别，应为以下之一：{}",
                labels.join("、")
            ),
        )
    })
}
