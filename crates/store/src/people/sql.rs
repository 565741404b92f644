//! The people queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::orgs::{ensure_org_in_scope, resolve_org};
use super::*;
use crate::crypto::{key_fingerprint, FieldKey};
use crate::sqlbuild::Sql;
use crate::{
    org_ref, Actor, NewPerson, NewPosition, OrgName, Person, PersonName, Pools, Position,
    StoreError, StoreResult,
};
use chrono::{NaiveDate, Utc};
use serde_json::json;
use std::str::FromStr;
use taizhang_domain::org::PositionTitle;
use taizhang_domain::search::search_key;
use taizhang_domain::person::{
    check_person, CheckedPerson, Education, Ethnicity, MemberCategory, PartyProfile,
    PersonInput,
};
use taizhang_domain::{Action, Gender, IdNumber, OrgId, PersonId, Phone, PositionId, Scope};

// ---- people and positions ----------------------------------------------------------------------

/// A person as stored, with their organisation's name and code; personal data still encrypted.
pub(crate) struct PersonRow {
    id: i64,
    name: String,
    gender: Option<String>,
    org_id: i64,
    id_number_enc: Option<String>,
    phone_enc: Option<String>,
    birth_date: Option<NaiveDate>,
    party_member: bool,
    retired: bool,
    profile: StoredProfile,
    org_name: String,
    org_code: Option<String>,
    version: i64,
}
from_row!(PersonRow {
    id,
    name,
    gender,
    org_id,
    id_number_enc,
    phone_enc,
    birth_date,
    party_member,
    retired,
    org_name,
    org_code,
    version,
} with { profile });
pub(crate) const PERSON_SELECT: &str =
    "SELECT p.id, p.name, p.gender, p.org_id, p.id_number_enc, p.phone_enc, p.birth_date, p.party_member, p.retired, p.ethnicity, p.education, p.member_category, p.joined_on, p.confirmed_on, p.version, po.name AS org_name, po.code AS org_code FROM people p JOIN orgs po ON po.id = p.org_id";

/// A person is visible when their organisation, or one where they hold an active position, is
/// in scope.
pub(crate) fn person_scope_cond(q: &mut Sql, scope: &Scope) -> String {
    let a = scope_cond(q, scope, "p.org_id");
    let b = scope_cond(q, scope, "ps.org_id");
    format!("({a} OR EXISTS (SELECT 1 FROM positions ps WHERE ps.person_id = p.id AND ps.valid_to IS NULL AND {b}))")
}

/// `person_scope_cond` as a probe per person, for checks of given person ids.
pub(crate) fn person_scope_probe(q: &mut Sql, scope: &Scope) -> String {
    let a = scope_probe(q, scope, "p.org_id");
    let b = scope_probe(q, scope, "ps.org_id");
    format!("({a} OR EXISTS (SELECT 1 FROM positions ps WHERE ps.person_id = p.id AND ps.valid_to IS NULL AND {b}))")
}

/// Opens an encrypted personal field: whole when `whole`, else masked. A value that does not
/// open (changed bytes) shows as stars rather than failing the page.
pub(crate) fn open_personal<T>(
    key: &FieldKey,
    field: &str,
    stored: Option<String>,
    whole: bool,
    parse: impl Fn(&str) -> Option<T>,
    mask: impl Fn(&T) -> String,
) -> Option<String> {
    let stored = stored?;
    let plain = match key.decrypt(field, &stored) {
        Ok(v) => v,
        Err(_) => {
            tracing::warn!(field, "a stored personal field does not decrypt");
            return Some("******".to_string());
        }
    };
    match parse(&plain) {
        Some(v) if !whole => Some(mask(&v)),
        None if !whole => Some("******".to_string()),
        _ => Some(plain),
    }
}

pub(crate) async fn person_from(
    c: &mut Conn,
    key: &FieldKey,
    r: PersonRow,
    with_positions: bool,
    whole: bool,
) -> StoreResult<Person> {
    let id_number = open_personal(
        key,
        "id_number",
        r.id_number_enc,
        whole,
        |s| IdNumber::parse(s, crate::today()).ok(),
        |v| v.masked(),
    );
    let phone = open_personal(
        key,
        "phone",
        r.phone_enc,
        whole,
        |s| Phone::parse(s).ok(),
        |v| v.masked(),
    );
    let positions = if with_positions {
        positions_where(c, "ps.person_id = $1", r.id).await?
    } else {
        Vec::new()
    };
    let gender = r
        .gender
        .as_deref()
        .map(Gender::from_str)
        .transpose()
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    let org_id = OrgId::new(r.org_id);
    let profile = r.profile.read()?;
    Ok(Person {
        id: PersonId::new(r.id),
        name: r.name,
        gender,
        org: OrgName {
            id: org_id,
            org_ref: org_ref(org_id, r.org_code.as_deref()),
            name: r.org_name,
        },
        id_number,
        phone,
        birth_date: r.birth_date,
        party_member: r.party_member,
        retired: r.retired,
        profile,
        positions,
        version: r.version,
    })
}

