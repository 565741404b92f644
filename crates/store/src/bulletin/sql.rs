//! The bulletin queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::ledgers::{type_from, TypeRow, TYPE_SELECT};
use super::links::{org_name, person_name};
use super::orgs::{load_org_unscoped, org_in_scope, resolve_org};
use super::*;
use crate::bulletin::FigureSource as Source;
use crate::sqlbuild::Sql;
use crate::{Actor, LedgerType, Pools, StoreError, StoreResult};
use chrono::NaiveDate;
use std::collections::HashMap;
use taizhang_domain::bulletin::{self, Bulletin, Figures, Grouping, TypeRef, Unit};
use taizhang_domain::rollup::Coverage;
use taizhang_domain::period::DateRange;
use taizhang_domain::Action;

// ---- bulletins ---------------------------------------------------------------------------------

pub(crate) fn clip(
    range: DateRange,
    from: NaiveDate,
    to_inclusive: Option<NaiveDate>,
) -> Option<DateRange> {
    let f = range.from.max(from);
    let t = match to_inclusive {
        Some(t) => range.to.min(t),
        None => range.to,
    };
    DateRange::new(f, t).ok()
}

/// A link that makes its target a unit of a bulletin grouped by that kind of link.
pub(crate) struct LinkUnitRow {
    to_org_id: i64,
    from_person_id: Option<i64>,
    from_org_id: Option<i64>,
    via_org_id: Option<i64>,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
}
from_row!(LinkUnitRow {
    to_org_id,
    from_person_id,
    from_org_id,
    via_org_id,
    valid_from,
    valid_to,
});

/// The units a bulletin ranks, each with the part of the period it counts for.
pub(crate) async fn bulletin_units(
    c: &mut Conn,
    actor: &Actor,
    root: i64,
    range: DateRange,
    grouping: Grouping,
) -> StoreResult<Vec<Unit>> {
    let mut units: Vec<Unit> = Vec::new();
    match grouping {
        Grouping::Children => {
            let rows: Vec<(i64, NaiveDate, Option<NaiveDate>)> = sqlx::query_as(
                "SELECT child_id, valid_from, valid_to FROM org_edges WHERE parent_id = $1 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $3) ORDER BY id",
            )
            .bind(root)
            .bind(range.to)
            .bind(range.from)
            .fetch_all(&mut *c)
            .await?;
            for (child, from, to_excl) in rows {
                let org = load_org_unscoped(c, child).await?;
                if org.kind.is_grouping() {
                    continue;
                }
                if let Some(r) = clip(range, from, to_excl.and_then(|d| d.pred_opt())) {
                    merge_unit(
                        &mut units,
                        Unit {
                            org: org.brief(),
                            range: r,
                            via: None,
                        },
                    );
                }
            }
        }
        Grouping::Link(kind) => {
            let rows: Vec<LinkUnitRow> = sqlx::query_as(
                "SELECT l.to_org_id, l.from_person_id, l.from_org_id, l.via_org_id, l.valid_from, l.valid_to FROM org_links l
                 JOIN org_closure cl ON cl.descendant_id = l.to_org_id AND cl.ancestor_id = $1 AND cl.valid_to IS NULL
                 WHERE l.kind = $2 AND l.valid_from <= $3 AND (l.valid_to IS NULL OR l.valid_to >= $4) ORDER BY l.id",
            )
            .bind(root)
            .bind(kind.key())
            .bind(range.to)
            .bind(range.from)
            .fetch_all(&mut *c)
            .await?;
            for link in rows {
                let LinkUnitRow {
                    to_org_id: to,
                    from_person_id: person,
                    from_org_id: from_org,
                    via_org_id: via,
                    valid_from: from,
                    valid_to: to_incl,
                } = link;
                if !org_in_scope(c, &actor.scope, to).await? {
                    continue;
                }
                let org = load_org_unscoped(c, to).await?;
                let mut via_text = Vec::new();
                if let Some(pid) = person {
                    via_text.push(person_name(c, pid).await?.name);
                }
                for o in [from_org, via].into_iter().flatten() {
                    via_text.push(org_name(c, o).await?.name);
                }
                if let Some(r) = clip(range, from, to_incl) {
                    let via = if via_text.is_empty() {
                        None
                    } else {
                        Some(via_text.join("，"))
                    };
                    merge_unit(
                        &mut units,
                        Unit {
                            org: org.brief(),
                            range: r,
                            via,
                        },
                    );
                }
            }
        }
    }
    Ok(units)
}

