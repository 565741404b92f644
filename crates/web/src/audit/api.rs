//! The JSON API of the audit log.

use crate::shared::prelude::*;
use taizhang_domain::audit::AuditFilterInput;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit))
}

/// The filters and paging of the audit log. Every filter is exact; days are China Standard
/// Time. A bad filter is answered 422 with its field and code (`too_long`, `bad_chars`,
/// `date.invalid`, `date_out_of_range`, `period.reversed`, `audit.bad_cursor`,
/// `audit.both_cursors`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQueryParams {
    /// Only entries by this user name.
    #[param(max_length = 40)]
    actor: Option<String>,
    /// Only entries from this day on (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// Only entries up to the end of this day (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
    /// Only entries of this action (`create`, `void`, `login`, `refused` …).
    #[param(max_length = 40)]
    action: Option<String>,
    /// Only entries about this kind of object (`org`, `person`, `record` …).
    #[param(max_length = 40)]
    entity: Option<String>,
    /// Only entries about the object with this id (with `entity`).
    #[param(max_length = 210)]
    entity_id: Option<String>,
    /// The page of entries older than this `seq` (a page's `older`).
    #[param(minimum = 1)]
    before: Option<i64>,
    /// The page of entries newer than this `seq` (a page's `newer`); not with `before`.
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Entries on the page, 1 to 500 (100 if absent).
    limit: Option<i64>,
    /// Entries skipped from the newest, without `before` or `after`.
    offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", params(AuditQueryParams), responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn audit(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<AuditQueryParams>,
) -> ApiResult<Json<AuditPage>> {
    // The page's form sends blank days for "any"; in the API a day given is a day.
    for (field, day) in [("from", &q.from), ("to", &q.to)] {
        if day.as_deref().is_some_and(|d| d.trim().is_empty()) {
            return Err(WebError::Store(StoreError::invalid(
                field,
                "date.invalid",
                "日期格式应为 YYYY-MM-DD",
            )));
        }
    }
    let query = AuditQuery {
        filter: AuditFilterInput {
            actor: q.actor,
            from: q.from,
            to: q.to,
            action: q.action,
            entity: q.entity,
            entity_id: q.entity_id,
        },
        before: q.before,
        after: q.after,
        offset: q.offset.unwrap_or(0),
        limit: q.limit.unwrap_or(100),
    };
    Ok(Json(s.store.audit_page(&u.actor, &query).await?))
}