/// The five profile columns of `people`, in the order [`add_profile`] binds them.
pub(crate) const PROFILE_COLUMNS: &str =
    "ethnicity, education, member_category, joined_on, confirmed_on";

/// A profile's columns as stored.
pub(crate) struct StoredProfile {
    ethnicity: Option<String>,
    education: Option<String>,
    member_category: Option<String>,
    joined_on: Option<NaiveDate>,
    confirmed_on: Option<NaiveDate>,
}
from_row!(StoredProfile {
    ethnicity,
    education,
    member_category,
    joined_on,
    confirmed_on,
});

impl StoredProfile {
    /// The values were checked when written, so one that does not read is a defect, not input.
    pub(crate) fn read(self) -> StoreResult<PartyProfile> {
        fn read<T>(v: Option<String>, parse: impl Fn(&str) -> Option<T>, what: &str) -> StoreResult<Option<T>> {
            v.map(|s| parse(&s).ok_or_else(|| StoreError::Internal(format!("stored {what} {s:?} does not read"))))
                .transpose()
        }
        Ok(PartyProfile {
            ethnicity: read(self.ethnicity, Ethnicity::parse, "ethnicity")?,
            education: read(self.education, Education::parse, "education")?,
            category: read(self.member_category, MemberCategory::parse, "member category")?,
            joined_on: self.joined_on,
            confirmed_on: self.confirmed_on,
        })
    }
}

/// Binds a profile's five values, in the order of [`PROFILE_COLUMNS`].
pub(crate) fn add_profile<'q>(a: &mut Args<'q>, p: &PartyProfile) -> StoreResult<()> {
    add(a, p.ethnicity.map(|e| e.as_str()))?;
    add(a, p.education.map(Education::key))?;
    add(a, p.category.map(MemberCategory::key))?;
    add(a, p.joined_on)?;
    add(a, p.confirmed_on)
}

/// What is kept of a person beside their particulars.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Standing {
    pub party_member: bool,
    pub retired: bool,
    pub profile: PartyProfile,
}

/// Encrypts the plaintext personal data written before migration 3 (run inside its transaction)
/// and records which key encrypted it.
pub(crate) async fn encrypt_plaintext_people(c: &mut Conn, key: &FieldKey) -> StoreResult<usize> {
    let rows: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT id, id_number, phone FROM people WHERE id_number IS NOT NULL OR phone IS NOT NULL",
    )
    .fetch_all(&mut *c)
    .await?;
    for (id, id_number, phone) in &rows {
        let id_number = id_number
            .as_deref()
            .map(|v| (key.encrypt("id_number", v), key.blind_index("id_number", v)));
        let phone = phone
            .as_deref()
            .map(|v| (key.encrypt("phone", v), key.blind_index("phone", v)));
        sqlx::query("UPDATE people SET id_number_enc = $1, id_number_bidx = $2, phone_enc = $3, phone_bidx = $4, id_number = NULL, phone = NULL WHERE id = $5")
            .bind(id_number.as_ref().map(|v| v.0.clone()))
            .bind(id_number.as_ref().map(|v| v.1.clone()))
            .bind(phone.as_ref().map(|v| v.0.clone()))
            .bind(phone.as_ref().map(|v| v.1.clone()))
            .bind(id)
            .execute(&mut *c)
            .await?;
    }
    sqlx::query("INSERT INTO instance_settings (name, value) VALUES ('field_key_check', $1)")
        .bind(key_fingerprint(key))
        .execute(&mut *c)
        .await?;
    tracing::info!(people = rows.len(), "encrypted personal data at rest");
    Ok(rows.len())
}

