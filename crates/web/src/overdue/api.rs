//! The JSON API of records due or overdue.

use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(overdue))
        .routes(routes!(overdue_towns))
}

/// The name of the header that carries the length of the whole filtered list.
const TOTAL_HEADER: &str = "x-total-count";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OverdueQuery {
    /// Organisation subtree; defaults to the caller's organisation.
    org: Option<String>,
    /// Defaults to today.
    as_of: Option<NaiveDate>,
    /// Only items in this organisation's subtree, usually a town (镇街): a code, `o{id}`, the
    /// picker's `名称（编码）` or a name; within the caller's scope, or 404.
    #[param(max_length = 80)]
    town: Option<String>,
    /// Only items of this ledger type (its key, e.g. `theme_day`).
    #[param(max_length = 40)]
    ledger_type: Option<String>,
    /// Only `overdue` (已逾期) or only `due` (待完成) items.
    #[param(inline)]
    status: Option<OverdueStatus>,
    /// Items per page, 1 … 500; without it, the whole filtered list. The length of the whole
    /// filtered list is in the `X-Total-Count` header.
    limit: Option<i64>,
    /// Items to skip, for the next pages.
    offset: Option<i64>,
}

impl OverdueQuery {
    fn filter(&self) -> OverdueFilter {
        OverdueFilter {
            town: self.town.clone(),
            ledger_type: self.ledger_type.clone(),
            status: self.status,
            limit: self.limit,
            offset: self.offset,
        }
    }
}

async fn filtered(s: &AppState, actor: &Actor, q: &OverdueQuery) -> ApiResult<OverduePage> {
    let org = match q.org.clone() {
        Some(o) => o,
        None => home_ref(s, actor).await?,
    };
    let _turn = s.reports.enter().await?;
    Ok(s.store
        .overdue_page(actor, &org, q.as_of.unwrap_or_else(today), &q.filter())
        .await?)
}

/// Overdue first, then by town, then by deadline.
#[utoipa::path(get, path = "/api/v1/overdue", params(OverdueQuery),
    responses((status = 200, body = Vec<OverdueItem>, headers(("x-total-count" = i64, description = "Items in the whole filtered list"))), (status = 404, body = ErrorBody)))]
async fn overdue(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<OverdueQuery>,
) -> ApiResult<Response> {
    let page = filtered(&s, &u.actor, &q).await?;
    Ok(([(TOTAL_HEADER, page.total.to_string())], Json(page.items)).into_response())
}

/// The counts of overdue and due items per town over the whole filtered list (`limit` and
/// `offset` ignored), in the list's order of towns.
#[utoipa::path(get, path = "/api/v1/overdue/towns", params(OverdueQuery),
    responses((status = 200, body = Vec<TownCount>), (status = 404, body = ErrorBody)))]
async fn overdue_towns(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<OverdueQuery>,
) -> ApiResult<Json<Vec<TownCount>>> {
    let q = OverdueQuery {
        limit: Some(1),
        offset: None,
        ..q
    };
    Ok(Json(filtered(&s, &u.actor, &q).await?.towns))
}
