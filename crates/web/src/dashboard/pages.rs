//! The dashboard page and the fragment its script fetches to refresh the figures.

use super::{dashboard_for, DashboardQuery};
use crate::shared::prelude::*;
use chrono::Datelike;
use taizhang_domain::dashboard::{both_ends, change, svg};
use taizhang_domain::phrasing::percent;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(dashboard_page))
        .route("/dashboard/fragment", get(dashboard_fragment))
}

/// How many units each end of the ranking shows.
const ENDS: usize = 5;

/// How often the page fetches its figures again, in seconds.
const REFRESH_SECONDS: u32 = 60;

/// A line of the ranking, leading to that unit's own dashboard.
pub struct RankLine {
    rank: usize,
    name: String,
    records: i64,
    link: String,
}

/// A unit's overdue counts, leading to its part of the overdue list.
pub struct OverdueLine {
    name: String,
    overdue: i64,
    due: i64,
    link: String,
}

/// What the fragment shows: the page's figures, ready to print.
pub struct DashView {
    org_name: String,
    month_label: String,
    as_of: NaiveDate,
    records: i64,
    last_month_records: i64,
    change: String,
    types: Vec<(String, i64)>,
    branches: i64,
    branches_on_schedule: i64,
    on_schedule_share: String,
    overdue: i64,
    due: i64,
    overdue_link: String,
    top: Vec<RankLine>,
    bottom: Vec<RankLine>,
    overdue_lines: Vec<OverdueLine>,
    ranking_chart: String,
    months_chart: String,
}

/// The organisation's own items of the overdue list, which lie in no unit below it.
const ITSELF: &str = "本级";

fn view(d: &Dashboard, as_of_given: Option<NaiveDate>) -> DashView {
    let at = as_of_given.map_or(String::new(), |d| format!("&as_of={d}"));
    let rank_line = |u: &RankedUnit| RankLine {
        rank: u.rank,
        name: u.org.name.clone(),
        records: u.records,
        link: format!("/dashboard?org={}{at}", url_encode(&u.org.org_ref)),
    };
    let (top, bottom) = both_ends(d.ranking.len(), ENDS);
    let bars: Vec<(String, i64)> = d
        .ranking
        .iter()
        .map(|u| (u.org.name.clone(), u.records))
        .collect();
    let months: Vec<(String, i64)> = d
        .months
        .iter()
        .map(|m| (format!("{}月", m.month.month()), m.records))
        .collect();
    let overdue_link = format!("/overdue?org={}", url_encode(&d.org.org_ref));
    DashView {
        org_name: d.org.name.clone(),
        month_label: d.month_label.clone(),
        as_of: d.as_of,
        records: d.records,
        last_month_records: d.last_month_records,
        change: change(d.records, d.last_month_records),
        types: d
            .types
            .iter()
            .map(|t| (t.ledger_type_name.clone(), t.records))
            .collect(),
        branches: d.branches,
        branches_on_schedule: d.branches_on_schedule,
        on_schedule_share: percent(d.branches_on_schedule, d.branches)
            .unwrap_or_else(|| "—".to_string()),
        overdue: d.overdue,
        due: d.due,
        top: d.ranking[top].iter().map(rank_line).collect(),
        bottom: d.ranking[bottom].iter().map(rank_line).collect(),
        overdue_lines: d
            .overdue_by_unit
            .iter()
            .map(|c| OverdueLine {
                name: c
                    .town
                    .as_ref()
                    .map_or(ITSELF, |t| t.name.as_str())
                    .to_string(),
                overdue: c.overdue,
                due: c.due,
                link: match &c.town {
                    Some(t) => format!("{overdue_link}&town={}", url_encode(&t.org_ref)),
                    None => overdue_link.clone(),
                },
            })
            .collect(),
        overdue_link,
        ranking_chart: svg::bars(
            &format!("{}各单位{}记录数", d.org.name, d.month_label),
            &bars,
        ),
        months_chart: svg::columns(&format!("{}近12个月记录数", d.org.name), &months),
    }
}

#[derive(Template)]
#[template(path = "dashboard/dashboard.html")]
struct DashboardPage {
    nav: Option<Nav>,
    v: DashView,
    /// (reference, name) of the organisations the caller may pick: their own and the units below.
    choices: Vec<(String, String)>,
    selected: String,
    as_of: String,
    fragment_url: String,
    refresh_seconds: u32,
}

#[derive(Template)]
#[template(path = "dashboard/fragment.html")]
struct DashboardFragment {
    v: DashView,
}

async fn dashboard_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<DashboardQuery>,
) -> PageResult {
    let a = &u.session.actor;
    let d = dashboard_for(&st, a, &q).await?;
    let mut choices = Vec::new();
    if let Some(home) = st.store.scope_roots(a).await?.into_iter().next() {
        let below = st.store.children(a, home.id, false).await?;
        choices.push((home.org_ref, home.name));
        choices.extend(
            below
                .into_iter()
                .filter(|o| !o.kind.is_grouping())
                .map(|o| (o.org_ref, o.name)),
        );
    }
    if !choices.iter().any(|c| c.0 == d.org.org_ref) {
        choices.insert(0, (d.org.org_ref.clone(), d.org.name.clone()));
    }
    let mut fragment_url = format!("/dashboard/fragment?org={}", url_encode(&d.org.org_ref));
    if let Some(day) = q.as_of {
        fragment_url.push_str(&format!("&as_of={day}"));
    }
    html(DashboardPage {
        nav: nav_for(&st, &u).await,
        v: view(&d, q.as_of),
        choices,
        selected: d.org.org_ref.clone(),
        as_of: q.as_of.map(|d| d.to_string()).unwrap_or_default(),
        fragment_url,
        refresh_seconds: REFRESH_SECONDS,
    })
}

async fn dashboard_fragment(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<DashboardQuery>,
) -> PageResult {
    let d = dashboard_for(&st, &u.session.actor, &q).await?;
    html(DashboardFragment {
        v: view(&d, q.as_of),
    })
}
