//! What several features' API handlers share.

use crate::error::{ApiResult, WebError};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use taizhang_store::{Actor, StoreError};
use utoipa::ToSchema;

/// The API's JSON: axum's `Json`, except that a body must be a JSON object. serde's derived
/// structs also read a JSON array (their fields in order), so without this `[]` would pass as a
/// body whose fields are all optional; every body the API takes is an object, and an array,
/// string, number or `null` is refused with 422 `bad_request` before it is read. A body sent
/// with another media type, too large or malformed is refused as axum refuses it. As an answer
/// it is axum's `Json`.
pub(crate) struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        if !is_json(&req) {
            // axum's own refusal of the media type (415).
            return axum::Json::<T>::from_request(req, state)
                .await
                .map(|axum::Json(v)| Json(v))
                .map_err(IntoResponse::into_response);
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b != b'{')
        {
            return Err(WebError::NotAnObject.into_response());
        }
        axum::Json::<T>::from_bytes(&bytes)
            .map(|axum::Json(v)| Json(v))
            .map_err(IntoResponse::into_response)
    }
}

/// `application/json`, or a `+json` type, as axum reads it.
fn is_json(req: &Request<Body>) -> bool {
    let Some(ctype) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DateRequest {
    /// 1949-10-01 to 2100-12-31; defaults to today.
    #[serde(default)]
    pub on: Option<NaiveDate>,
}

pub(crate) async fn home_ref(s: &AppState, actor: &Actor) -> ApiResult<String> {
    let roots = s.store.scope_roots(actor).await?;
    roots
        .first()
        .map(|o| o.org_ref.clone())
        .ok_or(WebError::Store(StoreError::NotFound))
}
