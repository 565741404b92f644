//! The rollup queries, compiled once per backend (see `backend`): keeping the rollups in the
//! transaction of every record write and void, reading them for a bulletin, and rebuilding them
//! from the records.

use super::rollup_reads::{covered, spans_under};
use super::*;
use crate::rollups::{set_from, set_to_bytes, CellFigures, FactFigures, Layer, COUNTY_TREE_LOCK};
use crate::bulk::Phase;
use crate::sqlbuild::Sql;
use crate::{Pools, StoreError, StoreResult};
use chrono::NaiveDate;
use roaring::RoaringTreemap;
use std::collections::{BTreeMap, HashMap};
use taizhang_domain::ledger::Fact;
use taizhang_domain::rollup::{
    month_of, next_month, CellKey, Coverage, RollupDelta, RollupInput, SumDelta,
};

/// Keys per multi-row statement (3 to 10 placeholders each; SQLite binds them by position, see
/// `sqlbuild::anonymous_placeholders`). Bounded by SQLite's expression depth of 1,000, which a
/// chain of `OR`s of this many cells must stay under.
const CHUNK: usize = 400;

/// Appends `(org_id = … AND month = … AND ledger_type_id = …) OR … )`: the cells of a list,
/// closing a parenthesis the caller opened. Written as equalities rather than a row-value
/// `IN (VALUES …)`, which SQLite searches on `org_id` alone (every cell of the organisation, a
/// number that grows every year); each equality is a search of the full key.
fn push_cell_keys(q: &mut Sql, keys: &[&CellKey]) {
    let rows: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "(org_id = {} AND month = {} AND ledger_type_id = {})",
                q.arg(k.org_id),
                q.arg(k.month),
                q.arg(k.type_id)
            )
        })
        .collect();
    q.push(&rows.join(" OR "));
    q.push(")");
}

/// Adds records just inserted (in the caller's write transaction) to their rollup cells: their
/// own organisation's and those of every ancestor they had on their date.
pub(crate) async fn add_records(
    c: &mut Conn,
    county_id: i64,
    items: &[RollupInput<'_>],
) -> StoreResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    lock_county(c, county_id, false).await?;
    let started = std::time::Instant::now();
    let mut own = RollupDelta::default();
    for r in items {
        own.add(r, 1);
    }
    let at = crate::bulk::spent(Phase::OwnRollups, started);
    let places = places_of(c, items.iter().map(|r| r.org_id)).await?;
    let mut tree = RollupDelta::default();
    for r in items {
        for a in ancestors_on(&places, r.org_id, r.occurred_on) {
            tree.add_at(r, a, 1);
        }
    }
    lock_cells(
        c,
        own.cells
            .keys()
            .map(|k| (Layer::Own, k.org_id))
            .chain(tree.cells.keys().map(|k| (Layer::Tree, k.org_id))),
    )
    .await?;
    let at = crate::bulk::spent(Phase::TreeRollups, at);
    apply(c, county_id, Layer::Own, &own).await?;
    let at = crate::bulk::spent(Phase::OwnRollups, at);
    apply(c, county_id, Layer::Tree, &tree).await?;
    crate::bulk::spent(Phase::TreeRollups, at);
    Ok(())
}

/// Where organisations sat in the tree: per organisation, (ancestor, first day, day it ended)
/// for every closure row, its own included.
type Places = HashMap<i64, Vec<(i64, NaiveDate, Option<NaiveDate>)>>;

async fn places_of(c: &mut Conn, orgs: impl Iterator<Item = i64>) -> StoreResult<Places> {
    let mut orgs: Vec<i64> = orgs.collect();
    orgs.sort_unstable();
    orgs.dedup();
    let mut out: Places = HashMap::new();
    for chunk in orgs.chunks(CHUNK * 5) {
        let mut q = Sql::new(
            "SELECT descendant_id, ancestor_id, valid_from, valid_to FROM org_closure WHERE descendant_id IN (",
        );
        let l = q.list(chunk);
        q.push(&format!("{l})"));
        for (d, a, from, to) in
            fetch_all::<(i64, i64, NaiveDate, Option<NaiveDate>)>(c, &q).await?
        {
            out.entry(d).or_default().push((a, from, to));
        }
    }
    Ok(out)
}

/// The ancestors (itself included) `org` had on `day`.
fn ancestors_on(places: &Places, org: i64, day: NaiveDate) -> impl Iterator<Item = i64> + '_ {
    places
        .get(&org)
        .into_iter()
        .flatten()
        .filter(move |(_, from, to)| *from <= day && to.is_none_or(|t| day < t))
        .map(|(a, _, _)| *a)
}

