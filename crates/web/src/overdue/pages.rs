//! The page of records due or overdue: filtered by town, ledger type and status, counted per
//! town, a page at a time, each row leading to the entry form.

use crate::ledgers::type_choices;
use crate::shared::prelude::*;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new().route("/overdue", get(overdue_page))
}

/// A town's counts, each with the link to its part of the list.
pub struct TownLine {
    name: String,
    overdue: i64,
    due: i64,
    overdue_link: String,
    due_link: String,
}

/// A row of the list: the item and, for a role that records, the link to its entry form.
pub struct OverdueLine {
    item: OverdueItem,
    town_name: String,
    record_link: Option<String>,
}

#[derive(Template)]
#[template(path = "overdue/overdue.html")]
struct OverduePage {
    nav: Option<Nav>,
    org_name: String,
    org_ref: String,
    as_of: NaiveDate,
    types: Vec<(String, String)>,
    sel_town: String,
    sel_type: String,
    sel_status: String,
    statuses: &'static [OverdueStatus],
    total: i64,
    towns: Vec<TownLine>,
    lines: Vec<OverdueLine>,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct OverdueQuery {
    org: Option<String>,
    town: Option<String>,
    ledger_type: Option<String>,
    status: Option<String>,
    page: Option<i64>,
}

/// The county committee's own items, which lie in no town.
const COUNTY_ITSELF: &str = "县委本级";

async fn overdue_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<OverdueQuery>,
) -> PageResult {
    let a = &u.session.actor;
    let org_ref = match q.org.clone().filter(|o| !o.is_empty()) {
        Some(o) => o,
        None => home_ref(&st, a).await?,
    };
    let org = st.store.org(a, &org_ref).await?;
    let text = |o: &Option<String>| o.as_deref().unwrap_or("").trim().to_string();
    let (sel_town, sel_type, sel_status) = (text(&q.town), text(&q.ledger_type), text(&q.status));
    // An unknown status is no filter, as an empty one is.
    let status = sel_status.parse::<OverdueStatus>().ok();
    let page = q.page.unwrap_or(0).clamp(0, 100_000);
    let filter = OverdueFilter {
        town: non_empty(&sel_town),
        ledger_type: non_empty(&sel_type),
        status,
        limit: Some(PAGE),
        offset: Some(page * PAGE),
    };
    let as_of = today();
    let found = {
        let _turn = st.reports.enter().await?;
        st.store
            .overdue_page(a, &org.org_ref, as_of, &filter)
            .await?
    };
    let link = |town: &str, status: &str, page: i64| {
        format!(
            "/overdue?org={}&town={}&ledger_type={}&status={status}&page={page}",
            url_encode(&org.org_ref),
            url_encode(town),
            url_encode(&sel_type),
        )
    };
    let towns = found
        .towns
        .iter()
        .map(|c| {
            // The county's own items are reached by the list under the county, unfiltered by town.
            let town_ref = c.town.as_ref().map_or(sel_town.as_str(), |t| &t.org_ref);
            TownLine {
                name: c
                    .town
                    .as_ref()
                    .map_or(COUNTY_ITSELF, |t| &t.name)
                    .to_string(),
                overdue: c.overdue,
                due: c.due,
                overdue_link: link(town_ref, OverdueStatus::Overdue.key(), 0),
                due_link: link(town_ref, OverdueStatus::Due.key(), 0),
            }
        })
        .collect();
    let may_record = a.role.allows(Action::RecordEntry);
    let lines = found
        .items
        .into_iter()
        .map(|item| OverdueLine {
            town_name: item
                .town
                .as_ref()
                .map_or(COUNTY_ITSELF, |t| &t.name)
                .to_string(),
            record_link: may_record.then(|| {
                format!(
                    "/records/new?type={}&org={}",
                    url_encode(&item.ledger_type),
                    url_encode(&item.org.org_ref)
                )
            }),
            item,
        })
        .collect();
    let status_key = status.map_or("", OverdueStatus::key);
    html(OverduePage {
        nav: nav_for(&st, &u).await,
        org_name: org.name.clone(),
        org_ref: org.org_ref.clone(),
        as_of,
        types: type_choices(&st, a).await?,
        prev: (page > 0).then(|| link(&sel_town, status_key, page - 1)),
        next: ((page + 1) * PAGE < found.total).then(|| link(&sel_town, status_key, page + 1)),
        sel_town,
        sel_type,
        sel_status: status_key.to_string(),
        statuses: OverdueStatus::ALL,
        total: found.total,
        towns,
        lines,
    })
}
