//! The dashboard's queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::ledgers::{type_from, TypeRow, TYPE_SELECT};
use super::orgs::resolve_org;
use super::*;
use crate::dashboard::{Dashboard, MonthCount, RankedUnit, TypeCount};
use crate::sqlbuild::Sql;
use crate::{org_ref, Actor, OrgName, Pools, StoreResult, TownCount};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use taizhang_domain::bulletin::Grouping;
use taizhang_domain::dashboard::months_ending;
use taizhang_domain::period::DateRange;
use taizhang_domain::rollup::next_month;
use taizhang_domain::{Action, OrgId, OverdueStatus};

pub(crate) async fn dashboard(
    p: &Pools<DB>,
    actor: &Actor,
    root_ref: &str,
    as_of: NaiveDate,
) -> StoreResult<Dashboard> {
    require(actor, Action::ReadBulletin)?;
    require(actor, Action::ReadRecords)?;
    taizhang_domain::check_date_field("as_of", as_of)?;
    let months = months_ending(as_of, 12);
    let month_end = months
        .last()
        .and_then(|&m| DateRange::new(m, next_month(m).pred_opt()?).ok());
    let (Some(&first), Some(range)) = (months.first(), month_end) else {
        return Err(crate::StoreError::invalid(
            "as_of",
            "dashboard.as_of_out_of_range",
            "日期超出范围",
        ));
    };
    let this = range.from;
    let bulletin =
        super::bulletin::bulletin(p, actor, root_ref, range, Grouping::Children).await?;
    let root = bulletin.org.id;
    let items = super::overdue::overdue(p, actor, &bulletin.org.org_ref, as_of).await?;

    let mut c = report_conn(p).await?;
    // The same organisation the bulletin resolved, in the caller's scope.
    resolve_org(&mut c, actor, &bulletin.org.org_ref).await?;
    let per_month = month_records(&mut c, actor, root, first, this).await?;
    let branches = branches_under(&mut c, actor, root, as_of).await?;
    let units = units_below(&mut c, root).await?;

    let late: BTreeSet<OrgId> = items
        .iter()
        .filter(|i| i.status == OverdueStatus::Overdue)
        .map(|i| i.org.id)
        .collect();
    let mut by_unit: BTreeMap<Option<OrgId>, TownCount> = BTreeMap::new();
    for i in &items {
        let unit = units.get(&i.org.id);
        let count = by_unit
            .entry(unit.map(|u| u.id))
            .or_insert_with(|| TownCount {
                town: unit.cloned(),
                overdue: 0,
                due: 0,
            });
        match i.status {
            OverdueStatus::Overdue => count.overdue += 1,
            OverdueStatus::Due => count.due += 1,
        }
    }
    let mut overdue_by_unit: Vec<TownCount> = by_unit.into_values().collect();
    overdue_by_unit.sort_by_key(|t| (std::cmp::Reverse(t.overdue), std::cmp::Reverse(t.due)));

    let month = |m: NaiveDate| per_month.get(&m).copied().unwrap_or(0);
    Ok(Dashboard {
        org: OrgName {
            id: OrgId::new(root),
            org_ref: bulletin.org.org_ref.clone(),
            name: bulletin.org.name.clone(),
        },
        as_of,
        month_label: bulletin.period_label.clone(),
        records: bulletin.total_records,
        last_month_records: months
            .len()
            .checked_sub(2)
            .map_or(0, |i| month(months[i])),
        types: bulletin
            .sections
            .iter()
            .map(|s| TypeCount {
                ledger_type: s.type_key.clone(),
                ledger_type_name: s.type_name.clone(),
                records: s.records,
            })
            .collect(),
        branches: branches.len() as i64,
        branches_on_schedule: branches.iter().filter(|b| !late.contains(b)).count() as i64,
        overdue: items
            .iter()
            .filter(|i| i.status == OverdueStatus::Overdue)
            .count() as i64,
        due: items
            .iter()
            .filter(|i| i.status == OverdueStatus::Due)
            .count() as i64,
        ranking: bulletin
            .units
            .iter()
            .map(|u| RankedUnit {
                rank: u.rank,
                org: OrgName {
                    id: OrgId::new(u.org.id),
                    org_ref: u.org.org_ref.clone(),
                    name: u.org.name.clone(),
                },
                records: u.records,
            })
            .collect(),
        overdue_by_unit,
        months: months
            .iter()
            .map(|&m| MonthCount {
                month: m,
                records: month(m),
            })
            .collect(),
    })
}

