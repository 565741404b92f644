//! The pages of people and their positions.

use crate::records::{china_time, record_lines, RecordLine};
use crate::shared::prelude::*;
use taizhang_domain::person::{Education, Ethnicity, MemberCategory, PartyProfile};

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/people", get(people_page).post(people_create))
        .route("/people/{id}", get(person_page))
        .route("/people/{id}/positions", post(person_add_position))
        .route("/people/{id}/reveal", post(person_reveal))
        .route(
            "/people/{id}/edit",
            get(super::forms::person_edit).post(super::forms::person_edit_submit),
        )
        .route(
            "/people/{id}/positions/{pos}/end",
            get(super::forms::position_end).post(super::forms::position_end_submit),
        )
}

pub struct PersonLine {
    id: PersonId,
    name: String,
    gender: String,
    org: String,
    id_number: String,
    phone: String,
    member: &'static str,
}

#[derive(Template)]
#[template(path = "people/people.html")]
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
    ethnicities: Vec<&'static str>,
    educations: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str)>,
}

#[derive(Deserialize, Default)]
struct PeopleQuery {
    org: Option<String>,
    q: Option<String>,
    page: Option<i64>,
}

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
            url_encode(&org_ref),
            url_encode(&text)
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
                gender: p
                    .gender
                    .map(|g| g.label_cn().to_string())
                    .unwrap_or_default(),
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
        ethnicities: Ethnicity::all().map(|e| e.as_str()).collect(),
        educations: Education::ALL
            .iter()
            .map(|e| (e.key(), e.label_cn()))
            .collect(),
        categories: MemberCategory::ALL
            .iter()
            .map(|c| (c.key(), c.label_cn()))
            .collect(),
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
    #[serde(default)]
    ethnicity: String,
    #[serde(default)]
    education: String,
    #[serde(default)]
    member_category: String,
    #[serde(default)]
    joined_on: String,
    #[serde(default)]
    confirmed_on: String,
}

