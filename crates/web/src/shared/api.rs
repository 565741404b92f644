//! What several features' API handlers share.

use crate::error::{ApiResult, WebError};
use crate::AppState;
use chrono::NaiveDate;
use serde::Deserialize;
use taizhang_store::{Actor, StoreError};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct DateRequest {
    /// Defaults to today.
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
