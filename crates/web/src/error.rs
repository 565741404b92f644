//! The web layer's one error type, mapped to HTTP once: a stable code and a Chinese message in
//! JSON for the API, a readable page for the browser.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use taizhang_domain::ledger::FieldError;
use taizhang_store::StoreError;
use utoipa::ToSchema;

#[derive(Debug)]
pub enum WebError {
    Store(StoreError),
    Unauthorized,
    BadRequest(String),
    Csrf,
    Render(String),
    /// Too many login attempts from one address.
    RateLimited,
    /// The login is not complete: the password must be changed, or a second factor bound, first.
    StageIncomplete(taizhang_store::SessionStage),
    /// A body of a media type the call does not take.
    UnsupportedMediaType(String),
    /// A body over the call's own limit.
    TooLarge(String),
    /// Too many heavy reports at once: the queue is full (see `shared::load`).
    Busy,
}

/// The body of every API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable: `not_found`, `validation`, `org.cycle` …
    pub code: String,
    /// For people, in Chinese.
    pub message: String,
    /// Field by field, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<FieldError>,
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        WebError::Store(e)
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Render(e.to_string())
    }
}

impl WebError {
    pub fn status_and_body(&self) -> (StatusCode, ErrorBody) {
        let body = |code: &str, message: String| ErrorBody {
            code: code.to_string(),
            message,
            fields: Vec::new(),
        };
        match self {
            WebError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                body("unauthorized", "请先登录".into()),
            ),
            WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, body("bad_request", m.clone())),
            WebError::UnsupportedMediaType(m) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                body("unsupported_media_type", m.clone()),
            ),
            WebError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, body("too_large", m.clone())),
            WebError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                body("busy", "统计报表请求较多，请稍后再试".into()),
            ),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                body("csrf", "页面已过期，请刷新后重试".into()),
            ),
            WebError::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                body("rate_limited", "登录尝试过于频繁，请稍后再试".into()),
            ),
            WebError::StageIncomplete(stage) => match stage {
                taizhang_store::SessionStage::EnrollTotp => (
                    StatusCode::FORBIDDEN,
                    body(
                        "totp.enroll_required",
                        "管理员账号须先在网页上绑定手机验证器（双因素认证）".into(),
                    ),
                ),
                _ => (
                    StatusCode::FORBIDDEN,
                    body(
                        "password.change_required",
                        "密码已过期或为临时密码，请先在网页上修改密码".into(),
                    ),
                ),
            },
            WebError::Render(m) => {
                tracing::error!(error = %m, "template rendering failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    body("internal", "页面生成失败".into()),
                )
            }
            WebError::Store(e) => match e {
                StoreError::NotFound => (
                    StatusCode::NOT_FOUND,
                    body("not_found", "未找到，或不在您的管理范围内".into()),
                ),
                StoreError::Forbidden => (StatusCode::FORBIDDEN, body("forbidden", e.to_string())),
                StoreError::BadCredentials => (
                    StatusCode::UNAUTHORIZED,
                    body("bad_credentials", e.to_string()),
                ),
                StoreError::SessionExpired => (
                    StatusCode::UNAUTHORIZED,
                    body("unauthorized", e.to_string()),
                ),
                StoreError::SecondFactorRequired => (
                    StatusCode::UNAUTHORIZED,
                    body("totp.required", e.to_string()),
                ),
                StoreError::Locked { .. } => {
                    (StatusCode::FORBIDDEN, body("account_locked", e.to_string()))
                }
                StoreError::Conflict { code, message } => {
                    (StatusCode::CONFLICT, body(code, message.clone()))
                }
                StoreError::Busy => (StatusCode::SERVICE_UNAVAILABLE, body("busy", e.to_string())),
                StoreError::Invalid(fields) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorBody {
                        code: "validation".into(),
                        message: fields
                            .iter()
                            .map(|f| f.message.as_str())
                            .collect::<Vec<_>>()
                            .join("；"),
                        fields: fields.clone(),
                    },
                ),
                StoreError::Config(_) | StoreError::SchemaTooNew { .. } => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    body("config", e.to_string()),
                ),
                StoreError::Database(_) | StoreError::Io(_) | StoreError::Internal(_) => {
                    tracing::error!(error = %e, "internal error");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        body("internal", "服务器内部错误，请稍后再试".into()),
                    )
                }
            },
        }
    }
}

impl WebError {
    /// The seconds a client should wait before trying again, for answers that say "busy".
    pub fn retry_after(&self) -> Option<u64> {
        matches!(self, WebError::Busy | WebError::Store(StoreError::Busy))
            .then_some(crate::shared::load::RETRY_AFTER_SECS)
    }
}

/// `Retry-After` on an answer that has one.
pub(crate) fn with_retry_after(mut res: Response, retry_after: Option<u64>) -> Response {
    if let Some(secs) = retry_after {
        res.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    res
}

/// API errors are JSON.
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
        with_retry_after((status, Json(body)).into_response(), self.retry_after())
    }
}

pub type ApiResult<T> = Result<T, WebError>;
