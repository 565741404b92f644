//! Server-rendered pages, in Chinese. Each handler parses its input, calls the store with the
//! logged-in user's actor and renders a template; errors come back as a page a cadre can read.

use crate::api::{
    attachment_response, bulletin_params, home_ref, sniff_ok, BulletinQuery, ALLOWED_TYPES,
    MAX_ATTACHMENT,
};
use crate::chart;
use crate::error::WebError;
use crate::session::{clear_cookie, session_cookie, stage_page, AccountUser, PageUser};
use crate::AppState;
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use taizhang_domain::bulletin::Grouping;
use taizhang_domain::ledger::{
    CadenceRule, FieldDef, FieldEquals, FieldError, FieldKind, LedgerTypeDef,
};
use taizhang_domain::org::{LinkKind, OrgKind, PositionTitle};
use taizhang_domain::period::Cadence;
use taizhang_domain::{Action, Role};
use taizhang_store::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/", get(home))
        .route("/orgs/{org_ref}", get(org_page))
        .route("/orgs/{org_ref}/children", post(org_create_child))
        .route("/orgs/{org_ref}/rename", post(org_rename))
        .route("/orgs/{org_ref}/move", post(org_move))
        .route("/orgs/{org_ref}/dissolve", post(org_dissolve))
        .route("/links", get(links_page).post(links_create))
        .route("/links/{id}/end", post(links_end))
        .route("/people", get(people_page).post(people_create))
        .route("/people/{id}", get(person_page))
        .route("/people/{id}/positions", post(person_add_position))
        .route("/people/{id}/reveal", post(person_reveal))
        .route("/ledger-types", get(types_page).post(type_create))
        .route("/ledger-types/new", get(type_new))
        .route("/ledger-types/{key}/edit", get(type_edit))
        .route("/ledger-types/{key}", post(type_update))
        .route("/records", get(records_page))
        .route("/records/new", get(record_new).post(record_submit))
        .route("/records/{id}", get(record_page))
        .route("/records/{id}/void", post(record_void))
        .route("/attachments/{id}", get(attachment))
        .route("/overdue", get(overdue_page))
        .route("/bulletin", get(bulletin_page))
        .route("/audit", get(audit_page))
}

// ---- shared pieces -----------------------------------------------------------------------------

pub struct Nav {
    pub(crate) display_name: String,
    pub(crate) org_name: String,
    pub(crate) role_label: &'static str,
    pub(crate) csrf: String,
    pub(crate) home_ref: String,
    pub(crate) can_admin: bool,
    pub(crate) can_audit: bool,
    pub(crate) can_data: bool,
    pub(crate) can_users: bool,
}

pub(crate) fn nav(s: &Session, home_ref: String) -> Option<Nav> {
    Some(Nav {
        display_name: s.display_name.clone(),
        org_name: s.org_name.clone(),
        role_label: s.actor.role.label_cn(),
        csrf: s.csrf_token.clone(),
        home_ref,
        can_admin: s.actor.role.allows(Action::ManageLedgerTypes),
        can_audit: s.actor.role.allows(Action::ReadAudit),
        can_data: s.actor.role.allows(Action::ReadRecords),
        can_users: s.actor.role.allows(Action::ManageUsers),
    })
}

pub(crate) async fn nav_for(st: &AppState, u: &PageUser) -> Option<Nav> {
    let home = home_ref(st, &u.session.actor).await.unwrap_or_default();
    nav(&u.session, home)
}

/// A page-level error, shown as a page.
pub struct PageError(pub(crate) WebError);

impl From<WebError> for PageError {
    fn from(e: WebError) -> Self {
        PageError(e)
    }
}
impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError(WebError::Store(e))
    }
}
impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError(WebError::Render(e.to_string()))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: Option<Nav>,
    heading: String,
    message: String,
    fields: Vec<String>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, body) = self.0.status_and_body();
        let heading = match status {
            StatusCode::NOT_FOUND => "未找到",
            StatusCode::FORBIDDEN => "无权访问",
            StatusCode::UNPROCESSABLE_ENTITY => "输入有误",
            StatusCode::CONFLICT => "无法完成操作",
            _ => "出错了",
        };
        let page = ErrorPage {
            nav: None,
            heading: heading.into(),
            message: body.message,
            fields: body.fields.into_iter().map(|f| f.message).collect(),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, "error").into_response(),
        }
    }
}

pub(crate) type PageResult = Result<Response, PageError>;

pub(crate) fn html(t: impl Template) -> PageResult {
    Ok(Html(t.render()?).into_response())
}

/// A page with another status than 200 (a refused form shown again, say).
pub(crate) fn html_with(status: StatusCode, t: impl Template) -> PageResult {
    Ok((status, Html(t.render()?)).into_response())
}

pub(crate) fn check_csrf(u: &PageUser, token: Option<&str>) -> Result<(), PageError> {
    if token == Some(u.session.csrf_token.as_str()) {
        Ok(())
    } else {
        Err(PageError(WebError::Csrf))
    }
}

pub(crate) fn messages(e: &StoreError) -> Vec<String> {
    match e {
        StoreError::Invalid(f) => f.iter().map(|x| x.message.clone()).collect(),
        StoreError::NotFound => vec!["未找到，或不在您的管理范围内".into()],
        other => vec![other.to_string()],
    }
}

/// Errors a form can show beside itself; anything else becomes an error page.
fn recoverable(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Invalid(_) | StoreError::Conflict { .. } | StoreError::NotFound
    )
}

fn period_text(from: NaiveDate, to: Option<NaiveDate>) -> String {
    match to {
        Some(t) => format!("{from} 至 {t}"),
        None => format!("{from} 起"),
    }
}

fn parse_opt_date(s: &str, field: &str) -> Result<Option<NaiveDate>, StoreError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| StoreError::invalid(field, "date.invalid", "日期格式应为 YYYY-MM-DD"))
}

fn urlenc(s: &str) -> String {
    crate::api::percent_encode(s)
}

pub struct RecordLine {
    id: i64,
    date: String,
    type_name: String,
    org_ref: String,
    org_name: String,
    summary: String,
    people: usize,
}

fn record_lines(recs: &[Record]) -> Vec<RecordLine> {
    recs.iter()
        .map(|r| {
            let summary = r
                .fields
                .as_object()
                .map(|m| {
                    m.values()
                        .filter_map(|v| match v {
                            Value::String(s) if s.chars().count() < 40 && s.len() != 64 => {
                                Some(s.clone())
                            }
                            _ => None,
                        })
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" · ")
                })
                .unwrap_or_default();
            RecordLine {
                id: r.id,
                date: r.occurred_on.to_string(),
                type_name: r.ledger_type_name.clone(),
                org_ref: r.org.org_ref.clone(),
                org_name: r.org.name.clone(),
                summary,
                people: r.people.len(),
            }
        })
        .collect()
}

async fn type_choices(st: &AppState, actor: &Actor) -> Result<Vec<(String, String)>, PageError> {
    Ok(st
        .store
        .ledger_types(actor)
        .await?
        .into_iter()
        .map(|t| (t.key, t.name))
        .collect())
}

// ---- login -------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Option<Nav>,
    error: Option<String>,
    username: String,
    /// The password was right; the account's one-time code is asked for.
    ask_totp: bool,
}

