//! Exports of the lists as .xlsx workbooks: organisations, people, positions, cross-links,
//! the records of a ledger type, the overdue list and the audit log.
//!
//! One style for every list: `GET /api/v1/<list>/export.xlsx` with the list's own filters (in
//! the OpenAPI document), and `GET /<list>/export.xlsx` for the pages' "导出Excel" links (the
//! same handler behind the page session). The store's scope and role checks are the list's,
//! so a refused export is answered and audited (`refused`) as a refused list is. Rows come from
//! the store a page at a time ([`PAGE_ROWS`], by keyset, never one `Vec` of a whole table) and go
//! to `taizhang_office::export`'s constant-memory writer on a blocking thread; past Excel's
//! 1,048,575 rows the export is refused with `export_too_large`. Each export is audited as
//! `export`, naming the list, its filters and its row count.

mod api;
mod lists;
mod records;

pub(crate) use api::{api_routes, page_routes};

use crate::error::{ApiResult, WebError};
use crate::shared::forms::url_encode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use taizhang_office::export::{Cell, Exported, OfficeError, Sheet, SheetWriter, XLSX_TYPE};
use tokio::sync::mpsc;

/// Rows asked of the store at a time.
pub(crate) const PAGE_ROWS: i64 = 2_000;

/// A sheet being written on a blocking thread, fed a page of rows at a time.
pub(crate) struct Feed {
    tx: mpsc::Sender<Vec<Vec<Cell>>>,
    writer: tokio::task::JoinHandle<Result<Exported, OfficeError>>,
}

impl Feed {
    pub(crate) fn start(sheet: Sheet) -> ApiResult<Feed> {
        let mut w = SheetWriter::new(sheet).map_err(WebError::Export)?;
        // Two pages in flight: the store reads the next while the writer writes this one.
        let (tx, mut rx) = mpsc::channel::<Vec<Vec<Cell>>>(2);
        let writer = tokio::task::spawn_blocking(move || {
            while let Some(page) = rx.blocking_recv() {
                for row in page {
                    w.push(&row)?;
                }
            }
            w.finish()
        });
        Ok(Feed { tx, writer })
    }

    /// Hands a page to the writer; `false` once the writer has stopped (its error comes from
    /// [`Feed::finish`]).
    pub(crate) async fn send(&self, rows: Vec<Vec<Cell>>) -> bool {
        self.tx.send(rows).await.is_ok()
    }

    pub(crate) async fn finish(self) -> ApiResult<Exported> {
        drop(self.tx);
        self.writer
            .await
            .map_err(|e| WebError::Render(format!("export writer: {e}")))?
            .map_err(WebError::Export)
    }
}

/// The workbook as a download named `name` (the list's Chinese name and the day).
pub(crate) fn xlsx_response(name: &str, bytes: Vec<u8>) -> Response {
    download_response(name, "xlsx", XLSX_TYPE, bytes)
}

/// A file to download named `name_YYYYMMDD.ext`: the Chinese name in RFC 5987's `filename*`,
/// an ASCII `filename` beside it for old clients.
pub(crate) fn download_response(
    name: &str,
    ext: &str,
    media_type: &str,
    bytes: Vec<u8>,
) -> Response {
    let file = format!("{name}_{}.{ext}", taizhang_store::today().format("%Y%m%d"));
    let disposition = format!(
        "attachment; filename=\"export.{ext}\"; filename*=UTF-8''{}",
        url_encode(&file)
    );
    (
        [
            (header::CONTENT_TYPE, media_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

/// Refuses up front a list known to hold more rows than a sheet does.
pub(crate) fn check_bound(total: i64) -> ApiResult<()> {
    let limit = taizhang_office::export::MAX_ROWS;
    if usize::try_from(total).unwrap_or(usize::MAX) > limit {
        return Err(WebError::Export(OfficeError::TooManyRows { limit }));
    }
    Ok(())
}