/// `Ok(())` when the database was encrypted under this field key (recording it on first use).
pub(crate) async fn check_field_key(p: &Pools<DB>) -> StoreResult<Result<(), ()>> {
    let mine = key_fingerprint(&p.field_key);
    let stored: Option<(String,)> =
        sqlx::query_as("SELECT value FROM instance_settings WHERE name = 'field_key_check'")
            .fetch_optional(&p.read)
            .await?;
    match stored {
        Some((v,)) if v == mine => Ok(Ok(())),
        Some(_) => Ok(Err(())),
        None => {
            sqlx::query(
                "INSERT INTO instance_settings (name, value) VALUES ('field_key_check', $1)",
            )
            .bind(&mine)
            .execute(&p.write)
            .await?;
            Ok(Ok(()))
        }
    }
}

pub(crate) async fn create_person(
    p: &Pools<DB>,
    actor: &Actor,
    new: &NewPerson,
) -> StoreResult<Person> {
    require(actor, Action::EditPeople)?;
    let checked = check_person(
        PersonInput {
            name: &new.name,
            gender: new.gender.as_deref(),
            id_number: new.id_number.as_deref(),
            phone: new.phone.as_deref(),
        },
        crate::today(),
    )
    .map_err(StoreError::Invalid)?;
    let profile = new
        .checked_profile(&checked, crate::today())
        .map_err(StoreError::Invalid)?;
    let standing = Standing {
        party_member: new.party_member,
        retired: new.retired,
        profile,
    };
    let mut tx = p.write.begin().await?;
    let org_id = resolve_org(&mut tx, actor, &new.org).await?;
    if let Some(id) = &checked.id_number {
        let dup: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM people WHERE county_id = $1 AND id_number_bidx = $2")
                .bind(actor.county_id.get())
                .bind(p.field_key.blind_index("id_number", id.as_str()))
                .fetch_optional(&mut *tx)
                .await?;
        if dup.is_some() {
            // Neither the number nor where it is registered: the other person may be outside
            // the caller's scope.
            return Err(StoreError::conflict(
                "person.duplicate_id_number",
                "该身份证号已登记",
            ));
        }
    }
    let pid = insert_person(
        &mut tx,
        &p.field_key,
        actor.county_id.get(),
        org_id,
        &checked,
        &standing,
        Utc::now(),
    )
    .await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "create",
        "person",
        pid,
        None,
        Some(person_json(&checked, org_id, &standing)),
    )
    .await?;
    let row: PersonRow = sqlx::query_as(&format!("{PERSON_SELECT} WHERE p.id = $1"))
        .bind(pid)
        .fetch_one(&mut *tx)
        .await?;
    let person = person_from(&mut tx, &p.field_key, row, true, false).await?;
    tx.commit().await?;
    Ok(person)
}

/// Writes one checked person (personal data encrypted, with their blind indexes and the birth
/// date of their 身份证号) and returns their id; the caller audits.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_person(
    c: &mut Conn,
    key: &FieldKey,
    county_id: i64,
    org_id: i64,
    person: &CheckedPerson,
    standing: &Standing,
    now: chrono::DateTime<Utc>,
) -> StoreResult<i64> {
    let mut a = Args::default();
    let id_bidx = person
        .id_number
        .as_ref()
        .map(|i| key.blind_index("id_number", i.as_str()));
    add_person(&mut a, key, county_id, org_id, person, id_bidx, standing)?;
    add(&mut a, now)?;
    let text = format!(
        "INSERT INTO people ({PERSON_COLUMNS}, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) RETURNING id"
    );
    let (pid,): (i64,) = sqlx::query_as_with(&text, a).fetch_one(&mut *c).await?;
    Ok(pid)
}

/// The columns of a new person's row that [`add_person`] binds, in its order.
pub(crate) const PERSON_COLUMNS: &str = concat!(
    "county_id, org_id, name, gender, id_number_enc, id_number_bidx, phone_enc, phone_bidx, ",
    "birth_date, party_member, retired, ethnicity, education, member_category, joined_on, confirmed_on, ",
    "search_key"
);

/// Binds a new person's values in the order of [`PERSON_COLUMNS`]: personal data encrypted,
/// with the 身份证号's blind index `id_bidx` as the caller computed it.
pub(crate) fn add_person<'q>(
    a: &mut Args<'q>,
    key: &FieldKey,
    county_id: i64,
    org_id: i64,
    person: &CheckedPerson,
    id_bidx: Option<String>,
    standing: &Standing,
) -> StoreResult<()> {
    let id_number = person.id_number.as_ref();
    let phone = person.phone.as_ref();
    add(a, county_id)?;
    add(a, org_id)?;
    add(a, person.name.clone())?;
    add(a, person.gender.clone())?;
    add(a, id_number.map(|i| key.encrypt("id_number", i.as_str())))?;
    add(a, id_bidx)?;
    add(a, phone.map(|x| key.encrypt("phone", x.as_str())))?;
    add(a, phone.map(|x| key.blind_index("phone", x.as_str())))?;
    add(a, id_number.map(|i| i.birth_date()))?;
    add(a, standing.party_member)?;
    add(a, standing.retired)?;
    add_profile(a, &standing.profile)?;
    add(a, search_key(&person.name))
}