/// The records of each month from `first` to `last` under `root`, from the subtree rollups.
async fn month_records(
    c: &mut Conn,
    actor: &Actor,
    root: i64,
    first: NaiveDate,
    last: NaiveDate,
) -> StoreResult<HashMap<NaiveDate, i64>> {
    let rows: Vec<(NaiveDate, i64)> = sqlx::query_as(
        "SELECT month, CAST(SUM(records) AS BIGINT) FROM rollup_tree_cells WHERE county_id = $1 AND org_id = $2 AND month >= $3 AND month <= $4 GROUP BY month",
    )
    .bind(actor.county_id.get())
    .bind(root)
    .bind(first)
    .bind(last)
    .fetch_all(&mut *c)
    .await?;
    Ok(rows.into_iter().collect())
}

/// The branches under `root` standing on `as_of`: organisations of a kind some cadence rule of
/// the county names.
async fn branches_under(
    c: &mut Conn,
    actor: &Actor,
    root: i64,
    as_of: NaiveDate,
) -> StoreResult<Vec<OrgId>> {
    let types: Vec<TypeRow> = sqlx::query_as(&format!(
        "{TYPE_SELECT} WHERE t.county_id = $1 ORDER BY t.id"
    ))
    .bind(actor.county_id.get())
    .fetch_all(&mut *c)
    .await?;
    let kinds: BTreeSet<&'static str> = types
        .into_iter()
        .map(type_from)
        .flat_map(|t| {
            t.definition
                .cadences
                .iter()
                .flat_map(|r| r.org_kinds.iter().map(|k| k.key()))
                .collect::<Vec<_>>()
        })
        .collect();
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new("SELECT o.id FROM org_closure cl JOIN orgs o ON o.id = cl.descendant_id WHERE cl.ancestor_id = ");
    let r = q.arg(root);
    let kinds: Vec<String> = kinds.into_iter().map(|k| q.arg(k)).collect();
    let day = q.arg(as_of);
    q.push(&format!(
        "{r} AND cl.valid_to IS NULL AND o.kind IN ({}) AND o.established_on <= {day} AND (o.dissolved_on IS NULL OR o.dissolved_on > {day})",
        kinds.join(", ")
    ));
    let rows = fetch_all::<(i64,)>(c, &q).await?;
    Ok(rows.into_iter().map(|(id,)| OrgId::new(id)).collect())
}

/// For every organisation under `root` (itself excepted), the unit directly below `root` it
/// lies in today.
async fn units_below(c: &mut Conn, root: i64) -> StoreResult<HashMap<OrgId, OrgName>> {
    let rows: Vec<(i64, i64, String, Option<String>)> = sqlx::query_as(
        "SELECT cl.descendant_id, u.id, u.name, u.code FROM org_edges e JOIN orgs u ON u.id = e.child_id JOIN org_closure cl ON cl.ancestor_id = e.child_id AND cl.valid_to IS NULL WHERE e.parent_id = $1 AND e.valid_to IS NULL",
    )
    .bind(root)
    .fetch_all(&mut *c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(org, id, name, code)| {
            let id = OrgId::new(id);
            let unit = OrgName {
                id,
                org_ref: org_ref(id, code.as_deref()),
                name,
            };
            (OrgId::new(org), unit)
        })
        .collect())
}
