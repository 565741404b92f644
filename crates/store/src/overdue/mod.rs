//! Overdue lists: units whose periodic ledgers lack a record for a period that has ended.
//!
//! Every item names its town (镇街): the organisation's ancestor directly below the county
//! committee — a 镇街党(工)委 on the township side, the 县直机关工委 (or any other unit placed
//! directly under the county) on the organs' side. The county committee itself has none.

use crate::{Actor, OrgName, StoreResult};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;
use taizhang_domain::{OrgId, OverdueStatus};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverdueItem {
    pub org: OrgName,
    /// The organisation's town: its ancestor directly below the county (itself for a town);
    /// none for the county committee.
    pub town: Option<OrgName>,
    pub ledger_type: String,
    pub ledger_type_name: String,
    pub rule: String,
    pub period: String,
    pub period_label: String,
    pub due_on: NaiveDate,
    /// `overdue` when the deadline has passed, `due` while it is still open.
    #[schema(value_type = String)]
    pub status: OverdueStatus,
}

/// The most items one page of the overdue list holds.
pub const MAX_OVERDUE_PAGE: i64 = 500;

/// What to keep of an overdue list, and which part of it to return.
#[derive(Debug, Clone, Default)]
pub struct OverdueFilter {
    /// Only items in this organisation's subtree (a town, as a code, `o{id}`, picker text or
    /// name), which must be in the caller's scope.
    pub town: Option<String>,
    /// Only items of this ledger type (its key).
    pub ledger_type: Option<String>,
    pub status: Option<OverdueStatus>,
    /// Items per page, 1 … `MAX_OVERDUE_PAGE`; none for the whole list.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A town's share of the filtered list. `town` is none for the county committee's own items.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TownCount {
    pub town: Option<OrgName>,
    pub overdue: i64,
    pub due: i64,
}

/// One page of the filtered list, with the total and the per-town counts of the whole of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverduePage {
    pub total: i64,
    pub towns: Vec<TownCount>,
    pub items: Vec<OverdueItem>,
}

/// Filters the whole list, sorted as it is shown, and cuts out the asked page.
pub(crate) fn page_of(items: Vec<OverdueItem>, filter: &OverdueFilter) -> OverduePage {
    let kept: Vec<OverdueItem> = items
        .into_iter()
        .filter(|i| filter.status.is_none_or(|s| i.status == s))
        .collect();
    // Keyed by the town's id, so that the counts come in the list's order of towns.
    let mut towns: BTreeMap<Option<OrgId>, TownCount> = BTreeMap::new();
    for i in &kept {
        let count = towns
            .entry(i.town.as_ref().map(|t| t.id))
            .or_insert_with(|| TownCount {
                town: i.town.clone(),
                overdue: 0,
                due: 0,
            });
        match i.status {
            OverdueStatus::Overdue => count.overdue += 1,
            OverdueStatus::Due => count.due += 1,
        }
    }
    let total = kept.len() as i64;
    let offset = filter.offset.unwrap_or(0).clamp(0, total) as usize;
    let items = match filter.limit {
        Some(limit) => {
            let limit = limit.clamp(1, MAX_OVERDUE_PAGE) as usize;
            kept.into_iter().skip(offset).take(limit).collect()
        }
        None => kept.into_iter().skip(offset).collect(),
    };
    OverduePage {
        total,
        towns: towns.into_values().collect(),
        items,
    }
}

forward! {
    /// The whole overdue list under `org_ref`: overdue first, then by town, then by deadline.
    pub async fn overdue(
        &self,
        actor: &Actor,
        org_ref: &str,
        as_of: NaiveDate,
    ) -> StoreResult<Vec<OverdueItem>> => overdue::overdue(actor, org_ref, as_of);

    /// The overdue list under `org_ref` narrowed by `filter`, one page of it.
    pub async fn overdue_page(
        &self,
        actor: &Actor,
        org_ref: &str,
        as_of: NaiveDate,
        filter: &OverdueFilter,
    ) -> StoreResult<OverduePage> => overdue::overdue_page(actor, org_ref, as_of, filter);
}
