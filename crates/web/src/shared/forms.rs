//! Reading forms: the CSRF-checked extractors every state-changing page handler takes, and the
//! small parsers of typed-in values.

use crate::error::WebError;
use crate::shared::load::MAX_FORM_PARTS;
use crate::shared::page::PageError;
use crate::shared::session::{AccountUser, SessionCsrf};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::NaiveDate;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use taizhang_store::StoreError;

#[derive(Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

/// The session's CSRF token: left in the request by the user extractor that ran before, or looked
/// up from the cookie when none did.
async fn session_csrf(parts: &mut Parts, state: &AppState) -> Result<String, Response> {
    if let Some(SessionCsrf(token)) = parts.extensions.get::<SessionCsrf>() {
        return Ok(token.clone());
    }
    let AccountUser(user) = AccountUser::from_request_parts(parts, state).await?;
    Ok(user.session.csrf_token)
}

fn check(expected: &str, given: Option<&str>) -> Result<(), PageError> {
    if given == Some(expected) {
        Ok(())
    } else {
        Err(PageError(WebError::Csrf))
    }
}

/// A urlencoded form whose `_csrf` field must be the session's token; a form without it, or with
/// another, is refused with the "page expired" error page before the handler runs.
pub(crate) struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let expected = session_csrf(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        // Read once, parsed twice: the form's own fields, then the token beside them.
        let again = |parts: Parts| Request::from_parts(parts, Body::from(bytes.clone()));
        let Form(value) = Form::<T>::from_request(again(parts.clone()), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Form(field) = Form::<CsrfField>::from_request(again(parts), state)
            .await
            .map_err(IntoResponse::into_response)?;
        check(&expected, field.csrf.as_deref()).map_err(IntoResponse::into_response)?;
        Ok(CsrfForm(value))
    }
}

/// One part of a multipart form, read whole.
pub(crate) struct FormPart {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: String,
    pub bytes: Bytes,
    /// The request passed its size limit while this part was read: `bytes` holds nothing, the
    /// parts after it were never sent, and the form is shown again with what came before.
    pub cut_off: bool,
}

/// A multipart form read whole, whose `_csrf` part must be the session's token. The `_csrf`
/// part itself is not handed on.
pub(crate) struct CsrfMultipart(pub Vec<FormPart>);

impl FromRequest<AppState> for CsrfMultipart {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let expected = session_csrf(&mut parts, state).await?;
        let mut multipart = Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let unreadable = |e: axum::extract::multipart::MultipartError| {
            tracing::debug!(error = %e, "unreadable multipart form");
            let message = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                format!(
                    "提交的内容超过{}MB，请减少或压缩附件后重新提交",
                    crate::shared::load::FILE_BODY_LIMIT / (1024 * 1024)
                )
            } else {
                "表单读取失败：提交的内容不完整，请重新提交".to_string()
            };
            PageError(WebError::BadRequest(message)).into_response()
        };
        let mut token = None;
        let mut read = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
            // Refused while it is read: a form of thousands of parts is no cadre's.
            if read.len() >= MAX_FORM_PARTS {
                let e = WebError::TooLarge(format!("表单项过多（最多{MAX_FORM_PARTS}项）"));
                return Err(PageError(e).into_response());
            }
            let name = field.name().unwrap_or("").to_string();
            let file_name = field.file_name().map(String::from);
            let content_type = field.content_type().unwrap_or("").to_string();
            let bytes = match field.bytes().await {
                Ok(bytes) => bytes,
                // A photo too large for the request, after the token: the form comes back with
                // everything typed before it and a message beside the photo's field.
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE && token.is_some() => {
                    read.push(FormPart {
                        name,
                        file_name,
                        content_type,
                        bytes: Bytes::new(),
                        cut_off: true,
                    });
                    break;
                }
                Err(e) => return Err(unreadable(e)),
            };
            if name == "_csrf" {
                token = Some(String::from_utf8_lossy(&bytes).to_string());
            } else {
                read.push(FormPart {
                    name,
                    file_name,
                    content_type,
                    bytes,
                    cut_off: false,
                });
            }
        }
        check(&expected, token.as_deref()).map_err(IntoResponse::into_response)?;
        Ok(CsrfMultipart(read))
    }
}

/// An emptied date box means "not given"; a date must lie in the platform's window.
pub(crate) fn parse_opt_date(s: &str, field: &str) -> Result<Option<NaiveDate>, StoreError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| StoreError::invalid(field, "date.invalid", "日期格式应为 YYYY-MM-DD"))?;
    Ok(Some(taizhang_domain::check_date_field(field, d)?))
}

pub(crate) fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Everything but RFC 3986's unreserved characters is escaped.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a value for a query string or a `filename*=UTF-8''…` header.
pub(crate) fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

/// The body of a form that carries nothing but its CSRF token.
#[derive(Deserialize)]
pub(crate) struct NoFields {}

/// A form with one date box, `on` (empty for today).
#[derive(Deserialize)]
pub(crate) struct DateForm {
    #[serde(default)]
    pub(crate) on: String,
}
