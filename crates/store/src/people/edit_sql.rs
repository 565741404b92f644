//! Edits of people and their history, compiled once per backend.
//!
//! An edit keeps the person's id. Inside one write transaction the current version is copied to
//! `person_versions` (身份证号 and phone still encrypted) and the row takes the new values and
//! the next version. The audit log keeps the before and after with personal data masked.

use super::orgs::resolve_org;
use super::people::{add_person, open_personal, person_from, person_json, PersonRow, Standing, StoredProfile, PERSON_SELECT};
use super::*;
use crate::crypto::FieldKey;
use crate::sqlbuild::Sql;
use crate::{
    org_ref, Actor, NewPerson, OrgName, Person, PersonEdit, PersonVersion, Pools, StoreError,
    StoreResult,
};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::str::FromStr;
use taizhang_domain::ledger::FieldError;
use taizhang_domain::person::{check_person, CheckedPerson, PersonInput, MAX_PERSON_VERSIONS};
use taizhang_domain::{Action, Gender, IdNumber, OrgId, Phone};

/// The person as the caller may edit them: their own organisation in the caller's scope today
/// (a person seen only through a position held in scope is not theirs to edit).
struct Current {
    org_id: i64,
    name: String,
    gender: Option<String>,
    id_number_enc: Option<String>,
    phone_enc: Option<String>,
    party_member: bool,
    retired: bool,
    version: i64,
    profile: StoredProfile,
}
from_row!(Current {
    org_id,
    name,
    gender,
    id_number_enc,
    phone_enc,
    party_member,
    retired,
    version,
} with { profile });

