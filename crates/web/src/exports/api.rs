//! The export handlers: one per list, each answering `GET /api/v1/<list>/export.xlsx` (bearer
//! token) and `GET /<list>/export.xlsx` (the page session, for the "导出Excel" links).

use super::lists::*;
use super::records::{record_row, records_sheet};
use super::{check_bound, xlsx_response, Feed, PAGE_ROWS};
use crate::shared::page::PageError;
use crate::shared::prelude::*;
use axum::extract::RawQuery;
use serde_json::json;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_orgs))
        .routes(routes!(api_people))
        .routes(routes!(api_positions))
        .routes(routes!(api_links))
        .routes(routes!(api_records))
        .routes(routes!(api_overdue))
        .routes(routes!(api_audit))
}

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/export.xlsx", get(page_orgs))
        .route("/people/export.xlsx", get(page_people))
        .route("/positions/export.xlsx", get(page_positions))
        .route("/links/export.xlsx", get(page_links))
        .route("/records/export.xlsx", get(page_records))
        .route("/overdue/export.xlsx", get(page_overdue))
        .route("/audit/export.xlsx", get(page_audit))
}

/// A query value that the pages' links may leave empty (`from=`): empty is absent.
fn empty_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// The filters whose values have a type (a date, a kind, a number, a flag). The pages' links
/// may leave them empty, meaning absent; the API, like the lists' own endpoints, refuses an
/// empty one as the value its document says it is not.
const TYPED_FILTERS: &[&str] = &["kind", "as_of", "from", "to", "whole", "person"];

fn no_empty_typed_values(raw: Option<&str>) -> ApiResult<()> {
    for pair in raw.unwrap_or_default().split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if TYPED_FILTERS.contains(&name) && value.trim().is_empty() {
            return Err(WebError::BadRequest(format!("查询参数“{name}”不能为空")));
        }
    }
    Ok(())
}

/// A workbook's bytes (.xlsx), as the document describes the answer.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // Only described in the document, never built.
pub struct XlsxFile(pub Vec<u8>);

