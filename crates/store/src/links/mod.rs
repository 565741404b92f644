//! Cross-links between organisations and people (派驻, 包保, …), each valid over a period.

use crate::{Actor, StoreResult};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use taizhang_domain::org::{AllianceRole, LinkKind};
use taizhang_domain::{LinkId, OrgId, PersonId};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Link {
    #[schema(value_type = i64)]
    pub id: LinkId,
    pub kind: LinkKind,
    pub kind_label: String,
    pub from_org: Option<OrgName>,
    pub from_person: Option<PersonName>,
    pub to_org: OrgName,
    pub via_org: Option<OrgName>,
    // Documented as the plain string it was before the enum (`chair` or `member` for 联盟).
    #[schema(value_type = Option<String>)]
    pub role: Option<AllianceRole>,
    pub note: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    /// The caller may end it: every end (target, source organisation or person, sending unit)
    /// lies in their scope, or they act for the county. Listed links name it; pages use it.
    #[serde(skip)]
    pub writable: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgName {
    #[schema(value_type = i64)]
    pub id: OrgId,
    #[serde(rename = "ref")]
    pub org_ref: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonName {
    #[schema(value_type = i64)]
    pub id: PersonId,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewLink {
    pub kind: LinkKind,
    /// Organisation the link starts from (结对, 包保, 联盟成员), as a code or `o{id}`.
    #[serde(default)]
    pub from_org: Option<String>,
    /// Person the link starts from (派驻 first secretary, 双报到).
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub from_person: Option<PersonId>,
    pub to_org: String,
    /// The sending unit (派出单位) of a 派驻.
    #[serde(default)]
    pub via_org: Option<String>,
    /// `chair` or `member` for 联盟.
    #[serde(default)]
    pub role: Option<String>,
    /// Up to 500 characters; line breaks are kept, control and bidirectional characters refused.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: Option<String>,
    /// 1949-10-01 to 2100-12-31, as every date the API takes.
    pub valid_from: NaiveDate,
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
}

forward! {
    pub async fn create_link(&self, actor: &Actor, new: NewLink) -> StoreResult<Link>
        => links::create_link(actor, &new);

    pub async fn end_link(&self, actor: &Actor, id: LinkId, on: NaiveDate) -> StoreResult<Link>
        => links::end_link(actor, id.get(), on);

    /// Links touching an organisation (from or to it), or all links of a kind in scope.
    pub async fn links(
        &self,
        actor: &Actor,
        org_id: Option<OrgId>,
        kind: Option<taizhang_domain::org::LinkKind>,
    ) -> StoreResult<Vec<Link>> => links::links(actor, org_id.map(OrgId::get), kind);
}
