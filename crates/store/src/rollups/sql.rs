//! The rollup queries, compiled once per backend (see `backend`): keeping the rollups in the
//! transaction of every record write and void, reading them for a bulletin, and rebuilding them
//! from the records.

use super::*;
use crate::rollups::{people_from, people_to_bytes, CellFigures, Covered};
use crate::sqlbuild::Sql;
use crate::{Pools, StoreError, StoreResult};
use chrono::NaiveDate;
use roaring::RoaringTreemap;
use std::collections::{BTreeMap, HashMap};
use taizhang_domain::ledger::Fact;
use taizhang_domain::rollup::{
    next_month, CellKey, Coverage, RollupDelta, RollupInput, Span, SumDelta,
};

/// Keys per multi-row statement (5 or 10 placeholders each). Kept small because SQLite finds
/// a numbered placeholder by a linear search at every bind: a statement's cost grows with the
/// square of its placeholders.
const CHUNK: usize = 100;

/// Appends `(org, month, type), … )`: the cell keys of an `IN (VALUES …` list.
fn push_cell_keys(q: &mut Sql, keys: &[&CellKey]) {
    let rows: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "({}, {}, {})",
                q.arg(k.org_id),
                q.arg(k.month),
                q.arg(k.type_id)
            )
        })
        .collect();
    q.push(&rows.join(", "));
    q.push(")");
}

/// Adds records just inserted (in the caller's write transaction) to their rollup cells.
pub(crate) async fn add_records(
    c: &mut Conn,
    county_id: i64,
    items: &[RollupInput<'_>],
) -> StoreResult<()> {
    let mut delta = RollupDelta::default();
    for r in items {
        delta.add(r, 1);
    }
    apply(c, county_id, &delta).await
}

/// Writes a delta: cells' counts added and people merged, figures added, rows that fall to zero
/// records removed (a row exists only while a record stands behind it).
pub(crate) async fn apply(c: &mut Conn, county_id: i64, delta: &RollupDelta) -> StoreResult<()> {
    let keys: Vec<&CellKey> = delta.cells.keys().collect();
    if IS_PG && !keys.is_empty() {
        // Merging people is read-modify-write: two transactions adding to one new cell must not
        // both start from "no row". Each organisation's cells are locked for the transaction,
        // in ascending order so that two batches cannot deadlock. (SQLite has one writer.)
        let mut orgs: Vec<i64> = keys.iter().map(|k| k.org_id).collect();
        orgs.dedup();
        let list = serde_json::to_string(&orgs).map_err(|e| StoreError::Internal(e.to_string()))?;
        sqlx::query(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT (CAST(1 AS bigint) << 48) | CAST(value AS bigint) AS k FROM json_array_elements_text(CAST($1 AS json)) ORDER BY 1) s",
        )
        .bind(list)
        .execute(&mut *c)
        .await?;
    }
    for chunk in keys.chunks(CHUNK) {
        // The cells' present people, merged with the new ones in memory.
        let mut q = Sql::new(
            "SELECT org_id, month, ledger_type_id, people FROM rollup_cells WHERE (org_id, month, ledger_type_id) IN (VALUES ",
        );
        push_cell_keys(&mut q, chunk);
        let present: HashMap<CellKey, Vec<u8>> =
            fetch_all::<(i64, NaiveDate, i64, Vec<u8>)>(c, &q)
                .await?
                .into_iter()
                .map(|(org_id, month, type_id, p)| {
                    (
                        CellKey {
                            org_id,
                            month,
                            type_id,
                        },
                        p,
                    )
                })
                .collect();
        let mut q = Sql::new(
            "INSERT INTO rollup_cells (county_id, org_id, month, ledger_type_id, records, people) VALUES ",
        );
        let mut rows = Vec::with_capacity(chunk.len());
        for k in chunk {
            let d = &delta.cells[*k];
            let mut people = match present.get(*k) {
                Some(bytes) => people_from(bytes)?,
                None => RoaringTreemap::new(),
            };
            for p in &d.people {
                if let Ok(p) = u64::try_from(*p) {
                    people.insert(p);
                }
            }
            rows.push(format!(
                "({}, {}, {}, {}, {}, {})",
                q.arg(county_id),
                q.arg(k.org_id),
                q.arg(k.month),
                q.arg(k.type_id),
                q.arg(d.records),
                q.arg(people_to_bytes(&people)?)
            ));
        }
        q.push(&rows.join(", "));
        q.push(" ON CONFLICT (org_id, month, ledger_type_id) DO UPDATE SET records = rollup_cells.records + excluded.records, people = excluded.people");
        execute(c, &q).await?;
    }
    let facts: Vec<_> = delta.facts.iter().filter(|(_, s)| !s.is_zero()).collect();
    for chunk in facts.chunks(CHUNK) {
        let mut q = Sql::new("INSERT INTO rollup_facts (county_id, org_id, month, ledger_type_id, choice_field, option_value, num_field, records, sum_high, sum_low) VALUES ");
        let rows: Vec<String> = chunk
            .iter()
            .map(|(k, s)| {
                format!(
                    "({}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                    q.arg(county_id),
                    q.arg(k.cell.org_id),
                    q.arg(k.cell.month),
                    q.arg(k.cell.type_id),
                    q.arg(k.choice_field.as_str()),
                    q.arg(k.option.as_str()),
                    q.arg(k.num_field.as_str()),
                    q.arg(s.count),
                    q.arg(s.high),
                    q.arg(s.low)
                )
            })
            .collect();
        q.push(&rows.join(", "));
        q.push(" ON CONFLICT (org_id, month, ledger_type_id, choice_field, option_value, num_field) DO UPDATE SET records = rollup_facts.records + excluded.records, sum_high = rollup_facts.sum_high + excluded.sum_high, sum_low = rollup_facts.sum_low + excluded.sum_low");
        execute(c, &q).await?;
    }
    if delta.cells.values().any(|d| d.records < 0) || delta.facts.values().any(|s| s.count < 0) {
        for chunk in keys.chunks(CHUNK) {
            for table in ["rollup_cells", "rollup_facts"] {
                let mut q = Sql::new(&format!(
                    "DELETE FROM {table} WHERE records = 0 AND (org_id, month, ledger_type_id) IN (VALUES "
                ));
                push_cell_keys(&mut q, chunk);
                execute(c, &q).await?;
            }
        }
    }
    Ok(())
}

