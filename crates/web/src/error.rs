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
    /// Too many login attempts (from one address, for one account from one address, or for one
    /// account): wait this many seconds.
    RateLimited {
        retry_after_secs: u64,
    },
    /// The login is not complete: the password must be changed, or a second factor bound, first.
    StageIncomplete(taizhang_store::SessionStage),
    /// A body of a media type the call does not take.
    UnsupportedMediaType(String),
    /// A body over the call's own limit.
    TooLarge(String),
    /// A JSON body that is not an object (an array, a string, a number, `null`).
    NotAnObject,
    /// Too many heavy reports at once: the queue is full (see `shared::load`).
    Busy,
    /// An export the workbook writer refused: more rows than a sheet holds (422
    /// `export_too_large`), or a failure writing it.
    Export(taizhang_office::export::OfficeError),
    /// A document (.docx, .pdf, .xlsx of a bulletin) the writers refused: too many units (422
    /// `export_too_large`), no CJK font for the PDF (503 `pdf_font_missing`), or a failure.
    Document {
        code: &'static str,
        message: String,
    },
    /// An idempotency key that is malformed (400 `idempotency.key`), used before for another
    /// request (422 `idempotency.mismatch`), or held by a request still running or one that died
    /// (409 `idempotency.in_progress` / `idempotency.unanswered`).
    Idempotency {
        status: StatusCode,
        code: &'static str,
        message: &'static str,
    },
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
    /// Why the store refused a caller for their scope or role, if it did: such answers are
    /// audited as `refused` (see `audit::answers`).
    pub(crate) fn refusal(&self) -> Option<&'static str> {
        match self {
            WebError::Store(StoreError::NotFound) => Some("not_found"),
            WebError::Store(StoreError::Forbidden) => Some("forbidden"),
            _ => None,
        }
    }

    /// The answer, marked for the audit when it is a refusal.
    pub(crate) fn mark(&self, mut res: Response) -> Response {
        if let Some(reason) = self.refusal() {
            res.extensions_mut()
                .insert(crate::audit::answers::Refused(reason));
        }
        res
    }

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
            WebError::NotAnObject => (
                StatusCode::UNPROCESSABLE_ENTITY,
                body("bad_request", "请求内容应为JSON对象".into()),
            ),
            WebError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                body("busy", "统计报表请求较多，请稍后再试".into()),
            ),
            WebError::Export(e) => match e {
                taizhang_office::export::OfficeError::TooManyRows { .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    body(e.code(), e.to_string()),
                ),
                _ => {
                    tracing::error!(error = %e, "export failed");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        body(e.code(), "导出失败，请稍后再试".into()),
                    )
                }
            },
            WebError::Document { code, message } => match *code {
                "export_too_large" => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    body(code, message.clone()),
                ),
                "pdf_font_missing" => {
                    tracing::error!(error = %message, "no font for the PDF");
                    (StatusCode::SERVICE_UNAVAILABLE, body(code, message.clone()))
                }
                _ => {
                    tracing::error!(error = %message, "document failed");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        body(code, "导出失败，请稍后再试".into()),
                    )
                }
            },
            WebError::Idempotency {
                status,
                code,
                message,
            } => (*status, body(code, (*message).into())),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                body("csrf", "页面已过期，请刷新后重试".into()),
            ),
            WebError::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                body(
                    "rate_limited",
                    format!(
                        "登录尝试过于频繁，请{}分钟后再试",
                        retry_after_secs.div_ceil(60).max(1)
                    ),
                ),
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
    /// How long a refused caller should wait (`Retry-After`), when that is known: the login
    /// limits know it; a busy server says a short while.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            WebError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            WebError::Busy | WebError::Store(StoreError::Busy) => {
                Some(crate::shared::load::RETRY_AFTER_SECS)
            }
            _ => None,
        }
    }

    /// Adds `Retry-After` to an answer to this error, when it has one.
    pub fn with_retry_after(&self, mut res: Response) -> Response {
        if let Some(secs) = self.retry_after() {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}

impl From<crate::limiter::Limited> for WebError {
    fn from(l: crate::limiter::Limited) -> Self {
        WebError::RateLimited {
            retry_after_secs: l.retry_after.as_secs().max(1),
        }
    }
}

/// API errors are JSON.
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
        self.mark(self.with_retry_after((status, Json(body)).into_response()))
    }
}

pub type ApiResult<T> = Result<T, WebError>;