/// On PostgreSQL, a county's tree lock: shared by the writes that read which ancestors their
/// records count under, exclusive for a move that changes them. (SQLite has one writer.)
async fn lock_county(c: &mut Conn, county_id: i64, exclusive: bool) -> StoreResult<()> {
    if IS_PG {
        let f = if exclusive {
            "pg_advisory_xact_lock"
        } else {
            "pg_advisory_xact_lock_shared"
        };
        sqlx::query(&format!("SELECT {f}($1)"))
            .bind(COUNTY_TREE_LOCK | county_id)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// On PostgreSQL, locks cells for the transaction: merging people is read-modify-write, and two
/// transactions adding to one new cell must not both start from "no row". Each organisation's
/// cells of a layer are one lock, taken in ascending order so that two writers cannot deadlock.
async fn lock_cells(c: &mut Conn, cells: impl Iterator<Item = (Layer, i64)>) -> StoreResult<()> {
    if !IS_PG {
        return Ok(());
    }
    let mut keys: Vec<i64> = cells.map(|(l, org)| l.lock_tag() | org).collect();
    if keys.is_empty() {
        return Ok(());
    }
    keys.sort_unstable();
    keys.dedup();
    let list = serde_json::to_string(&keys).map_err(|e| StoreError::Internal(e.to_string()))?;
    sqlx::query(
        "SELECT pg_advisory_xact_lock(k) FROM (SELECT CAST(value AS bigint) AS k FROM json_array_elements_text(CAST($1 AS json)) ORDER BY 1) s",
    )
    .bind(list)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Writes a delta to a layer: cells' counts added and sets merged, figures added, rows that fall
/// to zero records removed (a row exists only while a record stands behind it). The caller holds
/// the cells' locks (`lock_cells`).
async fn apply(c: &mut Conn, county_id: i64, layer: Layer, delta: &RollupDelta) -> StoreResult<()> {
    let keys: Vec<&CellKey> = delta.cells.keys().collect();
    let tree = layer == Layer::Tree;
    let (cells, facts) = (layer.cells(), layer.facts());
    for chunk in keys.chunks(CHUNK) {
        // The cells' present sets, merged with the new ones in memory.
        let orgs_col = if tree { "orgs" } else { "NULL" };
        let mut q = Sql::new(&format!(
            "SELECT org_id, month, ledger_type_id, people, {orgs_col} FROM {cells} WHERE ("
        ));
        push_cell_keys(&mut q, chunk);
        let present: HashMap<CellKey, (Vec<u8>, Option<Vec<u8>>)> =
            fetch_all::<(i64, NaiveDate, i64, Vec<u8>, Option<Vec<u8>>)>(c, &q)
                .await?
                .into_iter()
                .map(|(org_id, month, type_id, p, o)| {
                    (
                        CellKey {
                            org_id,
                            month,
                            type_id,
                        },
                        (p, o),
                    )
                })
                .collect();
        let mut q = Sql::new(&format!(
            "INSERT INTO {cells} (county_id, org_id, month, ledger_type_id, records, people{}) VALUES ",
            if tree { ", orgs" } else { "" }
        ));
        let mut rows = Vec::with_capacity(chunk.len());
        for k in chunk {
            let d = &delta.cells[*k];
            let (mut people, mut orgs) = match present.get(*k) {
                Some((p, o)) => (set_from(p)?, set_from(o.as_deref().unwrap_or_default())?),
                None => (RoaringTreemap::new(), RoaringTreemap::new()),
            };
            people.extend(d.people.iter().filter_map(|p| u64::try_from(*p).ok()));
            let mut row = format!(
                "({}, {}, {}, {}, {}, {}",
                q.arg(county_id),
                q.arg(k.org_id),
                q.arg(k.month),
                q.arg(k.type_id),
                q.arg(d.records),
                q.arg(set_to_bytes(&people)?)
            );
            if tree {
                orgs.extend(d.orgs.iter().filter_map(|o| u64::try_from(*o).ok()));
                row.push_str(&format!(", {}", q.arg(set_to_bytes(&orgs)?)));
            }
            row.push(')');
            rows.push(row);
        }
        q.push(&rows.join(", "));
        q.push(&format!(" ON CONFLICT (org_id, month, ledger_type_id) DO UPDATE SET records = {cells}.records + excluded.records, people = excluded.people{}", if tree { ", orgs = excluded.orgs" } else { "" }));
        execute(c, &q).await?;
    }
    let figures: Vec<_> = delta.facts.iter().filter(|(_, s)| !s.is_zero()).collect();
    for chunk in figures.chunks(CHUNK) {
        let mut q = Sql::new(&format!("INSERT INTO {facts} (county_id, org_id, month, ledger_type_id, choice_field, option_value, num_field, records, sum_high, sum_low) VALUES "));
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
        q.push(&format!(" ON CONFLICT (org_id, month, ledger_type_id, choice_field, option_value, num_field) DO UPDATE SET records = {facts}.records + excluded.records, sum_high = {facts}.sum_high + excluded.sum_high, sum_low = {facts}.sum_low + excluded.sum_low"));
        execute(c, &q).await?;
    }
    if delta.cells.values().any(|d| d.records < 0) || delta.facts.values().any(|s| s.count < 0) {
        for chunk in keys.chunks(CHUNK) {
            for table in [cells, facts] {
                let mut q = Sql::new(&format!(
                    "DELETE FROM {table} WHERE records = 0 AND ("
                ));
                push_cell_keys(&mut q, chunk);
                execute(c, &q).await?;
            }
        }
    }
    Ok(())
}

/// Recomputes subtree months — (root, month) — from the per-organisation rows and the records:
/// after a void (whose people and organisations cannot be subtracted from a set) or a move back
/// in time (which changes the ancestors records count under). Its cost follows the organisations
/// under each root, not their records. The caller holds the county's tree lock.
async fn refresh_tree(
    c: &mut Conn,
    county_id: i64,
    targets: &[(i64, NaiveDate)],
) -> StoreResult<()> {
    for chunk in targets.chunks(CHUNK) {
        lock_cells(c, chunk.iter().map(|(o, _)| (Layer::Tree, *o))).await?;
        for table in [Layer::Tree.cells(), Layer::Tree.facts()] {
            let mut q = Sql::new(&format!("DELETE FROM {table} WHERE ("));
            let rows: Vec<String> = chunk
                .iter()
                .map(|(o, m)| format!("(org_id = {} AND month = {})", q.arg(*o), q.arg(*m)))
                .collect();
            q.push(&rows.join(" OR "));
            q.push(")");
            execute(c, &q).await?;
        }
        let places: Vec<(usize, i64, NaiveDate, NaiveDate)> = chunk
            .iter()
            .enumerate()
            .map(|(i, (o, m))| (i, *o, *m, next_month(*m).pred_opt().unwrap_or(*m)))
            .collect();
        let spans = spans_under(c, &places, chunk.len()).await?;
        let coverages: Vec<Coverage> = spans.into_iter().map(Coverage::of).collect();
        let mut delta = RollupDelta::default();
        for ((o, m), cov) in chunk.iter().zip(covered(c, county_id, &coverages, true).await?) {
            let d = cov.into_delta(*o, *m);
            delta.cells.extend(d.cells);
            delta.facts.extend(d.facts);
        }
        apply(c, county_id, Layer::Tree, &delta).await?;
    }
    Ok(())
}

/// After `subtree` moved on `on` (in the caller's transaction, the closure already changed):
/// the months from `on` of every ancestor it left or joined are recomputed. Ancestors it kept
/// (the county, say) count the same records before and after, and are not touched; nor is any
/// per-organisation row.
pub(crate) async fn tree_moved(
    c: &mut Conn,
    county_id: i64,
    subtree: &[i64],
    changed_ancestors: &[i64],
    on: NaiveDate,
) -> StoreResult<()> {
    lock_county(c, county_id, true).await?;
    let mut months: Vec<NaiveDate> = Vec::new();
    for chunk in subtree.chunks(CHUNK * 5) {
        let mut q = Sql::new("SELECT DISTINCT month FROM rollup_cells WHERE month >= ");
        let m = q.arg(month_of(on));
        q.push(&m);
        q.push(" AND org_id IN (");
        let l = q.list(chunk);
        q.push(&format!("{l})"));
        months.extend(fetch_all::<(NaiveDate,)>(c, &q).await?.into_iter().map(|r| r.0));
    }
    months.sort_unstable();
    months.dedup();
    let mut ancestors = changed_ancestors.to_vec();
    ancestors.sort_unstable();
    ancestors.dedup();
    let targets: Vec<(i64, NaiveDate)> = ancestors
        .iter()
        .flat_map(|a| months.iter().map(move |m| (*a, *m)))
        .collect();
    refresh_tree(c, county_id, &targets).await
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
    pub(crate) fn new(id: i64, type_id: i64, org_id: i64, occurred_on: NaiveDate) -> StoredRecord {
        StoredRecord {
            id,
            type_id,
            org_id,
            occurred_on,
            facts: Vec::new(),
            people: Vec::new(),
        }
    }

    pub(crate) fn input(&self) -> RollupInput<'_> {
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
pub(crate) async fn details_of(
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
/// sums are subtracted from their own organisations' cells, whose people are read again from
/// their standing records (another record of the cell may name the same person); the months of
/// their ancestors are recomputed (`refresh_tree`).
pub(crate) async fn void_records(c: &mut Conn, county_id: i64, ids: &[i64]) -> StoreResult<()> {
    lock_county(c, county_id, false).await?;
    let records = stored_records(c, ids).await?;
    let mut delta = RollupDelta::default();
    for r in records.values() {
        delta.add(&r.input(), -1);
    }
    let places = places_of(c, records.values().map(|r| r.org_id)).await?;
    let mut targets: Vec<(i64, NaiveDate)> = records
        .values()
        .flat_map(|r| {
            ancestors_on(&places, r.org_id, r.occurred_on).map(|a| (a, month_of(r.occurred_on)))
        })
        .collect();
    targets.sort_unstable();
    targets.dedup();
    lock_cells(c, delta.cells.keys().map(|k| (Layer::Own, k.org_id))).await?;
    apply(c, county_id, Layer::Own, &delta).await?;
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
        let set: RoaringTreemap = people
            .into_iter()
            .filter_map(|(p,)| u64::try_from(p).ok())
            .collect();
        sqlx::query(
            "UPDATE rollup_cells SET people = $1 WHERE org_id = $2 AND month = $3 AND ledger_type_id = $4",
        )
        .bind(set_to_bytes(&set)?)
        .bind(k.org_id)
        .bind(k.month)
        .bind(k.type_id)
        .execute(&mut *c)
        .await?;
    }
    refresh_tree(c, county_id, &targets).await
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
    for table in [
        Layer::Own.cells(),
        Layer::Own.facts(),
        Layer::Tree.cells(),
        Layer::Tree.facts(),
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE county_id = $1"))
            .bind(county_id)
            .execute(&mut *tx)
            .await?;
    }
    // Paged by id within the county's own ids: a page past its last record would otherwise read
    // every later county's records to find none.
    let (first, last): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT MIN(id), MAX(id) FROM ledger_records WHERE county_id = $1",
    )
    .bind(county_id)
    .fetch_one(&mut *tx)
    .await?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(0);
    };
    let mut after = first - 1;
    let mut total = 0_u64;
    while after < last {
        let rows: Vec<(i64, i64, i64, NaiveDate)> = sqlx::query_as(
            "SELECT id, ledger_type_id, org_id, occurred_on FROM ledger_records
             WHERE county_id = $1 AND id > $2 AND id <= $3 AND voided_at IS NULL ORDER BY id LIMIT $4",
        )
        .bind(county_id)
        .bind(after)
        .bind(last)
        .bind(REBUILD_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let Some(tail) = rows.last() else { break };
        after = tail.0;
        let mut records: BTreeMap<i64, StoredRecord> = rows
            .into_iter()
            .map(|(id, type_id, org_id, occurred_on)| {
                (id, StoredRecord::new(id, type_id, org_id, occurred_on))
            })
            .collect();
        total += records.len() as u64;
        details_of(tx, &mut records).await?;
        let inputs: Vec<RollupInput<'_>> = records.values().map(StoredRecord::input).collect();
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

/// A rollup cell row: cell key, records, people and (subtree cells) organisations.
type CellRow = (i64, NaiveDate, i64, i64, Vec<u8>, Option<Vec<u8>>);

/// A rollup figure row: cell key, figure key, count and sum halves.
type FactRow = (i64, NaiveDate, i64, String, String, String, i64, i64, i64);

/// Every row of one rollup layer of a county, for comparing an incremental rollup with a rebuilt
/// one.
pub(crate) async fn dump(
    p: &Pools<DB>,
    county_id: i64,
    layer: Layer,
) -> StoreResult<(Vec<CellFigures>, Vec<FactFigures>)> {
    let mut c = p.read.acquire().await?;
    let orgs = if layer == Layer::Tree { "orgs" } else { "NULL" };
    let cells: Vec<CellRow> = sqlx::query_as(&format!(
        "SELECT org_id, month, ledger_type_id, records, people, {orgs} FROM {} WHERE county_id = $1 ORDER BY org_id, month, ledger_type_id",
        layer.cells()
    ))
    .bind(county_id)
    .fetch_all(&mut *c)
    .await?;
    let ids = |bytes: &[u8]| -> StoreResult<Vec<i64>> {
        Ok(set_from(bytes)?
            .iter()
            .filter_map(|p| i64::try_from(p).ok())
            .collect())
    };
    let mut out_cells = Vec::with_capacity(cells.len());
    for (org_id, month, type_id, records, people, orgs) in cells {
        out_cells.push(CellFigures {
            key: CellKey {
                org_id,
                month,
                type_id,
            },
            records,
            people: ids(&people)?,
            orgs: ids(orgs.as_deref().unwrap_or_default())?,
        });
    }
    let facts: Vec<FactRow> = sqlx::query_as(&format!(
        "SELECT org_id, month, ledger_type_id, choice_field, option_value, num_field, records, sum_high, sum_low FROM {}
         WHERE county_id = $1 ORDER BY org_id, month, ledger_type_id, choice_field, option_value, num_field",
        layer.facts()
    ))
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
