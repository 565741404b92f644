//! The records queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::ledgers::load_type;
use super::orgs::{load_org_unscoped, resolve_org};
use super::people::person_scope_probe;
use super::*;
use crate::sqlbuild::Sql;
use crate::{
    org_ref, Actor, LedgerType, NewRecord, OrgName, PersonName, Pools, Record, RecordPage,
    RecordQuery, StoreError, StoreResult,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use sqlx::types::Json;
use std::collections::{HashMap, HashSet};
use taizhang_domain::ledger::{check_record_bounds, Fact, LedgerTypeDef};
use taizhang_domain::org::OrgRef;
use taizhang_domain::rollup::RollupInput;
use taizhang_domain::{Action, OrgId, PersonId, RecordId, Scope};

// ---- records -----------------------------------------------------------------------------------

/// A record as stored, with its ledger type's key and name and its organisation's name and code.
pub(crate) struct RecordRow {
    id: i64,
    type_key: String,
    type_name: String,
    type_version: i64,
    org_id: i64,
    org_name: String,
    org_code: Option<String>,
    occurred_on: NaiveDate,
    fields: Json<Value>,
    created_by: Option<String>,
    created_at: DateTime<Utc>,
    voided_at: Option<DateTime<Utc>>,
    version: i64,
    edited_by: Option<String>,
    edited_at: Option<DateTime<Utc>>,
}
from_row!(RecordRow {
    id,
    type_key,
    type_name,
    type_version,
    org_id,
    org_name,
    org_code,
    occurred_on,
    fields,
    created_by,
    created_at,
    voided_at,
    version,
    edited_by,
    edited_at,
});
pub(crate) const RECORD_SELECT: &str = "SELECT r.id, t.key AS type_key, t.name AS type_name, r.type_version, r.org_id, o.name AS org_name, o.code AS org_code, r.occurred_on, r.fields, u.username AS created_by, r.created_at, r.voided_at, r.version, ue.username AS edited_by, r.edited_at
     FROM ledger_records r JOIN ledger_types t ON t.id = r.ledger_type_id JOIN orgs o ON o.id = r.org_id LEFT JOIN users u ON u.id = r.created_by LEFT JOIN users ue ON ue.id = r.edited_by";

/// Records are visible where their organisation is in scope today, or was under a scope root on
/// the record's date (so a bulletin's figures and the records behind them always agree).
pub(crate) fn record_scope_cond(q: &mut Sql, scope: &Scope) -> String {
    match scope.roots() {
        None => "1=1".into(),
        Some([]) => "1=0".into(),
        Some(roots) => {
            let l = q.list(roots);
            format!("EXISTS (SELECT 1 FROM org_closure sc WHERE sc.descendant_id = r.org_id AND sc.ancestor_id IN ({l}) AND (sc.valid_to IS NULL OR (sc.valid_from <= r.occurred_on AND r.occurred_on < sc.valid_to)))")
        }
    }
}

pub(crate) async fn records_from(c: &mut Conn, rows: Vec<RecordRow>) -> StoreResult<Vec<Record>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut names: HashMap<i64, Vec<PersonName>> = HashMap::new();
    let mut seen: HashSet<(i64, i64)> = HashSet::new();
    for chunk in ids.chunks(500) {
        let mut q = Sql::new("SELECT rp.record_id, p.id, p.name FROM record_people rp JOIN people p ON p.id = rp.person_id WHERE rp.record_id IN (");
        let l = q.list(chunk);
        q.push(&format!("{l}) ORDER BY rp.record_id, rp.field_key, p.id"));
        for (rid, pid, name) in fetch_all::<(i64, i64, String)>(c, &q).await? {
            if seen.insert((rid, pid)) {
                names.entry(rid).or_default().push(PersonName {
                    id: PersonId::new(pid),
                    name,
                });
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| Record {
            id: RecordId::new(r.id),
            ledger_type: r.type_key,
            ledger_type_name: r.type_name,
            type_version: r.type_version,
            org: OrgName {
                id: OrgId::new(r.org_id),
                org_ref: org_ref(OrgId::new(r.org_id), r.org_code.as_deref()),
                name: r.org_name,
            },
            occurred_on: r.occurred_on,
            fields: r.fields.0,
            people: names.remove(&r.id).unwrap_or_default(),
            created_by: r.created_by,
            created_at: r.created_at,
            voided_at: r.voided_at,
            version: r.version,
            edited_by: r.edited_by,
            edited_at: r.edited_at,
        })
        .collect())
}

pub(crate) struct PreparedRecord {
    pub(crate) type_id: i64,
    pub(crate) version: i64,
    pub(crate) org_id: i64,
    org_name: String,
    pub(crate) occurred_on: NaiveDate,
    pub(crate) validated: taizhang_domain::ledger::ValidatedRecord,
}

impl PreparedRecord {
    /// The distinct people the record names, for its rollup cell.
    pub(crate) fn people_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.validated.people.iter().map(|p| p.get()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub(crate) fn rollup_input<'a>(&'a self, people: &'a [i64]) -> RollupInput<'a> {
        RollupInput {
            type_id: self.type_id,
            org_id: self.org_id,
            occurred_on: self.occurred_on,
            facts: &self.validated.facts,
            people,
        }
    }
}

/// Whether an organisation established and (perhaps) dissolved on these days existed on `on`.
pub(crate) fn org_active_on(established: NaiveDate, dissolved: Option<NaiveDate>, on: NaiveDate) -> bool {
    established <= on && dissolved.is_none_or(|d| on < d)
}

pub(crate) fn org_not_active(name: &str) -> taizhang_domain::ledger::FieldError {
    taizhang_domain::ledger::FieldError::new(
        "occurred_on",
        "record.org_not_active",
        format!("“{name}”在该日期未处于存续状态"),
    )
}

/// Validates one record against its type and the county: the organisation in scope and alive on
/// the date, the people and attachments it names existing. It only reads, and is given a READ
/// connection: the write connection (SQLite's only writer) is taken afterwards, for the inserts
/// alone, so a slow or hostile record never holds up anybody else's write.
pub(crate) async fn prepare_record(
    c: &mut Conn,
    actor: &Actor,
    types: &mut HashMap<String, LedgerType>,
    new: &NewRecord,
    today: NaiveDate,
) -> StoreResult<PreparedRecord> {
    if !types.contains_key(&new.ledger_type) {
        let t = load_type(c, actor.county_id.get(), &new.ledger_type)
            .await
            .map_err(|_| {
                StoreError::invalid(
                    "ledger_type",
                    "record.unknown_type",
                    format!("台账类型“{}”不存在", new.ledger_type),
                )
            })?;
        types.insert(new.ledger_type.clone(), t);
    }
    let t = &types[&new.ledger_type];
    let validation = t.definition.validate_record(&new.fields);
    let mut errors = validation.as_ref().err().cloned().unwrap_or_default();
    if new.occurred_on > today {
        errors.push(taizhang_domain::ledger::FieldError::new(
            "occurred_on",
            "record.future_date",
            "日期不能晚于今天",
        ));
    }
    if new.occurred_on < NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default() {
        errors.push(taizhang_domain::ledger::FieldError::new(
            "occurred_on",
            "record.too_old",
            "日期不能早于2000年",
        ));
    }
    let org = match resolve_org(c, actor, &new.org).await {
        Ok(id) => Some(load_org_unscoped(c, id).await?),
        Err(StoreError::NotFound) => {
            errors.push(taizhang_domain::ledger::FieldError::new(
                "org",
                "record.unknown_org",
                "组织不存在或不在您的管理范围内",
            ));
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(o) = &org {
        if !org_active_on(o.established_on, o.dissolved_on, new.occurred_on) {
            errors.push(org_not_active(&o.name));
        }
    }
    let validated = match validation {
        Ok(v) => v,
        Err(_) => return Err(StoreError::Invalid(errors)),
    };
    if !validated.people.is_empty() {
        // Only people the caller may see: an id from elsewhere is "not found", never a name.
        let mut q = Sql::new("SELECT p.id FROM people p WHERE p.county_id = ");
        let cty = q.arg(actor.county_id);
        let l = q.list(&validated.people);
        let s = person_scope_probe(&mut q, &actor.scope);
        q.push(&format!("{cty} AND p.id IN ({l}) AND {s}"));
        let found: HashSet<i64> = fetch_all::<(i64,)>(c, &q)
            .await?
            .into_iter()
            .map(|x| x.0)
            .collect();
        for pid in &validated.people {
            if !found.contains(&pid.get()) {
                errors.push(taizhang_domain::ledger::FieldError::new(
                    "people",
                    "record.unknown_person",
                    format!("人员编号{pid}不存在"),
                ));
            }
        }
    }
    let county_actor = Actor {
        scope: Scope::county(actor.county_id.get()),
        ..actor.clone()
    };
    for (field, r) in &validated.orgs {
        let s = match r {
            OrgRef::Code(code) => code.clone(),
            OrgRef::Id(id) => format!("o{id}"),
        };
        if resolve_org(c, &county_actor, &s).await.is_err() {
            errors.push(taizhang_domain::ledger::FieldError::new(
                field.clone(),
                "record.unknown_org",
                format!("组织“{s}”不存在"),
            ));
        }
    }
    for a in &validated.attachments {
        if !attachment_visible(c, actor, a).await? {
            errors.push(taizhang_domain::ledger::FieldError::new(
                "attachments",
                "record.unknown_attachment",
                "附件不存在，请重新上传",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(StoreError::Invalid(errors));
    }
    let org = org.ok_or(StoreError::NotFound)?;
    Ok(PreparedRecord {
        type_id: t.id.get(),
        version: t.version,
        org_id: org.id.get(),
        org_name: org.name,
        occurred_on: new.occurred_on,
        validated,
    })
}

/// What `prepare_record` read may have changed before the write transaction began; inside it,
/// this checks again what would make the record wrong, with one lookup by primary key.
///
/// - The organisation: dissolved meanwhile with a date on or before the record's. Checked again.
/// - Everything else is harmless, because the outcome equals the record written a moment
///   earlier followed by the other change, which is allowed: a person or organisation moved out
///   of the caller's scope (scope is checked at the time of writing, and records stay where they
///   were written); a new version of the ledger type (a record keeps the version it was
///   validated against, and versions only add or retire fields); people, attachments and
///   organisations are never deleted, so what was found still exists.
pub(crate) async fn recheck_prepared(c: &mut Conn, r: &PreparedRecord) -> StoreResult<()> {
    let (established, dissolved): (NaiveDate, Option<NaiveDate>) =
        sqlx::query_as("SELECT established_on, dissolved_on FROM orgs WHERE id = $1")
            .bind(r.org_id)
            .fetch_one(&mut *c)
            .await?;
    if org_active_on(established, dissolved, r.occurred_on) {
        Ok(())
    } else {
        Err(StoreError::Invalid(vec![org_not_active(&r.org_name)]))
    }
}

/// A batch's errors, each naming its row, so that the caller can say which one failed.
pub(crate) fn in_row(i: usize, e: StoreError) -> StoreError {
    match e {
        StoreError::Invalid(errs) => StoreError::Invalid(
            errs.into_iter()
                .map(|e| {
                    taizhang_domain::ledger::FieldError::new(
                        format!("[{i}].{}", e.field),
                        &e.code,
                        e.message,
                    )
                })
                .collect(),
        ),
        other => other,
    }
}

pub(crate) async fn insert_prepared(
    c: &mut Conn,
    actor: &Actor,
    r: &PreparedRecord,
) -> StoreResult<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO ledger_records (county_id, ledger_type_id, type_version, org_id, occurred_on, fields, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(actor.county_id.get())
    .bind(r.type_id)
    .bind(r.version)
    .bind(r.org_id)
    .bind(r.occurred_on)
    .bind(Json(Value::Object(r.validated.values.clone())))
    .bind(actor.user_id.map(|u| u.get()))
    .bind(Utc::now())
    .fetch_one(&mut *c)
    .await?;
    Ok(id)
}

/// People, facts and attachments of many records, in multi-row inserts.
pub(crate) async fn insert_record_details(
    c: &mut Conn,
    county_id: i64,
    items: &[(i64, &PreparedRecord)],
    defs: &HashMap<i64, LedgerTypeDef>,
) -> StoreResult<()> {
    let mut people: Vec<(i64, String, i64)> = Vec::new();
    let mut facts: Vec<(i64, String, Option<i64>, Option<String>)> = Vec::new();
    let mut attachments: Vec<(i64, String)> = Vec::new();
    for (rid, r) in items {
        if let Some(def) = defs.get(&r.type_id) {
            for f in def.fields.iter() {
                if let taizhang_domain::ledger::FieldKind::People { .. } = f.kind {
                    if let Some(Value::Array(ids)) = r.validated.values.get(&f.key) {
                        let mut seen = HashSet::new();
                        for pid in ids.iter().filter_map(Value::as_i64) {
                            if seen.insert(pid) {
                                people.push((*rid, f.key.clone(), pid));
                            }
                        }
                    }
                }
            }
        }
        for fact in &r.validated.facts {
            match fact {
                Fact::Number { field, value } => {
                    facts.push((*rid, field.clone(), Some(*value), None))
                }
                Fact::Choice { field, option } => {
                    facts.push((*rid, field.clone(), None, Some(option.clone())))
                }
            }
        }
        for a in &r.validated.attachments {
            attachments.push((*rid, a.clone()));
        }
    }
    for chunk in people.chunks(400) {
        let mut q = Sql::new(
            "INSERT INTO record_people (county_id, record_id, field_key, person_id) VALUES ",
        );
        let rows: Vec<String> = chunk
            .iter()
            .map(|(rid, f, pid)| {
                format!(
                    "({}, {}, {}, {})",
                    q.arg(county_id),
                    q.arg(*rid),
                    q.arg(f.as_str()),
                    q.arg(*pid)
                )
            })
            .collect();
        q.push(&rows.join(", "));
        execute(c, &q).await?;
    }
    for chunk in facts.chunks(400) {
        let mut q = Sql::new("INSERT INTO record_facts (county_id, record_id, field_key, num_value, option_value) VALUES ");
        let rows: Vec<String> = chunk
            .iter()
            .map(|(rid, f, n, o)| {
                let n = match n {
                    Some(v) => q.arg(*v),
                    None => "NULL".into(),
                };
                let o = match o {
                    Some(v) => q.arg(v.as_str()),
                    None => "NULL".into(),
                };
                format!(
                    "({}, {}, {}, {n}, {o})",
                    q.arg(county_id),
                    q.arg(*rid),
                    q.arg(f.as_str())
                )
            })
            .collect();
        q.push(&rows.join(", "));
        execute(c, &q).await?;
    }
    for (rid, a) in attachments {
        sqlx::query("INSERT INTO record_attachments (county_id, record_id, attachment_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(county_id)
            .bind(rid)
            .bind(&a)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

pub(crate) async fn create_record(
    p: &Pools<DB>,
    actor: &Actor,
    new: &NewRecord,
    today: NaiveDate,
    bound: std::time::Duration,
) -> StoreResult<Record> {
    require(actor, Action::RecordEntry)?;
    // Oversized input is refused before any database work.
    check_record_bounds(&new.fields).map_err(StoreError::Invalid)?;
    let mut types = HashMap::new();
    let prepared = {
        let mut c = p.read.acquire().await?;
        prepare_record(&mut c, actor, &mut types, new, today).await?
    };
    let defs: HashMap<i64, LedgerTypeDef> = types
        .into_values()
        .map(|t| (t.id.get(), t.definition))
        .collect();
    within(bound, insert_record(p, actor, new, &prepared, &defs)).await
}

/// The write transaction of one checked record.
async fn insert_record(
    p: &Pools<DB>,
    actor: &Actor,
    new: &NewRecord,
    prepared: &PreparedRecord,
    defs: &HashMap<i64, LedgerTypeDef>,
) -> StoreResult<Record> {
    let mut tx = begin_write(p).await?;
    recheck_prepared(&mut tx, prepared).await?;
    let id = insert_prepared(&mut tx, actor, prepared).await?;
    insert_record_details(&mut tx, actor.county_id.get(), &[(id, prepared)], defs).await?;
    let people = prepared.people_ids();
    super::rollups::add_records(
        &mut tx,
        actor.county_id.get(),
        &[prepared.rollup_input(&people)],
    )
    .await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "create",
        "record",
        id,
        None,
        Some(json!({"ledger_type": new.ledger_type, "org_id": prepared.org_id, "occurred_on": new.occurred_on, "fields": prepared.validated.values})),
    )
    .await?;
    let rec = written_record(&mut tx, id).await?;
    tx.commit().await?;
    Ok(rec)
}

/// A record just written, read back in the writing transaction, with its people's names.
pub(crate) async fn written_record(c: &mut Conn, id: i64) -> StoreResult<Record> {
    let row: RecordRow = sqlx::query_as(&format!("{RECORD_SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_one(&mut *c)
        .await?;
    records_from(c, vec![row])
        .await?
        .pop()
        .ok_or(StoreError::NotFound)
}

pub(crate) async fn create_records(
    p: &Pools<DB>,
    actor: &Actor,
    new: &[NewRecord],
    today: NaiveDate,
) -> StoreResult<usize> {
    require(actor, Action::RecordEntry)?;
    for (i, n) in new.iter().enumerate() {
        check_record_bounds(&n.fields).map_err(|e| in_row(i, StoreError::Invalid(e)))?;
    }
    // Checked on a read connection, as one record is (see `create_record`).
    let mut types = HashMap::new();
    let mut prepared = Vec::with_capacity(new.len());
    {
        let mut c = p.read.acquire().await?;
        for (i, n) in new.iter().enumerate() {
            let r = prepare_record(&mut c, actor, &mut types, n, today).await;
            prepared.push(r.map_err(|e| in_row(i, e))?);
        }
    }
    let mut tx = begin_write(p).await?;
    for (i, r) in prepared.iter().enumerate() {
        recheck_prepared(&mut tx, r).await.map_err(|e| in_row(i, e))?;
    }
    let mut ids = Vec::with_capacity(prepared.len());
    for r in &prepared {
        ids.push(insert_prepared(&mut tx, actor, r).await?);
    }
    let defs: HashMap<i64, LedgerTypeDef> = types
        .into_values()
        .map(|t| (t.id.get(), t.definition))
        .collect();
    let items: Vec<(i64, &PreparedRecord)> = ids.iter().copied().zip(prepared.iter()).collect();
    insert_record_details(&mut tx, actor.county_id.get(), &items, &defs).await?;
    let people: Vec<Vec<i64>> = prepared.iter().map(PreparedRecord::people_ids).collect();
    let inputs: Vec<RollupInput<'_>> = prepared
        .iter()
        .zip(&people)
        .map(|(r, p)| r.rollup_input(p))
        .collect();
    super::rollups::add_records(&mut tx, actor.county_id.get(), &inputs).await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "import",
        "record",
        format!(
            "{}..{}",
            ids.first().copied().unwrap_or(0),
            ids.last().copied().unwrap_or(0)
        ),
        None,
        Some(json!({"count": ids.len()})),
    )
    .await?;
    tx.commit().await?;
    Ok(ids.len())
}

pub(crate) async fn record(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<Record> {
    require(actor, Action::ReadRecords)?;
    let mut c = p.read.acquire().await?;
    let mut q = Sql::new(RECORD_SELECT);
    let i = q.arg(id);
    let county = q.arg(actor.county_id);
    let s = record_scope_cond(&mut q, &actor.scope);
    q.push(&format!(
        " WHERE r.id = {i} AND r.county_id = {county} AND {s}"
    ));
    let row = fetch_optional::<RecordRow>(&mut c, &q)
        .await?
        .ok_or(StoreError::NotFound)?;
    records_from(&mut c, vec![row])
        .await?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// The organisation-subtree condition "as the tree was on the record's date". The `IN` list of
/// every organisation ever below the root is implied by the `EXISTS`; it is there so that the
/// planner reads the records through `ledger_records_org_date`, organisation by organisation,
/// instead of every record of the county with two probes each.
pub(crate) fn subtree_on_record_date(q: &mut Sql, root: i64) -> String {
    let a = q.arg(root);
    format!("r.org_id IN (SELECT descendant_id FROM org_closure WHERE ancestor_id = {a}) AND EXISTS (SELECT 1 FROM org_closure cl WHERE cl.ancestor_id = {a} AND cl.descendant_id = r.org_id AND cl.valid_from <= r.occurred_on AND (cl.valid_to IS NULL OR r.occurred_on < cl.valid_to))")
}

/// The id of the caller's county's ledger type `key`, if it has one.
pub(crate) async fn ledger_type_id(
    c: &mut Conn,
    actor: &Actor,
    key: &str,
) -> StoreResult<Option<i64>> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM ledger_types WHERE county_id = $1 AND key = $2")
            .bind(actor.county_id.get())
            .bind(key)
            .fetch_optional(&mut *c)
            .await?;
    Ok(found.map(|r| r.0))
}

/// The list's conditions (scope, subtree on the record's date, type, period, option, person),
/// checked and appended to `q`'s arguments; shared by the page and the export.
pub(crate) async fn record_filter(
    c: &mut Conn,
    actor: &Actor,
    rq: &RecordQuery,
    q: &mut Sql,
) -> StoreResult<String> {
    require(actor, Action::ReadRecords)?;
    for (field, date) in [("from", rq.from), ("to", rq.to)] {
        if let Some(d) = date {
            taizhang_domain::check_date_field(field, d)?;
        }
    }
    for (field, value) in [("field", &rq.field), ("option", &rq.option)] {
        taizhang_domain::text::FILTER.check_at(field, value.as_deref().unwrap_or(""))?;
    }
    let county = q.arg(actor.county_id);
    let s = record_scope_cond(q, &actor.scope);
    let mut cond = format!(" WHERE r.county_id = {county} AND r.voided_at IS NULL AND {s}");
    if let Some(org) = rq.org.as_deref().filter(|o| !o.is_empty()) {
        let id = resolve_org(c, actor, org).await?;
        let sub = subtree_on_record_date(q, id);
        cond.push_str(&format!(" AND {sub}"));
    }
    if let Some(key) = rq.ledger_type.as_deref().filter(|t| !t.is_empty()) {
        // By id, not by a join on the key: with the type known, the planner walks
        // `ledger_records_type_date` in the list's order and stops at the page's end; joined on
        // the key it sorted every record of the type for each page.
        match ledger_type_id(c, actor, key).await? {
            Some(id) => {
                let t = q.arg(id);
                cond.push_str(&format!(" AND r.ledger_type_id = {t}"));
            }
            None => cond.push_str(" AND 1 = 0"),
        }
    }
    if let Some(f) = rq.from {
        let f = q.arg(f);
        cond.push_str(&format!(" AND r.occurred_on >= {f}"));
    }
    if let Some(t) = rq.to {
        let t = q.arg(t);
        cond.push_str(&format!(" AND r.occurred_on <= {t}"));
    }
    if let (Some(field), Some(option)) = (rq.field.as_deref(), rq.option.as_deref()) {
        let f = q.arg(field);
        let o = q.arg(option);
        cond.push_str(&format!(" AND EXISTS (SELECT 1 FROM record_facts fx WHERE fx.record_id = r.id AND fx.field_key = {f} AND fx.option_value = {o})"));
    }
    if let Some(pid) = rq.person {
        let pid = q.arg(pid);
        cond.push_str(&format!(" AND EXISTS (SELECT 1 FROM record_people px WHERE px.record_id = r.id AND px.person_id = {pid})"));
    }
    Ok(cond)
}

pub(crate) async fn records(
    p: &Pools<DB>,
    actor: &Actor,
    rq: &RecordQuery,
) -> StoreResult<RecordPage> {
    require(actor, Action::ReadRecords)?;
    let mut c = report_conn(p).await?;
    if let Some(page) = super::record_pages::page_from_rollups(&mut c, actor, rq).await? {
        return Ok(page);
    }
    scanned(&mut c, actor, rq).await
}

/// The page from the rollups alone, `None` where they cannot give it exactly.
pub(crate) async fn records_by_rollups(
    p: &Pools<DB>,
    actor: &Actor,
    rq: &RecordQuery,
) -> StoreResult<Option<RecordPage>> {
    require(actor, Action::ReadRecords)?;
    let mut c = report_conn(p).await?;
    super::record_pages::page_from_rollups(&mut c, actor, rq).await
}

/// The page counted and read from the records alone, whatever the filters.
pub(crate) async fn records_scanned(
    p: &Pools<DB>,
    actor: &Actor,
    rq: &RecordQuery,
) -> StoreResult<RecordPage> {
    require(actor, Action::ReadRecords)?;
    let mut c = report_conn(p).await?;
    scanned(&mut c, actor, rq).await
}

async fn scanned(c: &mut Conn, actor: &Actor, rq: &RecordQuery) -> StoreResult<RecordPage> {
    let mut q = Sql::new("");
    let cond = record_filter(c, actor, rq, &mut q).await?;
    let mut count_q = q.clone();
    count_q.text = format!("SELECT COUNT(*) FROM ledger_records r JOIN ledger_types t ON t.id = r.ledger_type_id{cond}");
    let (total,) = fetch_optional::<(i64,)>(c, &count_q)
        .await?
        .unwrap_or((0,));
    let lim = q.arg(rq.limit.unwrap_or(50).clamp(1, 1000));
    let off = q.arg(rq.offset.unwrap_or(0).max(0));
    q.text = format!(
        "{RECORD_SELECT}{cond} ORDER BY r.occurred_on DESC, r.id DESC LIMIT {lim} OFFSET {off}"
    );
    let rows = fetch_all::<RecordRow>(c, &q).await?;
    Ok(RecordPage {
        total,
        records: records_from(c, rows).await?,
    })
}

/// The list's records in its order (newest first) after `after` (the last one's date and id),
/// `limit` at a time: the export's pages, each an index range rather than an ever larger offset.
pub(crate) async fn records_after(
    p: &Pools<DB>,
    actor: &Actor,
    rq: &RecordQuery,
    after: Option<(NaiveDate, i64)>,
    limit: i64,
) -> StoreResult<Vec<Record>> {
    let mut c = report_conn(p).await?;
    let mut q = Sql::new("");
    let mut cond = record_filter(&mut c, actor, rq, &mut q).await?;
    if let Some((on, id)) = after {
        let d = q.arg(on);
        let i = q.arg(id);
        cond.push_str(&format!(" AND (r.occurred_on, r.id) < ({d}, {i})"));
    }
    let lim = q.arg(limit.clamp(1, 5000));
    q.text = format!("{RECORD_SELECT}{cond} ORDER BY r.occurred_on DESC, r.id DESC LIMIT {lim}");
    let rows = fetch_all::<RecordRow>(&mut c, &q).await?;
    records_from(&mut c, rows).await
}

pub(crate) async fn void_record(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    reason: &str,
) -> StoreResult<Record> {
    require(actor, Action::RecordEntry)?;
    let reason = taizhang_domain::text::VOID_REASON.check(reason)?;
    if reason.is_empty() {
        return Err(StoreError::invalid(
            "reason",
            "record.void_reason",
            "请填写作废原因（不超过200字）",
        ));
    }
    let mut tx = p.write.begin().await?;
    let mut q = Sql::new(RECORD_SELECT);
    let i = q.arg(id);
    let county = q.arg(actor.county_id);
    let s = scope_cond(&mut q, &actor.scope, "r.org_id");
    q.push(&format!(
        " WHERE r.id = {i} AND r.county_id = {county} AND {s}"
    ));
    let row = fetch_optional::<RecordRow>(&mut tx, &q)
        .await?
        .ok_or(StoreError::NotFound)?;
    if row.voided_at.is_some() {
        return Err(StoreError::conflict("record.already_void", "该记录已作废"));
    }
    sqlx::query("UPDATE ledger_records SET voided_at = $1, void_reason = $2 WHERE id = $3")
        .bind(Utc::now())
        .bind(&reason)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    super::rollups::void_records(&mut tx, actor.county_id.get(), &[id]).await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "void",
        "record",
        id,
        Some(json!({"fields": row.fields .0})),
        Some(json!({"void_reason": reason})),
    )
    .await?;
    let rec = written_record(&mut tx, id).await?;
    tx.commit().await?;
    Ok(rec)
}

pub(crate) async fn insert_attachment(
    p: &Pools<DB>,
    actor: &Actor,
    id: &str,
    file_name: &str,
    content_type: &str,
    size: i64,
) -> StoreResult<()> {
    require(actor, Action::RecordEntry)?;
    let mut tx = p.write.begin().await?;
    let res = sqlx::query(
        "INSERT INTO attachments (id, county_id, file_name, content_type, size_bytes, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(actor.county_id.get())
    .bind(file_name.chars().take(200).collect::<String>())
    .bind(content_type)
    .bind(size)
    .bind(actor.user_id.map(|u| u.get()))
    .bind(Utc::now())
    .execute(&mut *tx)
    .await?;
    if res.rows_affected() > 0 {
        audit_as(
            &mut tx,
            &p.audit_key,
            actor,
            "upload",
            "attachment",
            id,
            None,
            Some(json!({"file_name": file_name, "size": size})),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// An attachment is the caller's if it uploaded it, or if a record the caller may see uses it.
pub(crate) fn attachment_query(actor: &Actor, id: &str, select: &str) -> Sql {
    let mut q = Sql::new(&format!(
        "SELECT {select} FROM attachments a WHERE a.county_id = "
    ));
    let county = q.arg(actor.county_id);
    let i = q.arg(id);
    let uid = q.arg(actor.user_id.map_or(-1, |u| u.get()));
    let s = record_scope_cond(&mut q, &actor.scope);
    q.push(&format!(
        "{county} AND a.id = {i} AND (a.created_by = {uid} OR EXISTS (SELECT 1 FROM record_attachments ra JOIN ledger_records r ON r.id = ra.record_id WHERE ra.attachment_id = a.id AND r.county_id = a.county_id AND {s}))"
    ));
    q
}

pub(crate) async fn attachment_visible(c: &mut Conn, actor: &Actor, id: &str) -> StoreResult<bool> {
    Ok(
        fetch_optional::<(String,)>(c, &attachment_query(actor, id, "a.id"))
            .await?
            .is_some(),
    )
}

pub(crate) async fn attachment_meta(
    p: &Pools<DB>,
    actor: &Actor,
    id: &str,
) -> StoreResult<(String, String)> {
    require(actor, Action::ReadRecords)?;
    let mut c = p.read.acquire().await?;
    fetch_optional::<(String, String)>(
        &mut c,
        &attachment_query(actor, id, "a.file_name, a.content_type"),
    )
    .await?
    .ok_or(StoreError::NotFound)
}
