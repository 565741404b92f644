// People from a member sheet (导入党员), included once per backend (see backend/mod.rs): what
// it does is documented at `Store::import_people`. The checks are `create_person`'s
// (`check_person`, the organisation in scope, a 身份证号 registered once per county) and a new
// person is written by its `insert_person`.

use super::orgs::org_in_scope;
use super::people::{
    add_profile, insert_person, person_json, person_scope_cond, profile_json, Standing,
    StoredProfile, PROFILE_COLUMNS,
};
use super::*;
use crate::imports::{PersonImport, PersonImportOutcome};
use crate::sqlbuild::Sql;
use crate::{Actor, Pools, StoreError, StoreResult};
use chrono::{NaiveDate, Utc};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use taizhang_domain::ledger::FieldError;
use taizhang_domain::person::{
    check_person, check_rules, CheckedPerson, PartyProfile, PersonInput,
};
use taizhang_domain::{Action, IdNumber, PersonId};

/// The most rows one call takes: a few of the runner's batches (lookups go 1,000 at a time).
const MAX_ROWS: usize = 50_000;
/// Values per `IN (…)` list.
const CHUNK: usize = 1_000;

/// A person on file as the comparison needs them.
#[derive(Debug, Clone)]
struct OnFile {
    id: i64,
    org_id: i64,
    name: String,
    gender: Option<String>,
    phone_bidx: Option<String>,
    party_member: bool,
    retired: bool,
    birth_date: Option<NaiveDate>,
    profile: PartyProfile,
}

/// A person on file as `ON_FILE` reads them.
struct OnFileRow {
    id: i64,
    org_id: i64,
    name: String,
    gender: Option<String>,
    phone_bidx: Option<String>,
    party_member: bool,
    retired: bool,
    id_number_bidx: Option<String>,
    birth_date: Option<NaiveDate>,
    profile: StoredProfile,
}
from_row!(OnFileRow {
    id,
    org_id,
    name,
    gender,
    phone_bidx,
    party_member,
    retired,
    id_number_bidx,
    birth_date,
} with { profile });

fn on_file(r: OnFileRow) -> StoreResult<(Option<String>, OnFile)> {
    let profile = r.profile.read()?;
    Ok((
        r.id_number_bidx,
        OnFile {
            id: r.id,
            org_id: r.org_id,
            name: r.name,
            gender: r.gender,
            phone_bidx: r.phone_bidx,
            party_member: r.party_member,
            retired: r.retired,
            birth_date: r.birth_date,
            profile,
        },
    ))
}

const ON_FILE: &str =
    "SELECT p.id, p.org_id, p.name, p.gender, p.phone_bidx, p.party_member, p.retired, p.id_number_bidx, p.birth_date, p.ethnicity, p.education, p.member_category, p.joined_on, p.confirmed_on FROM people p";

/// A row checked, before it is matched.
struct Ready {
    person: CheckedPerson,
    org_id: i64,
    party_member: bool,
    retired: Option<bool>,
    /// The sheet's profile values; a blank one leaves what is on file.
    profile: PartyProfile,
    id_bidx: Option<String>,
    phone_bidx: Option<String>,
}

/// What a row does to the person on file.
enum Plan {
    Create(Ready),
    Update(OnFile, Ready),
    Same(i64),
}

fn error(field: &str, code: &str, message: &str) -> Vec<FieldError> {
    vec![FieldError::new(field, code, message)]
}

