//! The overdue queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::ledgers::{type_from, TypeRow, TYPE_SELECT};
use super::orgs::resolve_org;
use super::*;
use crate::sqlbuild::Sql;
use crate::{org_ref, Actor, OrgName, OverdueItem, Pools, StoreResult};
use chrono::NaiveDate;
use taizhang_domain::rollup::{month_of, next_month};
use taizhang_domain::Action;

// ---- overdue -----------------------------------------------------------------------------------

/// For every cadence rule: organisations of the rule's kinds under `root` that have no matching
/// record for the last closed period past its deadline (overdue), or yet for the current one (due).
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
    let types: Vec<TypeRow> = sqlx::query_as(&format!(
        "{TYPE_SELECT} WHERE t.county_id = $1 ORDER BY t.id"
    ))
    .bind(actor.county_id.get())
    .fetch_all(&mut *c)
    .await?;
    let mut out = Vec::new();
    for t in types.into_iter().map(type_from) {
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
                    fetch_all::<(i64, String, Option<String>)>(&mut c, &q).await?
                {
                    let id = taizhang_domain::OrgId::new(id);
                    out.push(OverdueItem {
                        org: OrgName {
                            id,
                            org_ref: org_ref(id, code.as_deref()),
                            name,
                        },
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
