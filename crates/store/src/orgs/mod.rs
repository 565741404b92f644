//! Organisations and their tree over time: who is under whom, since when.

use crate::{Actor, StoreResult};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use taizhang_domain::org::{OrgKind, OrgRef};
use taizhang_domain::OrgId;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Org {
    #[schema(value_type = i64)]
    pub id: OrgId,
    /// Official code, or `o{id}` where there is none: how the API addresses the organisation.
    #[serde(rename = "ref")]
    pub org_ref: String,
    pub kind: OrgKind,
    pub kind_label: String,
    pub name: String,
    pub code: Option<String>,
    pub established_on: NaiveDate,
    pub dissolved_on: Option<NaiveDate>,
    /// Current parent, if any.
    #[schema(value_type = Option<i64>)]
    pub parent_id: Option<OrgId>,
}

impl Org {
    pub fn brief(&self) -> taizhang_domain::bulletin::OrgBrief {
        taizhang_domain::bulletin::OrgBrief {
            id: self.id.get(),
            org_ref: self.org_ref.clone(),
            name: self.name.clone(),
            kind: self.kind,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewOrg {
    pub kind: OrgKind,
    /// 1–60 characters, without control or bidirectional characters.
    #[schema(max_length = 60)]
    pub name: String,
    /// A 6-, 9- or 12-digit 行政区划代码, or an 18-character 统一社会信用代码.
    #[serde(default)]
    #[schema(max_length = 18)]
    pub code: Option<String>,
    /// 1949-10-01 to 2100-12-31; defaults to today.
    #[serde(default)]
    pub established_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgEdge {
    #[schema(value_type = i64)]
    pub parent_id: OrgId,
    pub parent_name: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

/// Where a row of [`Store::bulk_orgs`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkParent {
    /// Under an organisation already on file.
    Org(OrgId),
    /// Under an earlier row of the same call (its index).
    Row(usize),
}

/// One organisation of a [`Store::bulk_orgs`] call.
#[derive(Debug, Clone)]
pub struct BulkOrg {
    pub parent: BulkParent,
    pub org: NewOrg,
}

/// What became of one row of [`Store::bulk_orgs`].
#[derive(Debug, Clone)]
pub enum BulkOrgOutcome {
    Written(Org),
    /// Passed every check, but another row did not and the call was all or nothing: not
    /// written (the id it had inside the rolled-back transaction means nothing).
    Passed(Org),
    /// Its errors (a row under a rejected row is rejected too).
    Rejected(Vec<taizhang_domain::ledger::FieldError>),
}

pub fn org_ref(id: OrgId, code: Option<&str>) -> String {
    OrgRef::for_org(id, code)
}

forward! {
    pub async fn org(&self, actor: &Actor, org_ref: &str) -> StoreResult<Org>
        => orgs::org_by_ref(actor, org_ref);

    pub async fn org_by_id(&self, actor: &Actor, id: OrgId) -> StoreResult<Org>
        => orgs::org_by_id(actor, id.get());

    pub async fn children(
        &self,
        actor: &Actor,
        id: OrgId,
        include_dissolved: bool,
    ) -> StoreResult<Vec<Org>> => orgs::children(actor, id.get(), include_dissolved);

    /// Ancestors from the root down, limited to what the caller may see.
    pub async fn ancestors(&self, actor: &Actor, id: OrgId) -> StoreResult<Vec<Org>>
        => orgs::ancestors(actor, id.get());

    pub async fn org_history(&self, actor: &Actor, id: OrgId) -> StoreResult<Vec<OrgEdge>>
        => orgs::org_history(actor, id.get());

    /// The roots of the caller's scope, for its home page.
    pub async fn scope_roots(&self, actor: &Actor) -> StoreResult<Vec<Org>>
        => orgs::scope_roots(actor);

    pub async fn search_orgs(&self, actor: &Actor, q: &str, limit: i64) -> StoreResult<Vec<Org>>
        => orgs::search_orgs(actor, q, limit);

    /// Organisations of the caller's scope with ids above `after`, by id, each with its current
    /// parent's name: the export's pages.
    pub async fn orgs_after(&self, actor: &Actor, after: i64, limit: i64) -> StoreResult<Vec<(Org, Option<String>)>>
        => orgs::orgs_after(actor, after, limit);

    pub async fn create_org(&self, actor: &Actor, parent_ref: &str, new: NewOrg) -> StoreResult<Org>
        => orgs::create_org(actor, parent_ref, &new);

    /// Many organisations in one transaction, each checked and written as `create_org` does
    /// (audited `create` each), parents before children: a row names an organisation on file
    /// or an earlier row. With `all_or_nothing`, one rejected row and nothing is written;
    /// without `write`, nothing is written in any case (the rows are only checked).
    pub async fn bulk_orgs(&self, actor: &Actor, rows: &[BulkOrg], write: bool, all_or_nothing: bool) -> StoreResult<Vec<BulkOrgOutcome>>
        => orgs_bulk::bulk_orgs(actor, rows, write, all_or_nothing);

    pub async fn rename_org(&self, actor: &Actor, id: OrgId, name: &str) -> StoreResult<Org>
        => orgs::rename_org(actor, id.get(), name);

    pub async fn move_org(
        &self,
        actor: &Actor,
        id: OrgId,
        new_parent_ref: &str,
        on: NaiveDate,
    ) -> StoreResult<Org> => orgs::move_org(actor, id.get(), new_parent_ref, on);

    pub async fn dissolve_org(&self, actor: &Actor, id: OrgId, on: NaiveDate) -> StoreResult<Org>
        => orgs::dissolve_org(actor, id.get(), on);
}
