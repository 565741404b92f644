//! The pickers' searches in the JSON API.

use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_orgs))
        .routes(routes!(search_people))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PickQuery {
    /// Part of the name, its pinyin (`jishu`) or initials (`jsz`), or an official code; up to 60
    /// characters. Nothing typed finds nothing.
    #[serde(default)]
    #[param(max_length = 60)]
    pub q: String,
    /// How many to list, 1–50 (default 20).
    #[serde(default)]
    pub limit: Option<i64>,
}

impl PickQuery {
    pub(crate) fn limit(&self) -> i64 {
        self.limit.unwrap_or(20).clamp(1, MAX_PICKS)
    }
}

/// Organisations in the caller's scope, best match first, dissolved ones last.
#[utoipa::path(get, path = "/api/v1/search/orgs", params(PickQuery),
    responses((status = 200, body = Vec<OrgPick>), (status = 422, body = ErrorBody)))]
async fn search_orgs(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<PickQuery>,
) -> ApiResult<Json<Vec<OrgPick>>> {
    Ok(Json(s.store.pick_orgs(&u.actor, &q.q, q.limit()).await?))
}

/// People in the caller's scope by name, pinyin or initials; no personal data beyond the name.
#[utoipa::path(get, path = "/api/v1/search/people", params(PickQuery),
    responses((status = 200, body = Vec<PersonPick>), (status = 422, body = ErrorBody)))]
async fn search_people(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<PickQuery>,
) -> ApiResult<Json<Vec<PersonPick>>> {
    Ok(Json(s.store.pick_people(&u.actor, &q.q, q.limit()).await?))
}
