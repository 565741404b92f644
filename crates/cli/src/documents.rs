//! `taizhang report --format docx|pdf|xlsx --out FILE`: the bulletin written as a document.
//! The issuer (发文机关) is named as the web layer names it; the date is today.

use anyhow::{bail, Context, Result};
use std::path::Path;
use taizhang_domain::bulletin::Bulletin;
use taizhang_domain::CountyId;
use taizhang_office::document::{bulletin_docx, bulletin_xlsx, Masthead};
use taizhang_store::Store;

/// The binary formats of `report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentFormat {
    Docx,
    Pdf,
    Xlsx,
}

/// Writes `b` as `format` to `out`; refuses without `--out` (a document is not for a terminal).
pub async fn write_document(
    store: &Store,
    county_id: CountyId,
    b: Bulletin,
    format: DocumentFormat,
    out: Option<&Path>,
) -> Result<()> {
    let Some(out) = out else {
        bail!("Word、PDF和Excel格式须用 --out 指定输出文件");
    };
    let issuer = taizhang_web::bulletin_issuer(store, county_id, &b).await;
    let m = Masthead::new(issuer, taizhang_store::today());
    let bytes = match format {
        DocumentFormat::Docx => bulletin_docx(&b, &m)?,
        DocumentFormat::Xlsx => bulletin_xlsx(&b)?.bytes,
        DocumentFormat::Pdf => {
            let font = taizhang_print::system_font()?;
            taizhang_print::bulletin_pdf(&b, &m, font)?
        }
    };
    std::fs::write(out, &bytes).with_context(|| format!("无法写入 {}", out.display()))?;
    println!("已写入 {}（{}字节）", out.display(), bytes.len());
    Ok(())
}