/// A person as the audit log keeps them.
pub(crate) fn person_json(
    person: &CheckedPerson,
    org_id: i64,
    standing: &Standing,
) -> serde_json::Value {
    let mut out = json!({"name": person.name, "org_id": org_id, "gender": person.gender,
           "id_number": person.id_number.as_ref().map(|i| i.as_str()),
           "phone": person.phone.as_ref().map(|x| x.as_str()),
           "party_member": standing.party_member, "retired": standing.retired});
    if let Some(m) = out.as_object_mut() {
        m.extend(profile_json(&standing.profile));
    }
    out
}

/// A profile as the audit log keeps it: its columns' names and stored values.
pub(crate) fn profile_json(p: &PartyProfile) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("ethnicity".into(), json!(p.ethnicity.map(|e| e.as_str())));
    m.insert("education".into(), json!(p.education.map(Education::key)));
    m.insert("member_category".into(), json!(p.category.map(MemberCategory::key)));
    m.insert("joined_on".into(), json!(p.joined_on));
    m.insert("confirmed_on".into(), json!(p.confirmed_on));
    m
}

pub(crate) async fn load_person(c: &mut Conn, actor: &Actor, id: i64) -> StoreResult<PersonRow> {
    let mut q = Sql::new(PERSON_SELECT);
    let i = q.arg(id);
    let county = q.arg(actor.county_id);
    let s = person_scope_cond(&mut q, &actor.scope);
    q.push(&format!(
        " WHERE p.id = {i} AND p.county_id = {county} AND {s}"
    ));
    fetch_optional::<PersonRow>(c, &q)
        .await?
        .ok_or(StoreError::NotFound)
}

/// One person, personal data masked; with `reveal`, whole for a role that may see it, and the
/// view is audited (who saw whose 身份证号 and phone, and when).
pub(crate) async fn person(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    reveal: bool,
) -> StoreResult<Person> {
    require(actor, Action::ReadPeople)?;
    if reveal {
        require(actor, Action::ReadPersonalData)?;
        let mut tx = p.write.begin().await?;
        let row = load_person(&mut tx, actor, id).await?;
        let person = person_from(&mut tx, &p.field_key, row, true, true).await?;
        audit_as(
            &mut tx,
            &p.audit_key,
            actor,
            "view_personal",
            "person",
            id,
            None,
            Some(json!({"fields": ["id_number", "phone"]})),
        )
        .await?;
        tx.commit().await?;
        return Ok(person);
    }
    let mut c = p.read.acquire().await?;
    let row = load_person(&mut c, actor, id).await?;
    person_from(&mut c, &p.field_key, row, true, false).await
}

pub(crate) async fn people(
    p: &Pools<DB>,
    actor: &Actor,
    org_id: Option<i64>,
    text: &str,
    limit: i64,
    offset: i64,
) -> StoreResult<(i64, Vec<Person>)> {
    require(actor, Action::ReadPeople)?;
    taizhang_domain::text::SEARCH.check(text)?;
    let mut c = report_conn(p).await?;
    let mut q = Sql::new("");
    let county = q.arg(actor.county_id);
    let s = person_scope_cond(&mut q, &actor.scope);
    let mut cond = format!(" WHERE p.county_id = {county} AND {s}");
    if let Some(org) = org_id {
        ensure_org_in_scope(&mut c, actor, org).await?;
        let o = q.arg(org);
        cond.push_str(&format!(" AND (p.org_id = {o} OR EXISTS (SELECT 1 FROM positions px WHERE px.person_id = p.id AND px.org_id = {o} AND px.valid_to IS NULL))"));
    }
    let text = text.trim();
    // A whole 身份证号 or phone number is found through its blind index; anything else is a name.
    if let Ok(id) = IdNumber::parse(text, crate::today()) {
        let b = q.arg(p.field_key.blind_index("id_number", id.as_str()));
        cond.push_str(&format!(" AND p.id_number_bidx = {b}"));
    } else if let Ok(phone) = Phone::parse(text) {
        let b = q.arg(p.field_key.blind_index("phone", phone.as_str()));
        cond.push_str(&format!(" AND p.phone_bidx = {b}"));
    } else if let Some(m) = super::search::match_cond(&mut q, text, "p", false)? {
        cond.push_str(&format!(" AND {m}"));
    }
    let mut count_q = q.clone();
    count_q.text = format!("SELECT COUNT(*) FROM people p{cond}");
    let (total,) = fetch_optional::<(i64,)>(&mut c, &count_q)
        .await?
        .unwrap_or((0,));
    let lim = q.arg(limit.clamp(1, 500));
    let off = q.arg(offset.max(0));
    q.text = format!("{PERSON_SELECT}{cond} ORDER BY p.id LIMIT {lim} OFFSET {off}");
    let rows = fetch_all::<PersonRow>(&mut c, &q).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(person_from(&mut c, &p.field_key, r, false, false).await?);
    }
    Ok((total, out))
}

