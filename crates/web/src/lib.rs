//! taizhang's web layer: server-rendered pages (askama), the JSON API under `/api/v1/` and its
//! OpenAPI document. Handlers are thin: parse, call the store with the caller's actor, render.

pub mod api;
mod chart;
pub mod error;
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
}

pub fn router(store: Store) -> Router {
    let state = AppState { store };
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(api::routes())
        .merge(pages::routes())
        .fallback(api::unknown_path)
        .layer(axum::extract::DefaultBodyLimit::max(20 * 1024 * 1024))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"),
        ))
        .with_state(state)
}

/// Serves until ctrl-c.
pub async fn serve(store: Store, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(store))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
