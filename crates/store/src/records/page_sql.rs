//! The records list of a subtree read through the rollups, compiled once per backend (see
//! `backend`): the total is the subtree's monthly counts (and a count of the records on the
//! period's ragged ends), and a page reads only the days that hold it, found from those counts.
//! Without this, a township's first page and its total read every record the township has in
//! the period. Lists the rollups cannot count exactly (a field, option or person filter, or a
//! scope the subtree has not sat wholly inside for the whole period) are left to the records.

use super::records::{ledger_type_id, record_filter, records_from, RecordRow, RECORD_SELECT};
use super::*;
use crate::sqlbuild::Sql;
use crate::{Actor, RecordPage, RecordQuery, StoreResult};
use chrono::NaiveDate;
use std::collections::HashMap;
use taizhang_domain::rollup::{month_of, month_stretches, next_month, page_window, DayCount};

/// The page from the rollups, or `None` when they cannot give it exactly.
pub(crate) async fn page_from_rollups(
    c: &mut Conn,
    actor: &Actor,
    rq: &RecordQuery,
) -> StoreResult<Option<RecordPage>> {
    let filtered = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    if rq.person.is_some() || (filtered(&rq.field) && filtered(&rq.option)) {
        return Ok(None);
    }
    let Some(org) = rq.org.as_deref().filter(|o| !o.is_empty()) else {
        return Ok(None);
    };
    // The list's own filter, built (and its dates checked) once: the counts of the ragged ends
    // and the page narrow it to their days.
    let mut list = Sql::new("");
    let cond = record_filter(c, actor, rq, &mut list).await?;
    let root = super::orgs::resolve_org(c, actor, org).await?;
    let type_id = match rq.ledger_type.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(key) => match ledger_type_id(c, actor, key).await? {
            Some(id) => Some(id),
            None => return Ok(None),
        },
    };
    let type_cond = |q: &mut Sql| match type_id {
        Some(t) => format!(" AND ledger_type_id = {}", q.arg(t)),
        None => String::new(),
    };

    // The months the subtree has records in bound the period.
    let mut q = Sql::new("SELECT MIN(month), MAX(month) FROM rollup_tree_cells WHERE org_id = ");
    let r = q.arg(root);
    let t = type_cond(&mut q);
    q.push(&format!("{r}{t}"));
    let (Some(min), Some(max)) = fetch_optional::<(Option<NaiveDate>, Option<NaiveDate>)>(c, &q)
        .await?
        .unwrap_or((None, None))
    else {
        return Ok(Some(empty()));
    };
    let from = rq.from.map_or(min, |f| f.max(min));
    let end = next_month(max).pred_opt().unwrap_or(max);
    let to = rq.to.map_or(end, |t| t.min(end));
    if to < from {
        return Ok(Some(empty()));
    }

    // The subtree counts in the caller's scope, record by record, only if it has sat inside the
    // scope for the whole period: a record under it on its date is then in scope, and one that
    // is in scope and under it on its date is counted by its rollups.
    if let Some(roots) = actor.scope.roots() {
        let mut q = Sql::new("SELECT 1 FROM org_closure WHERE descendant_id = ");
        let r = q.arg(root);
        let l = if roots.is_empty() {
            "NULL".to_string()
        } else {
            q.list(roots)
        };
        let f = q.arg(from);
        q.push(&format!(
            "{r} AND ancestor_id IN ({l}) AND valid_to IS NULL AND valid_from <= {f}"
        ));
        if fetch_optional::<(i32,)>(c, &q).await?.is_none() {
            return Ok(None);
        }
    }

    // Whole months from the rollups, ragged ends from the records.
    let mut q = Sql::new("SELECT month, CAST(SUM(records) AS BIGINT) FROM rollup_tree_cells WHERE org_id = ");
    let r = q.arg(root);
    let a = q.arg(month_of(from));
    let b = q.arg(month_of(to));
    let t = type_cond(&mut q);
    q.push(&format!(
        "{r} AND month >= {a} AND month <= {b}{t} GROUP BY month"
    ));
    let monthly: HashMap<NaiveDate, i64> = fetch_all::<(NaiveDate, i64)>(c, &q)
        .await?
        .into_iter()
        .collect();
    let mut counts = Vec::new();
    for (first, last, whole) in month_stretches(from, to) {
        let records = if whole {
            monthly.get(&first).copied().unwrap_or(0)
        } else {
            let mut q = list.clone();
            let days = days_cond(&mut q, first, last);
            q.text = format!("SELECT COUNT(*) FROM ledger_records r JOIN ledger_types t ON t.id = r.ledger_type_id{cond}{days}");
            fetch_optional::<(i64,)>(c, &q).await?.map_or(0, |r| r.0)
        };
        counts.push(DayCount {
            first,
            last,
            records,
        });
    }
    let total = counts.iter().map(|c| c.records).sum();
    let limit = rq.limit.unwrap_or(50).clamp(1, 1000);
    let Some(w) = page_window(&counts, rq.offset.unwrap_or(0), limit) else {
        return Ok(Some(RecordPage {
            total,
            records: Vec::new(),
        }));
    };
    let mut q = list;
    let days = days_cond(&mut q, w.first, w.last);
    let lim = q.arg(limit);
    let off = q.arg(w.skip);
    q.text = format!(
        "{RECORD_SELECT}{cond}{days} ORDER BY r.occurred_on DESC, r.id DESC LIMIT {lim} OFFSET {off}"
    );
    let rows = fetch_all::<RecordRow>(c, &q).await?;
    Ok(Some(RecordPage {
        total,
        records: records_from(c, rows).await?,
    }))
}

fn empty() -> RecordPage {
    RecordPage {
        total: 0,
        records: Vec::new(),
    }
}

/// The list narrowed to the days `[first, last]`.
fn days_cond(q: &mut Sql, first: NaiveDate, last: NaiveDate) -> String {
    let a = q.arg(first);
    let b = q.arg(last);
    format!(" AND r.occurred_on >= {a} AND r.occurred_on <= {b}")
}