async fn people_create(
    State(st): State<AppState>,
    u: PageUser,
    CsrfForm(f): CsrfForm<PersonForm>,
) -> PageResult {
    let new = |joined_on, confirmed_on| NewPerson {
        name: f.name.clone(),
        org: f.org.trim().to_string(),
        gender: non_empty(&f.gender),
        id_number: non_empty(&f.id_number),
        phone: non_empty(&f.phone),
        party_member: f.party_member.is_some(),
        retired: f.retired.is_some(),
        ethnicity: non_empty(&f.ethnicity),
        education: non_empty(&f.education),
        member_category: non_empty(&f.member_category),
        joined_on,
        confirmed_on,
    };
    let r = match (
        parse_opt_date(&f.joined_on, "joined_on"),
        parse_opt_date(&f.confirmed_on, "confirmed_on"),
    ) {
        (Ok(j), Ok(c)) => st.store.create_person(&u.session.actor, new(j, c)).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    finish_form(
        r,
        |p| redirect_done(&format!("/people/{}", p.id), Done::Saved),
        NotFound::Say("所在组织不存在或不在您的管理范围内"),
        |errors| async {
            // The list is shown again for the organisation typed in, when it is a known one.
            let q = match st.store.org(&u.session.actor, f.org.trim()).await {
                Ok(_) => PeopleQuery {
                    org: Some(f.org.clone()),
                    ..Default::default()
                },
                Err(_) => PeopleQuery::default(),
            };
            render_people(&st, &u, q, errors).await
        },
    )
    .await
}

/// 民族, 学历, 人员类别, 入党日期, 转正日期 as the person's page shows them (blank when not on file).
pub struct ProfileLines {
    ethnicity: &'static str,
    education: &'static str,
    category: &'static str,
    joined_on: String,
    confirmed_on: String,
}

impl ProfileLines {
    fn of(p: &PartyProfile) -> Self {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        ProfileLines {
            ethnicity: p.ethnicity.map_or("", |e| e.as_str()),
            education: p.education.map_or("", Education::label_cn),
            category: p.category.map_or("", MemberCategory::label_cn),
            joined_on: date(p.joined_on),
            confirmed_on: date(p.confirmed_on),
        }
    }
}

pub struct PersonPosition {
    id: PositionId,
    /// Still held: it can be ended.
    held: bool,
    org_ref: String,
    org: String,
    title: String,
    period: String,
}

#[derive(Template)]
#[template(path = "people/person.html")]
struct PersonPage {
    nav: Option<Nav>,
    p: Person,
    gender: String,
    birth: String,
    profile: ProfileLines,
    id_number: String,
    phone: String,
    positions: Vec<PersonPosition>,
    records: Vec<RecordLine>,
    /// The history newest first, when the person was edited.
    versions: Vec<VersionLine>,
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
    id: PersonId,
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
    let versions = if p.version > 1 {
        version_lines(&st.store.person_history(a, id).await?)
    } else {
        Vec::new()
    };
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
        gender: p
            .gender
            .map(|g| g.label_cn().to_string())
            .unwrap_or_default(),
        birth: p.birth_date.map(|d| d.to_string()).unwrap_or_default(),
        profile: ProfileLines::of(&p.profile),
        id_number: p.id_number.clone().unwrap_or_default(),
        phone: p.phone.clone().unwrap_or_default(),
        positions: p
            .positions
            .iter()
            .map(|x| PersonPosition {
                id: x.id,
                held: x.valid_to.is_none(),
                org_ref: x.org.org_ref.clone(),
                org: x.org.name.clone(),
                title: x.title_label.clone(),
                period: period_text(x.valid_from, x.valid_to),
            })
            .collect(),
        p,
        records: record_lines(&recs.records),
        versions,
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

async fn person_page(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<PersonId>,
) -> PageResult {
    render_person(&st, &u, id, Vec::new(), false).await
}

/// Shows a person's 身份证号 and phone whole: a POST with the CSRF token, because the view is
/// written to the audit log.
async fn person_reveal(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<PersonId>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> PageResult {
    render_person(&st, &u, id, Vec::new(), true).await
}

#[derive(Deserialize)]
struct PositionForm {
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
    Path(id): Path<PersonId>,
    CsrfForm(f): CsrfForm<PositionForm>,
) -> PageResult {
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
    finish_form(
        r,
        |_| redirect_done(&format!("/people/{id}"), Done::Saved),
        NotFound::Say("组织不存在或不在您的管理范围内"),
        |errors| render_person(&st, &u, id, errors, false),
    )
    .await
}

/// One version in the person's history: who wrote it, when, why, and each change it made
/// (身份证号 and phone masked, as the history has them).
pub struct VersionLine {
    version: i64,
    written: String,
    reason: String,
    /// (what, before, after)
    changes: Vec<(&'static str, String, String)>,
}

/// What the history shows of a version, field by field, in the page's order.
fn version_values(v: &PersonVersion) -> [(&'static str, String); 12] {
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "（空）".into());
    let date = |d: Option<NaiveDate>| d.map_or_else(|| "（空）".into(), |d| d.to_string());
    let yes = |b: bool| if b { "是" } else { "否" }.to_string();
    [
        ("姓名", v.name.clone()),
        ("所在组织", v.org.name.clone()),
        (
            "性别",
            v.gender
                .map_or_else(|| "（空）".into(), |g| g.label_cn().to_string()),
        ),
        ("身份证号", opt(&v.id_number)),
        ("电话", opt(&v.phone)),
        ("中共党员", yes(v.party_member)),
        ("离退休", yes(v.retired)),
        (
            "民族",
            v.profile
                .ethnicity
                .map_or_else(|| "（空）".into(), |e| e.as_str().to_string()),
        ),
        (
            "学历",
            v.profile
                .education
                .map_or_else(|| "（空）".into(), |e| e.label_cn().to_string()),
        ),
        (
            "人员类别",
            v.profile
                .category
                .map_or_else(|| "（空）".into(), |c| c.label_cn().to_string()),
        ),
        ("入党日期", date(v.profile.joined_on)),
        ("转正日期", date(v.profile.confirmed_on)),
    ]
}

/// The history newest first; each version after the first lists what changed from the one
/// before it.
fn version_lines(history: &[PersonVersion]) -> Vec<VersionLine> {
    let mut out: Vec<VersionLine> = history
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let now = version_values(v);
            let changes = match i.checked_sub(1).and_then(|j| history.get(j)) {
                Some(prev) => version_values(prev)
                    .into_iter()
                    .zip(now)
                    .filter(|(b, a)| b.1 != a.1)
                    .map(|(b, a)| (b.0, b.1, a.1))
                    .collect(),
                None => Vec::new(),
            };
            VersionLine {
                version: v.version,
                written: match &v.written_by {
                    Some(by) => format!("{by} 于 {}", china_time(v.written_at)),
                    None => format!("登记于 {}", china_time(v.written_at)),
                },
                reason: v.reason.clone().unwrap_or_default(),
                changes,
            }
        })
        .collect();
    out.reverse();
    out
}
