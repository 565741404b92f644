//! The forms that change a person: the edit of their particulars (a new version, with a reason)
//! and the end of one of their positions, confirmed on its own page.

use crate::shared::prelude::*;
use taizhang_domain::person::{Education, Ethnicity, MemberCategory};

/// What the edit form holds: the person as they are when it opens, or as typed when refused.
/// 身份证号 and phone are blank unless typed: blank keeps the number on file.
#[derive(Default)]
pub struct EditValues {
    name: String,
    org: String,
    id_number: String,
    phone: String,
    gender: String,
    party_member: bool,
    retired: bool,
    ethnicity: String,
    education: String,
    member_category: String,
    joined_on: String,
    confirmed_on: String,
    clear_id_number: bool,
    clear_phone: bool,
    reason: String,
}

/// The message beside each field, if the store refused it.
#[derive(Default)]
pub struct EditErrors {
    name: Option<String>,
    org: Option<String>,
    id_number: Option<String>,
    phone: Option<String>,
    gender: Option<String>,
    ethnicity: Option<String>,
    education: Option<String>,
    member_category: Option<String>,
    joined_on: Option<String>,
    confirmed_on: Option<String>,
    reason: Option<String>,
}

impl EditErrors {
    /// Sorts the store's messages beside their fields; the rest (stale, unchanged) go on top.
    fn sort(errs: Vec<FieldError>) -> (EditErrors, Vec<String>) {
        let mut e = EditErrors::default();
        let mut top = Vec::new();
        for f in errs {
            let slot = match f.field.as_str() {
                "name" => &mut e.name,
                "org" => &mut e.org,
                "id_number" => &mut e.id_number,
                "phone" => &mut e.phone,
                "gender" => &mut e.gender,
                "ethnicity" => &mut e.ethnicity,
                "education" => &mut e.education,
                "member_category" | "category" => &mut e.member_category,
                "joined_on" => &mut e.joined_on,
                "confirmed_on" => &mut e.confirmed_on,
                "reason" => &mut e.reason,
                _ => {
                    top.push(f.message);
                    continue;
                }
            };
            slot.get_or_insert(f.message);
        }
        (e, top)
    }
}

#[derive(Template)]
#[template(path = "people/person_edit.html")]
struct EditPage {
    nav: Option<Nav>,
    id: PersonId,
    person_name: String,
    version: i64,
    /// The numbers on file, masked, shown beside their blank boxes.
    id_number_now: String,
    phone_now: String,
    v: EditValues,
    e: EditErrors,
    errors: Vec<String>,
    csrf: String,
    ethnicities: Vec<&'static str>,
    educations: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str)>,
}

async fn edit_page(
    st: &AppState,
    u: &PageUser,
    p: &Person,
    version: i64,
    v: EditValues,
    errs: Vec<FieldError>,
) -> Result<EditPage, PageError> {
    let (e, errors) = EditErrors::sort(errs);
    Ok(EditPage {
        nav: nav_for(st, u).await,
        id: p.id,
        person_name: p.name.clone(),
        version,
        id_number_now: p.id_number.clone().unwrap_or_default(),
        phone_now: p.phone.clone().unwrap_or_default(),
        v,
        e,
        errors,
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

/// The edit form, filled with the person as they are now.
pub(super) async fn person_edit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<PersonId>,
) -> PageResult {
    let a = &u.session.actor;
    if !a.role.allows(Action::EditPeople) {
        return Err(StoreError::Forbidden.into());
    }
    let p = st.store.person(a, id).await?;
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let v = EditValues {
        name: p.name.clone(),
        org: p.org.org_ref.clone(),
        gender: p
            .gender
            .map(|g| g.label_cn().to_string())
            .unwrap_or_default(),
        party_member: p.party_member,
        retired: p.retired,
        ethnicity: p
            .profile
            .ethnicity
            .map(|e| e.as_str().to_string())
            .unwrap_or_default(),
        education: p
            .profile
            .education
            .map(|e| e.key().to_string())
            .unwrap_or_default(),
        member_category: p
            .profile
            .category
            .map(|c| c.key().to_string())
            .unwrap_or_default(),
        joined_on: date(p.profile.joined_on),
        confirmed_on: date(p.profile.confirmed_on),
        ..Default::default()
    };
    html(edit_page(&st, &u, &p, p.version, v, Vec::new()).await?)
}

#[derive(Deserialize)]
pub(super) struct EditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    clear_id_number: Option<String>,
    #[serde(default)]
    clear_phone: Option<String>,
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
    #[serde(default, rename = "_version")]
    version: String,
    #[serde(default, rename = "_reason")]
    reason: String,
}

/// A personal number as the edit sends it: blank keeps the one on file, 清除 removes it.
fn number(typed: &str, clear: bool) -> Option<String> {
    if clear {
        Some(String::new())
    } else {
        non_empty(typed)
    }
}

pub(super) async fn person_edit_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<PersonId>,
    CsrfForm(f): CsrfForm<EditForm>,
) -> PageResult {
    let a = &u.session.actor;
    let p = st.store.person(a, id).await?;
    let version: i64 = f.version.trim().parse().unwrap_or(0);
    let mut errs = Vec::new();
    let joined_on = parse_opt_date(&f.joined_on, "joined_on").unwrap_or_else(|e| {
        errs.extend(field_errors(e));
        None
    });
    let confirmed_on = parse_opt_date(&f.confirmed_on, "confirmed_on").unwrap_or_else(|e| {
        errs.extend(field_errors(e));
        None
    });
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errs.is_empty() {
        let edit = PersonEdit {
            version,
            name: f.name.clone(),
            org: f.org.trim().to_string(),
            gender: non_empty(&f.gender),
            id_number: number(&f.id_number, f.clear_id_number.is_some()),
            phone: number(&f.phone, f.clear_phone.is_some()),
            party_member: f.party_member.is_some(),
            retired: f.retired.is_some(),
            ethnicity: non_empty(&f.ethnicity),
            education: non_empty(&f.education),
            member_category: non_empty(&f.member_category),
            joined_on,
            confirmed_on,
            reason: f.reason.clone(),
        };
        match st.store.edit_person(a, id, edit).await {
            Ok(p) => return redirect_done(&format!("/people/{}", p.id), Done::Saved),
            Err(StoreError::Invalid(e)) => errs = e,
            // Stale meanwhile: said at the top, with everything typed kept.
            Err(StoreError::Conflict { code, message }) => {
                status = StatusCode::CONFLICT;
                errs = vec![FieldError::new("person", code, message)];
            }
            Err(e) => return Err(e.into()),
        }
    }
    let v = EditValues {
        name: f.name,
        org: f.org,
        id_number: f.id_number,
        phone: f.phone,
        gender: f.gender,
        party_member: f.party_member.is_some(),
        retired: f.retired.is_some(),
        ethnicity: f.ethnicity,
        education: f.education,
        member_category: f.member_category,
        joined_on: f.joined_on,
        confirmed_on: f.confirmed_on,
        clear_id_number: f.clear_id_number.is_some(),
        clear_phone: f.clear_phone.is_some(),
        reason: f.reason,
    };
    html_with(status, edit_page(&st, &u, &p, version, v, errs).await?)
}

