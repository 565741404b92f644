//! taizhang's web layer: server-rendered pages (askama), the JSON API under `/api/v1/` and its
//! OpenAPI document. Handlers are thin: parse, call the store with the caller's actor, render.

mod accounts;
pub mod api;
mod chart;
pub mod error;
pub mod jobs;
mod limiter;
mod openapi;
mod pages;
mod session;

use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;
use taizhang_store::Store;
use tower_http::set_header::SetResponseHeaderLayer;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub login_limiter: std::sync::Arc<limiter::LoginLimiter>,
    /// Users reach the server over HTTPS (through a TLS terminator): cookies are `__Host-` and
    /// Secure, and browsers are told to keep to HTTPS (HSTS).
    pub https: bool,
}

/// How the web layer is deployed.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebOptions {
    pub https: bool,
}

pub fn router(store: Store) -> Router {
    router_with(store, WebOptions::default())
}

pub fn router_with(store: Store, opts: WebOptions) -> Router {
    let state = AppState {
        store,
        login_limiter: Default::default(),
        https: opts.https,
    };
    let hsts = opts.https.then(|| {
        SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        )
    });
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(api::routes())
        .merge(pages::routes())
        .merge(accounts::routes())
        .merge(jobs::routes())
        .fallback(api::unknown_path)
        .layer(axum::middleware::from_fn(humane_rejections))
        .layer(axum::extract::DefaultBodyLimit::max(20 * 1024 * 1024))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"),
        ))
        .layer(tower::util::option_layer(hsts))
        .with_state(state)
}

/// axum answers malformed requests (a bad path id, an unparsable query or body) in plain English
/// text. Turn those into the API's JSON error with a stable code, or a Chinese page.
async fn humane_rejections(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    if !res.status().is_client_error() || !plain {
        return res;
    }
    let status = res.status();
    let detail = axum::body::to_bytes(res.into_body(), 16 * 1024)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&detail).to_string();
    let (code, message) = match status.as_u16() {
        413 => ("too_large", "提交的内容过大"),
        415 => (
            "unsupported_media_type",
            "请求的内容类型不受支持，请使用 JSON",
        ),
        422 => ("bad_request", "请求内容不完整或字段格式有误"),
        _ => ("bad_request", "请求格式有误，请检查地址和参数"),
    };
    if api {
        let body = error::ErrorBody {
            code: code.into(),
            message: format!("{message}（{detail}）"),
            fields: Vec::new(),
        };
        (status, axum::Json(body)).into_response()
    } else {
        let page = format!(
            "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>请求有误 · 台账</title><h1>请求有误</h1><p>{message}。</p><p><a href=\"javascript:history.back()\">返回上一页</a> · <a href=\"/\">首页</a></p></html>"
        );
        (status, axum::response::Html(page)).into_response()
    }
}

/// Serves until ctrl-c.
pub async fn serve(store: Store, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_with(store, listener, WebOptions::default()).await
}

pub async fn serve_with(
    store: Store,
    listener: tokio::net::TcpListener,
    opts: WebOptions,
) -> std::io::Result<()> {
    // Peer addresses feed the per-address login limit.
    axum::serve(
        listener,
        router_with(store, opts).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
