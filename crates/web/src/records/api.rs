//! The JSON API of ledger records and their attachments.

use crate::shared::load::FILE_BODY_LIMIT;
use crate::shared::prelude::*;
use axum::extract::DefaultBodyLimit;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    // Only the upload takes a body larger than the router's limit.
    let upload = OpenApiRouter::new()
        .routes(routes!(upload_attachment))
        .layer(DefaultBodyLimit::max(FILE_BODY_LIMIT));
    OpenApiRouter::new()
        .routes(routes!(list_records, create_record))
        .routes(routes!(get_record, edit_record))
        .routes(routes!(record_history))
        .routes(routes!(void_record))
        .merge(upload)
        .routes(routes!(download_attachment))
}

#[utoipa::path(get, path = "/api/v1/records", params(RecordQuery), responses((status = 200, body = RecordPage), (status = 404, body = ErrorBody)))]
async fn list_records(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<RecordQuery>,
) -> ApiResult<Json<RecordPage>> {
    Ok(Json(s.store.records(&u.actor, &q).await?))
}

#[utoipa::path(post, path = "/api/v1/records", request_body = NewRecord,
    responses((status = 201, body = Record), (status = 422, body = ErrorBody)))]
async fn create_record(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Json(req): Json<NewRecord>,
) -> ApiResult<(StatusCode, Json<Record>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_record(&u.actor, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/records/{id}", params(("id" = i64, Path)), responses((status = 200, body = Record), (status = 404, body = ErrorBody)))]
async fn get_record(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<RecordId>,
) -> ApiResult<Json<Record>> {
    Ok(Json(s.store.record(&u.actor, id).await?))
}

/// A correction: the whole record as it should be, the `version` it was made from and why. An
/// edit of a version that is no longer current answers 409 `record.stale`.
#[utoipa::path(put, path = "/api/v1/records/{id}", params(("id" = i64, Path)), request_body = RecordEdit,
    responses((status = 200, body = Record), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn edit_record(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<RecordId>,
    Json(req): Json<RecordEdit>,
) -> ApiResult<Json<Record>> {
    Ok(Json(s.store.edit_record(&u.actor, id, req).await?))
}

#[utoipa::path(get, path = "/api/v1/records/{id}/history", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<RecordVersion>), (status = 404, body = ErrorBody)))]
async fn record_history(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<RecordId>,
) -> ApiResult<Json<Vec<RecordVersion>>> {
    Ok(Json(s.store.record_history(&u.actor, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VoidRequest {
    /// 1–200 characters.
    #[schema(max_length = 200)]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/records/{id}/void", params(("id" = i64, Path)), request_body = VoidRequest,
    responses((status = 200, body = Record), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn void_record(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<RecordId>,
    Json(req): Json<VoidRequest>,
) -> ApiResult<Json<Record>> {
    Ok(Json(s.store.void_record(&u.actor, id, &req.reason).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadQuery {
    /// The file's name, shown when it is downloaded (up to 200 characters).
    #[param(max_length = 200)]
    name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentCreated {
    /// Use this id in a record's attachment field.
    pub id: String,
}

/// An attachment's bytes, sent and answered with its own media type.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // Only described in the document, never built.
pub struct FileBytes(pub Vec<u8>);

pub const ALLOWED_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp", "application/pdf"];
pub const MAX_ATTACHMENT: usize = 10 * 1024 * 1024;

/// Checks an upload's declared type against its first bytes.
pub fn sniff_ok(content_type: &str, bytes: &[u8]) -> bool {
    match content_type {
        "image/jpeg" => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/webp" => bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        "application/pdf" => bytes.starts_with(b"%PDF-"),
        _ => false,
    }
}

#[utoipa::path(post, path = "/api/v1/attachments", params(UploadQuery), request_body(description = "The file, sent with its own type", content(
        (FileBytes = "image/jpeg"), (FileBytes = "image/png"), (FileBytes = "image/webp"), (FileBytes = "application/pdf"))),
    responses((status = 201, body = AttachmentCreated), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload_attachment(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<AttachmentCreated>)> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if !ALLOWED_TYPES.contains(&ctype.as_str()) {
        return Err(WebError::UnsupportedMediaType(
            "附件只能是JPEG、PNG、WebP图片或PDF文件".into(),
        ));
    }
    if body.len() > MAX_ATTACHMENT {
        return Err(WebError::TooLarge("附件不能超过10MB".into()));
    }
    if body.is_empty() || !sniff_ok(&ctype, &body) {
        return Err(WebError::Store(StoreError::invalid(
            "file",
            "attachment.content",
            "附件内容与其类型不符：只能是JPEG、PNG、WebP图片或PDF文件，且不能为空",
        )));
    }
    let id = s
        .store
        .save_attachment(&u.actor, &q.name, &ctype, &body)
        .await?;
    Ok((StatusCode::CREATED, Json(AttachmentCreated { id })))
}

#[utoipa::path(get, path = "/api/v1/attachments/{id}", params(("id" = String, Path)),
    responses((status = 200, description = "The file, with the type it was uploaded as", content(
        (FileBytes = "image/jpeg"), (FileBytes = "image/png"), (FileBytes = "image/webp"), (FileBytes = "application/pdf"))),
        (status = 404, body = ErrorBody)))]
async fn download_attachment(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    attachment_response(&s, &u.actor, &id).await
}

pub(crate) async fn attachment_response(
    s: &AppState,
    actor: &Actor,
    id: &str,
) -> ApiResult<impl IntoResponse> {
    let (name, ctype, bytes) = s.store.attachment(actor, id).await?;
    let disposition = format!("inline; filename*=UTF-8''{}", url_encode(&name));
    Ok((
        [
            (header::CONTENT_TYPE, ctype),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    ))
}