fn field_errors(e: StoreError) -> Vec<FieldError> {
    match e {
        StoreError::Invalid(errs) => errs,
        other => vec![FieldError::new("person", "invalid", other.to_string())],
    }
}

#[derive(Template)]
#[template(path = "people/position_end.html")]
struct EndPage {
    nav: Option<Nav>,
    person: PersonName,
    pos: Position,
    on: String,
    on_error: Option<String>,
    errors: Vec<String>,
    csrf: String,
}

/// The position of the person, if it is theirs and still held.
async fn held(
    st: &AppState,
    a: &Actor,
    id: PersonId,
    pos: PositionId,
) -> Result<(Person, Position), PageError> {
    let p = st.store.person(a, id).await?;
    let x = p
        .positions
        .iter()
        .find(|x| x.id == pos)
        .cloned()
        .ok_or(StoreError::NotFound)?;
    if let Some(ended) = x.valid_to {
        return Err(StoreError::conflict(
            "position.already_ended",
            format!("该任职已于{ended}结束"),
        )
        .into());
    }
    Ok((p, x))
}

async fn end_page(
    st: &AppState,
    u: &PageUser,
    p: Person,
    pos: Position,
    on: String,
    errs: Vec<FieldError>,
) -> Result<EndPage, PageError> {
    let (on_errors, errors): (Vec<FieldError>, Vec<FieldError>) =
        errs.into_iter().partition(|e| e.field == "on");
    Ok(EndPage {
        nav: nav_for(st, u).await,
        person: PersonName {
            id: p.id,
            name: p.name,
        },
        pos,
        on,
        on_error: on_errors.into_iter().next().map(|e| e.message),
        errors: errors.into_iter().map(|e| e.message).collect(),
        csrf: u.session.csrf_token.clone(),
    })
}

/// The confirmation of ending a position: who, which post, since when, and the ending date.
pub(super) async fn position_end(
    State(st): State<AppState>,
    u: PageUser,
    Path((id, pos)): Path<(PersonId, PositionId)>,
) -> PageResult {
    let a = &u.session.actor;
    if !a.role.allows(Action::EditPeople) {
        return Err(StoreError::Forbidden.into());
    }
    let (p, x) = held(&st, a, id, pos).await?;
    html(end_page(&st, &u, p, x, today().to_string(), Vec::new()).await?)
}

#[derive(Deserialize)]
pub(super) struct EndForm {
    #[serde(default)]
    on: String,
}

pub(super) async fn position_end_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path((id, pos)): Path<(PersonId, PositionId)>,
    CsrfForm(f): CsrfForm<EndForm>,
) -> PageResult {
    let a = &u.session.actor;
    let (p, x) = held(&st, a, id, pos).await?;
    let r = match parse_opt_date(&f.on, "on") {
        Ok(Some(on)) => st.store.end_position(a, pos, on).await,
        Ok(None) => Err(StoreError::invalid(
            "on",
            "position.no_date",
            "请填写结束日期",
        )),
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => redirect_done(&format!("/people/{id}"), Done::Ended),
        Err(StoreError::Invalid(errs)) => html_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            end_page(&st, &u, p, x, f.on, errs).await?,
        ),
        Err(e) => Err(e.into()),
    }
}