/// One list's export: its API handler (documented), its page handler, and the shared body.
macro_rules! export {
    ($api:ident, $page:ident, $body:ident, $path:literal, $query:ty, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path, params($query),
            responses((status = 200, description = "The list as an .xlsx workbook", content(
                (XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
                (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
        async fn $api(
            State(s): State<AppState>,
            ApiUser(u): ApiUser,
            RawQuery(raw): RawQuery,
            Query(q): Query<$query>,
        ) -> ApiResult<Response> {
            no_empty_typed_values(raw.as_deref())?;
            $body(&s, &u.actor, &q).await
        }

        async fn $page(
            State(s): State<AppState>,
            u: PageUser,
            Query(q): Query<$query>,
        ) -> Result<Response, PageError> {
            Ok($body(&s, &u.session.actor, &q).await?)
        }
    };
}

async fn audited(
    s: &AppState,
    actor: &Actor,
    list: &str,
    name: &str,
    filters: Value,
    feed: Feed,
) -> ApiResult<Response> {
    let out = feed.finish().await?;
    s.store
        .record_export(actor, list, out.rows, json!({ "filters": filters }))
        .await?;
    Ok(xlsx_response(name, out.bytes))
}

// ---- organisations -------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NoFilters {}

export!(
    api_orgs,
    page_orgs,
    orgs,
    "/api/v1/orgs/export.xlsx",
    NoFilters,
    "The organisations of the caller's scope, dissolved ones included."
);

/// The organisations of the caller's scope, to name them by path: their names, codes and
/// parents, a few thousand rows for a county.
async fn org_paths(s: &AppState, actor: &Actor) -> ApiResult<OrgPaths> {
    let mut tree = OrgPaths::default();
    let mut after = 0;
    loop {
        let page = s.store.orgs_after(actor, after, PAGE_ROWS).await?;
        let Some((last, _)) = page.last() else { break };
        after = last.id.get();
        for (o, parent) in &page {
            tree.add(o, parent.as_deref());
        }
        check_bound(tree.len() as i64)?;
    }
    Ok(tree)
}

async fn orgs(s: &AppState, actor: &Actor, _: &NoFilters) -> ApiResult<Response> {
    // Each row names its parent by its path, so that the sheet imports back as the same tree.
    let tree = org_paths(s, actor).await?;
    let feed = Feed::start(orgs_sheet())?;
    // The rows are read again a page at a time rather than kept whole with the tree: the tree
    // holds names and codes only.
    let mut after = 0;
    loop {
        let page = s.store.orgs_after(actor, after, PAGE_ROWS).await?;
        let Some((last, _)) = page.last() else { break };
        after = last.id.get();
        let rows = page
            .iter()
            .map(|(o, _)| org_row(o, tree.parent_path(o).as_deref()))
            .collect();
        if !feed.send(rows).await {
            break;
        }
    }
    audited(s, actor, "orgs", "组织", json!({}), feed).await
}

// ---- people and positions ------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PeopleFilters {
    /// People of this organisation (or holding a position in it), as a code or `o{id}`.
    org: Option<String>,
    /// `true`: 身份证号 and phone whole, for a role that may see personal data (else 403).
    #[serde(default, deserialize_with = "empty_none")]
    whole: Option<bool>,
}

export!(api_people, page_people, people, "/api/v1/people/export.xlsx", PeopleFilters,
    "The people of the caller's scope; 身份证号 and phone masked unless asked whole by a role that may see them.");

async fn people(s: &AppState, actor: &Actor, q: &PeopleFilters) -> ApiResult<Response> {
    let whole = q.whole == Some(true);
    let org = match q.org.as_deref().filter(|o| !o.is_empty()) {
        Some(r) => Some(s.store.org(actor, r).await?.id),
        None => None,
    };
    // Checks the role (and, for `whole`, personal data) before a sheet is started.
    let first = s
        .store
        .people_after(actor, org, whole, 0, PAGE_ROWS)
        .await?;
    let tree = org_paths(s, actor).await?;
    let feed = Feed::start(people_sheet(whole))?;
    let mut page = first;
    while let Some(last) = page.last() {
        let after = last.id.get();
        if !feed
            .send(page.iter().map(|p| person_row(p, &tree)).collect())
            .await
        {
            break;
        }
        page = s
            .store
            .people_after(actor, org, whole, after, PAGE_ROWS)
            .await?;
    }
    let filters = json!({"org": q.org, "whole": whole});
    audited(s, actor, "people", "人员", filters, feed).await
}

export!(
    api_positions,
    page_positions,
    positions,
    "/api/v1/positions/export.xlsx",
    NoFilters,
    "The positions (held and ended) in the organisations of the caller's scope."
);

async fn positions(s: &AppState, actor: &Actor, _: &NoFilters) -> ApiResult<Response> {
    let mut page = s.store.positions_after(actor, 0, PAGE_ROWS).await?;
    let feed = Feed::start(positions_sheet())?;
    while let Some(last) = page.last() {
        let after = last.id.get();
        if !feed.send(page.iter().map(position_row).collect()).await {
            break;
        }
        page = s.store.positions_after(actor, after, PAGE_ROWS).await?;
    }
    audited(s, actor, "positions", "职务", json!({}), feed).await
}

// ---- cross-links ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LinkFilters {
    /// Links from or to this organisation (code or `o{id}`).
    org: Option<String>,
    #[serde(default, deserialize_with = "empty_none")]
    kind: Option<LinkKind>,
}

export!(
    api_links,
    page_links,
    links,
    "/api/v1/links/export.xlsx",
    LinkFilters,
    "The cross-links the list shows: both ends in the caller's scope."
);

async fn links(s: &AppState, actor: &Actor, q: &LinkFilters) -> ApiResult<Response> {
    let org = match q.org.as_deref().filter(|o| !o.is_empty()) {
        Some(r) => Some(s.store.org(actor, r).await?.id),
        None => None,
    };
    // The list is one bounded read (links are few: one or two per village).
    let links = s.store.links(actor, org, q.kind).await?;
    check_bound(links.len() as i64)?;
    let feed = Feed::start(links_sheet())?;
    for chunk in links.chunks(PAGE_ROWS as usize) {
        if !feed.send(chunk.iter().map(link_row).collect()).await {
            break;
        }
    }
    let filters = json!({"org": q.org, "kind": q.kind.map(|k| k.key())});
    audited(s, actor, "links", "结对联建", filters, feed).await
}

// ---- records -------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RecordFilters {
    /// The ledger type whose records are exported, each field a column.
    #[param(max_length = 40)]
    ledger_type: String,
    /// Organisation subtree, as a code or `o{id}`; defaults to the caller's scope.
    org: Option<String>,
    #[serde(default, deserialize_with = "empty_none")]
    from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "empty_none")]
    to: Option<NaiveDate>,
    /// Only records whose choice field `field` has the value `option`.
    #[param(max_length = 40)]
    field: Option<String>,
    #[param(max_length = 40)]
    option: Option<String>,
    /// Only records naming this person.
    #[param(value_type = Option<i64>)]
    #[serde(default, deserialize_with = "empty_none")]
    person: Option<PersonId>,
}