/// One row per organisation: a second period for the same one widens its range.
pub(crate) fn merge_unit(units: &mut Vec<Unit>, u: Unit) {
    match units.iter_mut().find(|x| x.org.id == u.org.id) {
        Some(x) => {
            x.range = DateRange {
                from: x.range.from.min(u.range.from),
                to: x.range.to.max(u.range.to),
            };
            if let (Some(a), Some(b)) = (&x.via, &u.via) {
                if a != b {
                    x.via = Some(format!("{a}；{b}"));
                }
            }
        }
        None => units.push(u),
    }
}

/// A sum of facts, taken in two halves that cannot overflow: the high 32 bits of each value
/// (arithmetic shift) and the low 32 bits. With fewer than 2^31 facts per figure neither half
/// leaves an i64, on SQLite (whose `SUM` of integers fails on overflow) or PostgreSQL (whose
/// `SUM` of bigint is numeric, cast back here). Record values are bounded (`INTEGER_LIMIT`), but
/// values stored before the bound may be anything.
const SUM_HIGH: &str = "CAST(COALESCE(SUM(f.num_value >> 32), 0) AS BIGINT)";
const SUM_LOW: &str = "CAST(COALESCE(SUM(f.num_value & 4294967295), 0) AS BIGINT)";

/// The exact sum of the two halves, or the nearest i64 when it lies beyond (only values stored
/// before the bound can get there); the figure then shows its largest value, and the log says so.
pub(crate) fn exact_sum(high: i64, low: i64) -> i64 {
    let total = (i128::from(high) << 32) + i128::from(low);
    i64::try_from(total).unwrap_or_else(|_| {
        tracing::warn!(%total, "a bulletin sum exceeds the figure's range; shown at its limit");
        if total < 0 {
            i64::MIN
        } else {
            i64::MAX
        }
    })
}

pub(crate) async fn bulletin(
    p: &Pools<DB>,
    actor: &Actor,
    root_ref: &str,
    range: DateRange,
    grouping: Grouping,
) -> StoreResult<Bulletin> {
    Ok(figures(p, actor, root_ref, range, grouping, Source::Rollups).await?.0)
}

/// A bulletin with the raw figures it was composed from, read from `source`.
pub(crate) async fn figures(
    p: &Pools<DB>,
    actor: &Actor,
    root_ref: &str,
    range: DateRange,
    grouping: Grouping,
    source: Source,
) -> StoreResult<(Bulletin, Figures)> {
    require(actor, Action::ReadBulletin)?;
    taizhang_domain::check_date_field("from", range.from)?;
    taizhang_domain::check_date_field("to", range.to)?;
    if range.days() > 3660 {
        return Err(StoreError::invalid(
            "to",
            "bulletin.range_too_long",
            "统计区间不能超过10年",
        ));
    }
    // Several queries make one bulletin: they read one snapshot, so that a record written
    // meanwhile cannot show in one figure and be missing from another.
    let mut c = report_snapshot(p).await?;
    let root = resolve_org(&mut c, actor, root_ref).await?;
    let root_org = load_org_unscoped(&mut c, root).await?;
    let types: Vec<LedgerType> = sqlx::query_as::<DB, TypeRow>(&format!(
        "{TYPE_SELECT} WHERE t.county_id = $1 ORDER BY t.id"
    ))
    .bind(actor.county_id.get())
    .fetch_all(&mut *c)
    .await?
    .into_iter()
    .map(type_from)
    .collect();
    let units = bulletin_units(&mut c, actor, root, range, grouping).await?;

    let figures = match source {
        Source::Rollups => rollup_figures(&mut c, actor, root, range, grouping, &units).await?,
        Source::Records => record_figures(&mut c, actor, root, range, grouping, &units).await?,
    };
    let refs: Vec<TypeRef<'_>> = types
        .iter()
        .map(|t| TypeRef {
            id: t.id.get(),
            def: &t.definition,
        })
        .collect();
    c.commit().await?;
    let b = bulletin::compose(root_org.brief(), range, grouping, &refs, units, &figures);
    Ok((b, figures))
}

