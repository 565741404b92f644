//! The JSON API of imports: upload a sheet (the file as the body), follow the import, download
//! its rejected rows.

use crate::exports::xlsx_response;
use crate::shared::prelude::*;
use axum::extract::DefaultBodyLimit;
use taizhang_domain::import::{ImportMode, MAX_IMPORT_BYTES};
use taizhang_store::imports::{Import, NewImport};

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    let upload = OpenApiRouter::new()
        .routes(routes!(upload_import))
        .layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES));
    OpenApiRouter::new()
        .merge(upload)
        .routes(routes!(get_import))
        .routes(routes!(rejected_rows))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadQuery {
    /// What the rows are: `orgs` (organisations), `people` (Party members) or `ledger`
    /// (records of `ledger_type`; the default).
    #[param(max_length = 16)]
    target: Option<String>,
    /// The ledger type the rows are records of (for `target=ledger`).
    #[param(max_length = 64)]
    ledger_type: Option<String>,
    /// `all` (the default: one bad row and nothing is written) or `valid` (write the valid rows).
    mode: Option<ImportMode>,
    /// The name of a column mapping the county saved for this target.
    #[param(max_length = 40)]
    mapping: Option<String>,
    /// The file's name (up to 200 characters).
    #[param(max_length = 200)]
    name: String,
}

/// A sheet's bytes: .xlsx or .csv (UTF-8 or GB18030), told apart by their content.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // Only described in the document, never built.
pub struct SheetBytes(pub Vec<u8>);

#[utoipa::path(post, path = "/api/v1/imports", params(UploadQuery),
    request_body(description = "The sheet", content((SheetBytes = "application/octet-stream"))),
    responses((status = 202, body = Import), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn upload_import(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Import>)> {
    let target = super::target_of(q.target.as_deref(), q.ledger_type.as_deref())?;
    let mapping = super::saved_mapping(&s.store, &u.actor, &target, q.mapping.as_deref()).await?;
    let new = NewImport {
        target,
        mode: q.mode.unwrap_or(ImportMode::All),
        file_name: q.name,
        bytes: body.to_vec(),
        mapping,
        enqueue: true,
    };
    let created = s
        .store
        .create_import(&u.actor, &new, chrono::Utc::now())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/imports/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = Import), (status = 404, body = ErrorBody)))]
async fn get_import(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Import>> {
    Ok(Json(s.store.import(&u.actor, id).await?))
}

#[utoipa::path(get, path = "/api/v1/imports/{id}/rejected.xlsx", params(("id" = i64, Path)),
    responses((status = 200, description = "The rejected rows with an added 错误 column",
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 404, body = ErrorBody)))]
async fn rejected_rows(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let import = s.store.import(&u.actor, id).await?;
    let bytes = s.store.import_rejected_file(&u.actor, id).await?;
    Ok(xlsx_response(
        &super::rejected_name(&import.file_name),
        bytes,
    ))
}
