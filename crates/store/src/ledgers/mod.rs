//! Ledger types (台账类型): versioned definitions of the fields a record carries.

use crate::{Actor, StoreResult};
use serde::Serialize;
use taizhang_domain::ledger::LedgerTypeDef;
use taizhang_domain::LedgerTypeId;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerType {
    #[schema(value_type = i64)]
    pub id: LedgerTypeId,
    pub key: String,
    pub name: String,
    pub version: i64,
    #[schema(value_type = Object)]
    pub definition: taizhang_domain::ledger::LedgerTypeDef,
}

forward! {
    pub async fn ledger_types(&self, actor: &Actor) -> StoreResult<Vec<LedgerType>>
        => ledgers::ledger_types(actor);

    pub async fn ledger_type(&self, actor: &Actor, key: &str) -> StoreResult<LedgerType>
        => ledgers::ledger_type(actor, key);

    pub async fn create_ledger_type(
        &self,
        actor: &Actor,
        def: LedgerTypeDef,
    ) -> StoreResult<LedgerType> => ledgers::create_ledger_type(actor, &def);

    /// Saves a new version of a type; existing records keep the version they were made with.
    pub async fn update_ledger_type(
        &self,
        actor: &Actor,
        def: LedgerTypeDef,
    ) -> StoreResult<LedgerType> => ledgers::update_ledger_type(actor, &def);
}
