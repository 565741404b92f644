//! Error pages: what went wrong, in Chinese, inside the usual frame — the signed-in user's
//! navigation and a way back that works without script (the page of this site the user came
//! from, else the page above the one that failed, else home). Whatever answers with an error
//! page leaves an [`ErrorShown`] on the answer; [`framed`], one layer over every page, draws it
//! again with the caller's menu, which the handler that failed may never have looked up.

use crate::shared::api::home_ref;
use crate::shared::page::{nav, Nav};
use crate::shared::session::cookie_token_in;
use crate::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use taizhang_store::SessionStage;

/// What an error page says, left on the answer for [`framed`].
#[derive(Clone, Debug)]
pub(crate) struct ErrorShown {
    heading: &'static str,
    message: String,
    fields: Vec<String>,
}

#[derive(Template)]
#[template(path = "shared/error.html")]
struct ErrorPage<'a> {
    nav: Option<Nav>,
    heading: &'a str,
    message: &'a str,
    fields: &'a [String],
    back: &'a str,
}

/// The heading of an error page with this status.
fn heading_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "未找到",
        StatusCode::FORBIDDEN => "无权访问",
        StatusCode::UNPROCESSABLE_ENTITY => "输入有误",
        StatusCode::CONFLICT => "无法完成操作",
        StatusCode::PAYLOAD_TOO_LARGE => "提交的内容过大",
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => "系统繁忙",
        s if s.is_client_error() => "请求有误",
        _ => "出错了",
    }
}

/// An error page: drawn plainly here (home as the way back) and framed on its way out.
pub(crate) fn error_page(status: StatusCode, message: String, fields: Vec<String>) -> Response {
    let shown = ErrorShown {
        heading: heading_for(status),
        message,
        fields,
    };
    let mut res = render(None, &shown, "/", status);
    res.extensions_mut().insert(shown);
    res
}

fn render(nav: Option<Nav>, shown: &ErrorShown, back: &str, status: StatusCode) -> Response {
    let page = ErrorPage {
        nav,
        heading: shown.heading,
        message: &shown.message,
        fields: &shown.fields,
        back,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            (status, shown.message.clone()).into_response()
        }
    }
}

/// Draws every error page of the site with the caller's navigation and a real way back.
pub(crate) async fn framed(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("/api/") || path.starts_with("/assets/") {
        return next.run(req).await;
    }
    let here = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let token = cookie_token_in(req.headers());
    let came_from = referer_path(req.headers());
    let res = next.run(req).await;
    let Some(shown) = res.extensions().get::<ErrorShown>().cloned() else {
        return res;
    };
    let nav = match token {
        Some(token) => match st.store.session(&token).await {
            Ok(s) if s.stage == SessionStage::Full => {
                let home = home_ref(&st, &s.actor).await.unwrap_or_default();
                nav(&s, home)
            }
            _ => None,
        },
        None => None,
    };
    let back = match came_from {
        Some(p) if p != here => p,
        _ => parent_of(&here),
    };
    let (mut parts, _) = res.into_parts();
    let framed = render(nav, &shown, &back, parts.status);
    let (new_parts, body) = framed.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(ct) = new_parts.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    Response::from_parts(parts, Body::new(body))
}

/// The path (and query) of the page of this site the request came from, if the browser said.
/// The Referer is absolute; only a same-site one (the policy is `same-origin`) is taken, and
/// only its path, so the way back can never lead off the site.
fn referer_path(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let rest = referer
        .strip_prefix("http://")
        .or_else(|| referer.strip_prefix("https://"))?;
    let path = rest.strip_prefix(host)?;
    let safe = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= 2048
        && !path.chars().any(char::is_control);
    safe.then(|| path.to_string())
}

/// The page above: `/records/12/edit` → `/records/12` → `/records` → `/`.
fn parent_of(here: &str) -> String {
    let path = here.split('?').next().unwrap_or("/").trim_end_matches('/');
    match path.rsplit_once('/') {
        Some((parent, _)) if !parent.is_empty() => parent.to_string(),
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(host: &str, referer: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        h.insert(header::REFERER, HeaderValue::from_str(referer).unwrap());
        h
    }

    #[test]
    fn the_way_back_stays_on_the_site() {
        let h = headers(
            "127.0.0.1:8080",
            "http://127.0.0.1:8080/records?org=o5&page=2",
        );
        assert_eq!(referer_path(&h).as_deref(), Some("/records?org=o5&page=2"));
        for other in [
            "http://evil.example/records",
            "http://127.0.0.1:8080.evil.example/x",
            "http://127.0.0.1:8080//evil.example/x",
            "javascript:alert(1)",
            "http://127.0.0.1:8080/\\evil",
        ] {
            assert_eq!(
                referer_path(&headers("127.0.0.1:8080", other)),
                None,
                "{other}"
            );
        }
    }

    #[test]
    fn the_page_above() {
        assert_eq!(parent_of("/records/12/edit"), "/records/12");
        assert_eq!(parent_of("/records/12?done=saved"), "/records");
        assert_eq!(parent_of("/records"), "/");
        assert_eq!(parent_of("/"), "/");
    }
}