/// A position as stored, with the person's name and the organisation's name and code.
pub(crate) struct PositionRow {
    id: i64,
    person_id: i64,
    person_name: String,
    org_id: i64,
    org_name: String,
    org_code: Option<String>,
    title: String,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
}
from_row!(PositionRow {
    id,
    person_id,
    person_name,
    org_id,
    org_name,
    org_code,
    title,
    valid_from,
    valid_to,
});

pub(crate) async fn positions_where(
    c: &mut Conn,
    cond: &str,
    arg: i64,
) -> StoreResult<Vec<Position>> {
    let rows: Vec<PositionRow> = sqlx::query_as(&format!(
        "SELECT ps.id, ps.person_id, pe.name AS person_name, ps.org_id, o.name AS org_name, o.code AS org_code, ps.title, ps.valid_from, ps.valid_to
         FROM positions ps JOIN people pe ON pe.id = ps.person_id JOIN orgs o ON o.id = ps.org_id WHERE {cond}
         ORDER BY ps.valid_to IS NOT NULL, ps.title, ps.valid_from DESC, ps.id LIMIT 2000"
    ))
    .bind(arg)
    .fetch_all(&mut *c)
    .await?;
    rows.into_iter().map(position_from).collect()
}

fn position_from(r: PositionRow) -> StoreResult<Position> {
    let title =
        PositionTitle::from_str(&r.title).map_err(|e| StoreError::Internal(e.to_string()))?;
    let org_id = OrgId::new(r.org_id);
    Ok(Position {
        id: PositionId::new(r.id),
        person: PersonName {
            id: PersonId::new(r.person_id),
            name: r.person_name,
        },
        org: OrgName {
            id: org_id,
            org_ref: org_ref(org_id, r.org_code.as_deref()),
            name: r.org_name,
        },
        title,
        title_label: title.label_cn().to_string(),
        valid_from: r.valid_from,
        valid_to: r.valid_to,
    })
}

/// People in scope (of one organisation, as the list has it) with ids above `after`, by id,
/// `limit` at a time: the export's pages. `whole` opens 身份证号 and phone for a role that may
/// see personal data (the export itself is audited by the caller, with its row count).
pub(crate) async fn people_after(
    p: &Pools<DB>,
    actor: &Actor,
    org_id: Option<i64>,
    whole: bool,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<Person>> {
    require(actor, Action::ReadPeople)?;
    if whole {
        require(actor, Action::ReadPersonalData)?;
    }
    let mut c = report_conn(p).await?;
    let mut q = Sql::new("");
    let county = q.arg(actor.county_id);
    let s = person_scope_cond(&mut q, &actor.scope);
    let a = q.arg(after);
    let mut cond = format!(" WHERE p.county_id = {county} AND {s} AND p.id > {a}");
    if let Some(org) = org_id {
        ensure_org_in_scope(&mut c, actor, org).await?;
        let o = q.arg(org);
        cond.push_str(&format!(" AND (p.org_id = {o} OR EXISTS (SELECT 1 FROM positions px WHERE px.person_id = p.id AND px.org_id = {o} AND px.valid_to IS NULL))"));
    }
    let lim = q.arg(limit.clamp(1, 5000));
    q.text = format!("{PERSON_SELECT}{cond} ORDER BY p.id LIMIT {lim}");
    let rows = fetch_all::<PersonRow>(&mut c, &q).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(person_from(&mut c, &p.field_key, r, false, whole).await?);
    }
    Ok(out)
}

