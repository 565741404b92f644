//! Corrections of records and their history, compiled once per backend.
//!
//! A correction keeps the record's id. Inside one write transaction the current version is
//! copied to `record_versions`, the record leaves its rollups exactly as a void would, takes the
//! new values and enters its rollups exactly as a new record does. The void and the insert are
//! the two paths every other write already uses, so the rollups stay equal to a rebuild.

use super::records::{
    insert_record_details, prepare_record, recheck_prepared, written_record, PreparedRecord,
};
use super::*;
use crate::sqlbuild::Sql;
use crate::{
    org_ref, Actor, NewRecord, OrgName, PersonName, Pools, Record, RecordEdit, RecordVersion, StoreError,
    StoreResult,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use sqlx::types::Json;
use std::collections::HashMap;
use taizhang_domain::ledger::{
    changed_fields, check_record_bounds, LedgerTypeDef, MAX_RECORD_VERSIONS,
};
use taizhang_domain::{Action, OrgId, PersonId};

/// The record as the caller may correct it: in the caller's scope today, as for a void.
struct Current {
    type_key: String,
    version: i64,
    voided: bool,
}

async fn writable(c: &mut Conn, actor: &Actor, id: i64) -> StoreResult<Current> {
    let mut q = Sql::new("SELECT t.key, r.version, r.voided_at IS NOT NULL FROM ledger_records r JOIN ledger_types t ON t.id = r.ledger_type_id WHERE r.id = ");
    let i = q.arg(id);
    let county = q.arg(actor.county_id);
    let s = scope_cond(&mut q, &actor.scope, "r.org_id");
    q.push(&format!("{i} AND r.county_id = {county} AND {s}"));
    let (type_key, version, voided) = fetch_optional::<(String, i64, bool)>(c, &q)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(Current {
        type_key,
        version,
        voided,
    })
}

/// Refuses a correction of a voided record, of a version other than the current one, or past
/// the last version a record may have.
fn check_current(cur: &Current, from_version: i64) -> StoreResult<()> {
    if cur.voided {
        return Err(StoreError::conflict(
            "record.voided",
            "该记录已作废，不能修改",
        ));
    }
    if cur.version != from_version {
        return Err(StoreError::conflict(
            "record.stale",
            format!(
                "该记录在您打开后已被修改（现为第{}版），请重新打开后再修改",
                cur.version
            ),
        ));
    }
    if cur.version >= MAX_RECORD_VERSIONS {
        return Err(StoreError::conflict(
            "record.too_many_versions",
            format!("一条记录最多修改{}次，请作废后重新登记", MAX_RECORD_VERSIONS - 1),
        ));
    }
    Ok(())
}

pub(crate) async fn edit_record(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    edit: &RecordEdit,
    today: NaiveDate,
    bound: std::time::Duration,
) -> StoreResult<Record> {
    require(actor, Action::RecordEntry)?;
    check_record_bounds(&edit.fields).map_err(StoreError::Invalid)?;
    let reason = taizhang_domain::text::EDIT_REASON.check(&edit.reason)?;
    let mut types = HashMap::new();
    let prepared = {
        let mut c = p.read.acquire().await?;
        let cur = writable(&mut c, actor, id).await?;
        check_current(&cur, edit.version)?;
        let new = NewRecord {
            ledger_type: cur.type_key,
            org: edit.org.clone(),
            occurred_on: edit.occurred_on,
            fields: edit.fields.clone(),
        };
        let prepared = prepare_record(&mut c, actor, &mut types, &new, today).await;
        // Every problem at once: the fields' and a missing reason.
        match (prepared, reason.is_empty()) {
            (Ok(r), false) => r,
            (Ok(_), true) => return Err(missing_reason(Vec::new())),
            (Err(StoreError::Invalid(errs)), true) => return Err(missing_reason(errs)),
            (Err(e), _) => return Err(e),
        }
    };
    let defs: HashMap<i64, LedgerTypeDef> = types
        .into_values()
        .map(|t| (t.id.get(), t.definition))
        .collect();
    within(
        bound,
        write_edit(p, actor, id, edit.version, &reason, &prepared, &defs),
    )
    .await
}

fn missing_reason(mut errs: Vec<taizhang_domain::ledger::FieldError>) -> StoreError {
    errs.push(taizhang_domain::ledger::FieldError::new(
        "reason",
        "record.edit_reason",
        "请填写修改原因（不超过200字）",
    ));
    StoreError::Invalid(errs)
}

async fn write_edit(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    from_version: i64,
    reason: &str,
    prepared: &PreparedRecord,
    defs: &HashMap<i64, LedgerTypeDef>,
) -> StoreResult<Record> {
    let county = actor.county_id.get();
    let mut tx = begin_write(p).await?;
    recheck_prepared(&mut tx, prepared).await?;
    // Checked again under the write lock: a correction that landed meanwhile makes this one
    // stale. On PostgreSQL the guarded UPDATE below waits for the other and then finds nothing.
    check_current(&writable(&mut tx, actor, id).await?, from_version)?;
    let before: (i64, NaiveDate, Json<Value>) = sqlx::query_as(
        "SELECT org_id, occurred_on, fields FROM ledger_records WHERE id = $1 AND county_id = $2",
    )
    .bind(id)
    .bind(county)
    .fetch_one(&mut *tx)
    .await?;
    let unchanged_fields = match (defs.get(&prepared.type_id), before.2 .0.as_object()) {
        (Some(def), Some(old)) => changed_fields(def, old, &prepared.validated.values).is_empty(),
        _ => false,
    };
    if unchanged_fields && before.0 == prepared.org_id && before.1 == prepared.occurred_on {
        return Err(StoreError::invalid(
            "fields",
            "record.unchanged",
            "没有修改任何内容",
        ));
    }
    sqlx::query(
        "INSERT INTO record_versions (county_id, record_id, version, type_version, org_id, occurred_on, fields, written_by, written_at, reason)
         SELECT county_id, id, version, type_version, org_id, occurred_on, fields, COALESCE(edited_by, created_by), COALESCE(edited_at, created_at), edit_reason
         FROM ledger_records WHERE id = $1 AND county_id = $2",
    )
    .bind(id)
    .bind(county)
    .execute(&mut *tx)
    .await?;
    // Out of the rollups as a void takes it (the void is undone below, in the same transaction).
    let now = Utc::now();
    let taken = sqlx::query(
        "UPDATE ledger_records SET voided_at = $1 WHERE id = $2 AND county_id = $3 AND version = $4 AND voided_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(county)
    .bind(from_version)
    .execute(&mut *tx)
    .await?;
    if taken.rows_affected() != 1 {
        return Err(StoreError::conflict(
            "record.stale",
            "该记录在您打开后已被修改，请重新打开后再修改",
        ));
    }
    super::rollups::void_records(&mut tx, county, &[id]).await?;
    for table in ["record_people", "record_facts", "record_attachments"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE county_id = $1 AND record_id = $2"
        ))
        .bind(county)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    // Back in, with the new values, as a new record goes in.
    sqlx::query(
        "UPDATE ledger_records SET type_version = $1, org_id = $2, occurred_on = $3, fields = $4, version = version + 1, edited_by = $5, edited_at = $6, edit_reason = $7, voided_at = NULL
         WHERE id = $8 AND county_id = $9",
    )
    .bind(prepared.version)
    .bind(prepared.org_id)
    .bind(prepared.occurred_on)
    .bind(Json(Value::Object(prepared.validated.values.clone())))
    .bind(actor.user_id.map(|u| u.get()))
    .bind(now)
    .bind(reason)
    .bind(id)
    .bind(county)
    .execute(&mut *tx)
    .await?;
    insert_record_details(&mut tx, county, &[(id, prepared)], defs).await?;
    let people = prepared.people_ids();
    super::rollups::add_records(&mut tx, county, &[prepared.rollup_input(&people)]).await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "edit",
        "record",
        id,
        Some(json!({"version": from_version, "org_id": before.0, "occurred_on": before.1, "fields": before.2 .0})),
        Some(json!({"version": from_version + 1, "org_id": prepared.org_id, "occurred_on": prepared.occurred_on, "fields": prepared.validated.values, "reason": reason})),
    )
    .await?;
    let rec = written_record(&mut tx, id).await?;
    tx.commit().await?;
    Ok(rec)
}

