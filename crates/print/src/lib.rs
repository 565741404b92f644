//! Bulletins as PDF: the outline the Word document follows (`taizhang_office::document`) drawn
//! on A4 pages with the margins of GB/T 9704-2012, in one CJK font embedded as a subset, the
//! units' bar chart as vector graphics, the table of units broken across pages with its header
//! repeated, and "— N —" at the foot of each page. The text stays text: a reader can search and
//! copy it.

mod font;
mod layout;
mod render;

pub use font::{system_font, Font, CANDIDATES, FONT_ENV};
pub use layout::{layout, Op, Pages, MAX_BARS};

use taizhang_domain::bulletin::Bulletin;
use taizhang_office::document::{outline, DocumentError, Masthead};

/// The media type of a PDF.
pub const PDF_TYPE: &str = "application/pdf";

/// Everything that can go wrong printing a bulletin.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PrintError {
    /// No CJK font is installed where one is looked for, and none is named.
    #[error("未找到可嵌入PDF的中文字体：请安装 fonts-noto-cjk，或用环境变量 TAIZHANG_PDF_FONT 指定字体文件")]
    FontMissing,
    /// The font file named or found cannot be used.
    #[error("字体文件 {path} 无法使用：{why}")]
    FontUnreadable { path: String, why: String },
    /// The bulletin cannot be laid out (too many units, no issuer).
    #[error("{message}")]
    Layout { code: &'static str, message: String },
    /// The PDF writer refused.
    #[error("生成PDF文件失败：{0}")]
    Pdf(String),
}

impl From<DocumentError> for PrintError {
    fn from(e: DocumentError) -> PrintError {
        PrintError::Layout {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl PrintError {
    /// A stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            PrintError::FontMissing | PrintError::FontUnreadable { .. } => "pdf_font_missing",
            PrintError::Layout { code, .. } => code,
            PrintError::Pdf(_) => "export_failed",
        }
    }
}

/// A bulletin as a PDF in the layout of GB/T 9704-2012, its text in `font` (embedded, subset).
pub fn bulletin_pdf(b: &Bulletin, m: &Masthead, font: &Font) -> Result<Vec<u8>, PrintError> {
    let o = outline(b, m)?;
    let pages = layout(&o, font);
    render::render(&pages, &o.title, font)
}

#[cfg(test)]
mod tests;
