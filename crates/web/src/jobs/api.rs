//! The jobs API: the 系统管理员 lists the county's background jobs and runs a given-up one again.

use crate::shared::prelude::*;
use taizhang_domain::jobs::{JobKind, JobState};
use taizhang_store::jobs::{Job, JobFilter, JobPage};

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(retry_job))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct JobsQuery {
    /// Only jobs in this state.
    state: Option<JobState>,
    /// Only jobs of this kind.
    kind: Option<JobKind>,
    /// At most this many (1–500, default 100).
    limit: Option<i64>,
    offset: Option<i64>,
}

/// The county's background jobs, newest first (系统管理员 only).
#[utoipa::path(get, path = "/api/v1/jobs", params(JobsQuery),
    responses((status = 200, body = JobPage), (status = 403, body = ErrorBody)))]
async fn list_jobs(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<JobsQuery>,
) -> ApiResult<Json<JobPage>> {
    let filter = JobFilter {
        state: q.state,
        kind: q.kind,
        limit: q.limit.unwrap_or(100),
        offset: q.offset.unwrap_or(0),
    };
    Ok(Json(s.store.jobs(&u.actor, &filter).await?))
}

/// Runs a dead job (or one waiting out its back-off) again now, its attempts counted afresh;
/// audited (系统管理员 only). 409 for a job that is queued, running or done.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", params(("id" = i64, Path, description = "任务编号")),
    responses((status = 200, body = Job), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn retry_job(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Job>> {
    Ok(Json(
        s.store.retry_job(&u.actor, id, chrono::Utc::now()).await?,
    ))
}