/// One record as the rollups need it, read back from the tables.
#[derive(Debug, Clone)]
pub(crate) struct StoredRecord {
    pub id: i64,
    pub type_id: i64,
    pub org_id: i64,
    pub occurred_on: NaiveDate,
    pub facts: Vec<Fact>,
    pub people: Vec<i64>,
}

impl StoredRecord {
    /// A record read back, its facts and people still to be filled in (`details_of`).
    fn new(id: i64, type_id: i64, org_id: i64, occurred_on: NaiveDate) -> StoredRecord {
        StoredRecord {
            id,
            type_id,
            org_id,
            occurred_on,
            facts: Vec::new(),
            people: Vec::new(),
        }
    }

    fn input(&self) -> RollupInput<'_> {
        RollupInput {
            type_id: self.type_id,
            org_id: self.org_id,
            occurred_on: self.occurred_on,
            facts: &self.facts,
            people: &self.people,
        }
    }
}

/// The facts and people of records, keyed by record id, in chunks of ids.
async fn details_of(
    c: &mut Conn,
    records: &mut BTreeMap<i64, StoredRecord>,
) -> StoreResult<()> {
    let ids: Vec<i64> = records.keys().copied().collect();
    for chunk in ids.chunks(CHUNK) {
        let mut q = Sql::new(
            "SELECT record_id, field_key, num_value, option_value FROM record_facts WHERE record_id IN (",
        );
        let l = q.list(chunk);
        q.push(&format!("{l}) ORDER BY record_id, field_key"));
        for (rid, field, num, option) in
            fetch_all::<(i64, String, Option<i64>, Option<String>)>(c, &q).await?
        {
            if let Some(r) = records.get_mut(&rid) {
                match (num, option) {
                    (Some(value), _) => r.facts.push(Fact::Number { field, value }),
                    (None, Some(option)) => r.facts.push(Fact::Choice { field, option }),
                    (None, None) => {}
                }
            }
        }
        let mut q =
            Sql::new("SELECT DISTINCT record_id, person_id FROM record_people WHERE record_id IN (");
        let l = q.list(chunk);
        q.push(&format!("{l})"));
        for (rid, pid) in fetch_all::<(i64, i64)>(c, &q).await? {
            if let Some(r) = records.get_mut(&rid) {
                r.people.push(pid);
            }
        }
    }
    Ok(())
}

