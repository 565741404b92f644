//! The pages of records due or overdue.

use crate::shared::prelude::*;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new().route("/overdue", get(overdue_page))
}

pub struct OverdueGroup {
    title: String,
    items: Vec<OverdueItem>,
}

#[derive(Template)]
#[template(path = "overdue/overdue.html")]
struct OverduePage {
    nav: Option<Nav>,
    org_name: String,
    org_ref: String,
    as_of: NaiveDate,
    overdue_count: usize,
    due_count: usize,
    groups: Vec<OverdueGroup>,
}

#[derive(Deserialize)]
struct OrgQuery {
    org: Option<String>,
}

async fn overdue_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<OrgQuery>,
) -> PageResult {
    let a = &u.session.actor;
    let org_ref = match q.org.filter(|o| !o.is_empty()) {
        Some(o) => o,
        None => home_ref(&st, a).await?,
    };
    let org = st.store.org(a, &org_ref).await?;
    let as_of = today();
    let permit = st.reports.enter().await?;
    let items = st.store.overdue(a, &org.org_ref, as_of).await?;
    drop(permit);
    let overdue_count = items
        .iter()
        .filter(|i| i.status == OverdueStatus::Overdue)
        .count();
    let due_count = items.len() - overdue_count;
    let mut groups: Vec<OverdueGroup> = Vec::new();
    for i in items {
        let title = format!("{} · {}（{}）", i.ledger_type_name, i.rule, i.period_label);
        match groups.iter_mut().find(|g| g.title == title) {
            Some(g) => g.items.push(i),
            None => groups.push(OverdueGroup {
                title,
                items: vec![i],
            }),
        }
    }
    html(OverduePage {
        nav: nav_for(&st, &u).await,
        org_name: org.name,
        org_ref: org.org_ref.clone(),
        as_of,
        overdue_count,
        due_count,
        groups,
    })
}
