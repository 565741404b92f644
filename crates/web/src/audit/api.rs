//! The JSON API of the audit log.

use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Only entries about this kind of object (`org`, `person`, `record` …).
    #[param(max_length = 40)]
    entity: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub total: i64,
    pub entries: Vec<AuditEntry>,
}

#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery), responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody)))]
async fn audit(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let (total, entries) = s
        .store
        .audit_entries(
            &u.actor,
            q.entity.as_deref(),
            q.limit.unwrap_or(100),
            q.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(AuditPage { total, entries }))
}