/// Reads records by id (voided or not), with their facts and people.
pub(crate) async fn stored_records(
    c: &mut Conn,
    ids: &[i64],
) -> StoreResult<BTreeMap<i64, StoredRecord>> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(CHUNK) {
        let mut q = Sql::new(
            "SELECT id, ledger_type_id, org_id, occurred_on FROM ledger_records WHERE id IN (",
        );
        let l = q.list(chunk);
        q.push(&format!("{l})"));
        for (id, type_id, org_id, occurred_on) in
            fetch_all::<(i64, i64, i64, NaiveDate)>(c, &q).await?
        {
            out.insert(
                id,
                StoredRecord::new(id, type_id, org_id, occurred_on),
            );
        }
    }
    details_of(c, &mut out).await?;
    Ok(out)
}

/// Takes records just voided (in the caller's write transaction) out of their cells. Counts and
/// sums are subtracted; the people of each touched cell are read again from its standing records,
/// since another record of the cell may name the same person.
pub(crate) async fn void_records(c: &mut Conn, county_id: i64, ids: &[i64]) -> StoreResult<()> {
    let records = stored_records(c, ids).await?;
    let mut delta = RollupDelta::default();
    for r in records.values() {
        delta.add(
            &r.input(),
            -1,
        );
    }
    apply(c, county_id, &delta).await?;
    for k in delta.cells.keys() {
        let people: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT rp.person_id FROM ledger_records r JOIN record_people rp ON rp.record_id = r.id
             WHERE r.org_id = $1 AND r.ledger_type_id = $2 AND r.occurred_on >= $3 AND r.occurred_on < $4 AND r.voided_at IS NULL",
        )
        .bind(k.org_id)
        .bind(k.type_id)
        .bind(k.month)
        .bind(next_month(k.month))
        .fetch_all(&mut *c)
        .await?;
        let mut set = RoaringTreemap::new();
        for (p,) in people {
            if let Ok(p) = u64::try_from(p) {
                set.insert(p);
            }
        }
        sqlx::query(
            "UPDATE rollup_cells SET people = $1 WHERE org_id = $2 AND month = $3 AND ledger_type_id = $4",
        )
        .bind(people_to_bytes(&set)?)
        .bind(k.org_id)
        .bind(k.month)
        .bind(k.type_id)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

// ---- reading ---------------------------------------------------------------------------------

/// A JSON list of spans tagged with their coverage, bound as one parameter and read as a table
/// (`json_each` on SQLite, `json_to_recordset` on PostgreSQL), so that a bulletin over thousands
/// of organisations is one statement with one plan, not thousands of placeholders. The queries
/// join it with `CROSS JOIN`, which SQLite takes as "this table outside": the spans drive index
/// seeks into the big table, never the other way round (SQLite cannot estimate a JSON table and
/// would otherwise scan the rollups once per span). PostgreSQL plans a cross join like any other.
fn spans_json(items: &[(usize, i64, NaiveDate, NaiveDate)]) -> String {
    let rows: Vec<serde_json::Value> = items
        .iter()
        .map(|(u, org, a, b)| serde_json::json!({"u": u, "org": org, "a": a, "b": b}))
        .collect();
    serde_json::Value::Array(rows).to_string()
}

fn spans_table(p: &str) -> String {
    if IS_PG {
        format!("json_to_recordset(CAST({p} AS json)) AS s(u bigint, org bigint, a date, b date)")
    } else {
        format!("(SELECT json_extract(value, '$.u') AS u, json_extract(value, '$.org') AS org, json_extract(value, '$.a') AS a, json_extract(value, '$.b') AS b FROM json_each({p})) AS s")
    }
}

/// What the rollups and the records say about a list of coverages (one per bulletin column:
/// the whole bulletin, or one unit). `with_details` asks for people and facts, which only the
/// whole bulletin shows; the units get their record counts.
pub(crate) async fn covered(
    c: &mut Conn,
    county_id: i64,
    coverages: &[Coverage],
    with_details: bool,
) -> StoreResult<Vec<Covered>> {
    let mut out: Vec<Covered> = coverages.iter().map(|_| Covered::default()).collect();
    let months: Vec<(usize, i64, NaiveDate, NaiveDate)> = coverages
        .iter()
        .enumerate()
        .flat_map(|(u, cov)| cov.months.iter().map(move |(o, a, b)| (u, *o, *a, *b)))
        .collect();
    if !months.is_empty() {
        let mut q = Sql::new("");
        let p = q.arg(spans_json(&months));
        let cols = if with_details { ", c.people" } else { "" };
        q.text = format!(
            "SELECT CAST(s.u AS BIGINT), c.ledger_type_id, c.org_id, c.records{cols} FROM {} CROSS JOIN rollup_cells c WHERE c.org_id = s.org AND c.month BETWEEN s.a AND s.b",
            spans_table(&p)
        );
        if with_details {
            for (u, t, org, n, people) in
                fetch_all::<(i64, i64, i64, i64, Vec<u8>)>(c, &q).await?
            {
                let Some(cov) = usize::try_from(u).ok().and_then(|u| out.get_mut(u)) else {
                    continue;
                };
                let cell = cov.cells.entry(t).or_default();
                cell.records += n;
                cell.orgs.insert(org);
                cell.people |= people_from(&people)?;
            }
        } else {
            for (u, t, org, n) in fetch_all::<(i64, i64, i64, i64)>(c, &q).await? {
                let Some(cov) = usize::try_from(u).ok().and_then(|u| out.get_mut(u)) else {
                    continue;
                };
                let cell = cov.cells.entry(t).or_default();
                cell.records += n;
                cell.orgs.insert(org);
            }
        }
        if with_details {
            let mut q = Sql::new("");
            let p = q.arg(spans_json(&months));
            q.text = format!(
                "SELECT CAST(s.u AS BIGINT), f.ledger_type_id, f.choice_field, f.option_value, f.num_field,
                        CAST(SUM(f.records) AS BIGINT), CAST(SUM(f.sum_high) AS BIGINT), CAST(SUM(f.sum_low) AS BIGINT)
                 FROM {} CROSS JOIN rollup_facts f WHERE f.org_id = s.org AND f.month BETWEEN s.a AND s.b
                 GROUP BY s.u, f.ledger_type_id, f.choice_field, f.option_value, f.num_field",
                spans_table(&p)
            );
            for (u, t, cf, o, nf, n, high, low) in
                fetch_all::<(i64, i64, String, String, String, i64, i64, i64)>(c, &q).await?
            {
                let Some(cov) = usize::try_from(u).ok().and_then(|u| out.get_mut(u)) else {
                    continue;
                };
                cov.facts
                    .entry((t, cf, o, nf))
                    .or_default()
                    .merge(SumDelta {
                    count: n,
                    high,
                    low,
                });
            }
        }
    }
    // The days no whole month covers, from the records.
    let days: Vec<(usize, i64, NaiveDate, NaiveDate)> = coverages
        .iter()
        .enumerate()
        .flat_map(|(u, cov)| cov.days.iter().map(move |s| (u, s.org_id, s.from, s.to)))
        .collect();
    if !days.is_empty() {
        let mut q = Sql::new("");
        let p = q.arg(spans_json(&days));
        let cty = q.arg(county_id);
        q.text = format!(
            "SELECT CAST(s.u AS BIGINT), r.id, r.ledger_type_id, r.org_id, r.occurred_on FROM {} CROSS JOIN ledger_records r
             WHERE r.org_id = s.org AND r.occurred_on BETWEEN s.a AND s.b AND r.county_id = {cty} AND r.voided_at IS NULL",
            spans_table(&p)
        );
        let rows = fetch_all::<(i64, i64, i64, i64, NaiveDate)>(c, &q).await?;
        let mut records: BTreeMap<i64, StoredRecord> = BTreeMap::new();
        let mut by_cov: Vec<(usize, i64)> = Vec::with_capacity(rows.len());
        for (u, id, type_id, org_id, occurred_on) in rows {
            let Ok(u) = usize::try_from(u) else { continue };
            by_cov.push((u, id));
            records.entry(id).or_insert(StoredRecord::new(id, type_id, org_id, occurred_on));
        }
        if with_details {
            details_of(c, &mut records).await?;
        }
        let mut deltas: Vec<RollupDelta> = coverages.iter().map(|_| RollupDelta::default()).collect();
        for (u, id) in by_cov {
            if let (Some(r), Some(d)) = (records.get(&id), deltas.get_mut(u)) {
                d.add(
                    &r.input(),
                    1,
                );
            }
        }
        for (cov, delta) in out.iter_mut().zip(deltas) {
            cov.add_delta(&delta);
        }
    }
    Ok(out)
}

/// The spans during which each organisation sat under each ancestor, clipped to the ancestor's
/// period: one indexed read of the closure for all of them. `ancestors` are (coverage index,
/// organisation, first day, last day); several coverages may share an ancestor.
pub(crate) async fn spans_under(
    c: &mut Conn,
    ancestors: &[(usize, i64, NaiveDate, NaiveDate)],
    n: usize,
) -> StoreResult<Vec<Vec<Span>>> {
    let mut out: Vec<Vec<Span>> = vec![Vec::new(); n];
    if ancestors.is_empty() {
        return Ok(out);
    }
    let mut q = Sql::new("");
    let p = q.arg(spans_json(ancestors));
    q.text = format!(
        "SELECT CAST(s.u AS BIGINT), cl.descendant_id, cl.valid_from, cl.valid_to, s.a, s.b FROM {} CROSS JOIN org_closure cl
         WHERE cl.ancestor_id = s.org AND cl.valid_from <= s.b AND (cl.valid_to IS NULL OR cl.valid_to > s.a)",
        spans_table(&p)
    );
    for (u, org, from, to_excl, a, b) in
        fetch_all::<(i64, i64, NaiveDate, Option<NaiveDate>, NaiveDate, NaiveDate)>(c, &q).await?
    {
        let Some(spans) = usize::try_from(u).ok().and_then(|u| out.get_mut(u)) else {
            continue;
        };
        let to = match to_excl.and_then(|d| d.pred_opt()) {
            Some(t) => t.min(b),
            None => b,
        };
        let from = from.max(a);
        if from <= to {
            spans.push(Span {
                org_id: org,
                from,
                to,
            });
        }
    }
    Ok(out)
}

// ---- rebuilding ------------------------------------------------------------------------------

/// Records folded per transaction step of a rebuild.
const REBUILD_BATCH: i64 = 20_000;

/// Recomputes a county's rollups from its standing records, in one write transaction: rows
/// deleted, then the records read in id order, a batch at a time, and folded in.
pub(crate) async fn rebuild_county(p: &Pools<DB>, county_id: i64) -> StoreResult<u64> {
    let mut tx = begin_write(p).await?;
    let n = rebuild_in(&mut tx, county_id).await?;
    tx.commit().await?;
    Ok(n)
}

/// Fills the rollups of every county from the records, inside the migration that adds them.
pub(crate) async fn fill_all(c: &mut Conn) -> StoreResult<u64> {
    let counties: Vec<(i64,)> = sqlx::query_as("SELECT id FROM counties ORDER BY id")
        .fetch_all(&mut *c)
        .await?;
    let mut n = 0;
    for (id,) in counties {
        n += rebuild_in(c, id).await?;
    }
    Ok(n)
}

/// A rebuild inside the caller's write transaction.
async fn rebuild_in(tx: &mut Conn, county_id: i64) -> StoreResult<u64> {
    for table in ["rollup_cells", "rollup_facts"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE county_id = $1"))
            .bind(county_id)
            .execute(&mut *tx)
            .await?;
    }
    let mut after = 0_i64;
    let mut total = 0_u64;
    loop {
        let rows: Vec<(i64, i64, i64, NaiveDate)> = sqlx::query_as(
            "SELECT id, ledger_type_id, org_id, occurred_on FROM ledger_records
             WHERE county_id = $1 AND id > $2 AND voided_at IS NULL ORDER BY id LIMIT $3",
        )
        .bind(county_id)
        .bind(after)
        .bind(REBUILD_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        let mut records: BTreeMap<i64, StoredRecord> = rows
            .into_iter()
            .map(|(id, type_id, org_id, occurred_on)| {
                (
                    id,
                    StoredRecord::new(id, type_id, org_id, occurred_on),
                )
            })
            .collect();
        total += records.len() as u64;
        details_of(tx, &mut records).await?;
        let inputs: Vec<RollupInput<'_>> = records
            .values()
            .map(StoredRecord::input)
            .collect();
        add_records(tx, county_id, &inputs).await?;
    }
    Ok(total)
}

/// Every county's id and code, for a rebuild of all of them.
pub(crate) async fn county_ids(p: &Pools<DB>) -> StoreResult<Vec<(i64, String)>> {
    Ok(sqlx::query_as("SELECT id, code FROM counties ORDER BY id")
        .fetch_all(&p.read)
        .await?)
}

/// A `rollup_facts` row: cell key, figure key, count and sum halves.
type FactRow = (i64, NaiveDate, i64, String, String, String, i64, i64, i64);

/// A figure of a cell, as `dump` lists it.
pub(crate) type DumpedFact = (CellKey, String, String, String, SumDelta);

/// Every rollup row of a county, for comparing an incremental rollup with a rebuilt one.
pub(crate) async fn dump(p: &Pools<DB>, county_id: i64) -> StoreResult<(Vec<CellFigures>, Vec<DumpedFact>)> {
    let mut c = p.read.acquire().await?;
    let cells: Vec<(i64, NaiveDate, i64, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT org_id, month, ledger_type_id, records, people FROM rollup_cells WHERE county_id = $1 ORDER BY org_id, month, ledger_type_id",
    )
    .bind(county_id)
    .fetch_all(&mut *c)
    .await?;
    let mut out_cells = Vec::with_capacity(cells.len());
    for (org_id, month, type_id, records, people) in cells {
        out_cells.push(CellFigures {
            key: CellKey {
                org_id,
                month,
                type_id,
            },
            records,
            people: people_from(&people)?.iter().filter_map(|p| i64::try_from(p).ok()).collect(),
        });
    }
    let facts: Vec<FactRow> = sqlx::query_as(
        "SELECT org_id, month, ledger_type_id, choice_field, option_value, num_field, records, sum_high, sum_low FROM rollup_facts
         WHERE county_id = $1 ORDER BY org_id, month, ledger_type_id, choice_field, option_value, num_field",
    )
    .bind(county_id)
    .fetch_all(&mut *c)
    .await?;
    let out_facts = facts
        .into_iter()
        .map(|(org_id, month, type_id, cf, o, nf, n, high, low)| {
            (
                CellKey {
                    org_id,
                    month,
                    type_id,
                },
                cf,
                o,
                nf,
                SumDelta {
                    count: n,
                    high,
                    low,
                },
            )
        })
        .collect();
    Ok((out_cells, out_facts))
}
