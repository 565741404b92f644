//! taizhang's web layer: server-rendered pages (askama), the JSON API under `/api/v1/` and its
//! OpenAPI document. Handlers are thin: parse, call the store with the caller's actor, render.
//!
//! The code is laid out by feature: `src/<feature>/` holds what one capability needs
//! (`api.rs` for its JSON operations, `pages.rs` for its pages, `forms.rs` for a large form,
//! `mod.rs` for what the feature shares), and its templates live in `templates/<feature>/`.
//! Each feature's `mod.rs` offers `page_routes()` and `api_routes()`; the API routes are an
//! [`utoipa_axum::router::OpenApiRouter`], so a handler is routed and documented by the same
//! `routes!(…)` line. What features share (who is calling, the page frame, CSRF-checked forms)
//! is in `shared/`.
//!
//! Adding a feature is one folder plus two lines here: its `mod` line and its entry in
//! [`FEATURES`].

mod accounts;
mod audit;
mod bulletin;
mod client_ip;
mod dashboard;
pub mod error;
mod exports;
mod home;
mod idempotency;
pub mod imports;
pub mod jobs;
mod ledgers;
mod limiter;
mod links;
mod openapi;
mod orgs;
mod overdue;
mod people;
mod records;
mod regions;
mod search;
mod shared;

/// Who issues a bulletin as a document (发文机关): the CLI names it as the web layer does.
pub use bulletin::issuer as bulletin_issuer;
pub use client_ip::ClientIpSource;
use shared::session::ApiUser;
use std::sync::Arc;
use taizhang_store::StoreError;
use utoipa_axum::router::OpenApiRouter;

use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;
use taizhang_store::Store;
use tower_http::set_header::SetResponseHeaderLayer;

/// One capability's routes: its pages, and its API operations with their documentation.
struct Feature {
    pages: fn() -> Router<AppState>,
    api: fn() -> OpenApiRouter<AppState>,
}

/// Every feature the server offers.
const FEATURES: &[Feature] = &[
    Feature {
        pages: home::page_routes,
        api: home::api_routes,
    },
    Feature {
        pages: dashboard::page_routes,
        api: dashboard::api_routes,
    },
    Feature {
        pages: orgs::page_routes,
        api: orgs::api_routes,
    },
    Feature {
        pages: links::page_routes,
        api: links::api_routes,
    },
    Feature {
        pages: people::page_routes,
        api: people::api_routes,
    },
    Feature {
        pages: ledgers::page_routes,
        api: ledgers::api_routes,
    },
    Feature {
        pages: records::page_routes,
        api: records::api_routes,
    },
    Feature {
        pages: overdue::page_routes,
        api: overdue::api_routes,
    },
    Feature {
        pages: bulletin::page_routes,
        api: bulletin::api_routes,
    },
    Feature {
        pages: audit::page_routes,
        api: audit::api_routes,
    },
    Feature {
        pages: accounts::page_routes,
        api: accounts::api_routes,
    },
    Feature {
        pages: jobs::page_routes,
        api: jobs::api_routes,
    },
    Feature {
        pages: regions::page_routes,
        api: regions::api_routes,
    },
    Feature {
        pages: search::page_routes,
        api: search::api_routes,
    },
    Feature {
        pages: exports::page_routes,
        api: exports::api_routes,
    },
    Feature {
        pages: imports::page_routes,
        api: imports::api_routes,
    },
];

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub login_limiter: std::sync::Arc<limiter::LoginLimiter>,
    /// Where the client address of a request comes from (the peer, or a trusted proxy's header).
    pub client_ip: Arc<ClientIpSource>,
    /// Users reach the server over HTTPS (through a TLS terminator): cookies are `__Host-` and
    /// Secure, and browsers are told to keep to HTTPS (HSTS).
    pub https: bool,
    /// The API's OpenAPI document, assembled once from the routes.
    pub(crate) openapi: Arc<utoipa::openapi::OpenApi>,
    /// Admits heavy reports a few at a time (see `shared::load`).
    pub(crate) reports: Arc<shared::load::ReportGate>,
}

