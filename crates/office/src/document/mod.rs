//! Bulletins (统计通报) as official documents (公文): a Word document in the layout of
//! GB/T 9704-2012 and a workbook of its figures. The layout is decided once, in [`outline`]: the
//! title, the headings of the first two levels, the body paragraphs, the ranked units as a table
//! and the 发文机关 署名 with the date. [`bulletin_docx`] writes that outline as WordprocessingML;
//! the PDF writer (crate `taizhang-print`) draws the same outline.
//!
//! Nothing here reads a clock: the date on the document comes in with the [`Masthead`].

mod docx;
mod outline;
mod sample;
mod xlsx;

pub use docx::{bulletin_docx, DOCX_TYPE};
pub use outline::{outline, Block, Outline, UnitTable};
pub use sample::sample_bulletin;
pub use xlsx::bulletin_xlsx;

use chrono::{Datelike, NaiveDate};

/// The most ranked units a document lists; a bulletin of more is refused, not cut.
pub const MAX_UNITS: usize = 10_000;

/// The most characters of one text (a title, a sentence, a name) a document takes.
pub const MAX_TEXT: usize = 2_000;

/// Who issues the document (发文机关) and when (成文日期), both given by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masthead {
    pub issuer: String,
    pub date: NaiveDate,
}

impl Masthead {
    pub fn new(issuer: impl Into<String>, date: NaiveDate) -> Masthead {
        Masthead {
            issuer: issuer.into(),
            date,
        }
    }
}

/// Everything that can go wrong writing a document.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// More ranked units than a document lists.
    #[error("通报的单位数超过了文档上限（{limit}个），请缩小范围后再导出")]
    TooManyUnits { limit: usize },
    /// The 发文机关 is empty.
    #[error("发文机关不能为空")]
    NoIssuer,
    /// Packing the document failed.
    #[error("生成Word文件失败：{0}")]
    Pack(String),
    /// The workbook writer refused.
    #[error(transparent)]
    Sheet(#[from] crate::export::OfficeError),
}

impl DocumentError {
    /// A stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            DocumentError::TooManyUnits { .. } => "export_too_large",
            DocumentError::NoIssuer => "export_shape",
            DocumentError::Pack(_) => "export_failed",
            DocumentError::Sheet(e) => e.code(),
        }
    }
}

/// A date as the 2012 standard writes 成文日期: Arabic numerals, no leading zeros
/// ("2026年12月1日").
pub fn date_cn(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// `text` cut to [`MAX_TEXT`] characters, control characters (other than none) dropped: what
/// XML and a PDF content stream both take.
pub fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT)
        .collect()
}

#[cfg(test)]
mod tests;
