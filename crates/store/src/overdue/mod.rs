//! Overdue lists: units whose periodic ledgers lack a record for a period that has ended.

use crate::{Actor, OrgName, StoreResult};
use chrono::NaiveDate;
use serde::Serialize;
use taizhang_domain::OverdueStatus;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverdueItem {
    pub org: OrgName,
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

forward! {
    pub async fn overdue(
        &self,
        actor: &Actor,
        org_ref: &str,
        as_of: NaiveDate,
    ) -> StoreResult<Vec<OverdueItem>> => overdue::overdue(actor, org_ref, as_of);
}