async fn writable(c: &mut Conn, actor: &Actor, id: i64) -> StoreResult<Current> {
    let mut q = Sql::new("SELECT p.org_id, p.name, p.gender, p.id_number_enc, p.phone_enc, p.party_member, p.retired, p.version, p.ethnicity, p.education, p.member_category, p.joined_on, p.confirmed_on FROM people p WHERE p.id = ");
    let i = q.arg(id);
    let county = q.arg(actor.county_id);
    let s = scope_cond(&mut q, &actor.scope, "p.org_id");
    q.push(&format!("{i} AND p.county_id = {county} AND {s}"));
    fetch_optional::<Current>(c, &q)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Refuses an edit of a version other than the current one, or past the last version allowed.
fn check_current(cur: &Current, from_version: i64) -> StoreResult<()> {
    if cur.version != from_version {
        return Err(StoreError::conflict(
            "person.stale",
            format!(
                "该人员信息在您打开后已被修改（现为第{}版），请重新打开后再修改",
                cur.version
            ),
        ));
    }
    if cur.version >= MAX_PERSON_VERSIONS {
        return Err(StoreError::conflict(
            "person.too_many_versions",
            format!("一个人员的信息最多修改{}次", MAX_PERSON_VERSIONS - 1),
        ));
    }
    Ok(())
}

/// A stored personal field in plain text, for the edit's checks (never answered nor logged).
fn plain(key: &FieldKey, field: &str, stored: Option<&String>) -> StoreResult<Option<String>> {
    stored
        .map(|s| {
            key.decrypt(field, s)
                .map_err(|_| StoreError::Internal(format!("a stored {field} does not decrypt")))
        })
        .transpose()
}

/// What an edit gives for a personal field: absent keeps the current value, empty removes it.
fn kept(given: &Option<String>, current: Option<String>) -> Option<String> {
    match given {
        None => current,
        Some(v) if v.trim().is_empty() => None,
        Some(v) => Some(v.clone()),
    }
}

pub(crate) async fn edit_person(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    edit: &PersonEdit,
) -> StoreResult<Person> {
    require(actor, Action::EditPeople)?;
    let today = crate::today();
    let reason = taizhang_domain::text::EDIT_REASON.check(&edit.reason)?;
    let county = actor.county_id.get();
    let mut tx = begin_write(p).await?;
    let cur = writable(&mut tx, actor, id).await?;
    check_current(&cur, edit.version)?;
    let cur_id = plain(&p.field_key, "id_number", cur.id_number_enc.as_ref())?;
    let cur_phone = plain(&p.field_key, "phone", cur.phone_enc.as_ref())?;
    let new = NewPerson {
        name: edit.name.clone(),
        org: edit.org.clone(),
        gender: edit.gender.clone(),
        id_number: kept(&edit.id_number, cur_id.clone()),
        phone: kept(&edit.phone, cur_phone.clone()),
        party_member: edit.party_member,
        retired: edit.retired,
        ethnicity: edit.ethnicity.clone(),
        education: edit.education.clone(),
        member_category: edit.member_category.clone(),
        joined_on: edit.joined_on,
        confirmed_on: edit.confirmed_on,
    };
    // Every problem at once: the particulars', the profile's and a missing reason.
    let mut errors: Vec<FieldError> = Vec::new();
    let checked = match check_person(
        PersonInput {
            name: &new.name,
            gender: new.gender.as_deref(),
            id_number: new.id_number.as_deref(),
            phone: new.phone.as_deref(),
        },
        today,
    ) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    let profile = match &checked {
        Some(c) => match new.checked_profile(c, today) {
            Ok(pr) => Some(pr),
            Err(e) => {
                errors.extend(e);
                None
            }
        },
        None => None,
    };
    if reason.is_empty() {
        errors.push(FieldError::new(
            "reason",
            "person.edit_reason",
            "请填写修改原因（不超过200字）",
        ));
    }
    let (Some(checked), Some(profile), true) = (checked, profile, errors.is_empty()) else {
        return Err(StoreError::Invalid(errors));
    };
    let standing = Standing {
        party_member: new.party_member,
        retired: new.retired,
        profile,
    };
    let org_id = resolve_org(&mut tx, actor, &new.org)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => StoreError::invalid(
                "org",
                "person.unknown_org",
                "所在组织不存在或不在您的管理范围内",
            ),
            e => e,
        })?;
    if let Some(idn) = &checked.id_number {
        let dup: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM people WHERE county_id = $1 AND id_number_bidx = $2 AND id <> $3",
        )
        .bind(county)
        .bind(p.field_key.blind_index("id_number", idn.as_str()))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if dup.is_some() {
            return Err(StoreError::invalid(
                "id_number",
                "person.duplicate_id_number",
                "该身份证号已登记",
            ));
        }
    }
    let before_person = CheckedPerson {
        name: cur.name.clone(),
        gender: cur.gender.clone(),
        id_number: cur_id
            .as_deref()
            .and_then(|s| IdNumber::parse(s, today).ok()),
        phone: cur_phone.as_deref().and_then(|s| Phone::parse(s).ok()),
    };
    let before_standing = Standing {
        party_member: cur.party_member,
        retired: cur.retired,
        profile: cur.profile.read()?,
    };
    let before = person_json(&before_person, cur.org_id, &before_standing);
    let after = person_json(&checked, org_id, &standing);
    if before == after {
        return Err(StoreError::invalid(
            "person",
            "person.unchanged",
            "没有修改任何内容",
        ));
    }
    sqlx::query(
        "INSERT INTO person_versions (county_id, person_id, version, org_id, name, gender, id_number_enc, phone_enc, birth_date, party_member, retired, ethnicity, education, member_category, joined_on, confirmed_on, written_by, written_at, reason)
         SELECT county_id, id, version, org_id, name, gender, id_number_enc, phone_enc, birth_date, party_member, retired, ethnicity, education, member_category, joined_on, confirmed_on, edited_by, COALESCE(edited_at, created_at), edit_reason
         FROM people WHERE id = $1 AND county_id = $2",
    )
    .bind(id)
    .bind(county)
    .execute(&mut *tx)
    .await?;
    let mut a = Args::default();
    let id_bidx = checked
        .id_number
        .as_ref()
        .map(|i| p.field_key.blind_index("id_number", i.as_str()));
    add_person(&mut a, &p.field_key, county, org_id, &checked, id_bidx, &standing)?;
    add(&mut a, actor.user_id.map(|u| u.get()))?;
    add(&mut a, Utc::now())?;
    add(&mut a, reason.clone())?;
    add(&mut a, id)?;
    add(&mut a, edit.version)?;
    let updated = sqlx::query_with(
        "UPDATE people SET org_id = $2, name = $3, gender = $4, id_number_enc = $5, id_number_bidx = $6, phone_enc = $7, phone_bidx = $8,
             birth_date = $9, party_member = $10, retired = $11, ethnicity = $12, education = $13, member_category = $14, joined_on = $15,
             confirmed_on = $16, search_key = $17, edited_by = $18, edited_at = $19, updated_at = $19, edit_reason = $20, version = version + 1
         WHERE id = $21 AND county_id = $1 AND version = $22",
        a,
    )
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(StoreError::conflict(
            "person.stale",
            "该人员信息在您打开后已被修改，请重新打开后再修改",
        ));
    }
    let mut before = before;
    let mut after = after;
    if let (Some(b), Some(x)) = (before.as_object_mut(), after.as_object_mut()) {
        b.insert("version".into(), json!(edit.version));
        x.insert("version".into(), json!(edit.version + 1));
        x.insert("reason".into(), json!(reason));
    }
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "update",
        "person",
        id,
        Some(before),
        Some(after),
    )
    .await?;
    let row: PersonRow = sqlx::query_as(&format!("{PERSON_SELECT} WHERE p.id = $1"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let person = person_from(&mut tx, &p.field_key, row, true, false).await?;
    tx.commit().await?;
    Ok(person)
}

/// A version as stored, with its organisation's name and code and its writer's name.
struct VersionRow {
    version: i64,
    org_id: i64,
    org_name: String,
    org_code: Option<String>,
    name: String,
    gender: Option<String>,
    id_number_enc: Option<String>,
    phone_enc: Option<String>,
    party_member: bool,
    retired: bool,
    profile: StoredProfile,
    written_by: Option<String>,
    written_at: DateTime<Utc>,
    reason: Option<String>,
}
from_row!(VersionRow {
    version,
    org_id,
    org_name,
    org_code,
    name,
    gender,
    id_number_enc,
    phone_enc,
    party_member,
    retired,
    written_by,
    written_at,
    reason,
} with { profile });

const VERSION_COLUMNS: &str = "o.name AS org_name, o.code AS org_code, v.name, v.gender, v.id_number_enc, v.phone_enc, v.party_member, v.retired, v.ethnicity, v.education, v.member_category, v.joined_on, v.confirmed_on, u.username AS written_by";

fn version_from(key: &FieldKey, r: VersionRow) -> StoreResult<PersonVersion> {
    let org_id = OrgId::new(r.org_id);
    Ok(PersonVersion {
        version: r.version,
        name: r.name,
        org: OrgName {
            id: org_id,
            org_ref: org_ref(org_id, r.org_code.as_deref()),
            name: r.org_name,
        },
        gender: r
            .gender
            .as_deref()
            .map(Gender::from_str)
            .transpose()
            .map_err(|e| StoreError::Internal(e.to_string()))?,
        id_number: open_personal(
            key,
            "id_number",
            r.id_number_enc,
            false,
            |s| IdNumber::parse(s, crate::today()).ok(),
            |v| v.masked(),
        ),
        phone: open_personal(
            key,
            "phone",
            r.phone_enc,
            false,
            |s| Phone::parse(s).ok(),
            |v| v.masked(),
        ),
        party_member: r.party_member,
        retired: r.retired,
        profile: r.profile.read()?,
        written_by: r.written_by,
        written_at: r.written_at,
        reason: r.reason,
    })
}

pub(crate) async fn person_history(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
) -> StoreResult<Vec<PersonVersion>> {
    require(actor, Action::ReadPeople)?;
    let mut c = p.read.acquire().await?;
    // Seen only by whoever may see the person now.
    super::people::load_person(&mut c, actor, id).await?;
    let county = actor.county_id.get();
    let rows: Vec<VersionRow> = sqlx::query_as(&format!(
        "SELECT v.version, v.org_id, {VERSION_COLUMNS}, v.written_at, v.reason
         FROM person_versions v JOIN orgs o ON o.id = v.org_id LEFT JOIN users u ON u.id = v.written_by
         WHERE v.county_id = $1 AND v.person_id = $2 ORDER BY v.version LIMIT $3"
    ))
    .bind(county)
    .bind(id)
    .bind(MAX_PERSON_VERSIONS)
    .fetch_all(&mut *c)
    .await?;
    let current: VersionRow = sqlx::query_as(&format!(
        "SELECT v.version, v.org_id, {VERSION_COLUMNS}, COALESCE(v.edited_at, v.created_at) AS written_at, v.edit_reason AS reason
         FROM people v JOIN orgs o ON o.id = v.org_id LEFT JOIN users u ON u.id = v.edited_by
         WHERE v.county_id = $1 AND v.id = $2"
    ))
    .bind(county)
    .bind(id)
    .fetch_one(&mut *c)
    .await?;
    rows.into_iter()
        .chain(std::iter::once(current))
        .map(|r| version_from(&p.field_key, r))
        .collect()
}