/// The figures from the rollups. A bulletin over a subtree reads its root's subtree cells (one
/// row per month and type) and each unit's; a bulletin over linked units, which may overlap,
/// counts its whole from the per-organisation cells of every organisation under any unit, so
/// that a record reached twice counts once. The days no whole month covers come from the
/// records (see `taizhang_domain::rollup::Coverage`). Its cost follows the units and months,
/// not the records.
async fn rollup_figures(
    c: &mut Conn,
    actor: &Actor,
    root: i64,
    range: DateRange,
    grouping: Grouping,
    units: &[Unit],
) -> StoreResult<Figures> {
    let county = actor.county_id.get();
    let whole = match grouping {
        Grouping::Children => {
            super::rollup_reads::subtree_covered(c, county, &[(root, range.from, range.to)], true)
                .await?
        }
        Grouping::Link(_) => {
            let places: Vec<(usize, i64, NaiveDate, NaiveDate)> = units
                .iter()
                .map(|u| (0, u.org.id, u.range.from, u.range.to))
                .collect();
            let spans = super::rollup_reads::spans_under(c, &places, 1).await?;
            let coverages: Vec<Coverage> = spans.into_iter().map(Coverage::of).collect();
            super::rollup_reads::covered(c, county, &coverages, true).await?
        }
    };
    let columns: Vec<(i64, NaiveDate, NaiveDate)> = units
        .iter()
        .map(|u| (u.org.id, u.range.from, u.range.to))
        .collect();
    let per_unit = super::rollup_reads::subtree_covered(c, county, &columns, false).await?;
    let mut figures = Figures::default();
    if let Some(w) = whole.into_iter().next() {
        for (t, f) in &w.cells {
            if f.records != 0 {
                let people = i64::try_from(f.people.len()).unwrap_or(i64::MAX);
                let orgs = i64::try_from(f.orgs.len()).unwrap_or(i64::MAX);
                figures.totals.insert(*t, (f.records, orgs, people));
            }
        }
        for ((t, cf, o, nf), s) in w.facts {
            if s.count == 0 {
                continue;
            }
            let sum = clamp_sum(s.total());
            match (cf.is_empty(), nf.is_empty()) {
                (false, true) => {
                    figures.choices.insert((t, cf, o), s.count);
                }
                (true, false) => {
                    figures.sums.insert((t, nf), sum);
                }
                (false, false) => {
                    figures.option_sums.insert((t, cf, o, nf), sum);
                }
                (true, true) => {}
            }
        }
    }
    for (i, u) in per_unit.iter().enumerate() {
        for (t, f) in &u.cells {
            if f.records != 0 {
                figures.unit_counts.insert((i, *t), f.records);
            }
        }
    }
    Ok(figures)
}

/// The nearest i64 of an exact sum (only values stored before the input bound can leave it).
fn clamp_sum(total: i128) -> i64 {
    exact_sum(
        i64::try_from(total >> 32).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX }),
        i64::try_from(total & 0xFFFF_FFFF).unwrap_or(0),
    )
}

