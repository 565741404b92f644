//! Ledger types and their editor.

mod api;
mod forms;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use pages::page_routes;

use crate::shared::page::PageError;
use crate::AppState;
use taizhang_store::Actor;

/// The ledger types the caller may record, as (key, name) for a choice box.
pub(crate) async fn type_choices(
    st: &AppState,
    actor: &Actor,
) -> Result<Vec<(String, String)>, PageError> {
    Ok(st
        .store
        .ledger_types(actor)
        .await?
        .into_iter()
        .map(|t| (t.key, t.name))
        .collect())
}
