//! What the store hands out and takes in: rows shaped for the web layer, the API and the CLI.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use taizhang_domain::org::{LinkKind, OrgKind, OrgRef, PositionTitle};
use taizhang_domain::{Role, Scope};
use utoipa::ToSchema;

/// The caller of every store operation: who it is and what it may see.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub username: String,
    pub role: Role,
    pub county_id: i64,
    pub org_id: i64,
    pub person_id: Option<i64>,
    pub scope: Scope,
}

impl Actor {
    /// An explicit, audited actor for administrative jobs (seeding, the CLI's report).
    pub fn system(county_id: i64, job: &str) -> Actor {
        Actor {
            user_id: None,
            username: format!("system:{job}"),
            role: Role::Admin,
            county_id,
            org_id: 0,
            person_id: None,
            scope: Scope::county(county_id),
        }
    }

    /// An actor made by `Actor::system` (a job of the binary itself), not a logged-in user.
    pub fn is_system(&self) -> bool {
        self.user_id.is_none() && self.username.starts_with("system:")
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct County {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub root_org_id: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Org {
    pub id: i64,
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
    pub parent_id: Option<i64>,
}

impl Org {
    pub fn brief(&self) -> taizhang_domain::bulletin::OrgBrief {
        taizhang_domain::bulletin::OrgBrief {
            id: self.id,
            org_ref: self.org_ref.clone(),
            name: self.name.clone(),
            kind: self.kind,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewOrg {
    pub kind: OrgKind,
    pub name: String,
    #[serde(default)]
    pub code: Option<String>,
    /// Defaults to today.
    #[serde(default)]
    pub established_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgEdge {
    pub parent_id: i64,
    pub parent_name: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Link {
    pub id: i64,
    pub kind: LinkKind,
    pub kind_label: String,
    pub from_org: Option<OrgName>,
    pub from_person: Option<PersonName>,
    pub to_org: OrgName,
    pub via_org: Option<OrgName>,
    pub role: Option<String>,
    pub note: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgName {
    pub id: i64,
    #[serde(rename = "ref")]
    pub org_ref: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonName {
    pub id: i64,
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
    pub from_person: Option<i64>,
    pub to_org: String,
    /// The sending unit (派出单位) of a 派驻.
    #[serde(default)]
    pub via_org: Option<String>,
    /// `chair` or `member` for 联盟.
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    pub valid_from: NaiveDate,
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub gender: Option<String>,
    pub org: OrgName,
    /// Masked (3708**********123X) unless the caller may see personal data whole.
    pub id_number: Option<String>,
    /// Masked (138****5678) unless the caller may see personal data whole.
    pub phone: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub party_member: bool,
    pub retired: bool,
    pub positions: Vec<Position>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewPerson {
    pub name: String,
    /// The organisation the person belongs to (branch or unit), as a code or `o{id}`.
    pub org: String,
    #[serde(default)]
    pub gender: Option<String>,
    #[serde(default)]
    pub id_number: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub party_member: bool,
    #[serde(default)]
    pub retired: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Position {
    pub id: i64,
    pub person: PersonName,
    pub org: OrgName,
    pub title: PositionTitle,
    pub title_label: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewPosition {
    pub person_id: i64,
    pub org: String,
    pub title: PositionTitle,
    pub valid_from: NaiveDate,
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerType {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub version: i64,
    #[schema(value_type = Object)]
    pub definition: taizhang_domain::ledger::LedgerTypeDef,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Record {
    pub id: i64,
    pub ledger_type: String,
    pub ledger_type_name: String,
    pub type_version: i64,
    pub org: OrgName,
    pub occurred_on: NaiveDate,
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    /// People named in people fields, with their names, for display.
    pub people: Vec<PersonName>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub voided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewRecord {
    pub ledger_type: String,
    pub org: String,
    pub occurred_on: NaiveDate,
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// Which records to list: the ones behind a bulletin figure, or a ledger's page.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordQuery {
    /// Organisation subtree, as a code or `o{id}`; defaults to the caller's organisation.
    pub org: Option<String>,
    pub ledger_type: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only records whose choice field `field` has the value `option`.
    pub field: Option<String>,
    pub option: Option<String>,
    /// Only records naming this person.
    pub person: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordPage {
    pub total: i64,
    pub records: Vec<Record>,
}

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
    pub status: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    #[schema(value_type = Object)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Object)]
    pub after: Option<serde_json::Value>,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub org: OrgName,
    pub person_id: Option<i64>,
    pub disabled: bool,
    /// Locked after repeated failed logins, until this time has passed.
    pub locked: bool,
    /// A second factor (TOTP) is bound.
    pub totp_enrolled: bool,
    /// Must choose a new password at the next login (a new account, a reset).
    pub must_change_password: bool,
    pub password_changed_at: DateTime<Utc>,
}

/// A change to an account by the security administrator; unset fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// Official code or `o{id}` of the account's home organisation (its scope).
    pub org: Option<String>,
    pub disabled: Option<bool>,
}

/// Per-county security settings, changed by the security administrator (audited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecuritySettings {
    /// Days after which a password must be changed; 0 = never.
    pub password_max_age_days: i64,
    /// Administrators (系统、安全、审计管理员) must use a second factor.
    pub totp_required_for_admins: bool,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            password_max_age_days: 90,
            totp_required_for_admins: true,
        }
    }
}

/// How far a login got: only a full session reaches the county's data; the others may only
/// change the password or bind a second factor first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    Full,
    ChangePassword,
    EnrollTotp,
}

impl SessionStage {
    pub fn key(self) -> &'static str {
        match self {
            SessionStage::Full => "full",
            SessionStage::ChangePassword => "change_password",
            SessionStage::EnrollTotp => "enroll_totp",
        }
    }

    pub fn parse(s: &str) -> SessionStage {
        match s {
            "full" => SessionStage::Full,
            "enroll_totp" => SessionStage::EnrollTotp,
            // Anything unknown is the most restricted stage.
            _ => SessionStage::ChangePassword,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub org_id: i64,
    pub person_id: Option<i64>,
    /// A temporary password handed out by the security administrator must be replaced at the
    /// first login.
    pub must_change_password: bool,
}

/// A logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub display_name: String,
    pub org_name: String,
    pub csrf_token: String,
    pub stage: SessionStage,
}

pub fn org_ref(id: i64, code: Option<&str>) -> String {
    OrgRef::for_org(id, code)
}