/// The figures straight from the records: what the rollups must equal, figure by figure.
async fn record_figures(
    c: &mut Conn,
    actor: &Actor,
    root: i64,
    range: DateRange,
    grouping: Grouping,
    units: &[Unit],
) -> StoreResult<Figures> {
    // The records counted: under the root (or under a unit within its part of the period), as
    // the tree was on each record's date. For a subtree this is a join on the closure, which the
    // planner can hash; a record has at most one closure row per ancestor on a given date.
    let base = |q: &mut Sql| -> (String, String) {
        let county = q.arg(actor.county_id);
        let from = q.arg(range.from);
        let to = q.arg(range.to);
        let filter = format!("r.county_id = {county} AND r.voided_at IS NULL AND r.occurred_on BETWEEN {from} AND {to}");
        match grouping {
            Grouping::Children => {
                let a = q.arg(root);
                (
                    format!(" JOIN org_closure cl ON cl.descendant_id = r.org_id AND cl.ancestor_id = {a} AND cl.valid_from <= r.occurred_on AND (cl.valid_to IS NULL OR r.occurred_on < cl.valid_to)"),
                    filter,
                )
            }
            Grouping::Link(_) => {
                let parts: Vec<String> = units
                    .iter()
                    .map(|u| {
                        format!(
                            "(cl.ancestor_id = {} AND r.occurred_on BETWEEN {} AND {})",
                            q.arg(u.org.id),
                            q.arg(u.range.from),
                            q.arg(u.range.to)
                        )
                    })
                    .collect();
                let place = if parts.is_empty() {
                    "1=0".to_string()
                } else {
                    format!("EXISTS (SELECT 1 FROM org_closure cl WHERE cl.descendant_id = r.org_id AND cl.valid_from <= r.occurred_on AND (cl.valid_to IS NULL OR r.occurred_on < cl.valid_to) AND ({}))", parts.join(" OR "))
                };
                (String::new(), format!("{filter} AND {place}"))
            }
        }
    };
    let mut figures = Figures::default();

    let mut q = Sql::new("");
    let (j, w) = base(&mut q);
    q.text = format!("SELECT r.ledger_type_id, COUNT(*), COUNT(DISTINCT r.org_id) FROM ledger_records r{j} WHERE {w} GROUP BY r.ledger_type_id");
    for (t, n, orgs) in fetch_all::<(i64, i64, i64)>(c, &q).await? {
        figures.totals.insert(t, (n, orgs, 0));
    }
    let mut q = Sql::new("");
    let (j, w) = base(&mut q);
    q.text = format!("SELECT r.ledger_type_id, COUNT(DISTINCT rp.person_id) FROM ledger_records r{j} JOIN record_people rp ON rp.county_id = r.county_id AND rp.record_id = r.id WHERE {w} GROUP BY r.ledger_type_id");
    for (t, people) in fetch_all::<(i64, i64)>(c, &q).await? {
        if let Some(x) = figures.totals.get_mut(&t) {
            x.2 = people;
        }
    }
    let mut q = Sql::new("");
    let (j, w) = base(&mut q);
    q.text = format!(
        "SELECT r.ledger_type_id, f.field_key, f.option_value, {SUM_HIGH}, {SUM_LOW}, COUNT(*)
         FROM ledger_records r{j} JOIN record_facts f ON f.record_id = r.id WHERE {w} GROUP BY r.ledger_type_id, f.field_key, f.option_value"
    );
    for (t, field, option, high, low, n) in
        fetch_all::<(i64, String, Option<String>, i64, i64, i64)>(c, &q).await?
    {
        let sum = exact_sum(high, low);
        match option {
            Some(o) => {
                figures.choices.insert((t, field, o), n);
            }
            None => {
                figures.sums.insert((t, field), sum);
            }
        }
    }
    let mut q = Sql::new("");
    let (j, w) = base(&mut q);
    q.text = format!(
        "SELECT r.ledger_type_id, fc.field_key, fc.option_value, f.field_key, {SUM_HIGH}, {SUM_LOW}
         FROM ledger_records r{j} JOIN record_facts fc ON fc.record_id = r.id AND fc.option_value IS NOT NULL
         JOIN record_facts f ON f.record_id = r.id AND f.num_value IS NOT NULL
         WHERE {w} GROUP BY r.ledger_type_id, fc.field_key, fc.option_value, f.field_key"
    );
    for (t, choice, option, num, high, low) in
        fetch_all::<(i64, String, String, String, i64, i64)>(c, &q).await?
    {
        figures
            .option_sums
            .insert((t, choice, option, num), exact_sum(high, low));
    }
    if !units.is_empty() {
        let mut q = Sql::new("");
        let county = q.arg(actor.county_id);
        let parts: Vec<String> = units
            .iter()
            .map(|u| {
                format!(
                    "(u.ancestor_id = {} AND r.occurred_on BETWEEN {} AND {})",
                    q.arg(u.org.id),
                    q.arg(u.range.from),
                    q.arg(u.range.to)
                )
            })
            .collect();
        q.text = format!(
            "SELECT u.ancestor_id, r.ledger_type_id, COUNT(*) FROM ledger_records r
             JOIN org_closure u ON u.descendant_id = r.org_id AND u.valid_from <= r.occurred_on AND (u.valid_to IS NULL OR r.occurred_on < u.valid_to)
             WHERE r.county_id = {county} AND r.voided_at IS NULL AND ({}) GROUP BY u.ancestor_id, r.ledger_type_id",
            parts.join(" OR ")
        );
        let index: HashMap<i64, usize> = units
            .iter()
            .enumerate()
            .map(|(i, u)| (u.org.id, i))
            .collect();
        for (unit, t, n) in fetch_all::<(i64, i64, i64)>(c, &q).await? {
            if let Some(i) = index.get(&unit) {
                *figures.unit_counts.entry((*i, t)).or_default() += n;
            }
        }
    }
    Ok(figures)
}
