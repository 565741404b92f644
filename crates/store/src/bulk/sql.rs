//! The bulk write queries, compiled once per backend (see `backend`). What the checks of a batch
//! read is read once per batch: every organisation of the county with the facts the rules need
//! (one query), the caller's scope (one query), the people the batch names (one query per
//! 10,000 distinct ids). The rows go in with multi-row INSERTs of thousands of rows each, inside
//! one write transaction per batch, ids allocated up front.

use super::ledgers::load_type;
use super::people::person_scope_probe;
use super::records::{in_row, org_active_on, org_not_active};
use super::*;
use crate::bulk::{
    spent, BulkReport, Checked, Phase, PreparedRecords, RecordDigest, RejectedRow, RowKeys,
    SortedRecords,
};
use crate::sqlbuild::Sql;
use crate::{Actor, LedgerType, NewRecord, Pools, StoreError, StoreResult};
use chrono::{NaiveDate, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use std::collections::{HashMap, HashSet};
use taizhang_domain::ledger::{check_record_bounds, Fact, FieldError, FieldKind, ValidatedRecord};
use taizhang_domain::org::OrgRef;
use taizhang_domain::rollup::RollupInput;
use taizhang_domain::Action;

/// Most placeholders in one statement: below SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_PARAMS: usize = 30_000;

/// `rows` copies of `pattern` joined by commas, each `?` a placeholder of its own: numbered in
/// turn (`$1`, `$2` …) on PostgreSQL, left anonymous on SQLite — whose numbered parameters are
/// named ones, looked up by a linear search on every prepare and bind, which made a statement of
/// 20,000 of them take seconds.
pub(super) fn values_sql(head: &str, pattern: &str, rows: usize) -> String {
    let per_row = pattern.matches('?').count();
    let mut out = String::with_capacity(head.len() + rows * (pattern.len() + per_row * 6));
    out.push_str(head);
    let mut n = 0usize;
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        if !IS_PG {
            out.push_str(pattern);
            continue;
        }
        for ch in pattern.chars() {
            if ch == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(ch);
            }
        }
    }
    out
}

/// Rows per statement for `per_row` placeholders each.
pub(super) fn rows_per_statement(per_row: usize) -> usize {
    (MAX_PARAMS / per_row.max(1)).min(5000)
}

pub(super) async fn run(c: &mut Conn, text: &str, args: Args<'_>) -> StoreResult<()> {
    sqlx::query_with::<DB, _>(text, args).execute(&mut *c).await?;
    Ok(())
}

/// Integers written into the statement: ids, never input text. (A list of thousands of
/// placeholders costs SQLite a linear lookup per placeholder; see `values_sql`.)
fn int_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn row_error(i: usize, field: &str, code: &str, message: impl Into<String>) -> StoreError {
    in_row(i, StoreError::invalid(field, code, message))
}

// ---- what a batch's checks read ----------------------------------------------------------------

struct OrgFact {
    name: String,
    established_on: NaiveDate,
    dissolved_on: Option<NaiveDate>,
}

/// Every organisation of the county, by id and by code, and which of them the caller's scope
/// holds today (`None`: all of them).
pub(super) struct OrgIndex {
    facts: HashMap<i64, OrgFact>,
    codes: HashMap<String, i64>,
    scope: Option<HashSet<i64>>,
}

impl OrgIndex {
    /// The organisation a reference names, anywhere in the county.
    fn resolve(&self, r: &str) -> Option<i64> {
        match r.parse::<OrgRef>().ok()? {
            OrgRef::Id(id) => self.facts.contains_key(&id.get()).then_some(id.get()),
            OrgRef::Code(code) => self.codes.get(&code).copied(),
        }
    }

    fn in_scope(&self, id: i64) -> bool {
        self.scope.as_ref().is_none_or(|s| s.contains(&id))
    }

    /// The organisation a reference names, if the caller's scope holds it.
    pub(super) fn resolve_in_scope(&self, r: &str) -> Option<i64> {
        self.resolve(r).filter(|id| self.in_scope(*id))
    }
}

/// id, code, name, established, dissolved.
type OrgRow = (i64, Option<String>, String, NaiveDate, Option<NaiveDate>);

