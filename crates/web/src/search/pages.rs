//! The pickers for a browser: a search page (no JavaScript needed: it shows what to type into
//! an organisation field) and the suggestion lists `picker.js` puts under a field.

use super::api::PickQuery;
use crate::shared::prelude::*;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/pick/orgs", get(|s, u, q| pick_page(s, u, q, Kind::Orgs)))
        .route(
            "/pick/orgs/options",
            get(|s, u, q| options(s, u, q, Kind::Orgs)),
        )
        .route(
            "/pick/people",
            get(|s, u, q| pick_page(s, u, q, Kind::People)),
        )
        .route(
            "/pick/people/options",
            get(|s, u, q| options(s, u, q, Kind::People)),
        )
}

/// What a picker finds.
#[derive(Clone, Copy)]
enum Kind {
    Orgs,
    People,
}

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::Orgs => "组织",
            Kind::People => "人员",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Kind::Orgs => "/pick/orgs",
            Kind::People => "/pick/people",
        }
    }
}

async fn find(st: &AppState, u: &PageUser, kind: Kind, q: &PickQuery) -> StoreResult<Vec<Found>> {
    let a = &u.session.actor;
    Ok(match kind {
        Kind::Orgs => st
            .store
            .pick_orgs(a, &q.q, q.limit())
            .await?
            .into_iter()
            .map(org_found)
            .collect(),
        Kind::People => st
            .store
            .pick_people(a, &q.q, q.limit())
            .await?
            .into_iter()
            .map(person_found)
            .collect(),
    })
}

/// One organisation or person found: what to type into the field, and what tells it apart.
pub(crate) struct Found {
    /// What the field takes: an organisation's `名称（编码）`, a person's name.
    value: String,
    name: String,
    detail: String,
    link: String,
}

fn org_found(p: OrgPick) -> Found {
    let o = p.org;
    let mut detail = o.kind_label.clone();
    if let Some(parent) = p.parent_name {
        detail = format!("{parent} · {detail}");
    }
    if o.dissolved_on.is_some() {
        detail.push_str(" · 已撤销");
    }
    Found {
        value: format!("{}（{}）", o.name, o.org_ref),
        link: format!("/orgs/{}", url_encode(&o.org_ref)),
        name: o.name,
        detail,
    }
}

fn person_found(p: PersonPick) -> Found {
    Found {
        value: p.name.clone(),
        link: format!("/people/{}", p.id),
        name: p.name,
        detail: p.org.name,
    }
}

#[derive(Template)]
#[template(path = "search/pick.html")]
struct PickPage {
    nav: Option<Nav>,
    what: &'static str,
    action: &'static str,
    q: String,
    found: Vec<Found>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "search/options.html")]
struct Options {
    found: Vec<Found>,
}

async fn pick_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<PickQuery>,
    kind: Kind,
) -> PageResult {
    // A query the search refuses (too long, control characters) is said beside the box, which
    // keeps what was typed.
    let (found, error) = match find(&st, &u, kind, &q).await {
        Ok(f) => (f, None),
        Err(StoreError::Invalid(errs)) => (Vec::new(), errs.first().map(|e| e.message.clone())),
        Err(e) => return Err(e.into()),
    };
    html(PickPage {
        nav: nav_for(&st, &u).await,
        what: kind.what(),
        action: kind.action(),
        q: q.q,
        found,
        error,
    })
}

/// `<option>`s for a `<datalist>`; never cached, since they follow the caller's scope.
async fn options(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<PickQuery>,
    kind: Kind,
) -> PageResult {
    let body = Options {
        found: find(&st, &u, kind, &q).await?,
    }
    .render()?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        axum::response::Html(body),
    )
        .into_response())
}
