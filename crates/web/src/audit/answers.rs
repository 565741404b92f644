//! What every answer gets on its way out: `Cache-Control: no-store` (pages and API answers hold
//! personal data — whole 身份证号 and phones once revealed, names, photos — that no browser or
//! proxy cache may keep; the binary serves no static assets, its styles are inline), and, when a
//! signed-in caller was refused for their scope or role (403 or 404 from the store), a `refused`
//! security event in the audit log (the store caps them per user and minute).

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, OnceLock};
use taizhang_store::{Actor, Refusal};

/// Filled by the session extractors with the caller they found, so that the answer can name who
/// was refused.
#[derive(Clone, Default)]
pub(crate) struct Caller(Arc<OnceLock<Actor>>);

impl Caller {
    pub(crate) fn set(&self, actor: &Actor) {
        let _ = self.0.set(actor.clone());
    }
}

/// Left on an error answer by a scope or role refusal: its reason (`not_found`, `forbidden`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Refused(pub(crate) &'static str);

pub(crate) async fn private_answers(
    State(st): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let caller = Caller::default();
    req.extensions_mut().insert(caller.clone());
    // An unknown path is genuinely missing, not a refusal.
    let routed = req.extensions().get::<MatchedPath>().is_some();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let mut res = next.run(req).await;
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    let refused = res.extensions().get::<Refused>().filter(|_| routed);
    if let (Some(actor), Some(Refused(reason))) = (caller.0.get(), refused) {
        let refusal = Refusal {
            method,
            path,
            status: res.status().as_u16(),
            reason: (*reason).to_string(),
        };
        if let Err(e) = st
            .store
            .record_refusal(actor, &refusal, chrono::Utc::now())
            .await
        {
            tracing::error!(error = %e, "could not audit a refused request");
        }
    }
    res
}
