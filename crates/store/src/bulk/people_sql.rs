//! People and positions in bulk (`taizhang gen`, the member import's new people), compiled once
//! per backend beside the bulk record queries whose plumbing they share: the county's
//! organisations read once, ids allocated up front, multi-row INSERTs in one transaction.

use super::bulk::{
    allocate_ids, load_orgs, people_in_scope, row_error, rows_per_statement, run, values_sql,
};
use super::people::{add_person, Standing, PERSON_COLUMNS};
use super::records::in_row;
use super::*;
use crate::sqlbuild::Sql;
use crate::{Actor, NewPerson, NewPosition, Pools, StoreError, StoreResult};
use chrono::Utc;
use serde_json::json;
use std::collections::HashSet;
use taizhang_domain::person::{check_person, CheckedPerson, PersonInput};
use taizhang_domain::{Action, PersonId};

struct CheckedRow {
    org_id: i64,
    person: CheckedPerson,
    standing: Standing,
    id_bidx: Option<String>,
}

pub(crate) async fn bulk_people(
    p: &Pools<DB>,
    actor: &Actor,
    new: &[NewPerson],
) -> StoreResult<Vec<PersonId>> {
    require(actor, Action::EditPeople)?;
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let today = crate::today();
    let mut rows = Vec::with_capacity(new.len());
    let mut bidx_seen: HashSet<String> = HashSet::new();
    let orgs = {
        let mut c = p.read.acquire().await?;
        load_orgs(&mut c, actor).await?
    };
    for (i, n) in new.iter().enumerate() {
        let person = check_person(
            PersonInput {
                name: &n.name,
                gender: n.gender.as_deref(),
                id_number: n.id_number.as_deref(),
                phone: n.phone.as_deref(),
            },
            today,
        )
        .map_err(|e| in_row(i, StoreError::Invalid(e)))?;
        let profile = n
            .checked_profile(&person, today)
            .map_err(|e| in_row(i, StoreError::Invalid(e)))?;
        let org_id = orgs.resolve_in_scope(&n.org).ok_or_else(|| {
            row_error(i, "org", "person.unknown_org", "组织不存在或不在您的管理范围内")
        })?;
        let id_bidx = person
            .id_number
            .as_ref()
            .map(|id| p.field_key.blind_index("id_number", id.as_str()));
        if let Some(b) = &id_bidx {
            if !bidx_seen.insert(b.clone()) {
                return Err(duplicate(i));
            }
        }
        rows.push(CheckedRow {
            org_id,
            person,
            standing: Standing {
                party_member: n.party_member,
                retired: n.retired,
                profile,
            },
            id_bidx,
        });
    }
    let county_id = actor.county_id.get();
    let mut tx = begin_write(p).await?;
    // A 身份证号 already registered in the county: neither the number nor where.
    let wanted: Vec<(usize, &str)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.id_bidx.as_deref().map(|b| (i, b)))
        .collect();
    for chunk in wanted.chunks(10_000) {
        let mut q = Sql::new("SELECT id_number_bidx FROM people WHERE county_id = ");
        let cty = q.arg(county_id);
        let l: Vec<String> = chunk.iter().map(|(_, b)| q.arg(*b)).collect();
        q.push(&format!("{cty} AND id_number_bidx IN ({})", l.join(", ")));
        let taken: HashSet<String> = fetch_all::<(String,)>(&mut tx, &q)
            .await?
            .into_iter()
            .map(|x| x.0)
            .collect();
        if let Some((i, _)) = chunk.iter().find(|(_, b)| taken.contains(*b)) {
            return Err(duplicate(*i));
        }
    }
    let ids = allocate_ids(&mut tx, "people", rows.len()).await?;
    let now = Utc::now();
    let per = rows_per_statement(20);
    for (k, chunk) in rows.chunks(per).enumerate() {
        let text = values_sql(
            &format!("INSERT INTO people (id, {PERSON_COLUMNS}, created_at, updated_at) VALUES "),
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            chunk.len(),
        );
        let mut a = Args::default();
        for (j, r) in chunk.iter().enumerate() {
            add(&mut a, ids[k * per + j])?;
            let bidx = r.id_bidx.clone();
            add_person(&mut a, &p.field_key, county_id, r.org_id, &r.person, bidx, &r.standing)?;
            add(&mut a, now)?;
            add(&mut a, now)?;
        }
        run(&mut tx, &text, a).await?;
    }
    let first = ids.first().copied().unwrap_or(0);
    let last = ids.last().copied().unwrap_or(0);
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "import",
        "person",
        format!("{first}..{last}"),
        None,
        Some(json!({"count": ids.len()})),
    )
    .await?;
    tx.commit().await?;
    Ok(ids.into_iter().map(PersonId::new).collect())
}

fn duplicate(i: usize) -> StoreError {
    row_error(i, "id_number", "person.duplicate_id_number", "该身份证号已登记")
}

pub(crate) async fn bulk_positions(
    p: &Pools<DB>,
    actor: &Actor,
    new: &[NewPosition],
) -> StoreResult<usize> {
    require(actor, Action::EditPeople)?;
    if new.is_empty() {
        return Ok(0);
    }
    let mut c = p.read.acquire().await?;
    let orgs = load_orgs(&mut c, actor).await?;
    let mut wanted: Vec<i64> = new.iter().map(|n| n.person_id.get()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let found = people_in_scope(&mut c, actor, &wanted).await?;
    drop(c);
    let mut org_ids = Vec::with_capacity(new.len());
    for (i, n) in new.iter().enumerate() {
        taizhang_domain::check_date_field("valid_from", n.valid_from)
            .map_err(|e| in_row(i, e.into()))?;
        if let Some(to) = n.valid_to {
            taizhang_domain::check_date_field("valid_to", to).map_err(|e| in_row(i, e.into()))?;
            if to < n.valid_from {
                return Err(row_error(
                    i,
                    "valid_to",
                    "position.dates",
                    "任职结束日期不能早于开始日期",
                ));
            }
        }
        let org = orgs.resolve_in_scope(&n.org).ok_or_else(|| {
            row_error(i, "org", "position.org", "组织不存在或不在您的管理范围内")
        })?;
        if !found.contains(&n.person_id.get()) {
            return Err(row_error(
                i,
                "person_id",
                "position.person",
                "人员不存在或不在您的管理范围内",
            ));
        }
        org_ids.push(org);
    }
    let county_id = actor.county_id.get();
    let mut tx = begin_write(p).await?;
    let now = Utc::now();
    let per = rows_per_statement(7);
    for (k, chunk) in new.chunks(per).enumerate() {
        let text = values_sql(
            "INSERT INTO positions (county_id, person_id, org_id, title, valid_from, valid_to, created_at) VALUES ",
            "(?, ?, ?, ?, ?, ?, ?)",
            chunk.len(),
        );
        let mut a = Args::default();
        for (j, n) in chunk.iter().enumerate() {
            add(&mut a, county_id)?;
            add(&mut a, n.person_id.get())?;
            add(&mut a, org_ids[k * per + j])?;
            add(&mut a, n.title.key())?;
            add(&mut a, n.valid_from)?;
            add(&mut a, n.valid_to)?;
            add(&mut a, now)?;
        }
        run(&mut tx, &text, a).await?;
    }
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "import",
        "position",
        format!("{}", new.len()),
        None,
        Some(json!({"count": new.len()})),
    )
    .await?;
    tx.commit().await?;
    Ok(new.len())
}
