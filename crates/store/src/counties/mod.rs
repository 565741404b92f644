//! Counties: each is a tenant with its own root organisation, ledger types and audit chain.

use crate::StoreResult;
use chrono::NaiveDate;
use serde::Serialize;
use taizhang_domain::{CountyId, OrgId};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct County {
    #[schema(value_type = i64)]
    pub id: CountyId,
    pub code: String,
    pub name: String,
    #[schema(value_type = i64)]
    pub root_org_id: OrgId,
}

forward! {
    /// Creates a county with its root organisation and the built-in ledger types.
    pub async fn create_county(
        &self,
        code: &str,
        name: &str,
        established_on: NaiveDate,
    ) -> StoreResult<County> => counties::create_county(code, name, established_on);

    pub async fn county_by_code(&self, code: &str) -> StoreResult<County>
        => counties::county_by_code(code);

    pub async fn counties(&self) -> StoreResult<Vec<County>> => counties::counties();
}