pub(super) async fn load_orgs(c: &mut Conn, actor: &Actor) -> StoreResult<OrgIndex> {
    let rows: Vec<OrgRow> = sqlx::query_as(
        "SELECT id, code, name, established_on, dissolved_on FROM orgs WHERE county_id = $1",
    )
    .bind(actor.county_id.get())
    .fetch_all(&mut *c)
    .await?;
    let mut facts = HashMap::with_capacity(rows.len());
    let mut codes = HashMap::new();
    for (id, code, name, established_on, dissolved_on) in rows {
        if let Some(code) = code {
            codes.insert(code, id);
        }
        facts.insert(
            id,
            OrgFact {
                name,
                established_on,
                dissolved_on,
            },
        );
    }
    let scope = match actor.scope.roots() {
        None => None,
        Some([]) => Some(HashSet::new()),
        Some(roots) => {
            let mut q = Sql::new(
                "SELECT descendant_id FROM org_closure WHERE valid_to IS NULL AND ancestor_id IN (",
            );
            let l = q.list(roots);
            q.push(&format!("{l})"));
            Some(
                fetch_all::<(i64,)>(c, &q)
                    .await?
                    .into_iter()
                    .map(|x| x.0)
                    .collect(),
            )
        }
    };
    Ok(OrgIndex {
        facts,
        codes,
        scope,
    })
}

/// Which of these people exist in the county and are in the caller's scope.
pub(super) async fn people_in_scope(c: &mut Conn, actor: &Actor, ids: &[i64]) -> StoreResult<HashSet<i64>> {
    let mut found = HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        let mut q = Sql::new("SELECT p.id FROM people p WHERE p.county_id = ");
        let cty = q.arg(actor.county_id);
        let l = int_list(chunk);
        let s = person_scope_probe(&mut q, &actor.scope);
        q.push(&format!("{cty} AND p.id IN ({l}) AND {s}"));
        found.extend(fetch_all::<(i64,)>(c, &q).await?.into_iter().map(|x| x.0));
    }
    Ok(found)
}

/// `n` fresh ids of `table`: after the largest on SQLite (the caller holds the write lock), from
/// the identity's sequence on PostgreSQL.
pub(super) async fn allocate_ids(c: &mut Conn, table: &str, n: usize) -> StoreResult<Vec<i64>> {
    if IS_PG {
        let rows: Vec<(i64,)> = sqlx::query_as(&format!(
            "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, $1)"
        ))
        .bind(n as i64)
        .fetch_all(&mut *c)
        .await?;
        Ok(rows.into_iter().map(|x| x.0).collect())
    } else {
        let (max,): (i64,) = sqlx::query_as(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}"))
            .fetch_one(&mut *c)
            .await?;
        Ok((1..=n as i64).map(|k| max + k).collect())
    }
}

// ---- records -----------------------------------------------------------------------------------

/// One row's verdict: checked, or every error found in it (fields named as in one entry).
type Verdict = Result<Checked, Vec<FieldError>>;