pub(crate) async fn import_people(
    p: &Pools<DB>,
    actor: &Actor,
    rows: &[PersonImport],
    write: bool,
) -> StoreResult<Vec<PersonImportOutcome>> {
    require(actor, Action::EditPeople)?;
    if rows.len() > MAX_ROWS {
        return Err(StoreError::invalid(
            "rows",
            "import.batch_too_large",
            format!("一次最多导入{MAX_ROWS}人"),
        ));
    }
    let county_id = actor.county_id.get();
    let today = crate::today();
    let mut c = p.read.acquire().await?;
    // The organisations named, each checked once against the actor's scope.
    let mut org_ok: HashMap<i64, bool> = HashMap::new();
    for r in rows {
        let id = r.org_id.get();
        if let std::collections::hash_map::Entry::Vacant(e) = org_ok.entry(id) {
            e.insert(org_in_scope(&mut c, &actor.scope, id).await?);
        }
    }
    let mut ready: Vec<Result<Ready, Vec<FieldError>>> = Vec::with_capacity(rows.len());
    let mut seen_bidx: HashSet<String> = HashSet::new();
    for r in rows {
        let checked = check_person(
            PersonInput {
                name: &r.name,
                gender: r.gender.as_deref(),
                id_number: r.id_number.as_deref(),
                phone: r.phone.as_deref(),
            },
            today,
        );
        let row = match checked {
            Err(errors) => Err(errors),
            Ok(_) if !org_ok.get(&r.org_id.get()).copied().unwrap_or(false) => Err(error(
                "org",
                "person.unknown_org",
                "组织不存在或不在您的管理范围内",
            )),
            Ok(person) => {
                let id_bidx = person
                    .id_number
                    .as_ref()
                    .map(|i| p.field_key.blind_index("id_number", i.as_str()));
                let phone_bidx = person
                    .phone
                    .as_ref()
                    .map(|x| p.field_key.blind_index("phone", x.as_str()));
                match &id_bidx {
                    Some(b) if !seen_bidx.insert(b.clone()) => Err(error(
                        "id_number",
                        "import.repeated_id_number",
                        "该身份证号在本表中重复出现",
                    )),
                    _ => Ok(Ready {
                        person,
                        org_id: r.org_id.get(),
                        party_member: r.party_member,
                        retired: r.retired,
                        profile: r.profile,
                        id_bidx,
                        phone_bidx,
                    }),
                }
            }
        };
        ready.push(row);
    }
    // The people on file with these numbers anywhere in the county, and which of them the actor
    // may see.
    let wanted: Vec<String> = ready
        .iter()
        .filter_map(|r| r.as_ref().ok()?.id_bidx.clone())
        .collect();
    let mut by_bidx: HashMap<String, OnFile> = HashMap::new();
    for chunk in wanted.chunks(CHUNK) {
        let mut q = Sql::new(ON_FILE);
        let cty = q.arg(county_id);
        let list: Vec<String> = chunk.iter().map(|b| q.arg(b.clone())).collect();
        q.push(&format!(
            " WHERE p.county_id = {cty} AND p.id_number_bidx IN ({})",
            list.join(", ")
        ));
        for r in fetch_all::<OnFileRow>(&mut c, &q).await? {
            if let (Some(b), person) = on_file(r)? {
                by_bidx.insert(b, person);
            }
        }
    }
    let found: Vec<i64> = by_bidx.values().map(|o| o.id).collect();
    let visible = visible_people(&mut c, actor, &found).await?;
    // The people without a number, by organisation and name.
    let unnumbered: Vec<(i64, String)> = ready
        .iter()
        .filter_map(|r| {
            let r = r.as_ref().ok()?;
            r.id_bidx
                .is_none()
                .then(|| (r.org_id, r.person.name.clone()))
        })
        .collect();
    let mut by_name: HashMap<(i64, String), Vec<OnFile>> = HashMap::new();
    for chunk in unnumbered.chunks(CHUNK) {
        let mut q = Sql::new(ON_FILE);
        let cty = q.arg(county_id);
        let orgs: Vec<String> = chunk.iter().map(|(o, _)| q.arg(*o)).collect();
        let names: Vec<String> = chunk.iter().map(|(_, n)| q.arg(n.clone())).collect();
        q.push(&format!(
            " WHERE p.county_id = {cty} AND p.id_number_bidx IS NULL AND p.org_id IN ({}) AND p.name IN ({})",
            orgs.join(", "),
            names.join(", ")
        ));
        for r in fetch_all::<OnFileRow>(&mut c, &q).await? {
            let (_, person) = on_file(r)?;
            by_name
                .entry((person.org_id, person.name.clone()))
                .or_default()
                .push(person);
        }
    }
    drop(c);
    let mut seen_name: HashSet<(i64, String)> = HashSet::new();
    let plans: Vec<Result<Plan, Vec<FieldError>>> = ready
        .into_iter()
        .map(|r| {
            let r = r?;
            let known = match &r.id_bidx {
                Some(b) => match by_bidx.get(b) {
                    // Neither the number nor where it is registered, as `create_person` says.
                    Some(o) if !visible.contains(&o.id) => {
                        return Err(error(
                            "id_number",
                            "person.duplicate_id_number",
                            "该身份证号已登记（不在您的管理范围内）",
                        ))
                    }
                    found => found.cloned(),
                },
                None => {
                    let key = (r.org_id, r.person.name.clone());
                    if !seen_name.insert(key.clone()) {
                        return Err(error(
                            "name",
                            "import.repeated_person",
                            "本表中同一组织有同名的人且未填身份证号，请填写身份证号",
                        ));
                    }
                    match by_name.get(&key).map(Vec::as_slice) {
                        None | Some([]) => None,
                        Some([one]) => Some(one.clone()),
                        Some(_) => {
                            return Err(error(
                                "id_number",
                                "import.person_ambiguous",
                                "该组织已有多名同名人员，请填写身份证号",
                            ))
                        }
                    }
                }
            };
            // The profile's rules over what the person will have: the sheet's values over
            // those on file.
            let birth = r.person.id_number.as_ref().map(IdNumber::birth_date);
            let (profile, member, birth) = match &known {
                None => (r.profile, r.party_member, birth),
                Some(o) => (
                    o.profile.updated_by(r.profile),
                    o.party_member || r.party_member,
                    birth.or(o.birth_date),
                ),
            };
            let broken = check_rules(&profile, birth, member, today);
            if !broken.is_empty() {
                return Err(broken);
            }
            Ok(match known {
                None => Plan::Create(r),
                Some(o) if changes(&o, &r).is_empty() => Plan::Same(o.id),
                Some(o) => Plan::Update(o, r),
            })
        })
        .collect();
    if !write {
        return Ok(plans
            .into_iter()
            .map(|plan| match plan {
                Err(e) => PersonImportOutcome::Rejected(e),
                Ok(Plan::Create(_)) => PersonImportOutcome::Created(None),
                Ok(Plan::Update(o, _)) => PersonImportOutcome::Updated(PersonId::new(o.id)),
                Ok(Plan::Same(id)) => PersonImportOutcome::Unchanged(PersonId::new(id)),
            })
            .collect());
    }
    let mut tx = begin_write(p).await?;
    let now = Utc::now();
    let mut outcomes = Vec::with_capacity(plans.len());
    let mut created = Vec::new();
    for plan in plans {
        outcomes.push(match plan {
            Err(e) => PersonImportOutcome::Rejected(e),
            Ok(Plan::Same(id)) => PersonImportOutcome::Unchanged(PersonId::new(id)),
            Ok(Plan::Create(r)) => {
                // A number registered since the check (another import at the same moment) is
                // the unique index's conflict: the batch is tried again and finds it.
                let id = insert_person(
                    &mut tx,
                    &p.field_key,
                    county_id,
                    r.org_id,
                    &r.person,
                    &Standing {
                        party_member: r.party_member,
                        retired: r.retired.unwrap_or(false),
                        profile: r.profile,
                    },
                    now,
                )
                .await?;
                created.push(id);
                PersonImportOutcome::Created(Some(PersonId::new(id)))
            }
            Ok(Plan::Update(o, r)) => {
                update_person(&mut tx, p, actor, &o, &r, now).await?;
                PersonImportOutcome::Updated(PersonId::new(o.id))
            }
        });
    }
    if let (Some(first), Some(last)) = (created.first(), created.last()) {
        audit_as(
            &mut tx,
            &p.audit_key,
            actor,
            "import",
            "person",
            format!("{first}..{last}"),
            None,
            Some(json!({"count": created.len(), "ids": created})),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// Of the people `ids`, those the actor may see.
async fn visible_people(c: &mut Conn, actor: &Actor, ids: &[i64]) -> StoreResult<HashSet<i64>> {
    let mut out = HashSet::new();
    for chunk in ids.chunks(CHUNK) {
        let mut q = Sql::new("SELECT p.id FROM people p WHERE p.county_id = ");
        let cty = q.arg(actor.county_id);
        let s = person_scope_cond(&mut q, &actor.scope);
        let list: Vec<String> = chunk.iter().map(|i| q.arg(*i)).collect();
        q.push(&format!("{cty} AND {s} AND p.id IN ({})", list.join(", ")));
        out.extend(fetch_all::<(i64,)>(c, &q).await?.into_iter().map(|r| r.0));
    }
    Ok(out)
}

/// The fields a row changes of the person on file. An empty cell changes nothing: a sheet
/// without a phone column does not erase the phones on file.
fn changes(o: &OnFile, r: &Ready) -> Vec<&'static str> {
    let mut out = Vec::new();
    if o.name != r.person.name {
        out.push("name");
    }
    if r.person.gender.is_some() && o.gender != r.person.gender {
        out.push("gender");
    }
    if r.phone_bidx.is_some() && o.phone_bidx != r.phone_bidx {
        out.push("phone");
    }
    if o.org_id != r.org_id {
        out.push("org_id");
    }
    if r.party_member && !o.party_member {
        out.push("party_member");
    }
    if r.retired.is_some_and(|x| x != o.retired) {
        out.push("retired");
    }
    let (was, new) = (&o.profile, &r.profile);
    for (key, changed) in [
        ("ethnicity", new.ethnicity.is_some_and(|v| was.ethnicity != Some(v))),
        ("education", new.education.is_some_and(|v| was.education != Some(v))),
        ("member_category", new.category.is_some_and(|v| was.category != Some(v))),
        ("joined_on", new.joined_on.is_some_and(|v| was.joined_on != Some(v))),
        ("confirmed_on", new.confirmed_on.is_some_and(|v| was.confirmed_on != Some(v))),
    ] {
        if changed {
            out.push(key);
        }
    }
    out
}

/// Rewrites the changed fields of a person on file; audited as `update` with the fields before
/// and after.
async fn update_person(
    c: &mut Conn,
    p: &Pools<DB>,
    actor: &Actor,
    o: &OnFile,
    r: &Ready,
    now: chrono::DateTime<Utc>,
) -> StoreResult<()> {
    let changed = changes(o, r);
    let gender = r.person.gender.clone().or_else(|| o.gender.clone());
    let (phone_enc, phone_bidx) = match &r.person.phone {
        Some(x) => (
            Some(p.field_key.encrypt("phone", x.as_str())),
            r.phone_bidx.clone(),
        ),
        None => (None, None),
    };
    let party_member = o.party_member || r.party_member;
    let retired = r.retired.unwrap_or(o.retired);
    let standing = Standing {
        party_member,
        retired,
        profile: o.profile.updated_by(r.profile),
    };
    let mut a = Args::default();
    add(&mut a, o.id)?;
    add(&mut a, r.person.name.clone())?;
    add(&mut a, gender.clone())?;
    add(&mut a, r.org_id)?;
    add(&mut a, party_member)?;
    add(&mut a, phone_enc)?;
    add(&mut a, phone_bidx)?;
    add(&mut a, now)?;
    add(&mut a, retired)?;
    add_profile(&mut a, &standing.profile)?;
    add(&mut a, taizhang_domain::search::search_key(&r.person.name))?;
    let text = format!(
        "UPDATE people SET name = $2, search_key = $15, gender = $3, org_id = $4, party_member = $5,
             phone_enc = COALESCE($6, phone_enc), phone_bidx = COALESCE($7, phone_bidx), updated_at = $8,
             retired = $9, ({PROFILE_COLUMNS}) = ($10, $11, $12, $13, $14)
         WHERE id = $1"
    );
    sqlx::query_with(&text, a).execute(&mut *c).await?;
    let mut before = json!({"name": o.name, "org_id": o.org_id, "gender": o.gender, "party_member": o.party_member, "retired": o.retired});
    if let Some(m) = before.as_object_mut() {
        m.extend(profile_json(&o.profile));
    }
    let all = person_json(&r.person, r.org_id, &standing);
    let mut after = Map::new();
    for k in &changed {
        after.insert((*k).to_string(), all.get(*k).cloned().unwrap_or(Value::Null));
    }
    let before: Map<String, Value> = changed
        .iter()
        .filter_map(|k| Some((k.to_string(), before.get(*k)?.clone())))
        .collect();
    audit_as(
        c,
        &p.audit_key,
        actor,
        "update",
        "person",
        o.id,
        Some(Value::Object(before)),
        Some(Value::Object(after)),
    )
    .await?;
    Ok(())
}
