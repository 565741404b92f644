//! Pickers' searches: organisations and people in the caller's scope by part of the name, by
//! pinyin or initials (see `taizhang_domain::search`) and by official code, best matches first;
//! and an organisation field's text resolved by its name when it is not a code.

use crate::{Actor, Org, OrgName, StoreResult};
use serde::Serialize;
use taizhang_domain::PersonId;
use utoipa::ToSchema;

/// The most a picker lists at once.
pub const MAX_PICKS: i64 = 50;

/// An organisation as a picker lists it: with its current parent's name, which tells apart the
/// many 张庄村 of a county.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgPick {
    #[serde(flatten)]
    pub org: Org,
    pub parent_name: Option<String>,
}

/// A person as a picker lists them: no personal data beyond the name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonPick {
    #[schema(value_type = i64)]
    pub id: PersonId,
    pub name: String,
    pub org: OrgName,
}

forward! {
    /// Organisations in scope matching `q`; dissolved ones after the rest.
    pub async fn pick_orgs(&self, actor: &Actor, q: &str, limit: i64) -> StoreResult<Vec<OrgPick>>
        => search::pick_orgs(actor, q, limit);

    /// People in scope matching `q` by name, pinyin or initials.
    pub async fn pick_people(&self, actor: &Actor, q: &str, limit: i64) -> StoreResult<Vec<PersonPick>>
        => search::pick_people(actor, q, limit);
}