/// A version as stored, with its organisation's name and code and its writer's name.
struct VersionRow {
    version: i64,
    org_id: i64,
    org_name: String,
    org_code: Option<String>,
    occurred_on: NaiveDate,
    fields: Json<Value>,
    type_version: i64,
    written_by: Option<String>,
    written_at: DateTime<Utc>,
    reason: Option<String>,
}
from_row!(VersionRow {
    version,
    org_id,
    org_name,
    org_code,
    occurred_on,
    fields,
    type_version,
    written_by,
    written_at,
    reason,
});

pub(crate) async fn record_history(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
) -> StoreResult<Vec<RecordVersion>> {
    // Seen only by whoever may see the record now.
    let current = super::records::record(p, actor, id).await?;
    let mut c = p.read.acquire().await?;
    let rows: Vec<VersionRow> = sqlx::query_as(
        "SELECT v.version, v.org_id, o.name AS org_name, o.code AS org_code, v.occurred_on, v.fields, v.type_version, u.username AS written_by, v.written_at, v.reason
         FROM record_versions v JOIN orgs o ON o.id = v.org_id LEFT JOIN users u ON u.id = v.written_by
         WHERE v.county_id = $1 AND v.record_id = $2 ORDER BY v.version LIMIT $3",
    )
    .bind(actor.county_id.get())
    .bind(id)
    .bind(MAX_RECORD_VERSIONS)
    .fetch_all(&mut *c)
    .await?;
    let reason: Option<String> =
        sqlx::query_as::<_, (Option<String>,)>("SELECT edit_reason FROM ledger_records WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *c)
            .await?
            .0;
    let mut out: Vec<RecordVersion> = rows
        .into_iter()
        .map(|r| RecordVersion {
            version: r.version,
            org: OrgName {
                id: OrgId::new(r.org_id),
                org_ref: org_ref(OrgId::new(r.org_id), r.org_code.as_deref()),
                name: r.org_name,
            },
            occurred_on: r.occurred_on,
            fields: r.fields.0,
            type_version: r.type_version,
            written_by: r.written_by,
            written_at: r.written_at,
            reason: r.reason,
            people: Vec::new(),
        })
        .collect();
    name_people(&mut c, actor, &current.ledger_type, &mut out).await?;
    out.push(RecordVersion {
        version: current.version,
        org: current.org,
        occurred_on: current.occurred_on,
        fields: current.fields,
        type_version: current.type_version,
        written_by: current.edited_by.or(current.created_by),
        written_at: current.edited_at.unwrap_or(current.created_at),
        reason,
        people: current.people,
    });
    Ok(out)
}

/// Fills in the names of the people each older version names, with one query per 500 ids.
async fn name_people(
    c: &mut Conn,
    actor: &Actor,
    type_key: &str,
    versions: &mut [RecordVersion],
) -> StoreResult<()> {
    let def = super::ledgers::load_type(c, actor.county_id.get(), type_key)
        .await?
        .definition;
    let keys: Vec<&str> = def
        .fields
        .iter()
        .filter(|f| matches!(f.kind, taizhang_domain::ledger::FieldKind::People { .. }))
        .map(|f| f.key.as_str())
        .collect();
    let ids_of = |v: &RecordVersion| -> Vec<i64> {
        let mut ids: Vec<i64> = keys
            .iter()
            .filter_map(|k| v.fields.get(*k).and_then(Value::as_array))
            .flatten()
            .filter_map(Value::as_i64)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let mut all: Vec<i64> = versions.iter().flat_map(ids_of).collect();
    all.sort_unstable();
    all.dedup();
    let mut names: HashMap<i64, String> = HashMap::new();
    for chunk in all.chunks(500) {
        let mut q = Sql::new("SELECT id, name FROM people WHERE county_id = ");
        let cty = q.arg(actor.county_id);
        let l = q.list(chunk);
        q.push(&format!("{cty} AND id IN ({l})"));
        names.extend(fetch_all::<(i64, String)>(c, &q).await?);
    }
    for v in versions.iter_mut() {
        v.people = ids_of(v)
            .into_iter()
            .filter_map(|id| {
                names.get(&id).map(|n| PersonName {
                    id: PersonId::new(id),
                    name: n.clone(),
                })
            })
            .collect();
    }
    Ok(())
}
