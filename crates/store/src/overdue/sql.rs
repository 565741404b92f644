//! The overdue queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::ledgers::{type_from, TypeRow, TYPE_SELECT};
use super::orgs::resolve_org;
use super::*;
use crate::sqlbuild::Sql;
use crate::overdue::page_of;
use crate::{org_ref, Actor, OrgName, OverdueFilter, OverdueItem, OverduePage, Pools, StoreError, StoreResult};
use std::collections::HashMap;
use taizhang_domain::org::OrgKind;
use taizhang_domain::OrgId;
use chrono::NaiveDate;
use taizhang_domain::rollup::{month_of, next_month};
use taizhang_domain::ledger::MAX_KEY;
use taizhang_domain::Action;

// ---- overdue -----------------------------------------------------------------------------------

/// The whole list under `root_ref`: overdue first, then by town, then by deadline.
pub(crate) async fn overdue(
    p: &Pools<DB>,
    actor: &Actor,
    root_ref: &str,
    as_of: NaiveDate,
) -> StoreResult<Vec<OverdueItem>> {
    require(actor, Action::ReadRecords)?;
    taizhang_domain::check_date_field("as_of", as_of)?;
    let mut c = report_conn(p).await?;
    let root = resolve_org(&mut c, actor, root_ref).await?;
    sorted_items(&mut c, actor, root, as_of, None).await
}

/// The list under `root_ref` narrowed by `filter`: a town narrows the subtree itself (nothing
/// when it lies outside `root_ref`), a ledger type the rules looked at, a status the items kept.
pub(crate) async fn overdue_page(
    p: &Pools<DB>,
    actor: &Actor,
    root_ref: &str,
    as_of: NaiveDate,
    filter: &OverdueFilter,
) -> StoreResult<OverduePage> {
    require(actor, Action::ReadRecords)?;
    taizhang_domain::check_date_field("as_of", as_of)?;
    let mut c = report_conn(p).await?;
    let mut root = resolve_org(&mut c, actor, root_ref).await?;
    if let Some(town) = filter.town.as_deref().filter(|t| !t.is_empty()) {
        let town = resolve_org(&mut c, actor, town).await?;
        let under: Option<(i64,)> = sqlx::query_as("SELECT descendant_id FROM org_closure WHERE ancestor_id = $1 AND descendant_id = $2 AND valid_to IS NULL")
            .bind(root)
            .bind(town)
            .fetch_optional(&mut *c)
            .await?;
        if under.is_none() {
            return Ok(page_of(Vec::new(), filter));
        }
        root = town;
    }
    let ledger_type = filter.ledger_type.as_deref().filter(|t| !t.is_empty());
    if ledger_type.is_some_and(|t| t.chars().count() > MAX_KEY) {
        return Err(StoreError::invalid(
            "ledger_type",
            "too_long",
            format!("台账类型键不能超过{MAX_KEY}个字符"),
        ));
    }
    let items = sorted_items(&mut c, actor, root, as_of, ledger_type).await?;
    Ok(page_of(items, filter))
}

/// Every item under `root` (of one ledger type, if given), with its town, in the list's order.
async fn sorted_items(
    c: &mut Conn,
    actor: &Actor,
    root: i64,
    as_of: NaiveDate,
    ledger_type: Option<&str>,
) -> StoreResult<Vec<OverdueItem>> {
    let mut items = missing_items(c, actor, root, as_of, ledger_type).await?;
    let towns = towns_under(c, actor, root).await?;
    for i in &mut items {
        i.town = towns.get(&i.org.id).cloned();
    }
    // Stable: items equal in these keep the order of types, rules, periods and organisations.
    items.sort_by_key(|i| (i.status, i.town.as_ref().map(|t| t.id), i.due_on));
    Ok(items)
}

/// The town of every organisation under `root`, in one query: the ancestor whose parent is the
/// county committee.
async fn towns_under(
    c: &mut Conn,
    actor: &Actor,
    root: i64,
) -> StoreResult<HashMap<OrgId, OrgName>> {
    let mut q = Sql::new("SELECT cl.descendant_id, t.id, t.name, t.code FROM org_closure cl JOIN org_closure top ON top.descendant_id = cl.ancestor_id AND top.depth = 1 AND top.valid_to IS NULL JOIN orgs county ON county.id = top.ancestor_id JOIN orgs t ON t.id = cl.ancestor_id WHERE cl.valid_to IS NULL AND county.county_id = ");
    let county_id = q.arg(actor.county_id.get());
    let county_kind = q.arg(OrgKind::County.key());
    let r = q.arg(root);
    q.push(&format!(" {county_id} AND county.kind = {county_kind} AND cl.descendant_id IN (SELECT d.descendant_id FROM org_closure d WHERE d.ancestor_id = {r} AND d.valid_to IS NULL)"));
    let rows = fetch_all::<(i64, i64, String, Option<String>)>(c, &q).await?;
    Ok(rows
        .into_iter()
        .map(|(org, id, name, code)| {
            let id = OrgId::new(id);
            let town = OrgName {
                id,
                org_ref: org_ref(id, code.as_deref()),
                name,
            };
            (OrgId::new(org), town)
        })
        .collect())
}