export!(
    api_records,
    page_records,
    records,
    "/api/v1/records/export.xlsx",
    RecordFilters,
    "The records of one ledger type with the records list's filters, newest first."
);

fn non_blank(s: &Option<String>) -> Option<String> {
    s.clone().filter(|s| !s.trim().is_empty())
}

async fn records(s: &AppState, actor: &Actor, f: &RecordFilters) -> ApiResult<Response> {
    let t = s.store.ledger_type(actor, &f.ledger_type).await?;
    let q = RecordQuery {
        org: non_blank(&f.org),
        ledger_type: Some(t.key.clone()),
        from: f.from,
        to: f.to,
        field: non_blank(&f.field),
        option: non_blank(&f.option),
        person: f.person,
        limit: Some(1),
        offset: None,
    };
    // The list's count: scope and filters checked, and a list longer than a sheet refused
    // before anything is written.
    check_bound(s.store.records(actor, &q).await?.total)?;
    let tree = org_paths(s, actor).await?;
    let feed = Feed::start(records_sheet(&t))?;
    let mut after = None;
    loop {
        let page = s.store.records_after(actor, &q, after, PAGE_ROWS).await?;
        let Some(last) = page.last() else { break };
        after = Some((last.occurred_on, last.id));
        if !feed
            .send(page.iter().map(|r| record_row(&t, r, &tree)).collect())
            .await
        {
            break;
        }
    }
    let filters = json!({"ledger_type": t.key, "org": q.org, "from": f.from, "to": f.to,
        "field": q.field, "option": q.option, "person": f.person});
    let list = format!("records:{}", t.key);
    audited(s, actor, &list, &t.name, filters, feed).await
}

// ---- overdue -------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OverdueFilters {
    /// Organisation subtree; defaults to the caller's organisation.
    org: Option<String>,
    /// Defaults to today.
    #[serde(default, deserialize_with = "empty_none")]
    as_of: Option<NaiveDate>,
}

export!(
    api_overdue,
    page_overdue,
    overdue,
    "/api/v1/overdue/export.xlsx",
    OverdueFilters,
    "The overdue list: units whose periodic ledgers lack a record."
);

async fn overdue(s: &AppState, actor: &Actor, q: &OverdueFilters) -> ApiResult<Response> {
    let org = match q.org.clone().filter(|o| !o.is_empty()) {
        Some(o) => o,
        None => home_ref(s, actor).await?,
    };
    let as_of = q.as_of.unwrap_or_else(today);
    let items = {
        let _turn = s.reports.enter().await?;
        s.store.overdue(actor, &org, as_of).await?
    };
    check_bound(items.len() as i64)?;
    let feed = Feed::start(overdue_sheet())?;
    for chunk in items.chunks(PAGE_ROWS as usize) {
        if !feed.send(chunk.iter().map(overdue_row).collect()).await {
            break;
        }
    }
    let filters = json!({"org": org, "as_of": as_of});
    audited(s, actor, "overdue", "逾期提醒", filters, feed).await
}

// ---- audit log -----------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditFilters {
    /// Only entries about this kind of object (`org`, `person`, `record` …).
    #[param(max_length = 40)]
    entity: Option<String>,
}

export!(
    api_audit,
    page_audit,
    audit,
    "/api/v1/audit/export.xlsx",
    AuditFilters,
    "The county's audit log, newest first (审计管理员 only)."
);

async fn audit(s: &AppState, actor: &Actor, q: &AuditFilters) -> ApiResult<Response> {
    let entity = q.entity.as_deref();
    check_bound(s.store.audit_entries(actor, entity, 1, 0).await?.0)?;
    let feed = Feed::start(audit_sheet())?;
    let mut before = None;
    loop {
        let page = s
            .store
            .audit_entries_before(actor, entity, before, PAGE_ROWS)
            .await?;
        let Some(last) = page.last() else { break };
        before = Some(last.seq.get());
        if !feed.send(page.iter().map(audit_row).collect()).await {
            break;
        }
    }
    audited(
        s,
        actor,
        "audit",
        "审计日志",
        json!({"entity": entity}),
        feed,
    )
    .await
}