/// The checks of `prepare_record` (in `records/sql.rs`), over a whole batch: a verdict for every
/// row, so that an import can report each bad row's errors at once. The bounds of one entry are
/// checked first, before anything else is read for that row.
async fn check_rows(
    c: &mut Conn,
    actor: &Actor,
    new: &[NewRecord],
    today: NaiveDate,
) -> StoreResult<Vec<Verdict>> {
    let county_id = actor.county_id.get();
    // A type the county does not have is `None`, and every row naming it is refused.
    let mut types: HashMap<String, Option<LedgerType>> = HashMap::new();
    for n in new {
        if !types.contains_key(&n.ledger_type) {
            let t = load_type(c, county_id, &n.ledger_type).await.ok();
            types.insert(n.ledger_type.clone(), t);
        }
    }
    let orgs = load_orgs(c, actor).await?;
    let too_old = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    // First pass: everything but the people, whose ids are gathered for one lookup.
    let mut firsts: Vec<Result<(i64, ValidatedRecord), Vec<FieldError>>> =
        Vec::with_capacity(new.len());
    let mut wanted: HashSet<i64> = HashSet::new();
    for n in new {
        if let Err(e) = check_record_bounds(&n.fields) {
            firsts.push(Err(e));
            continue;
        }
        let Some(t) = types.get(&n.ledger_type).and_then(Option::as_ref) else {
            firsts.push(Err(vec![FieldError::new(
                "ledger_type",
                "record.unknown_type",
                format!("台账类型“{}”不存在", n.ledger_type),
            )]));
            continue;
        };
        let validation = t.definition.validate_record(&n.fields);
        let mut errors = validation.as_ref().err().cloned().unwrap_or_default();
        if n.occurred_on > today {
            errors.push(FieldError::new(
                "occurred_on",
                "record.future_date",
                "日期不能晚于今天",
            ));
        }
        if n.occurred_on < too_old {
            errors.push(FieldError::new(
                "occurred_on",
                "record.too_old",
                "日期不能早于2000年",
            ));
        }
        let org_id = orgs.resolve_in_scope(&n.org);
        match org_id.and_then(|id| orgs.facts.get(&id)) {
            None => errors.push(FieldError::new(
                "org",
                "record.unknown_org",
                "组织不存在或不在您的管理范围内",
            )),
            Some(o) => {
                if !org_active_on(o.established_on, o.dissolved_on, n.occurred_on) {
                    errors.push(org_not_active(&o.name));
                }
            }
        }
        let Ok(validated) = validation else {
            firsts.push(Err(errors));
            continue;
        };
        for (field, r) in &validated.orgs {
            let s = match r {
                OrgRef::Code(code) => code.clone(),
                OrgRef::Id(id) => format!("o{id}"),
            };
            if orgs.resolve(&s).is_none() {
                errors.push(FieldError::new(
                    field.clone(),
                    "record.unknown_org",
                    format!("组织“{s}”不存在"),
                ));
            }
        }
        for a in &validated.attachments {
            if !super::records::attachment_visible(c, actor, a).await? {
                errors.push(FieldError::new(
                    "attachments",
                    "record.unknown_attachment",
                    "附件不存在，请重新上传",
                ));
            }
        }
        if !errors.is_empty() {
            firsts.push(Err(errors));
            continue;
        }
        wanted.extend(validated.people.iter().map(|p| p.get()));
        firsts.push(Ok((org_id.unwrap_or_default(), validated)));
    }
    let mut wanted: Vec<i64> = wanted.into_iter().collect();
    wanted.sort_unstable();
    let found = people_in_scope(c, actor, &wanted).await?;
    let mut out = Vec::with_capacity(new.len());
    for (first, n) in firsts.into_iter().zip(new) {
        let (org_id, validated) = match first {
            Ok(v) => v,
            Err(e) => {
                out.push(Err(e));
                continue;
            }
        };
        let errors: Vec<FieldError> = validated
            .people
            .iter()
            .filter(|p| !found.contains(&p.get()))
            .map(|p| {
                FieldError::new(
                    "people",
                    "record.unknown_person",
                    format!("人员编号{p}不存在"),
                )
            })
            .collect();
        if !errors.is_empty() {
            out.push(Err(errors));
            continue;
        }
        let t = types
            .get(&n.ledger_type)
            .and_then(Option::as_ref)
            .ok_or(StoreError::NotFound)?;
        let mut people_rows = Vec::new();
        for f in &t.definition.fields {
            if let FieldKind::People { .. } = f.kind {
                if let Some(Value::Array(ids)) = validated.values.get(&f.key) {
                    let mut seen = HashSet::new();
                    for pid in ids.iter().filter_map(Value::as_i64) {
                        if seen.insert(pid) {
                            people_rows.push((f.key.clone(), pid));
                        }
                    }
                }
            }
        }
        let mut people: Vec<i64> = validated.people.iter().map(|p| p.get()).collect();
        people.sort_unstable();
        people.dedup();
        out.push(Ok(Checked {
            type_id: t.id.get(),
            version: t.version,
            org_id,
            occurred_on: n.occurred_on,
            validated,
            people_rows,
            people,
            import_key: None,
        }));
    }
    Ok(out)
}

