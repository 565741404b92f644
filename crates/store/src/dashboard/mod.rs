//! The county dashboard (数据大屏): the headline figures of a month for an organisation's
//! subtree (the county, or a town), read from the bulletin (the rollups), the overdue list and
//! the subtree rollups — never from the records one by one.

use crate::{Actor, OrgName, StoreResult, TownCount};
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

/// A ledger type's records in the month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TypeCount {
    pub ledger_type: String,
    pub ledger_type_name: String,
    pub records: i64,
}

/// A unit directly below the organisation (a town of the county, a village of a town), ranked
/// by its records in the month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RankedUnit {
    pub rank: usize,
    pub org: OrgName,
    pub records: i64,
}

/// The records of one month under the organisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthCount {
    /// The month's first day.
    pub month: NaiveDate,
    pub records: i64,
}

/// The dashboard of an organisation's subtree for the month holding `as_of`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    pub org: OrgName,
    pub as_of: NaiveDate,
    /// The month's label, e.g. `2026年12月`.
    pub month_label: String,
    /// Records dated in the month, and in the month before.
    pub records: i64,
    pub last_month_records: i64,
    /// Every ledger type's records in the month, in the order of the types.
    pub types: Vec<TypeCount>,
    /// Branches (the organisations a cadence rule names) standing on `as_of`, and those of them
    /// with nothing overdue.
    pub branches: i64,
    pub branches_on_schedule: i64,
    /// Items of the overdue list on `as_of`: overdue (已逾期) and due (本期待完成).
    pub overdue: i64,
    pub due: i64,
    /// The units directly below, by records in the month, most first.
    pub ranking: Vec<RankedUnit>,
    /// The overdue list counted per unit directly below (`town` none for the organisation's own
    /// items), most overdue first.
    pub overdue_by_unit: Vec<TownCount>,
    /// The records of the 12 months ending with this one, oldest first.
    pub months: Vec<MonthCount>,
}

forward! {
    /// The dashboard of `org_ref`'s subtree (within the caller's scope, or `NotFound`) for the
    /// month holding `as_of`.
    pub async fn dashboard(
        &self,
        actor: &Actor,
        org_ref: &str,
        as_of: NaiveDate,
    ) -> StoreResult<Dashboard> => dashboard::dashboard(actor, org_ref, as_of);
}
