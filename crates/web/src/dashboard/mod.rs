//! The county dashboard (数据大屏) of the caller's organisation, or of a unit below it: the
//! month's headline figures, the ranking of the units below, the overdue counts and two charts
//! drawn on the server. The page refreshes its figures without reloading (a small script fetches
//! the fragment every minute) and works without a script.

mod api;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use pages::page_routes;

use crate::shared::prelude::*;

/// What the page, its fragment and the API ask: an organisation (defaults to the caller's) and a
/// day (defaults to today), whose month the figures are of.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DashboardQuery {
    /// Organisation subtree (a code, `o{id}`, the picker's `名称（编码）` or a name), within the
    /// caller's scope, or 404; defaults to the caller's organisation.
    #[param(max_length = 80)]
    pub org: Option<String>,
    /// The day the figures are as of (their month, the overdue list on it); defaults to today.
    pub as_of: Option<NaiveDate>,
}

/// The dashboard a query asks for, in its turn at the report gate.
pub(crate) async fn dashboard_for(
    s: &AppState,
    actor: &Actor,
    q: &DashboardQuery,
) -> Result<Dashboard, WebError> {
    let org = match q.org.clone().filter(|o| !o.trim().is_empty()) {
        Some(o) => o,
        None => home_ref(s, actor).await?,
    };
    let _turn = s.reports.enter().await?;
    Ok(s.store
        .dashboard(actor, &org, q.as_of.unwrap_or_else(today))
        .await?)
}