/// Inside the write transaction: no organisation of the batch was dissolved meanwhile on or
/// before a record's date (what else the checks read cannot turn wrong; see `recheck_prepared`).
async fn recheck_orgs(c: &mut Conn, checked: &[Checked]) -> StoreResult<()> {
    let mut ids: Vec<i64> = checked.iter().map(|r| r.org_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut facts: HashMap<i64, (String, NaiveDate, Option<NaiveDate>)> = HashMap::new();
    for chunk in ids.chunks(10_000) {
        let q = Sql::new(&format!(
            "SELECT id, name, established_on, dissolved_on FROM orgs WHERE id IN ({})",
            int_list(chunk)
        ));
        for (id, name, e, d) in fetch_all::<(i64, String, NaiveDate, Option<NaiveDate>)>(c, &q).await? {
            facts.insert(id, (name, e, d));
        }
    }
    for (i, r) in checked.iter().enumerate() {
        match facts.get(&r.org_id) {
            Some((name, e, d)) if !org_active_on(*e, *d, r.occurred_on) => {
                return Err(in_row(i, StoreError::Invalid(vec![org_not_active(name)])))
            }
            Some(_) => {}
            None => return Err(StoreError::NotFound),
        }
    }
    Ok(())
}

pub(crate) async fn bulk_records(
    p: &Pools<DB>,
    actor: &Actor,
    new: &[NewRecord],
    today: NaiveDate,
) -> StoreResult<BulkReport> {
    let prepared = prepare_records(p, actor, new, today).await?;
    write_records(p, actor, &prepared).await
}

/// The checks of a batch, on a read connection: nothing is written. The first bad row refuses
/// the batch, its errors named `[i].field`.
pub(crate) async fn prepare_records(
    p: &Pools<DB>,
    actor: &Actor,
    new: &[NewRecord],
    today: NaiveDate,
) -> StoreResult<PreparedRecords> {
    let verdicts = verdicts(p, actor, new, today).await?;
    let mut rows = Vec::with_capacity(verdicts.len());
    for (i, v) in verdicts.into_iter().enumerate() {
        rows.push(v.map_err(|e| in_row(i, StoreError::Invalid(e)))?);
    }
    Ok(PreparedRecords::of(actor, rows))
}

/// The checks of a batch, keeping the rows that pass and the errors of each that does not; with
/// row keys, the rows already written (by an earlier import of the same rows) or repeating an
/// earlier row of the batch are set aside as unchanged.
pub(crate) async fn sort_records(
    p: &Pools<DB>,
    actor: &Actor,
    new: &[NewRecord],
    keys: RowKeys<'_>,
    today: NaiveDate,
) -> StoreResult<SortedRecords> {
    if let RowKeys::Declared(k) = keys {
        if k.len() != new.len() {
            return Err(StoreError::invalid(
                "keys",
                "import.key_count",
                "行编号的个数与记录数不一致",
            ));
        }
    }
    let mut verdicts = verdicts(p, actor, new, today).await?;
    // Each passing row's key; a declared key that is blank or too long refuses its row.
    for (i, v) in verdicts.iter_mut().enumerate() {
        let Ok(r) = v else { continue };
        r.import_key = match keys {
            RowKeys::None => None,
            RowKeys::Content => Some(content_key(r)),
            RowKeys::Declared(k) => match declared_key(k.get(i).map(String::as_str)) {
                Ok(key) => Some(key),
                Err(e) => {
                    *v = Err(vec![e]);
                    continue;
                }
            },
        };
    }
    let written = if matches!(keys, RowKeys::None) {
        HashSet::new()
    } else {
        let mut c = p.read.acquire().await?;
        written_keys(&mut c, actor.county_id.get(), &verdicts).await?
    };
    let mut seen: HashSet<(i64, String)> = HashSet::new();
    let mut rows = Vec::new();
    let (mut accepted, mut rejected, mut unchanged) = (Vec::new(), Vec::new(), Vec::new());
    for (i, v) in verdicts.into_iter().enumerate() {
        match v {
            Ok(r) => {
                if let Some(k) = &r.import_key {
                    let at = (r.type_id, k.clone());
                    if written.contains(&at) || !seen.insert(at) {
                        unchanged.push(i);
                        continue;
                    }
                }
                rows.push(r);
                accepted.push(i);
            }
            Err(errors) => rejected.push(RejectedRow { index: i, errors }),
        }
    }
    Ok(SortedRecords {
        prepared: PreparedRecords::of(actor, rows),
        accepted,
        rejected,
        unchanged,
    })
}

/// The key of a record's content as checked: its type, organisation, date and field values in
/// their canonical form (so "2024.5.1" and "2024-05-01" in a sheet are the same row).
fn content_key(r: &Checked) -> String {
    let mut h = Sha256::new();
    h.update(r.type_id.to_be_bytes());
    h.update(r.org_id.to_be_bytes());
    h.update(r.occurred_on.to_string().as_bytes());
    // serde_json's maps are sorted by key: the same values always print the same.
    h.update(Value::Object(r.validated.values.clone()).to_string().as_bytes());
    format!("h:{}", hex::encode(h.finalize()))
}

/// Longest declared row key, in characters.
const MAX_ROW_KEY: usize = 100;

fn declared_key(k: Option<&str>) -> Result<String, FieldError> {
    let k = k.map(str::trim).unwrap_or_default();
    if k.is_empty() {
        return Err(FieldError::new("row_key", "import.row_key_missing", "行编号不能为空"));
    }
    if k.chars().count() > MAX_ROW_KEY {
        return Err(FieldError::new(
            "row_key",
            "import.row_key_too_long",
            format!("行编号不能超过{MAX_ROW_KEY}个字符"),
        ));
    }
    Ok(format!("k:{k}"))
}

/// Which of the passing rows' keys the county's records already carry, per ledger type.
async fn written_keys(
    c: &mut Conn,
    county_id: i64,
    verdicts: &[Verdict],
) -> StoreResult<HashSet<(i64, String)>> {
    let mut by_type: HashMap<i64, Vec<&str>> = HashMap::new();
    for r in verdicts.iter().flatten() {
        if let Some(k) = &r.import_key {
            by_type.entry(r.type_id).or_default().push(k);
        }
    }
    let mut out = HashSet::new();
    for (type_id, keys) in by_type {
        for chunk in keys.chunks(1000) {
            let mut q = Sql::new("");
            let cty = q.arg(county_id);
            let t = q.arg(type_id);
            let list: Vec<String> = chunk.iter().map(|k| q.arg(k.to_string())).collect();
            q.text = format!(
                "SELECT import_key FROM ledger_records WHERE county_id = {cty} AND ledger_type_id = {t} AND import_key IN ({})",
                list.join(", ")
            );
            for (k,) in fetch_all::<(String,)>(c, &q).await? {
                out.insert((type_id, k));
            }
        }
    }
    Ok(out)
}

async fn verdicts(
    p: &Pools<DB>,
    actor: &Actor,
    new: &[NewRecord],
    today: NaiveDate,
) -> StoreResult<Vec<Verdict>> {
    require(actor, Action::RecordEntry)?;
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let started = std::time::Instant::now();
    let mut c = p.read.acquire().await?;
    let verdicts = check_rows(&mut c, actor, new, today).await?;
    spent(Phase::Checking, started);
    Ok(verdicts)
}

/// The write transaction of a checked batch.
pub(crate) async fn write_records(
    p: &Pools<DB>,
    actor: &Actor,
    prepared: &PreparedRecords,
) -> StoreResult<BulkReport> {
    require(actor, Action::RecordEntry)?;
    // A batch is written by whom it was checked for: their scope is what the checks held.
    if prepared.county_id != actor.county_id.get() || prepared.username != actor.username {
        return Err(StoreError::Forbidden);
    }
    let checked = &prepared.rows;
    if checked.is_empty() {
        return Ok(BulkReport::default());
    }
    let county_id = actor.county_id.get();
    let at = std::time::Instant::now();
    let mut tx = begin_write(p).await?;
    recheck_orgs(&mut tx, checked).await?;
    let ids = allocate_ids(&mut tx, "ledger_records", checked.len()).await?;
    let at = spent(Phase::BeforeInsert, at);
    let created_by = actor.user_id.map(|u| u.get());
    let now = Utc::now();
    let fields: Vec<Json<&serde_json::Map<String, Value>>> =
        checked.iter().map(|r| Json(&r.validated.values)).collect();

    // ledger_records
    let per = rows_per_statement(10);
    for (k, chunk) in checked.chunks(per).enumerate() {
        let text = values_sql(
            "INSERT INTO ledger_records (id, county_id, ledger_type_id, type_version, org_id, occurred_on, fields, created_by, created_at, import_key) VALUES ",
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            chunk.len(),
        );
        let mut a = Args::default();
        for (j, r) in chunk.iter().enumerate() {
            let at = k * per + j;
            add(&mut a, ids[at])?;
            add(&mut a, county_id)?;
            add(&mut a, r.type_id)?;
            add(&mut a, r.version)?;
            add(&mut a, r.org_id)?;
            add(&mut a, r.occurred_on)?;
            add(&mut a, fields[at])?;
            add(&mut a, created_by)?;
            add(&mut a, now)?;
            add(&mut a, r.import_key.as_deref())?;
        }
        run(&mut tx, &text, a).await?;
    }
    let at = spent(Phase::InsertRecords, at);

    // record_people
    let people: Vec<(i64, &str, i64)> = ids
        .iter()
        .zip(checked)
        .flat_map(|(id, r)| r.people_rows.iter().map(move |(f, p)| (*id, f.as_str(), *p)))
        .collect();
    let per = rows_per_statement(4);
    for chunk in people.chunks(per) {
        let text = values_sql(
            "INSERT INTO record_people (county_id, record_id, field_key, person_id) VALUES ",
            "(?, ?, ?, ?)",
            chunk.len(),
        );
        let mut a = Args::default();
        for (rid, f, pid) in chunk {
            add(&mut a, county_id)?;
            add(&mut a, *rid)?;
            add(&mut a, *f)?;
            add(&mut a, *pid)?;
        }
        run(&mut tx, &text, a).await?;
    }
    let at = spent(Phase::InsertPeople, at);

    // record_facts
    let facts: Vec<(i64, &str, Option<i64>, Option<&str>)> = ids
        .iter()
        .zip(checked)
        .flat_map(|(id, r)| {
            r.validated.facts.iter().map(move |f| match f {
                Fact::Number { field, value } => (*id, field.as_str(), Some(*value), None),
                Fact::Choice { field, option } => {
                    (*id, field.as_str(), None, Some(option.as_str()))
                }
            })
        })
        .collect();
    let per = rows_per_statement(5);
    for chunk in facts.chunks(per) {
        let text = values_sql(
            "INSERT INTO record_facts (county_id, record_id, field_key, num_value, option_value) VALUES ",
            "(?, ?, ?, ?, ?)",
            chunk.len(),
        );
        let mut a = Args::default();
        for (rid, f, n, o) in chunk {
            add(&mut a, county_id)?;
            add(&mut a, *rid)?;
            add(&mut a, *f)?;
            add(&mut a, *n)?;
            add(&mut a, *o)?;
        }
        run(&mut tx, &text, a).await?;
    }

    // Attachments are rare in a bulk load: one insert each.
    for (id, r) in ids.iter().zip(checked) {
        for att in &r.validated.attachments {
            sqlx::query("INSERT INTO record_attachments (county_id, record_id, attachment_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(county_id)
                .bind(*id)
                .bind(att)
                .execute(&mut *tx)
                .await?;
        }
    }

    let inputs: Vec<RollupInput<'_>> = checked
        .iter()
        .map(|r| RollupInput {
            type_id: r.type_id,
            org_id: r.org_id,
            occurred_on: r.occurred_on,
            facts: &r.validated.facts,
            people: &r.people,
        })
        .collect();
    spent(Phase::InsertFacts, at);
    super::rollups::add_records(&mut tx, county_id, &inputs).await?;
    // add_records counts its own two layers; the audit entry and the commit from here.
    let at = std::time::Instant::now();

    let first_id = ids.first().copied().unwrap_or(0);
    let last_id = ids.last().copied().unwrap_or(0);
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "import",
        "record",
        format!("{first_id}..{last_id}"),
        None,
        Some(json!({"count": ids.len()})),
    )
    .await?;
    tx.commit().await?;
    spent(Phase::AuditCommit, at);
    crate::bulk::count_batch();
    Ok(BulkReport {
        records: ids.len(),
        people: people.len(),
        facts: facts.len(),
        first_id,
        last_id,
    })
}

// ---- the digest --------------------------------------------------------------------------------

/// id, type key, organisation name and code, date, fields.
type DigestRow = (i64, String, String, Option<String>, NaiveDate, Json<Value>);

pub(crate) async fn record_digest(p: &Pools<DB>, actor: &Actor) -> StoreResult<RecordDigest> {
    require(actor, Action::ReadRecords)?;
    let mut tx = read_snapshot(p).await?;
    let mut h = Sha256::new();
    let mut after = 0i64;
    let mut records = 0i64;
    loop {
        let rows: Vec<DigestRow> = sqlx::query_as(
            "SELECT r.id, t.key, o.name, o.code, r.occurred_on, r.fields FROM ledger_records r
             JOIN ledger_types t ON t.id = r.ledger_type_id JOIN orgs o ON o.id = r.org_id
             WHERE r.county_id = $1 AND r.id > $2 ORDER BY r.id LIMIT 10000",
        )
        .bind(actor.county_id.get())
        .bind(after)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        for (_, key, org, code, on, fields) in &rows {
            let line = format!(
                "{key}\t{org}\t{}\t{on}\t{}\n",
                code.as_deref().unwrap_or(""),
                crate::audit::canonical_json(&fields.0)
            );
            h.update(line.as_bytes());
            records += 1;
        }
    }
    tx.commit().await?;
    Ok(RecordDigest {
        records,
        sha256: hex::encode(h.finalize()),
    })
}
