//! The bulletin as a document to download: `GET /api/v1/bulletin/export.{docx,pdf,xlsx}` with
//! the bulletin's query (bearer token), and `GET /bulletin/export.{docx,pdf,xlsx}` for the
//! bulletin page's links ("下载Word" "下载PDF" "导出Excel"), the same handler behind the page
//! session. The bulletin is the one the page shows, under the same scope checks; each download is
//! audited as `export` of `bulletin`, with its query, format and the number of ranked units as
//! its rows.

use super::api::{bulletin_params, ApiBulletinQuery, BulletinQuery};
use crate::exports::download_response;
use crate::shared::prelude::*;
use serde_json::json;
use taizhang_office::document::{bulletin_docx, bulletin_xlsx, Masthead, DOCX_TYPE};
use taizhang_office::export::XLSX_TYPE;
use taizhang_print::{bulletin_pdf, system_font, PDF_TYPE};

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_docx))
        .routes(routes!(api_pdf))
        .routes(routes!(api_xlsx))
}

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/bulletin/export.docx", get(page_docx))
        .route("/bulletin/export.pdf", get(page_pdf))
        .route("/bulletin/export.xlsx", get(page_xlsx))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocFormat {
    Docx,
    Pdf,
    Xlsx,
}

impl DocFormat {
    fn ext(self) -> &'static str {
        match self {
            DocFormat::Docx => "docx",
            DocFormat::Pdf => "pdf",
            DocFormat::Xlsx => "xlsx",
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            DocFormat::Docx => DOCX_TYPE,
            DocFormat::Pdf => PDF_TYPE,
            DocFormat::Xlsx => XLSX_TYPE,
        }
    }
}

/// Who issues a bulletin: the county's organisation department when the data has one — an
/// organisation of the county whose name holds "组织部" (the department itself, or its
/// 机关党支部 "县委组织部机关党支部"), named up to "组织部" — else the bulletin's own organisation.
pub async fn issuer(store: &Store, county_id: taizhang_domain::CountyId, b: &Bulletin) -> String {
    const DEPARTMENT: &str = "组织部";
    let sys = Actor::system(county_id, "masthead");
    let found = store
        .search_orgs(&sys, DEPARTMENT, 20)
        .await
        .unwrap_or_default();
    found
        .iter()
        .filter(|o| o.dissolved_on.is_none())
        .find_map(|o| {
            let end = o.name.find(DEPARTMENT)? + DEPARTMENT.len();
            Some(o.name[..end].to_string())
        })
        .unwrap_or_else(|| b.org.name.clone())
}

/// A bulletin written in a format, on a blocking thread (the PDF's layout and font subsetting
/// take a while); gives the bytes.
pub(crate) async fn render(b: Bulletin, m: Masthead, format: DocFormat) -> ApiResult<Vec<u8>> {
    let doc_err = |e: taizhang_office::document::DocumentError| WebError::Document {
        code: e.code(),
        message: e.to_string(),
    };
    tokio::task::spawn_blocking(move || match format {
        DocFormat::Docx => bulletin_docx(&b, &m).map_err(doc_err),
        DocFormat::Xlsx => bulletin_xlsx(&b).map(|x| x.bytes).map_err(doc_err),
        DocFormat::Pdf => system_font()
            .and_then(|f| bulletin_pdf(&b, &m, f))
            .map_err(|e| WebError::Document {
                code: e.code(),
                message: e.to_string(),
            }),
    })
    .await
    .map_err(|e| WebError::Render(format!("document writer: {e}")))?
}

async fn export(
    s: &AppState,
    actor: &Actor,
    q: BulletinQuery,
    format: DocFormat,
) -> ApiResult<Response> {
    let (range, grouping) = bulletin_params(&q)?;
    let org = match q.org.clone() {
        Some(o) => o,
        None => home_ref(s, actor).await?,
    };
    let b = {
        let _turn = s.reports.enter().await?;
        s.store.bulletin(actor, &org, range, grouping).await?
    };
    let m = Masthead::new(issuer(&s.store, actor.county_id, &b).await, today());
    let name = b.title.clone();
    let rows = b.units.len();
    let bytes = render(b, m, format).await?;
    s.store
        .record_export(
            actor,
            "bulletin",
            rows,
            json!({
                "format": format.ext(),
                "filters": {"org": org, "from": range.from, "to": range.to, "by": q.by},
            }),
        )
        .await?;
    Ok(download_response(
        &name,
        format.ext(),
        format.media_type(),
        bytes,
    ))
}

/// A document's bytes, as the OpenAPI document describes the answer.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // Only described in the document, never built.
pub struct DocumentFile(pub Vec<u8>);

macro_rules! document {
    ($api:ident, $page:ident, $format:expr, $path:literal, $media:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path, params(ApiBulletinQuery),
                    responses((status = 200, description = $doc, content((DocumentFile = $media))),
                        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
                        (status = 422, body = ErrorBody)))]
        async fn $api(
            State(s): State<AppState>,
            ApiUser(u): ApiUser,
            Query(q): Query<ApiBulletinQuery>,
        ) -> ApiResult<Response> {
            export(&s, &u.actor, q.into(), $format).await
        }

        async fn $page(
            State(s): State<AppState>,
            u: PageUser,
            Query(q): Query<BulletinQuery>,
        ) -> Result<Response, PageError> {
            Ok(export(&s, &u.session.actor, q, $format).await?)
        }
    };
}

document!(
    api_docx,
    page_docx,
    DocFormat::Docx,
    "/api/v1/bulletin/export.docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "The bulletin as a Word document in the layout of GB/T 9704-2012 (公文)"
);
document!(
    api_pdf,
    page_pdf,
    DocFormat::Pdf,
    "/api/v1/bulletin/export.pdf",
    "application/pdf",
    "The bulletin as a PDF in the layout of GB/T 9704-2012, its CJK font embedded"
);
document!(
    api_xlsx,
    page_xlsx,
    DocFormat::Xlsx,
    "/api/v1/bulletin/export.xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "The bulletin's figures as an .xlsx workbook (分类情况, 各单位情况)"
);
