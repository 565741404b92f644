//! The JSON of the dashboard.

use super::{dashboard_for, DashboardQuery};
use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(dashboard))
}

/// The month's figures of an organisation's subtree, as the dashboard page shows them.
#[utoipa::path(get, path = "/api/v1/dashboard", params(DashboardQuery),
    responses((status = 200, body = Dashboard), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn dashboard(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<DashboardQuery>,
) -> ApiResult<Json<Dashboard>> {
    Ok(Json(dashboard_for(&s, &u.actor, &q).await?))
}
