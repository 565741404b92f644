//! Reading the rollups for a bulletin, compiled once per backend (see `backend`): the
//! per-organisation cells over the spans an organisation spent under a unit (`covered`), and the
//! subtree cells of a unit's root (`subtree_covered`), with the days that no whole month covers
//! read from the records.

use super::rollups::{details_of, StoredRecord};
use super::*;
use crate::rollups::{set_from, Covered, Layer};
use crate::sqlbuild::Sql;
use crate::StoreResult;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use taizhang_domain::rollup::{Coverage, RollupDelta, Span, SumDelta};

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
    read_months(c, Layer::Own, &months, with_details, &mut out).await?;
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
            records
                .entry(id)
                .or_insert_with(|| StoredRecord::new(id, type_id, org_id, occurred_on));
        }
        if with_details {
            details_of(c, &mut records).await?;
        }
        let mut deltas: Vec<RollupDelta> = coverages.iter().map(|_| RollupDelta::default()).collect();
        for (u, id) in by_cov {
            if let (Some(r), Some(d)) = (records.get(&id), deltas.get_mut(u)) {
                d.add(&r.input(), 1);
            }
        }
        for (cov, delta) in out.iter_mut().zip(deltas) {
            cov.add_delta(&delta);
        }
    }
    Ok(out)
}

/// Adds the cells (and, `with_details`, people and figures) of a layer's whole months to the
/// coverages: `months` are (coverage, organisation, first month, last month). For the own layer
/// each cell's organisation counts once; a subtree cell brings the set of its organisations.
async fn read_months(
    c: &mut Conn,
    layer: Layer,
    months: &[(usize, i64, NaiveDate, NaiveDate)],
    with_details: bool,
    out: &mut [Covered],
) -> StoreResult<()> {
    if months.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new("");
    let p = q.arg(spans_json(months));
    let orgs = match layer {
        Layer::Own => "c.org_id",
        Layer::Tree => "c.orgs",
    };
    let people = if with_details { "c.people" } else { "NULL" };
    q.text = format!(
        "SELECT CAST(s.u AS BIGINT), c.ledger_type_id, c.records, {orgs}, {people} FROM {} CROSS JOIN {} c WHERE c.org_id = s.org AND c.month BETWEEN s.a AND s.b",
        spans_table(&p),
        layer.cells()
    );
    match layer {
        Layer::Own => {
            for (u, t, n, org, people) in
                fetch_all::<(i64, i64, i64, i64, Option<Vec<u8>>)>(c, &q).await?
            {
                let Some(cov) = usize::try_from(u).ok().and_then(|u| out.get_mut(u)) else {
                    continue;
                };
                let cell = cov.cells.entry(t).or_default();
                cell.records += n;
                if let Ok(org) = u64::try_from(org) {
                    cell.orgs.insert(org);
                }
                if let Some(p) = people {
                    cell.people |= set_from(&p)?;
                }
            }
        }
        Layer::Tree => {
            for (u, t, n, orgs, people) in
                fetch_all::<(i64, i64, i64, Vec<u8>, Option<Vec<u8>>)>(c, &q).await?
            {
                let Some(cov) = usize::try_from(u).ok().and_then(|u| out.get_mut(u)) else {
                    continue;
                };
                let cell = cov.cells.entry(t).or_default();
                cell.records += n;
                cell.orgs |= set_from(&orgs)?;
                if let Some(p) = people {
                    cell.people |= set_from(&p)?;
                }
            }
        }
    }
    if with_details {
        let mut q = Sql::new("");
        let p = q.arg(spans_json(months));
        q.text = format!(
            "SELECT CAST(s.u AS BIGINT), f.ledger_type_id, f.choice_field, f.option_value, f.num_field,
                    CAST(SUM(f.records) AS BIGINT), CAST(SUM(f.sum_high) AS BIGINT), CAST(SUM(f.sum_low) AS BIGINT)
             FROM {} CROSS JOIN {} f WHERE f.org_id = s.org AND f.month BETWEEN s.a AND s.b
             GROUP BY s.u, f.ledger_type_id, f.choice_field, f.option_value, f.num_field",
            spans_table(&p),
            layer.facts()
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
    Ok(())
}

/// What the subtree rollups say about subtrees over periods: `columns` are (root, first day,
/// last day). The whole months come from the roots' subtree cells, one row per month and type
/// whatever the size of the subtree; the days at either end that no whole month covers come from
/// the organisations under the root on those days (`covered`).
pub(crate) async fn subtree_covered(
    c: &mut Conn,
    county_id: i64,
    columns: &[(i64, NaiveDate, NaiveDate)],
    with_details: bool,
) -> StoreResult<Vec<Covered>> {
    let mut out: Vec<Covered> = columns.iter().map(|_| Covered::default()).collect();
    let mut months = Vec::new();
    let mut days = Vec::new();
    for (u, (root, from, to)) in columns.iter().enumerate() {
        let cov = Coverage::of(vec![Span {
            org_id: *root,
            from: *from,
            to: *to,
        }]);
        months.extend(cov.months.into_iter().map(|(o, a, b)| (u, o, a, b)));
        days.extend(cov.days.into_iter().map(|s| (u, s.org_id, s.from, s.to)));
    }
    read_months(c, Layer::Tree, &months, with_details, &mut out).await?;
    if !days.is_empty() {
        let spans = spans_under(c, &days, columns.len()).await?;
        let coverages: Vec<Coverage> = spans.into_iter().map(Coverage::of).collect();
        let edges = covered(c, county_id, &coverages, with_details).await?;
        for (o, e) in out.iter_mut().zip(edges) {
            o.merge(e);
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

