//! The pages of cross-links between organisations and people (派驻、结对、联建 …).

use super::{link_lines, LinkLine};
use crate::shared::prelude::*;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/links", get(links_page).post(links_create))
        .route("/links/{id}/end", post(links_end))
}

#[derive(Template)]
#[template(path = "links/links.html")]
struct LinksPage {
    nav: Option<Nav>,
    links: Vec<LinkLine>,
    kinds: Vec<(&'static str, &'static str)>,
    errors: Vec<String>,
    can_edit: bool,
    /// The viewer acts for the whole county (cross-subtree links are theirs).
    county: bool,
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
        county: a.scope.is_county(),
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
    CsrfForm(f): CsrfForm<LinkForm>,
) -> PageResult {
    let a = &u.session.actor;
    let r = async {
        let kind = f
            .kind
            .parse::<LinkKind>()
            .map_err(|_| StoreError::invalid("kind", "link.bad_kind", "请选择关联类型"))?;
        let from_person = match non_empty(&f.from_person) {
            Some(p) => Some(p.parse::<PersonId>().map_err(|_| {
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
    finish_form(
        r,
        |l| redirect_done(&format!("/links?kind={}", l.kind.key()), Done::Saved),
        NotFound::Say("目标组织不存在或不在您的管理范围内"),
        |errors| render_links(&st, &u, None, errors),
    )
    .await
}

async fn links_end(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<LinkId>,
    CsrfForm(f): CsrfForm<DateForm>,
) -> PageResult {
    let on = parse_opt_date(&f.on, "on")?.unwrap_or_else(today);
    let l = st.store.end_link(&u.session.actor, id, on).await?;
    redirect_done(&format!("/links?kind={}", l.kind.key()), Done::Ended)
}