/// How the web layer is deployed.
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    pub https: bool,
    /// Behind a proxy: which peers are trusted to name the client, and in which header.
    pub client_ip: ClientIpSource,
    /// Heavy reports (bulletins, overdue lists) computed at once; by default half the cores,
    /// from 1 to 4, or `TAIZHANG_REPORT_WORKERS`.
    pub report_workers: Option<usize>,
    /// Reports waiting beyond those; four per running one by default, or `TAIZHANG_REPORT_QUEUE`.
    /// Any more are answered 503 `busy` with `Retry-After`.
    pub report_queue: Option<usize>,
}

/// A count from the environment, when set and readable.
fn env_count(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.trim().parse().ok()
}

pub fn router(store: Store) -> Router {
    router_with(store, WebOptions::default())
}

pub fn router_with(store: Store, opts: WebOptions) -> Router {
    let (api_router, pages) = FEATURES
        .iter()
        .fold((OpenApiRouter::new(), Router::new()), |(api, pages), f| {
            (api.merge((f.api)()), pages.merge((f.pages)()))
        });
    let (api_router, document) = openapi::api(api_router);
    // The dummy hash an unknown name is checked against is made now, not at the first login
    // (which would then take longer than any other).
    std::thread::spawn(taizhang_store::auth::dummy_hash);
    let (workers, queue) = shared::load::default_report_limits();
    let workers = opts
        .report_workers
        .or_else(|| env_count("TAIZHANG_REPORT_WORKERS"))
        .unwrap_or(workers);
    let queue = opts
        .report_queue
        .or_else(|| env_count("TAIZHANG_REPORT_QUEUE"))
        .unwrap_or(queue);
    let state = AppState {
        store,
        login_limiter: Default::default(),
        client_ip: Arc::new(opts.client_ip.clone()),
        https: opts.https,
        openapi: Arc::new(document),
        reports: Arc::new(shared::load::ReportGate::new(workers, queue)),
    };
    let hsts = opts.https.then(|| {
        SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        )
    });
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .merge(api_router)
        .merge(pages)
        .merge(shared::assets::routes())
        .fallback(unknown_path)
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::api_keys))
        .layer(axum::middleware::from_fn(humane_rejections))
        .layer(axum::middleware::from_fn_with_state(state.clone(), shared::error_page::framed))
        .layer(axum::middleware::from_fn_with_state(state.clone(), audit::answers::private_answers))
        .layer(axum::extract::DefaultBodyLimit::max(shared::load::BODY_LIMIT))
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

/// Unknown paths: under the API, 401 without a token (nothing is told to strangers), else 404.
async fn unknown_path(
    uri: axum::http::Uri,
    user: Result<ApiUser, error::WebError>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        match user {
            Err(e) => e.into_response(),
            Ok(_) => error::WebError::Store(StoreError::NotFound).into_response(),
        }
    } else {
        shared::error_page::error_page(
            axum::http::StatusCode::NOT_FOUND,
            "未找到该页面，请检查地址".into(),
            Vec::new(),
        )
    }
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
    let mut status = res.status();
    let detail = axum::body::to_bytes(res.into_body(), 16 * 1024)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&detail).to_string();
    // A path whose id is not a number (`/people/abc`) names nothing: not found, as an id that
    // is a number but names no one.
    let no_such_path =
        status == axum::http::StatusCode::BAD_REQUEST && detail.starts_with("Invalid URL");
    if no_such_path {
        status = axum::http::StatusCode::NOT_FOUND;
    }
    let (code, message) = match status.as_u16() {
        404 => ("not_found", "未找到：地址中的编号无效"),
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
        shared::error_page::error_page(status, format!("{message}。"), Vec::new())
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