/// Positions (held and ended) in organisations of the caller's scope, with ids above `after`,
/// by id, `limit` at a time.
pub(crate) async fn positions_after(
    p: &Pools<DB>,
    actor: &Actor,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<Position>> {
    require(actor, Action::ReadPeople)?;
    let mut c = report_conn(p).await?;
    let mut q = Sql::new("");
    let county = q.arg(actor.county_id);
    let s = scope_cond(&mut q, &actor.scope, "ps.org_id");
    let a = q.arg(after);
    let lim = q.arg(limit.clamp(1, 5000));
    q.text = format!(
        "SELECT ps.id, ps.person_id, pe.name AS person_name, ps.org_id, o.name AS org_name, o.code AS org_code, ps.title, ps.valid_from, ps.valid_to
         FROM positions ps JOIN people pe ON pe.id = ps.person_id JOIN orgs o ON o.id = ps.org_id
         WHERE o.county_id = {county} AND {s} AND ps.id > {a} ORDER BY ps.id LIMIT {lim}"
    );
    fetch_all::<PositionRow>(&mut c, &q)
        .await?
        .into_iter()
        .map(position_from)
        .collect()
}

pub(crate) async fn positions_in(
    p: &Pools<DB>,
    actor: &Actor,
    org_id: i64,
) -> StoreResult<Vec<Position>> {
    require(actor, Action::ReadPeople)?;
    let mut c = p.read.acquire().await?;
    ensure_org_in_scope(&mut c, actor, org_id).await?;
    positions_where(&mut c, "ps.org_id = $1", org_id).await
}

pub(crate) async fn add_position(
    p: &Pools<DB>,
    actor: &Actor,
    new: &NewPosition,
) -> StoreResult<Position> {
    require(actor, Action::EditPeople)?;
    taizhang_domain::check_date_field("valid_from", new.valid_from)?;
    if let Some(to) = new.valid_to {
        taizhang_domain::check_date_field("valid_to", to)?;
        if to < new.valid_from {
            return Err(StoreError::invalid(
                "valid_to",
                "position.dates",
                "任职结束日期不能早于开始日期",
            ));
        }
    }
    let mut tx = p.write.begin().await?;
    let org_id = resolve_org(&mut tx, actor, &new.org).await?;
    // Appointing someone from outside one's scope is a county administrator's act.
    load_person(&mut tx, actor, new.person_id.get())
        .await
        .map_err(|_| {
            StoreError::invalid(
                "person_id",
                "position.person",
                "人员不存在或不在您的管理范围内",
            )
        })?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO positions (county_id, person_id, org_id, title, valid_from, valid_to, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(actor.county_id.get())
    .bind(new.person_id.get())
    .bind(org_id)
    .bind(new.title.key())
    .bind(new.valid_from)
    .bind(new.valid_to)
    .bind(Utc::now())
    .fetch_one(&mut *tx)
    .await?;
    audit_as(&mut tx,&p.audit_key, actor, "create", "position", id, None, Some(json!({"person_id": new.person_id, "org_id": org_id, "title": new.title.key(), "valid_from": new.valid_from, "valid_to": new.valid_to}))).await?;
    let pos = positions_where(&mut tx, "ps.id = $1", id)
        .await?
        .pop()
        .ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(pos)
}

pub(crate) async fn end_position(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    on: NaiveDate,
) -> StoreResult<Position> {
    require(actor, Action::EditPeople)?;
    taizhang_domain::check_date_field("on", on)?;
    let mut tx = p.write.begin().await?;
    let pos = positions_where(&mut tx, "ps.id = $1", id)
        .await?
        .pop()
        .ok_or(StoreError::NotFound)?;
    ensure_org_in_scope(&mut tx, actor, pos.org.id.get()).await?;
    if let Some(ended) = pos.valid_to {
        return Err(StoreError::conflict(
            "position.already_ended",
            format!("该任职已于{ended}结束"),
        ));
    }
    if on < pos.valid_from {
        return Err(StoreError::invalid(
            "on",
            "position.dates",
            "任职结束日期不能早于开始日期",
        ));
    }
    sqlx::query("UPDATE positions SET valid_to = $1 WHERE id = $2")
        .bind(on)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "end",
        "position",
        id,
        Some(json!({"valid_to": pos.valid_to})),
        Some(json!({"valid_to": on})),
    )
    .await?;
    let after = positions_where(&mut tx, "ps.id = $1", id)
        .await?
        .pop()
        .ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(after)
}