/// For every cadence rule: organisations of the rule's kinds under `root` that have no matching
/// record for the last closed period past its deadline (overdue), or yet for the current one (due).
async fn missing_items(
    c: &mut Conn,
    actor: &Actor,
    root: i64,
    as_of: NaiveDate,
    ledger_type: Option<&str>,
) -> StoreResult<Vec<OverdueItem>> {
    let types: Vec<TypeRow> = sqlx::query_as(&format!(
        "{TYPE_SELECT} WHERE t.county_id = $1 ORDER BY t.id"
    ))
    .bind(actor.county_id.get())
    .fetch_all(&mut *c)
    .await?;
    let mut out = Vec::new();
    for t in types.into_iter().map(type_from) {
        if ledger_type.is_some_and(|k| k != t.key) {
            continue;
        }
        for rule in &t.definition.cadences {
            // No cadence period reaches outside the platform's dates: nothing is due there.
            let Ok(current) = rule.cadence.period_containing(as_of) else {
                continue;
            };
            for (period, is_current) in [(current.previous(), false), (Some(current), true)] {
                let Some(period) = period else { continue };
                let range = period.range();
                let due_on = range.to + chrono::Duration::days(i64::from(rule.grace_days));
                if !is_current && as_of <= due_on {
                    continue; // last period's deadline has not passed yet
                }
                let mut q = Sql::new("SELECT o.id, o.name, o.code FROM org_closure cl JOIN orgs o ON o.id = cl.descendant_id WHERE cl.ancestor_id = ");
                let r = q.arg(root);
                let kinds: Vec<String> = rule.org_kinds.iter().map(|k| q.arg(k.key())).collect();
                let end = q.arg(range.to);
                let tid = q.arg(t.id);
                // Cadence periods of whole months are answered by the rollups (a cell exists only
                // while a record stands behind it); any other period by the records.
                let whole_months = range.from == month_of(range.from)
                    && range.to.succ_opt().is_some_and(|d| d == next_month(range.to));
                let missing = if whole_months {
                    let m1 = q.arg(month_of(range.from));
                    let m2 = q.arg(month_of(range.to));
                    match &rule.when {
                        Some(w) => {
                            let f = q.arg(w.field.as_str());
                            let v = q.arg(w.value.as_str());
                            format!("NOT EXISTS (SELECT 1 FROM rollup_facts rf WHERE rf.org_id = o.id AND rf.month BETWEEN {m1} AND {m2} AND rf.ledger_type_id = {tid} AND rf.choice_field = {f} AND rf.option_value = {v} AND rf.num_field = '')")
                        }
                        None => format!("NOT EXISTS (SELECT 1 FROM rollup_cells rc WHERE rc.org_id = o.id AND rc.month BETWEEN {m1} AND {m2} AND rc.ledger_type_id = {tid})"),
                    }
                } else {
                    let start = q.arg(range.from);
                    let matching = match &rule.when {
                        Some(w) => {
                            let f = q.arg(w.field.as_str());
                            let v = q.arg(w.value.as_str());
                            format!(" AND EXISTS (SELECT 1 FROM record_facts fx WHERE fx.record_id = r.id AND fx.field_key = {f} AND fx.option_value = {v})")
                        }
                        None => String::new(),
                    };
                    format!("NOT EXISTS (SELECT 1 FROM ledger_records r WHERE r.org_id = o.id AND r.ledger_type_id = {tid} AND r.voided_at IS NULL AND r.occurred_on BETWEEN {start} AND {end}{matching})")
                };
                q.push(&format!(
                    "{r} AND cl.valid_to IS NULL AND o.kind IN ({}) AND o.established_on <= {end} AND (o.dissolved_on IS NULL OR o.dissolved_on > {end})
                     AND {missing}
                     ORDER BY o.id",
                    kinds.join(", ")
                ));
                for (id, name, code) in
                    fetch_all::<(i64, String, Option<String>)>(c, &q).await?
                {
                    let id = taizhang_domain::OrgId::new(id);
                    out.push(OverdueItem {
                        org: OrgName {
                            id,
                            org_ref: org_ref(id, code.as_deref()),
                            name,
                        },
                        town: None,
                        ledger_type: t.key.clone(),
                        ledger_type_name: t.name.clone(),
                        rule: rule.label.clone(),
                        period: period.to_string(),
                        period_label: period.label_cn(),
                        due_on,
                        status: taizhang_domain::OverdueStatus::on(as_of, due_on),
                    });
                }
            }
        }
    }
    Ok(out)
}