async fn login_page() -> PageResult {
    html(LoginPage {
        nav: None,
        error: None,
        username: String::new(),
        ask_totp: false,
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    totp: String,
}

async fn login_submit(
    State(st): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    Form(f): Form<LoginForm>,
) -> PageResult {
    st.login_limiter.check(peer.ip())?;
    if !crate::session::same_origin(&headers) {
        return Err(PageError(WebError::Csrf));
    }
    let totp = Some(f.totp.trim()).filter(|c| !c.is_empty());
    match st.store.login(f.username.trim(), &f.password, totp).await {
        Ok((session, token)) => Ok((
            [(header::SET_COOKIE, session_cookie(&token, st.https))],
            Redirect::to(stage_page(session.stage)),
        )
            .into_response()),
        Err(
            e @ (StoreError::BadCredentials
            | StoreError::Locked { .. }
            | StoreError::SecondFactorRequired),
        ) => {
            let status = if matches!(e, StoreError::Locked { .. }) {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNAUTHORIZED
            };
            let page = LoginPage {
                nav: None,
                error: Some(e.to_string()),
                ask_totp: matches!(e, StoreError::SecondFactorRequired) || totp.is_some(),
                username: f.username,
            };
            html_with(status, page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

async fn logout(
    State(st): State<AppState>,
    AccountUser(u): AccountUser,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&u, f.csrf.as_deref())?;
    st.store.logout(&u.token).await?;
    Ok((
        [(header::SET_COOKIE, clear_cookie(st.https))],
        Redirect::to("/login"),
    )
        .into_response())
}

// ---- home --------------------------------------------------------------------------------------

pub struct RootCard {
    org_ref: String,
    name: String,
    kind_label: String,
    children: usize,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    nav: Option<Nav>,
    title: String,
    roots: Vec<RootCard>,
    overdue: usize,
    due: usize,
    can_record: bool,
    types: Vec<(String, String)>,
    records: Vec<RecordLine>,
}

async fn home(State(st): State<AppState>, u: PageUser) -> PageResult {
    let a = &u.session.actor;
    if a.role == Role::Auditor {
        return Ok(Redirect::to("/audit").into_response());
    }
    if a.role == Role::SecAdmin {
        return Ok(Redirect::to("/users").into_response());
    }
    let roots = st.store.scope_roots(a).await?;
    let mut cards = Vec::new();
    let mut overdue = 0;
    let mut due = 0;
    for r in &roots {
        let children = st.store.children(a, r.id, false).await?.len();
        cards.push(RootCard {
            org_ref: r.org_ref.clone(),
            name: r.name.clone(),
            kind_label: r.kind_label.clone(),
            children,
        });
        for i in st.store.overdue(a, &r.org_ref, today()).await? {
            if i.status == "overdue" {
                overdue += 1;
            } else {
                due += 1;
            }
        }
    }
    let recent = st
        .store
        .records(
            a,
            &RecordQuery {
                limit: Some(10),
                ..Default::default()
            },
        )
        .await?;
    html(HomePage {
        nav: nav_for(&st, &u).await,
        title: format!("{}，您好", u.session.display_name),
        roots: cards,
        overdue,
        due,
        can_record: a.role.allows(Action::RecordEntry),
        types: type_choices(&st, a).await?,
        records: record_lines(&recent.records),
    })
}

// ---- organisations -----------------------------------------------------------------------------

pub struct LinkLine {
    id: i64,
    kind: String,
    from: String,
    to: String,
    via: String,
    period: String,
    open: bool,
}

fn link_lines(links: &[Link]) -> Vec<LinkLine> {
    links
        .iter()
        .map(|l| LinkLine {
            id: l.id,
            kind: l.kind_label.clone(),
            from: l
                .from_person
                .as_ref()
                .map(|p| p.name.clone())
                .or_else(|| l.from_org.as_ref().map(|o| o.name.clone()))
                .unwrap_or_default(),
            to: l.to_org.name.clone(),
            via: match (&l.via_org, l.role.as_deref()) {
                (Some(v), _) => v.name.clone(),
                (None, Some("chair")) => "轮值主席".into(),
                (None, Some("member")) => "成员".into(),
                _ => String::new(),
            },
            period: period_text(l.valid_from, l.valid_to),
            open: l.valid_to.is_none(),
        })
        .collect()
}

pub struct PositionLine {
    person_id: i64,
    name: String,
    title: String,
    period: String,
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    nav: Option<Nav>,
    org: Org,
    ancestors: Vec<Org>,
    children: Vec<Org>,
    links: Vec<LinkLine>,
    positions: Vec<PositionLine>,
    history: Vec<String>,
    records: Vec<RecordLine>,
    errors: Vec<String>,
    can_edit: bool,
    can_record: bool,
    csrf: String,
    today: NaiveDate,
    kinds: Vec<(&'static str, &'static str)>,
}

async fn render_org(st: &AppState, u: &PageUser, org_ref: &str, errors: Vec<String>) -> PageResult {
    let a = &u.session.actor;
    let org = st.store.org(a, org_ref).await?;
    let mut ancestors = st.store.ancestors(a, org.id).await?;
    ancestors.retain(|x| x.id != org.id);
    let children = st.store.children(a, org.id, true).await?;
    let links = st.store.links(a, Some(org.id), None).await?;
    let positions = st
        .store
        .positions_in(a, org.id)
        .await?
        .into_iter()
        .filter(|p| p.title != PositionTitle::Member)
        .map(|p| PositionLine {
            person_id: p.person.id,
            name: p.person.name,
            title: p.title_label,
            period: period_text(p.valid_from, p.valid_to),
        })
        .collect();
    let history = st
        .store
        .org_history(a, org.id)
        .await?
        .into_iter()
        .map(|h| {
            format!(
                "{}隶属于“{}”",
                period_text(h.valid_from, h.valid_to.and_then(|d| d.pred_opt())),
                h.parent_name
            )
        })
        .collect();
    let recs = st
        .store
        .records(
            a,
            &RecordQuery {
                org: Some(org.org_ref.clone()),
                limit: Some(10),
                ..Default::default()
            },
        )
        .await?;
    html(OrgPage {
        nav: nav_for(st, u).await,
        org,
        ancestors,
        children,
        links: link_lines(&links),
        positions,
        history,
        records: record_lines(&recs.records),
        errors,
        can_edit: a.role.allows(Action::EditOrg),
        can_record: a.role.allows(Action::RecordEntry),
        csrf: u.session.csrf_token.clone(),
        today: today(),
        kinds: OrgKind::ALL
            .iter()
            .filter(|k| **k != OrgKind::County)
            .map(|k| (k.key(), k.label_cn()))
            .collect(),
    })
}

async fn org_page(
    State(st): State<AppState>,
    u: PageUser,
    Path(org_ref): Path<String>,
) -> PageResult {
    render_org(&st, &u, &org_ref, Vec::new()).await
}

/// After a form on the organisation page: back to it, showing the errors if the store refused.
async fn after_org_form(
    st: &AppState,
    u: &PageUser,
    org_ref: &str,
    r: Result<String, StoreError>,
) -> PageResult {
    match r {
        Ok(target) => Ok(Redirect::to(&format!("/orgs/{target}")).into_response()),
        Err(e) if recoverable(&e) && !matches!(e, StoreError::NotFound) => {
            let resp = render_org(st, u, org_ref, messages(&e)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, resp).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct ChildForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    kind: String,
    name: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    established_on: String,
}

async fn org_create_child(
    State(st): State<AppState>,
    u: PageUser,
    Path(org_ref): Path<String>,
    Form(f): Form<ChildForm>,
) -> PageResult {
    check_csrf(&u, f.csrf.as_deref())?;
    let a = &u.session.actor;
    let r = async {
        let kind = f
            .kind
            .parse::<OrgKind>()
            .map_err(|_| StoreError::invalid("kind", "org.bad_kind", "请选择组织类型"))?;
        let established_on = parse_opt_date(&f.established_on, "established_on")?;
        let org = st
            .store
            .create_org(
                a,
                &org_ref,
                NewOrg {
                    kind,
                    name: f.name.clone(),
                    code: Some(f.code.clone()),
                    established_on,
                },
            )
            .await?;
        Ok(org.org_ref)
    }
    .await;
    after_org_form(&st, &u, &org_ref, r).await
}

#[derive(Deserialize)]
struct RenameForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    name: String,
}

async fn org_rename(
    State(st): State<AppState>,
    u: PageUser,
    Path(org_ref): Path<String>,
    Form(f): Form<RenameForm>,
) -> PageResult {
    check_csrf(&u, f.csrf.as_deref())?;
    let a = &u.session.actor;
    let org = st.store.org(a, &org_ref).await?;
    let r = st
        .store
        .rename_org(a, org.id, &f.name)
        .await
        .map(|o| o.org_ref);
    after_org_form(&st, &u, &org_ref, r).await
}

#[derive(Deserialize)]
struct MoveForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    parent: String,
    #[serde(default)]
    on: String,
}

async fn org_move(
    State(st): State<AppState>,
    u: PageUser,
    Path(org_ref): Path<String>,
    Form(f): Form<MoveForm>,
) -> PageResult {
    check_csrf(&u, f.csrf.as_deref())?;
    let a = &u.session.actor;
    let org = st.store.org(a, &org_ref).await?;
    let r = async {
        let on = parse_opt_date(&f.on, "on")?.unwrap_or_else(today);
        st.store
            .move_org(a, org.id, f.parent.trim(), on)
            .await
            .map(|o| o.org_ref)
    }
    .await;
    let r = match r {
        Err(StoreError::NotFound) => Err(StoreError::invalid(
            "parent",
            "org.unknown_parent",
            "新的上级组织不存在或不在您的管理范围内",
        )),
        other => other,
    };
    after_org_form(&st, &u, &org_ref, r).await
}

#[derive(Deserialize)]
struct DateForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    #[serde(default)]
    on: String,
}

async fn org_dissolve(
    State(st): State<AppState>,
    u: PageUser,
    Path(org_ref): Path<String>,
    Form(f): Form<DateForm>,
) -> PageResult {
    check_csrf(&u, f.csrf.as_deref())?;
    let a = &u.session.actor;
    let org = st.store.org(a, &org_ref).await?;
    let r = async {
        let on = parse_opt_date(&f.on, "on")?.unwrap_or_else(today);
        st.store
            .dissolve_org(a, org.id, on)
            .await
            .map(|o| o.org_ref)
    }
    .await;
    after_org_form(&st, &u, &org_ref, r).await
}

// ---- cross-links -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "links.html")]
struct LinksPage {
    nav: Option<Nav>,
    links: Vec<LinkLine>,
    kinds: Vec<(&'static str, &'static str)>,
    errors: Vec<String>,
    can_edit: bool,
    csrf: String,
    today: NaiveDate,
}

#[derive(Deserialize)]
struct LinksQuery {
    kind: Option<String>,
}

async fn render_links(
    st: &AppState,
    u: &PageUser,
    kind: Option<LinkKind>,
    errors: Vec<String>,
) -> PageResult {
    let a = &u.session.actor;
    let links = st.store.links(a, None, kind).await?;
    html(LinksPage {
        nav: nav_for(st, u).await,
        links: link_lines(&links),
        kinds: LinkKind::ALL
            .iter()
            .map(|k| (k.key(), k.label_cn()))
            .collect(),
        errors,
        can_edit: a.role.allows(Action::EditOrg),
        csrf: u.session.csrf_token.clone(),
        today: today(),
    })
}

async fn links_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<LinksQuery>,
) -> PageResult {
    let kind = q
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .and_then(|k| k.parse().ok());
    render_links(&st, &u, kind, Vec::new()).await
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    kind: String,
    #[serde(default)]
    from_person: String,
    #[serde(default)]
    from_org: String,
    to_org: String,
    #[serde(default)]
    via_org: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    #[serde(default)]
    note: String,
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

async fn links_create(
    State(st): State<AppState>,
    u: PageUser,
    Form(f): Form<LinkForm>,
) -> PageResult {
    check_csrf(&u, f.csrf.as_deref())?;
    let a = &u.session.actor;
    let r = async {
        let kind = f
            .kind
            .parse::<LinkKind>()
            .map_err(|_| StoreError::invalid("kind", "link.bad_kind", "请选择关联类型"))?;
        let from_person = match non_empty(&f.from_person) {
            Some(p) => Some(p.parse::<i64>().map_err(|_| {
                StoreError::invalid("from_person", "link.from_person", "人员编号应为数字")
            })?),
            None => None,
        };
        let valid_from = parse_opt_date(&f.valid_from, "valid_from")?.unwrap_or_else(today);
        let new = NewLink {
            kind,
            from_org: non_empty(&f.from_org),
            from_person,
            to_org: f.to_org.trim().to_string(),
            via_org: non_empty(&f.via_org),
            role: non_empty(&f.role),
            note: non_empty(&f.note),
            valid_from,
            valid_to: parse_opt_date(&f.valid_to, "valid_to")?,
        };
        st.store.create_link(a, new).await
    }
    .await;
    match r {
        Ok(l) => Ok(Redirect::to(&format!("/links?kind={}", l.kind.key())).into_response()),
        Err(e) if recoverable(&e) => {
            let errors = match e {
                StoreError::NotFound => vec!["目标组织不存在或不在您的管理范围内".to_string()],
                other => messages(&other),
            };
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                render_links(&st, &u, None, errors).await?,
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn links_end(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<DateForm>,
) -> PageResult {
    check_csrf(&u, f.csrf.as_deref())?;
    let on = parse_opt_date(&f.on, "on")?.unwrap_or_else(today);
    let l = st.store.end_link(&u.session.actor, id, on).await?;
    Ok(Redirect::to(&format!("/links?kind={}", l.kind.key())).into_response())
}

// ---- people ------------------------------------------------------------------------------------

pub struct PersonLine {
    id: i64,
    name: String,
    gender: String,
    org: String,
    id_number: String,
    phone: String,
    member: &'static str,
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    nav: Option<Nav>,
    org_name: Option<String>,
    org_ref: String,
    q: String,
    total: i64,
    people: Vec<PersonLine>,
    prev: Option<String>,
    next: Option<String>,
    errors: Vec<String>,
    can_edit: bool,
    csrf: String,
}

#[derive(Deserialize, Default)]
struct PeopleQuery {
    org: Option<String>,
    q: Option<String>,
    page: Option<i64>,
}

const PAGE: i64 = 50;

async fn render_people(
    st: &AppState,
    u: &PageUser,
    q: PeopleQuery,
    errors: Vec<String>,
) -> PageResult {
    let a = &u.session.actor;
    let org = match q.org.as_deref().filter(|o| !o.is_empty()) {
        Some(r) => Some(st.store.org(a, r).await?),
        None => None,
    };
    let page = q.page.unwrap_or(0).clamp(0, 100_000);
    let text = q.q.clone().unwrap_or_default();
    let (total, people) = st
        .store
        .people(a, org.as_ref().map(|o| o.id), &text, PAGE, page * PAGE)
        .await?;
    let org_ref = org.as_ref().map(|o| o.org_ref.clone()).unwrap_or_default();
    let link = |p: i64| {
        format!(
            "/people?org={}&q={}&page={p}",
            urlenc(&org_ref),
            urlenc(&text)
        )
    };
    html(PeoplePage {
        nav: nav_for(st, u).await,
        org_name: org.as_ref().map(|o| o.name.clone()),
        org_ref: org_ref.clone(),
        q: text.clone(),
        total,
        people: people
            .into_iter()
            .map(|p| PersonLine {
                id: p.id,
                name: p.name,
                gender: p.gender.unwrap_or_default(),
                org: p.org.name,
                id_number: p.id_number.unwrap_or_default(),
                phone: p.phone.unwrap_or_default(),
                member: if p.party_member { "是" } else { "否" },
            })
            .collect(),
        prev: (page > 0).then(|| link(page - 1)),
        next: ((page + 1) * PAGE < total).then(|| link(page + 1)),
        errors,
        can_edit: a.role.allows(Action::EditPeople),
        csrf: u.session.csrf_token.clone(),
    })
}

async fn people_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<PeopleQuery>,
) -> PageResult {
    render_people(&st, &u, q, Vec::new()).await
}

#[derive(Deserialize)]
struct PersonForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    name: String,
    org: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    gender: String,
    #[serde(default)]
    party_member: Option<String>,
    #[serde(default)]
    retired: Option<String>,
}

async fn people_create(
    State(st): State<AppState>,
    u: PageUser,
    Form(f): Form<PersonForm>,
) -> PageResult {
    check_csrf(&u, f.csrf.as_deref())?;
    let new = NewPerson {
        name: f.name.clone(),
        org: f.org.trim().to_string(),
        gender: non_empty(&f.gender),
        id_number: non_empty(&f.id_number),
        phone: non_empty(&f.phone),
        party_member: f.party_member.is_some(),
        retired: f.retired.is_some(),
    };
    match st.store.create_person(&u.session.actor, new).await {
        Ok(p) => Ok(Redirect::to(&format!("/people/{}", p.id)).into_response()),
        Err(e) if recoverable(&e) => {
            let errors = match e {
                StoreError::NotFound => vec!["所在组织不存在或不在您的管理范围内".to_string()],
                other => messages(&other),
            };
            let q = PeopleQuery {
                org: Some(f.org),
                ..Default::default()
            };
            let q = if st
                .store
                .org(&u.session.actor, q.org.as_deref().unwrap_or(""))
                .await
                .is_ok()
            {
                q
            } else {
                PeopleQuery::default()
            };
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                render_people(&st, &u, q, errors).await?,
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub struct PersonPosition {
    org_ref: String,
    org: String,
    title: String,
    period: String,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    nav: Option<Nav>,
    p: Person,
    gender: String,
    birth: String,
    id_number: String,
    phone: String,
    positions: Vec<PersonPosition>,
    records: Vec<RecordLine>,
    titles: Vec<(&'static str, &'static str)>,
    errors: Vec<String>,
    can_edit: bool,
    /// May see 身份证号 and phone whole (each view is audited) and has not yet.
    can_reveal: bool,
    csrf: String,
    today: NaiveDate,
}

async fn render_person(
    st: &AppState,
    u: &PageUser,
    id: i64,
    errors: Vec<String>,
    reveal: bool,
) -> PageResult {
    let a = &u.session.actor;
    let p = if reveal {
        st.store.person_revealed(a, id).await?
    } else {
        st.store.person(a, id).await?
    };
    let has_personal = p.id_number.is_some() || p.phone.is_some();
    let recs = st
        .store
        .records(
            a,
            &RecordQuery {
                person: Some(id),
                limit: Some(20),
                ..Default::default()
            },
        )
        .await?;
    html(PersonPage {
        nav: nav_for(st, u).await,
        gender: p.gender.clone().unwrap_or_default(),
        birth: p.birth_date.map(|d| d.to_string()).unwrap_or_default(),
        id_number: p.id_number.clone().unwrap_or_default(),
        phone: p.phone.clone().unwrap_or_default(),
        positions: p
            .positions
            .iter()
            .map(|x| PersonPosition {
                org_ref: x.org.org_ref.clone(),
                org: x.org.name.clone(),
                title: x.title_label.clone(),
                period: period_text(x.valid_from, x.valid_to),
            })
            .collect(),
        p,
        records: record_lines(&recs.records),
        titles: PositionTitle::ALL
            .iter()
            .map(|t| (t.key(), t.label_cn()))
            .collect(),
        errors,
        can_edit: a.role.allows(Action::EditPeople),
        can_reveal: has_personal && !reveal && a.role.allows(Action::ReadPersonalData),
        csrf: u.session.csrf_token.clone(),
        today: today(),
    })
}

async fn person_page(State(st): State<AppState>, u: PageUser, Path(id): Path<i64>) -> PageResult {
    render_person(&st, &u, id, Vec::new(), false).await
}

/// Shows a person's 身份证号 and phone whole: a POST with the CSRF token, because the view is
/// written to the audit log.
async fn person_reveal(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&u, f.csrf.as_deref())?;
    render_person(&st, &u, id, Vec::new(), true).await
}

#[derive(Deserialize)]
struct PositionForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    org: String,
    title: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_to: String,
}

async fn person_add_position(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<PositionForm>,
) -> PageResult {
    check_csrf(&u, f.csrf.as_deref())?;
    let a = &u.session.actor;
    st.store.person(a, id).await?;
    let r = async {
        let title = f
            .title
            .parse::<PositionTitle>()
            .map_err(|_| StoreError::invalid("title", "position.bad_title", "请选择职务"))?;
        let valid_from = parse_opt_date(&f.valid_from, "valid_from")?.unwrap_or_else(today);
        st.store
            .add_position(
                a,
                NewPosition {
                    person_id: id,
                    org: f.org.trim().to_string(),
                    title,
                    valid_from,
                    valid_to: parse_opt_date(&f.valid_to, "valid_to")?,
                },
            )
            .await
    }
    .await;
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/people/{id}")).into_response()),
        Err(e) if recoverable(&e) => {
            let errors = match e {
                StoreError::NotFound => vec!["组织不存在或不在您的管理范围内".to_string()],
                other => messages(&other),
            };
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                render_person(&st, &u, id, errors, false).await?,
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// ---- ledger types ------------------------------------------------------------------------------

pub struct TypeLine {
    key: String,
    name: String,
    version: i64,
    fields: String,
    cadences: String,
}

#[derive(Template)]
#[template(path = "ledger_types.html")]
struct TypesPage {
    nav: Option<Nav>,
    types: Vec<TypeLine>,
}

async fn types_page(State(st): State<AppState>, u: PageUser) -> PageResult {
    let a = &u.session.actor;
    if !a.role.allows(Action::ManageLedgerTypes) {
        return Err(StoreError::Forbidden.into());
    }
    let types = st.store.ledger_types(a).await?;
    html(TypesPage {
        nav: nav_for(&st, &u).await,
        types: types
            .into_iter()
            .map(|t| TypeLine {
                fields: t
                    .definition
                    .active_fields()
                    .map(|f| f.label.clone())
                    .collect::<Vec<_>>()
                    .join("、"),
                cadences: t
                    .definition
                    .cadences
                    .iter()
                    .map(|c| c.label.clone())
                    .collect::<Vec<_>>()
                    .join("、"),
                key: t.key,
                name: t.name,
                version: t.version,
            })
            .collect(),
    })
}

#[derive(Default)]
pub struct FieldRow {
    key: String,
    label: String,
    kind: String,
    required: bool,
    options: String,
    min: String,
    max: String,
    unit: String,
    phrase: String,
    retired: bool,
}

#[derive(Default)]
pub struct CadenceRow {
    label: String,
    cadence: String,
    kinds: String,
    field: String,
    value: String,
    grace: String,
}

#[derive(Template)]
#[template(path = "ledger_type_form.html")]
struct TypeForm {
    nav: Option<Nav>,
    is_new: bool,
    action: String,
    key: String,
    name: String,
    verb: String,
    count_unit: String,
    description: String,
    fields: Vec<FieldRow>,
    cadences: Vec<CadenceRow>,
    field_kinds: Vec<(&'static str, &'static str)>,
    org_kinds: String,
    errors: Vec<String>,
    csrf: String,
}

const EXTRA_ROWS: usize = 4;

fn type_form(
    nav: Option<Nav>,
    csrf: String,
    def: Option<&LedgerTypeDef>,
    errors: Vec<String>,
    is_new: bool,
) -> TypeForm {
    let mut fields: Vec<FieldRow> = def
        .map(|d| {
            d.fields
                .iter()
                .map(|f| {
                    let (min, max) = match &f.kind {
                        FieldKind::Integer { min, max } => (
                            min.map(|v| v.to_string()).unwrap_or_default(),
                            max.map(|v| v.to_string()).unwrap_or_default(),
                        ),
                        FieldKind::Decimal { min, max, .. } => (
                            min.clone().unwrap_or_default(),
                            max.clone().unwrap_or_default(),
                        ),
                        _ => (String::new(), String::new()),
                    };
                    FieldRow {
                        key: f.key.clone(),
                        label: f.label.clone(),
                        kind: f.kind.key().to_string(),
                        required: f.required,
                        options: f.kind.options().join("、"),
                        min,
                        max,
                        unit: f.unit.clone().unwrap_or_default(),
                        phrase: f.phrase.clone().unwrap_or_default(),
                        retired: f.retired,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    fields.extend((0..EXTRA_ROWS).map(|_| FieldRow {
        kind: "text".into(),
        ..Default::default()
    }));
    let mut cadences: Vec<CadenceRow> = def
        .map(|d| {
            d.cadences
                .iter()
                .map(|c| CadenceRow {
                    label: c.label.clone(),
                    cadence: serde_json::to_value(c.cadence)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    kinds: c
                        .org_kinds
                        .iter()
                        .map(|k| k.key())
                        .collect::<Vec<_>>()
                        .join("、"),
                    field: c.when.as_ref().map(|w| w.field.clone()).unwrap_or_default(),
                    value: c.when.as_ref().map(|w| w.value.clone()).unwrap_or_default(),
                    grace: c.grace_days.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    cadences.extend((0..2).map(|_| CadenceRow::default()));
    TypeForm {
        nav,
        is_new,
        action: if is_new {
            "/ledger-types".into()
        } else {
            format!(
                "/ledger-types/{}",
                def.map(|d| d.key.as_str()).unwrap_or("")
            )
        },
        key: def.map(|d| d.key.clone()).unwrap_or_default(),
        name: def.map(|d| d.name.clone()).unwrap_or_default(),
        verb: def.map(|d| d.verb.clone()).unwrap_or_else(|| "开展".into()),
        count_unit: def
            .map(|d| d.count_unit.clone())
            .unwrap_or_else(|| "次".into()),
        description: def.map(|d| d.description.clone()).unwrap_or_default(),
        fields,
        cadences,
        field_kinds: FieldKind::KEYS.to_vec(),
        org_kinds: OrgKind::ALL
            .iter()
            .map(|k| format!("{}（{}）", k.key(), k.label_cn()))
            .collect::<Vec<_>>()
            .join("、"),
        errors,
        csrf,
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(['、', ',', '，', ';', '；', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// Reads the type editor's rows into a definition; row-level mistakes become field errors.
/// Also returns what it could read when some rows are wrong, so the form can be shown again as typed.
fn parse_type_form(form: &HashMap<String, String>) -> (LedgerTypeDef, Vec<FieldError>) {
    let get = |k: &str| {
        form.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let mut fields = Vec::new();
    for i in 0..200 {
        let key = get(&format!("f{i}_key"));
        let label = get(&format!("f{i}_label"));
        if !form.contains_key(&format!("f{i}_key")) {
            break;
        }
        if key.is_empty() && label.is_empty() {
            continue;
        }
        let options = split_list(&get(&format!("f{i}_options")));
        let (min, max) = (get(&format!("f{i}_min")), get(&format!("f{i}_max")));
        let int = |s: &str, what: &str, errors: &mut Vec<FieldError>| -> Option<i64> {
            let what_cn = if what == "min" {
                "最小值"
            } else {
                "最大值"
            };
            if s.is_empty() {
                return None;
            }
            s.parse()
                .map_err(|_| {
                    errors.push(FieldError::new(
                        format!("fields[{i}].{what}"),
                        "field.bad_range",
                        format!("“{label}”的{what_cn}应为整数"),
                    ))
                })
                .ok()
        };
        let kind = match get(&format!("f{i}_kind")).as_str() {
            "text" => FieldKind::Text { max_len: None },
            "long_text" => FieldKind::LongText { max_len: None },
            "integer" => FieldKind::Integer {
                min: int(&min, "min", &mut errors),
                max: int(&max, "max", &mut errors),
            },
            "decimal" => FieldKind::Decimal {
                scale: 2,
                min: non_empty(&min),
                max: non_empty(&max),
            },
            "date" => FieldKind::Date,
            "choice" => FieldKind::Choice {
                options,
                breakdown: true,
            },
            "multi_choice" => FieldKind::MultiChoice { options },
            "people" => FieldKind::People { max: None },
            "organisation" => FieldKind::Organisation,
            "attachment" => FieldKind::Attachment { max: None },
            other => {
                errors.push(FieldError::new(
                    format!("fields[{i}].kind"),
                    "field.bad_kind",
                    format!("未知的字段类型“{other}”"),
                ));
                continue;
            }
        };
        fields.push(FieldDef {
            key,
            label: label.clone(),
            kind,
            required: form.contains_key(&format!("f{i}_required")),
            unit: non_empty(&get(&format!("f{i}_unit"))),
            phrase: non_empty(&get(&format!("f{i}_phrase"))),
            retired: form.contains_key(&format!("f{i}_retired")),
        });
    }
    let mut cadences = Vec::new();
    for i in 0..50 {
        if !form.contains_key(&format!("c{i}_label")) {
            break;
        }
        let cad = get(&format!("c{i}_cadence"));
        let label = get(&format!("c{i}_label"));
        if cad.is_empty() && label.is_empty() {
            continue;
        }
        let cadence = match cad.as_str() {
            "monthly" => Cadence::Monthly,
            "quarterly" => Cadence::Quarterly,
            "yearly" => Cadence::Yearly,
            _ => {
                errors.push(FieldError::new(
                    format!("cadences[{i}].cadence"),
                    "cadence.bad_cadence",
                    format!("周期要求“{label}”需选择周期"),
                ));
                continue;
            }
        };
        let mut org_kinds = Vec::new();
        for k in split_list(&get(&format!("c{i}_kinds"))) {
            match k.parse::<OrgKind>() {
                Ok(kind) => org_kinds.push(kind),
                Err(_) => errors.push(FieldError::new(
                    format!("cadences[{i}].org_kinds"),
                    "cadence.bad_org_kind",
                    format!("未知的组织类型“{k}”"),
                )),
            }
        }
        let field = get(&format!("c{i}_field"));
        let grace = get(&format!("c{i}_grace"));
        cadences.push(CadenceRule {
            label,
            cadence,
            org_kinds,
            when: (!field.is_empty()).then(|| FieldEquals {
                field,
                value: get(&format!("c{i}_value")),
            }),
            grace_days: if grace.is_empty() {
                0
            } else {
                grace.parse().unwrap_or_else(|_| {
                    errors.push(FieldError::new(
                        format!("cadences[{i}].grace_days"),
                        "cadence.bad_grace",
                        "宽限天数应为非负整数",
                    ));
                    0
                })
            },
        });
    }
    let def = LedgerTypeDef {
        key: get("key"),
        name: get("name"),
        description: get("description"),
        verb: non_empty(&get("verb")).unwrap_or_else(|| "开展".into()),
        count_unit: non_empty(&get("count_unit")).unwrap_or_else(|| "次".into()),
        fields,
        cadences,
    };
    (def, errors)
}

/// The editor shows only some attributes of a field; the others (whether a choice is broken down
/// in bulletins, list and length limits, decimal places) are carried over from the saved version.
fn keep_unshown(edited: &mut LedgerTypeDef, saved: &LedgerTypeDef) {
    for f in edited.fields.iter_mut() {
        let Some(old) = saved.field(&f.key) else {
            continue;
        };
        match (&mut f.kind, &old.kind) {
            (FieldKind::Choice { breakdown, .. }, FieldKind::Choice { breakdown: b, .. }) => {
                *breakdown = *b
            }
            (FieldKind::People { max }, FieldKind::People { max: m }) => *max = *m,
            (FieldKind::Attachment { max }, FieldKind::Attachment { max: m }) => *max = *m,
            (FieldKind::Text { max_len }, FieldKind::Text { max_len: m }) => *max_len = *m,
            (FieldKind::LongText { max_len }, FieldKind::LongText { max_len: m }) => *max_len = *m,
            (FieldKind::Decimal { scale, .. }, FieldKind::Decimal { scale: sc, .. }) => {
                *scale = *sc
            }
            _ => {}
        }
    }
}

async fn type_new(State(st): State<AppState>, u: PageUser) -> PageResult {
    if !u.session.actor.role.allows(Action::ManageLedgerTypes) {
        return Err(StoreError::Forbidden.into());
    }
    html(type_form(
        nav_for(&st, &u).await,
        u.session.csrf_token.clone(),
        None,
        Vec::new(),
        true,
    ))
}

async fn type_edit(State(st): State<AppState>, u: PageUser, Path(key): Path<String>) -> PageResult {
    if !u.session.actor.role.allows(Action::ManageLedgerTypes) {
        return Err(StoreError::Forbidden.into());
    }
    let t = st.store.ledger_type(&u.session.actor, &key).await?;
    html(type_form(
        nav_for(&st, &u).await,
        u.session.csrf_token.clone(),
        Some(&t.definition),
        Vec::new(),
        false,
    ))
}

async fn save_type(
    st: &AppState,
    u: &PageUser,
    form: HashMap<String, String>,
    is_new: bool,
) -> PageResult {
    check_csrf(u, form.get("_csrf").map(String::as_str))?;
    let a = &u.session.actor;
    let (mut def, row_errors) = parse_type_form(&form);
    let result = if !row_errors.is_empty() {
        Err(StoreError::Invalid(row_errors))
    } else if is_new {
        st.store.create_ledger_type(a, def.clone()).await
    } else {
        match st.store.ledger_type(a, &def.key).await {
            Ok(saved) => {
                keep_unshown(&mut def, &saved.definition);
                st.store.update_ledger_type(a, def.clone()).await
            }
            Err(e) => Err(e),
        }
    };
    match result {
        Ok(_) => Ok(Redirect::to("/ledger-types").into_response()),
        Err(e) if recoverable(&e) => {
            let page = type_form(
                nav_for(st, u).await,
                u.session.csrf_token.clone(),
                Some(&def),
                messages(&e),
                is_new,
            );
            html_with(StatusCode::UNPROCESSABLE_ENTITY, page)
        }
        Err(e) => Err(e.into()),
    }
}

async fn type_create(
    State(st): State<AppState>,
    u: PageUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    save_type(&st, &u, form, true).await
}

async fn type_update(
    State(st): State<AppState>,
    u: PageUser,
    Path(key): Path<String>,
    Form(mut form): Form<HashMap<String, String>>,
) -> PageResult {
    form.insert("key".into(), key);
    save_type(&st, &u, form, false).await
}

// ---- records -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "records.html")]
struct RecordsPage {
    nav: Option<Nav>,
    types: Vec<(String, String)>,
    sel_type: String,
    sel_org: String,
    sel_from: String,
    sel_to: String,
    sel_field: String,
    sel_option: String,
    total: i64,
    records: Vec<RecordLine>,
    prev: Option<String>,
    next: Option<String>,
    can_record: bool,
}

#[derive(Deserialize)]
struct RecordsQuery {
    ledger_type: Option<String>,
    org: Option<String>,
    from: Option<String>,
    to: Option<String>,
    field: Option<String>,
    option: Option<String>,
    person: Option<i64>,
    page: Option<i64>,
}

async fn records_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<RecordsQuery>,
) -> PageResult {
    let a = &u.session.actor;
    let page = q.page.unwrap_or(0).clamp(0, 100_000);
    let from = parse_opt_date(q.from.as_deref().unwrap_or(""), "from")?;
    let to = parse_opt_date(q.to.as_deref().unwrap_or(""), "to")?;
    let rq = RecordQuery {
        org: q.org.clone().filter(|s| !s.is_empty()),
        ledger_type: q.ledger_type.clone().filter(|s| !s.is_empty()),
        from,
        to,
        field: q.field.clone().filter(|s| !s.is_empty()),
        option: q.option.clone().filter(|s| !s.is_empty()),
        person: q.person,
        limit: Some(PAGE),
        offset: Some(page * PAGE),
    };
    let res = st.store.records(a, &rq).await?;
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    let link = |p: i64| {
        format!(
            "/records?ledger_type={}&org={}&from={}&to={}&field={}&option={}&page={p}",
            urlenc(&s(&q.ledger_type)),
            urlenc(&s(&q.org)),
            urlenc(&s(&q.from)),
            urlenc(&s(&q.to)),
            urlenc(&s(&q.field)),
            urlenc(&s(&q.option))
        )
    };
    html(RecordsPage {
        nav: nav_for(&st, &u).await,
        types: type_choices(&st, a).await?,
        sel_type: s(&q.ledger_type),
        sel_org: s(&q.org),
        sel_from: s(&q.from),
        sel_to: s(&q.to),
        sel_field: s(&q.field),
        sel_option: s(&q.option),
        total: res.total,
        records: record_lines(&res.records),
        prev: (page > 0).then(|| link(page - 1)),
        next: ((page + 1) * PAGE < res.total).then(|| link(page + 1)),
        can_record: a.role.allows(Action::RecordEntry),
    })
}

pub struct FormField {
    key: String,
    label: String,
    kind: &'static str,
    required: bool,
    unit: String,
    value: String,
    /// (label, selected, value)
    options: Vec<(String, bool, String)>,
    min_attr: String,
    max_attr: String,
    /// Attachments already uploaded with an earlier, refused submission.
    uploaded: Vec<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "record_form.html")]
struct RecordForm {
    nav: Option<Nav>,
    types: Vec<(String, String)>,
    type_key: String,
    type_name: String,
    description: String,
    orgs: Vec<(String, String)>,
    org_value: String,
    org_error: Option<String>,
    date_value: String,
    date_error: Option<String>,
    fields: Vec<FormField>,
    errors: Vec<String>,
    csrf: String,
    today: NaiveDate,
}

#[derive(Deserialize)]
struct NewRecordQuery {
    #[serde(rename = "type")]
    ledger_type: Option<String>,
    org: Option<String>,
}

/// Builds the generated form of a ledger type, filled with `values` and annotated with `errors`.
async fn record_form(
    st: &AppState,
    u: &PageUser,
    type_key: Option<&str>,
    org: Option<&str>,
    values: &Map<String, Value>,
    date: &str,
    errors: &[FieldError],
) -> Result<RecordForm, PageError> {
    let a = &u.session.actor;
    let types = st.store.ledger_types(a).await?;
    let t = match type_key.filter(|k| !k.is_empty()) {
        Some(k) => types
            .iter()
            .find(|t| t.key == k)
            .ok_or(StoreError::NotFound)?,
        None => types.first().ok_or(StoreError::NotFound)?,
    };
    let roots = st.store.scope_roots(a).await?;
    let mut orgs: Vec<(String, String)> = Vec::new();
    for r in &roots {
        orgs.push((r.org_ref.clone(), r.name.clone()));
        for c in st.store.children(a, r.id, false).await? {
            orgs.push((c.org_ref.clone(), format!("{} › {}", r.name, c.name)));
            if !r.kind.is_branch() && orgs.len() < 600 {
                for g in st.store.children(a, c.id, false).await? {
                    orgs.push((
                        g.org_ref.clone(),
                        format!("{} › {} › {}", r.name, c.name, g.name),
                    ));
                }
            }
        }
    }
    let org_value = org
        .map(String::from)
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| roots.first().map(|r| r.org_ref.clone()).unwrap_or_default());
    if !orgs.iter().any(|o| o.0 == org_value) {
        if let Ok(o) = st.store.org(a, &org_value).await {
            orgs.insert(0, (o.org_ref, o.name));
        }
    }
    // People fields offer the members of the chosen organisation.
    let members = match st.store.org(a, &org_value).await {
        Ok(o) => st.store.people(a, Some(o.id), "", 200, 0).await?.1,
        Err(_) => Vec::new(),
    };
    let err_for = |key: &str| {
        errors
            .iter()
            .find(|e| e.field == key)
            .map(|e| e.message.clone())
    };
    let text_of = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let list_of = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Array(a)) => a.iter().map(|x| text_of(Some(x))).collect(),
            Some(other) => vec![text_of(Some(other))],
            None => Vec::new(),
        }
    };
    let fields = t
        .definition
        .active_fields()
        .map(|f| {
            let v = values.get(&f.key);
            let chosen = list_of(v);
            let options = match &f.kind {
                FieldKind::Choice { options, .. } | FieldKind::MultiChoice { options } => options
                    .iter()
                    .map(|o| (o.clone(), chosen.contains(o), o.clone()))
                    .collect(),
                FieldKind::People { .. } => members
                    .iter()
                    .map(|p| {
                        (
                            p.name.clone(),
                            chosen.contains(&p.id.to_string()),
                            p.id.to_string(),
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let (min_attr, max_attr) = match &f.kind {
                FieldKind::Integer { min, max } => (
                    min.map(|m| format!(" min=\"{m}\"")).unwrap_or_default(),
                    max.map(|m| format!(" max=\"{m}\"")).unwrap_or_default(),
                ),
                _ => (String::new(), String::new()),
            };
            FormField {
                key: f.key.clone(),
                label: f.label.clone(),
                kind: f.kind.key(),
                required: f.required,
                unit: f.unit.clone().unwrap_or_default(),
                value: text_of(v),
                options,
                min_attr,
                max_attr,
                uploaded: if matches!(f.kind, FieldKind::Attachment { .. }) {
                    chosen.clone()
                } else {
                    Vec::new()
                },
                error: err_for(&f.key),
            }
        })
        .collect();
    Ok(RecordForm {
        nav: nav_for(st, u).await,
        types: types
            .iter()
            .map(|t| (t.key.clone(), t.name.clone()))
            .collect(),
        type_key: t.key.clone(),
        type_name: t.name.clone(),
        description: t.definition.description.clone(),
        orgs,
        org_value,
        org_error: err_for("org"),
        date_value: date.to_string(),
        date_error: err_for("occurred_on"),
        fields,
        errors: errors
            .iter()
            .filter(|e| {
                e.field == "people"
                    || e.field == "attachments"
                    || e.field == "ledger_type"
                    || t.definition.field(&e.field).is_none()
                        && e.field != "org"
                        && e.field != "occurred_on"
            })
            .map(|e| e.message.clone())
            .collect(),
        csrf: u.session.csrf_token.clone(),
        today: today(),
    })
}

async fn record_new(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<NewRecordQuery>,
) -> PageResult {
    if !u.session.actor.role.allows(Action::RecordEntry) {
        return Err(StoreError::Forbidden.into());
    }
    let form = record_form(
        &st,
        &u,
        q.ledger_type.as_deref(),
        q.org.as_deref(),
        &Map::new(),
        &today().to_string(),
        &[],
    )
    .await?;
    html(form)
}

/// Reads the generated form: repeated names become lists, files become attachments. Nothing is
/// stored before the CSRF token and the role are checked; every problem is reported at once.
async fn record_submit(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<NewRecordQuery>,
    mut mp: Multipart,
) -> PageResult {
    let a = &u.session.actor;
    let type_key = q.ledger_type.clone().unwrap_or_default();
    let t = st.store.ledger_type(a, &type_key).await?;
    let mut csrf = None;
    let mut org = String::new();
    let mut date = String::new();
    let mut values: Map<String, Value> = Map::new();
    let mut files: Vec<(String, String, String, axum::body::Bytes)> = Vec::new();
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(format!("表单读取失败：{e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(String::from);
        let ctype = field.content_type().unwrap_or("").to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| WebError::BadRequest(format!("表单读取失败：{e}")))?;
        match name.as_str() {
            "_csrf" => csrf = Some(String::from_utf8_lossy(&bytes).to_string()),
            "org" => org = String::from_utf8_lossy(&bytes).trim().to_string(),
            "occurred_on" => date = String::from_utf8_lossy(&bytes).trim().to_string(),
            key => {
                let Some(def) = t.definition.field(key) else {
                    continue;
                };
                match file_name {
                    Some(fname) if !bytes.is_empty() => {
                        files.push((key.to_string(), fname, ctype, bytes))
                    }
                    Some(_) => {}
                    None => {
                        let text = String::from_utf8_lossy(&bytes).to_string();
                        let multi = matches!(
                            def.kind,
                            FieldKind::MultiChoice { .. }
                                | FieldKind::People { .. }
                                | FieldKind::Attachment { .. }
                        );
                        push_value(&mut values, key, Value::String(text), multi);
                    }
                }
            }
        }
    }
    check_csrf(&u, csrf.as_deref())?;
    if !a.role.allows(Action::RecordEntry) {
        return Err(StoreError::Forbidden.into());
    }
    let mut errors = Vec::new();
    for (key, fname, ctype, bytes) in files {
        if !ALLOWED_TYPES.contains(&ctype.as_str())
            || !sniff_ok(&ctype, &bytes)
            || bytes.len() > MAX_ATTACHMENT
        {
            errors.push(FieldError::new(
                &key,
                "attachment.bad_file",
                format!("“{fname}”不是10MB以内的JPEG、PNG、WebP图片或PDF文件"),
            ));
            continue;
        }
        // Kept even if another field is wrong: the re-shown form carries its id.
        let id = st.store.save_attachment(a, &fname, &ctype, &bytes).await?;
        push_value(&mut values, &key, Value::String(id), true);
    }
    let occurred_on = match NaiveDate::parse_from_str(&date, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                "occurred_on",
                "record.bad_date",
                "请填写日期",
            ));
            None
        }
    };
    match occurred_on {
        Some(d) if errors.is_empty() => {
            let new = NewRecord {
                ledger_type: type_key.clone(),
                org: org.clone(),
                occurred_on: d,
                fields: values.clone(),
            };
            match st.store.create_record(a, new).await {
                Ok(r) => return Ok(Redirect::to(&format!("/records/{}", r.id)).into_response()),
                Err(StoreError::Invalid(errs)) => errors = errs,
                Err(e) => return Err(e.into()),
            }
        }
        // The date or an upload is wrong: still tell about every field in the same answer.
        _ => {
            if let Err(field_errors) = t.definition.validate_record(&values) {
                let fresh: Vec<FieldError> = field_errors
                    .into_iter()
                    .filter(|e| !errors.iter().any(|x| x.field == e.field))
                    .collect();
                errors.extend(fresh);
            }
        }
    }
    let form = record_form(
        &st,
        &u,
        Some(&type_key),
        Some(&org),
        &values,
        &date,
        &errors,
    )
    .await?;
    html_with(StatusCode::UNPROCESSABLE_ENTITY, form)
}

fn push_value(values: &mut Map<String, Value>, key: &str, v: Value, multi: bool) {
    if !multi {
        values.insert(key.to_string(), v);
        return;
    }
    match values.get_mut(key) {
        Some(Value::Array(a)) => a.push(v),
        _ => {
            values.insert(key.to_string(), Value::Array(vec![v]));
        }
    }
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage {
    nav: Option<Nav>,
    r: Record,
    /// (label, text, attachment ids)
    fields: Vec<(String, String, Vec<String>)>,
    created: String,
    errors: Vec<String>,
    can_void: bool,
    csrf: String,
}

async fn record_page(State(st): State<AppState>, u: PageUser, Path(id): Path<i64>) -> PageResult {
    let a = &u.session.actor;
    let r = st.store.record(a, id).await?;
    let t = st.store.ledger_type(a, &r.ledger_type).await?;
    let names: HashMap<i64, String> = r.people.iter().map(|p| (p.id, p.name.clone())).collect();
    let mut fields = Vec::new();
    for f in &t.definition.fields {
        let Some(v) = r.fields.get(&f.key) else {
            continue;
        };
        let (text, atts) = match (&f.kind, v) {
            (FieldKind::Attachment { .. }, Value::Array(a)) => (
                String::new(),
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect(),
            ),
            (FieldKind::People { .. }, Value::Array(a)) => (
                a.iter()
                    .filter_map(Value::as_i64)
                    .map(|i| names.get(&i).cloned().unwrap_or_else(|| i.to_string()))
                    .collect::<Vec<_>>()
                    .join("、"),
                Vec::new(),
            ),
            (_, Value::Array(a)) => (
                a.iter()
                    .map(|x| {
                        x.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join("、"),
                Vec::new(),
            ),
            (_, Value::String(s)) => (
                format!(
                    "{s}{}",
                    f.unit
                        .as_deref()
                        .filter(|_| f.kind.numeric_scale().is_some())
                        .unwrap_or("")
                ),
                Vec::new(),
            ),
            (_, other) => (
                format!("{other}{}", f.unit.clone().unwrap_or_default()),
                Vec::new(),
            ),
        };
        fields.push((f.label.clone(), text, atts));
    }
    let created = format!(
        "{} 于 {}",
        r.created_by.clone().unwrap_or_else(|| "系统".into()),
        (r.created_at + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M")
    );
    html(RecordPage {
        nav: nav_for(&st, &u).await,
        r,
        fields,
        created,
        errors: Vec::new(),
        can_void: a.role.allows(Action::RecordEntry),
        csrf: u.session.csrf_token.clone(),
    })
}

#[derive(Deserialize)]
struct VoidForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    reason: String,
}

async fn record_void(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<VoidForm>,
) -> PageResult {
    check_csrf(&u, f.csrf.as_deref())?;
    st.store
        .void_record(&u.session.actor, id, &f.reason)
        .await?;
    Ok(Redirect::to(&format!("/records/{id}")).into_response())
}

async fn attachment(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    Ok(attachment_response(&st, &u.session.actor, &id)
        .await?
        .into_response())
}

// ---- overdue -----------------------------------------------------------------------------------

pub struct OverdueGroup {
    title: String,
    items: Vec<OverdueItem>,
}

#[derive(Template)]
#[template(path = "overdue.html")]
struct OverduePage {
    nav: Option<Nav>,
    org_name: String,
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
    let items = st.store.overdue(a, &org.org_ref, as_of).await?;
    let overdue_count = items.iter().filter(|i| i.status == "overdue").count();
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
        as_of,
        overdue_count,
        due_count,
        groups,
    })
}

// ---- bulletin ----------------------------------------------------------------------------------

pub struct SectionView {
    name: String,
    url: String,
    records: i64,
    orgs: i64,
    people: i64,
    sums: Vec<(String, String)>,
    /// (option, count and share, url)
    options: Vec<(String, String, String)>,
}

pub struct UnitView {
    rank: usize,
    org_ref: String,
    name: String,
    via: String,
    records: i64,
    share: String,
    url: String,
    counts: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "bulletin.html")]
struct BulletinPage {
    nav: Option<Nav>,
    b: taizhang_domain::bulletin::Bulletin,
    by: String,
    link_kinds: Vec<(&'static str, &'static str)>,
    sections: Vec<SectionView>,
    columns: Vec<String>,
    units: Vec<UnitView>,
    chart: String,
    json_url: String,
}

fn records_url(
    org: &str,
    from: NaiveDate,
    to: NaiveDate,
    ledger_type: Option<&str>,
    option: Option<(&str, &str)>,
) -> String {
    let mut u = format!("/records?org={}&from={from}&to={to}", urlenc(org));
    if let Some(t) = ledger_type {
        u.push_str(&format!("&ledger_type={}", urlenc(t)));
    }
    if let Some((f, o)) = option {
        u.push_str(&format!("&field={}&option={}", urlenc(f), urlenc(o)));
    }
    u
}

async fn bulletin_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<BulletinQuery>,
) -> PageResult {
    let a = &u.session.actor;
    let (range, grouping) = bulletin_params(&q)?;
    let org = match q.org.clone().filter(|o| !o.is_empty()) {
        Some(o) => o,
        None => home_ref(&st, a).await?,
    };
    let b = st.store.bulletin(a, &org, range, grouping).await?;
    let types = st.store.ledger_types(a).await?;
    let by = match grouping {
        Grouping::Children => "children".to_string(),
        Grouping::Link(k) => k.key().to_string(),
    };
    let sections = b
        .sections
        .iter()
        .map(|s| SectionView {
            name: s.type_name.clone(),
            url: records_url(
                &b.org.org_ref,
                range.from,
                range.to,
                Some(&s.type_key),
                None,
            ),
            records: s.records,
            orgs: s.organisations,
            people: s.people,
            sums: s
                .sums
                .iter()
                .map(|x| (x.label.clone(), format!("{}{}", x.total, x.unit)))
                .collect(),
            options: s
                .breakdown
                .iter()
                .filter(|o| o.records > 0)
                .map(|o| {
                    (
                        o.option.clone(),
                        format!("{}（{}）", o.records, o.share.clone().unwrap_or_default()),
                        records_url(
                            &b.org.org_ref,
                            range.from,
                            range.to,
                            Some(&s.type_key),
                            Some((&o.field, &o.option)),
                        ),
                    )
                })
                .collect(),
        })
        .collect();
    let columns = b
        .unit_columns
        .iter()
        .map(|k| {
            types
                .iter()
                .find(|t| &t.key == k)
                .map(|t| t.name.clone())
                .unwrap_or_else(|| k.clone())
        })
        .collect();
    let units: Vec<UnitView> = b
        .units
        .iter()
        .map(|x| UnitView {
            rank: x.rank,
            org_ref: x.org.org_ref.clone(),
            name: x.org.name.clone(),
            via: x.via.clone().unwrap_or_default(),
            records: x.records,
            share: x.share.clone().unwrap_or_default(),
            url: records_url(&x.org.org_ref, x.range.from, x.range.to, None, None),
            counts: x
                .counts
                .iter()
                .zip(&b.unit_columns)
                .map(|(n, k)| {
                    (
                        *n,
                        records_url(&x.org.org_ref, x.range.from, x.range.to, Some(k), None),
                    )
                })
                .collect(),
        })
        .collect();
    let chart = chart::bars(
        "各单位台账记录数",
        &units
            .iter()
            .take(20)
            .map(|x| (x.name.clone(), x.records))
            .collect::<Vec<_>>(),
    );
    let json_url = format!(
        "/api/v1/bulletin?org={}&from={}&to={}&by={by}",
        urlenc(&b.org.org_ref),
        range.from,
        range.to
    );
    html(BulletinPage {
        nav: nav_for(&st, &u).await,
        by,
        link_kinds: LinkKind::ALL
            .iter()
            .map(|k| (k.key(), k.label_cn()))
            .collect(),
        sections,
        columns,
        units,
        chart,
        json_url,
        b,
    })
}

// ---- audit -------------------------------------------------------------------------------------

pub struct AuditLine {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    entity: String,
    entity_id: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    total: i64,
    entries: Vec<AuditLine>,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct AuditQuery {
    page: Option<i64>,
}

async fn audit_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let page = q.page.unwrap_or(0).clamp(0, 100_000);
    let (total, entries) = st
        .store
        .audit_entries(&u.session.actor, None, 100, page * 100)
        .await?;
    let short = |v: &Option<Value>| {
        v.as_ref()
            .map(|x| x.to_string().chars().take(300).collect())
            .unwrap_or_default()
    };
    html(AuditPage {
        nav: nav_for(&st, &u).await,
        total,
        entries: entries
            .iter()
            .map(|e| AuditLine {
                seq: e.seq,
                at: (e.at + chrono::Duration::hours(8))
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
                actor: e.actor.clone(),
                action: e.action.clone(),
                entity: e.entity.clone(),
                entity_id: e.entity_id.clone(),
                before: short(&e.before),
                after: short(&e.after),
            })
            .collect(),
        prev: (page > 0).then(|| format!("/audit?page={}", page - 1)),
        next: ((page + 1) * 100 < total).then(|| format!("/audit?page={}", page + 1)),
    })
}
