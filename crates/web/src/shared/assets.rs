//! The few files the pages load, compiled into the binary: no build step, nothing fetched from
//! elsewhere (the CSP allows only this origin).

use crate::AppState;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

const PICKER_JS: &str = include_str!("../../assets/picker.js");
const FORM_JS: &str = include_str!("../../assets/form.js");
const DASHBOARD_JS: &str = include_str!("../../assets/dashboard.js");
const ICON_SVG: &str = include_str!("../../assets/icon.svg");
const OFFLINE_JS: &str = include_str!("../../assets/offline.js");
const SERVICE_WORKER: &str = include_str!("../../assets/sw.js");
const MANIFEST: &str = include_str!("../../assets/manifest.webmanifest");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/assets/picker.js",
            get(|| file("text/javascript; charset=utf-8", PICKER_JS)),
        )
        .route(
            "/assets/form.js",
            get(|| file("text/javascript; charset=utf-8", FORM_JS)),
        )
        .route(
            "/assets/dashboard.js",
            get(|| file("text/javascript; charset=utf-8", DASHBOARD_JS)),
        )
        .route(
            "/assets/offline.js",
            get(|| file("text/javascript; charset=utf-8", OFFLINE_JS)),
        )
        // At the root, so that its scope covers the record form (/records/new) and the queue;
        // never kept by the browser's HTTP cache, so that a new binary's worker is taken at once.
        .route(
            "/sw.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    SERVICE_WORKER,
                )
            }),
        )
        .route("/assets/icon.svg", get(|| file("image/svg+xml", ICON_SVG)))
        // Browsers ask for /favicon.ico whatever the page says; an SVG answers it.
        .route("/favicon.ico", get(|| file("image/svg+xml", ICON_SVG)))
        .route(
            "/manifest.webmanifest",
            get(|| file("application/manifest+json", MANIFEST)),
        )
}

async fn file(kind: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, kind),
            // Public and the same for everyone; a day, since a new binary may change them.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
}
