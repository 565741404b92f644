//! Who is calling: a bearer token for the API, a session cookie for pages.

use crate::error::WebError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use taizhang_store::{Session, SessionStage};

pub const COOKIE: &str = "taizhang_session";
/// Over HTTPS the cookie carries the `__Host-` prefix: the browser then insists on Secure, no
/// Domain and Path=/, so no sibling host can plant or read it.
pub const HOST_COOKIE: &str = "__Host-taizhang_session";

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

pub fn cookie_token(parts: &Parts) -> Option<String> {
    cookie_token_in(&parts.headers)
}

pub(crate) fn cookie_token_in(headers: &axum::http::HeaderMap) -> Option<String> {
    for v in headers.get_all(header::COOKIE) {
        // One unreadable Cookie header must not hide the others.
        let Ok(text) = v.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=') {
                if (k == COOKIE || k == HOST_COOKIE) && !val.is_empty() {
                    return Some(val.to_string());
                }
            }
        }
    }
    None
}

/// Tells the answer who is calling, so that a refusal names them in the audit log.
fn note_caller(parts: &Parts, s: &Session) {
    if let Some(c) = parts.extensions.get::<crate::audit::answers::Caller>() {
        c.set(&s.actor);
    }
}

/// An authenticated API caller (`Authorization: Bearer …`).
pub struct ApiUser(pub Session);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let token = bearer(parts).ok_or(WebError::Unauthorized)?;
        let s = state.store.session(token).await.map_err(|e| match e {
            taizhang_store::StoreError::SessionExpired => WebError::Unauthorized,
            other => WebError::Store(other),
        })?;
        // API logins only ever open full sessions; a page session still changing its password
        // or binding a second factor does not reach the API either.
        if s.stage != SessionStage::Full {
            return Err(WebError::StageIncomplete(s.stage));
        }
        note_caller(parts, &s);
        Ok(ApiUser(s))
    }
}

/// A logged-in browser user; anyone else is sent to the login page.
pub struct PageUser {
    pub session: Session,
    pub token: String,
    /// What the action before this page did (`?done=`), to say at its top.
    pub(crate) done: Option<crate::shared::page::Done>,
}

/// The session's CSRF token, left in the request's extensions by the page user extractors so that
/// [`crate::shared::forms::CsrfForm`] need not look the session up again.
#[derive(Clone)]
pub(crate) struct SessionCsrf(pub String);

pub struct ToLogin;

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        Redirect::to("/login").into_response()
    }
}

/// Where a session that is not yet a full one must go first.
pub fn stage_page(stage: SessionStage) -> &'static str {
    match stage {
        SessionStage::Full => "/",
        SessionStage::ChangePassword => "/account/password",
        SessionStage::EnrollTotp => "/account/totp",
    }
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let user = AccountUser::from_request_parts(parts, state).await?.0;
        if user.session.stage != SessionStage::Full {
            return Err(Redirect::to(stage_page(user.session.stage)).into_response());
        }
        Ok(user)
    }
}

/// A logged-in browser user at any stage of the login: for the pages that change the password
/// or bind the second factor, and for logging out.
pub struct AccountUser(pub PageUser);

impl FromRequestParts<AppState> for AccountUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let token = cookie_token(parts).ok_or_else(|| ToLogin.into_response())?;
        match state.store.session(&token).await {
            Ok(session) => {
                note_caller(parts, &session);
                parts
                    .extensions
                    .insert(SessionCsrf(session.csrf_token.clone()));
                let done = crate::shared::page::Done::from_query(parts.uri.query());
                Ok(AccountUser(PageUser {
                    session,
                    token,
                    done,
                }))
            }
            Err(taizhang_store::StoreError::SessionExpired) => Err(ToLogin.into_response()),
            // A busy store is a short wait (503 with Retry-After), not a server fault.
            Err(taizhang_store::StoreError::Busy) => {
                let e = crate::error::WebError::Busy;
                Err(e.with_retry_after(
                    (StatusCode::SERVICE_UNAVAILABLE, "服务器繁忙，请稍后再试").into_response(),
                ))
            }
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                Err((StatusCode::INTERNAL_SERVER_ERROR, "服务器内部错误").into_response())
            }
        }
    }
}

pub fn session_cookie(token: &str, https: bool) -> String {
    if https {
        format!("{HOST_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=43200")
    } else {
        format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=43200")
    }
}

pub fn clear_cookie(https: bool) -> String {
    if https {
        format!("{HOST_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")
    } else {
        format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    }
}

/// A form posted from another site (the login form, before any session exists, has no CSRF
/// token) is refused: its Origin, when the browser sends one, must be this host.
pub fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    !host.is_empty() && origin_host == host
}
