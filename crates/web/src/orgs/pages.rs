//! The pages of organisations: their tree, names, moves and dissolution.

use crate::links::{link_lines, LinkLine};
use crate::records::{record_lines, RecordLine};
use crate::shared::prelude::*;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org_ref}", get(org_page))
        .route("/orgs/{org_ref}/children", post(org_create_child))
        .route("/orgs/{org_ref}/rename", post(org_rename))
        .route("/orgs/{org_ref}/move", post(org_move))
        .route("/orgs/{org_ref}/dissolve", post(org_dissolve))
}

pub struct PositionLine {
    person_id: PersonId,
    name: String,
    title: String,
    period: String,
}

#[derive(Template)]
#[template(path = "orgs/org.html")]
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
    finish_form(
        r,
        |target| redirect_done(&format!("/orgs/{target}"), Done::Saved),
        NotFound::Page,
        |errors| render_org(st, u, org_ref, errors),
    )
    .await
}

#[derive(Deserialize)]
struct ChildForm {
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
    CsrfForm(f): CsrfForm<ChildForm>,
) -> PageResult {
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
    name: String,
}

async fn org_rename(
    State(st): State<AppState>,
    u: PageUser,
    Path(org_ref): Path<String>,
    CsrfForm(f): CsrfForm<RenameForm>,
) -> PageResult {
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
    parent: String,
    #[serde(default)]
    on: String,
}

async fn org_move(
    State(st): State<AppState>,
    u: PageUser,
    Path(org_ref): Path<String>,
    CsrfForm(f): CsrfForm<MoveForm>,
) -> PageResult {
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

async fn org_dissolve(
    State(st): State<AppState>,
    u: PageUser,
    Path(org_ref): Path<String>,
    CsrfForm(f): CsrfForm<DateForm>,
) -> PageResult {
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
