//! The JSON API of records due or overdue.

use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(overdue))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OverdueQuery {
    /// Organisation subtree; defaults to the caller's organisation.
    org: Option<String>,
    /// Defaults to today.
    as_of: Option<NaiveDate>,
}

#[utoipa::path(get, path = "/api/v1/overdue", params(OverdueQuery), responses((status = 200, body = Vec<OverdueItem>), (status = 404, body = ErrorBody)))]
async fn overdue(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<OverdueQuery>,
) -> ApiResult<Json<Vec<OverdueItem>>> {
    let org = match q.org {
        Some(o) => o,
        None => home_ref(&s, &u.actor).await?,
    };
    let _turn = s.reports.enter().await?;
    Ok(Json(
        s.store
            .overdue(&u.actor, &org, q.as_of.unwrap_or_else(today))
            .await?,
    ))
}
