//! Who may do what, and where. A user's `Scope` is the set of organisation subtrees it may see;
//! every store read and write takes one, so a handler cannot forget the check.

use crate::org::OrgId;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 系统管理员: ledger types and the whole tree of its county; not accounts, not the audit log.
    Admin,
    /// 安全管理员: accounts, roles and the security settings; not the county's work data.
    SecAdmin,
    /// 组织管理员: edits the tree, people and cross-links within its scope, records entries.
    Manager,
    /// 填报员: records ledger entries within its scope.
    Recorder,
    /// 查看: reads within its scope.
    Viewer,
    /// 审计员: reads the audit log; nothing else.
    Auditor,
    /// 市/省级查看: an account of a city or province (its row names the region) that reads the
    /// organisations, records and bulletins of every county below, and writes nothing in any.
    RegionViewer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ReadOrg,
    EditOrg,
    ReadPeople,
    EditPeople,
    /// See 身份证号 and phone numbers whole.
    ReadPersonalData,
    ManageLedgerTypes,
    RecordEntry,
    ReadRecords,
    ReadBulletin,
    ReadAudit,
    /// Create accounts, assign roles and scopes, reset passwords and second factors.
    ManageUsers,
    /// Change the security settings (password age, second factor for administrators).
    ManageSecurity,
    /// See the background jobs and retry those given up (系统管理员 only).
    ManageJobs,
    /// Confirm or refuse the security administrator's request to create, reset or grant a
    /// privileged account (双人复核): an administrator of another duty.
    ReviewAccountRequests,
}

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::Admin,
        Role::SecAdmin,
        Role::Manager,
        Role::Recorder,
        Role::Viewer,
        Role::Auditor,
        Role::RegionViewer,
    ];

    /// 三员: the system, security and audit administrators, who must use a second factor.
    pub fn is_administrator(self) -> bool {
        matches!(self, Role::Admin | Role::SecAdmin | Role::Auditor)
    }

    /// Whether an account of this role is privileged: one of the three administrators, or an
    /// account that reads whole 身份证号 and phones across the whole county (`county_wide`: its
    /// home organisation is the county's root). Creating, resetting or granting such an account
    /// takes two administrators of different duties (双人复核), so that no one person holds
    /// two duties.
    pub fn is_privileged(self, county_wide: bool) -> bool {
        self.is_administrator() || (county_wide && self.allows(Action::ReadPersonalData))
    }

    pub fn key(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::SecAdmin => "secadmin",
            Role::Manager => "manager",
            Role::Recorder => "recorder",
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
            Role::RegionViewer => "region_viewer",
        }
    }

    pub fn label_cn(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::SecAdmin => "安全管理员",
            Role::Manager => "组织管理员",
            Role::Recorder => "填报员",
            Role::Viewer => "查看",
            Role::Auditor => "审计员",
            Role::RegionViewer => "市/省级查看",
        }
    }

    /// Deny by default: every permission is one (role, action) pair listed here, nowhere else,
    /// and a pair not listed is refused, for every role, the system administrator included. A
    /// new `Action` is therefore granted to nobody until it is added here.
    // One arm per role reads as the matrix; a single `matches!` would run them together.
    #[allow(clippy::match_like_matches_macro)]
    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        match (self, action) {
            // 三员分立: each administrator holds one of the three duties and none of the others'.
            (
                Role::Admin,
                ReadOrg
                | EditOrg
                | ReadPeople
                | EditPeople
                | ReadPersonalData
                | ManageLedgerTypes
                | RecordEntry
                | ReadRecords
                | ReadBulletin
                | ManageJobs
                | ReviewAccountRequests,
            ) => true,
            (Role::SecAdmin, ReadOrg | ManageUsers | ManageSecurity) => true,
            (
                Role::Manager,
                ReadOrg | EditOrg | ReadPeople | EditPeople | ReadPersonalData | RecordEntry
                | ReadRecords | ReadBulletin,
            ) => true,
            (Role::Recorder, ReadOrg | ReadPeople | RecordEntry | ReadRecords | ReadBulletin) => {
                true
            }
            (Role::Viewer, ReadOrg | ReadPeople | ReadRecords | ReadBulletin) => true,
            (Role::Auditor, ReadAudit | ReviewAccountRequests) => true,
            (Role::RegionViewer, ReadOrg | ReadRecords | ReadBulletin) => true,
            // Everything not listed above, for every role.
            _ => false,
        }
    }
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::ReadOrg,
        Action::EditOrg,
        Action::ReadPeople,
        Action::EditPeople,
        Action::ReadPersonalData,
        Action::ManageLedgerTypes,
        Action::RecordEntry,
        Action::ReadRecords,
        Action::ReadBulletin,
        Action::ReadAudit,
        Action::ManageUsers,
        Action::ManageSecurity,
        Action::ManageJobs,
        Action::ReviewAccountRequests,
    ];
}

impl FromStr for Role {
    type Err = crate::org::UnknownKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .iter()
            .copied()
            .find(|r| r.key() == s)
            .ok_or_else(|| crate::org::UnknownKey(s.to_string()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The organisation subtrees a caller may see: its home organisation plus what its active
/// cross-links grant (a first secretary's village, a covering team's towns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub county_id: i64,
    kind: ScopeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ScopeKind {
    /// A whole county: used by the county's administrators and by explicit, audited jobs.
    County,
    Subtrees(Vec<OrgId>),
}

impl Scope {
    pub fn county(county_id: i64) -> Self {
        Scope {
            county_id,
            kind: ScopeKind::County,
        }
    }

    pub fn subtrees(county_id: i64, mut roots: Vec<OrgId>) -> Self {
        roots.sort_unstable();
        roots.dedup();
        Scope {
            county_id,
            kind: ScopeKind::Subtrees(roots),
        }
    }

    /// `None` for a whole county, else the roots of the visible subtrees.
    pub fn roots(&self) -> Option<&[OrgId]> {
        match &self.kind {
            ScopeKind::County => None,
            ScopeKind::Subtrees(r) => Some(r),
        }
    }

    pub fn is_county(&self) -> bool {
        matches!(self.kind, ScopeKind::County)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The role × action matrix, spelled out so that any change to a permission is a visible change here.
    #[test]
    fn role_action_matrix() {
        use Action::*;
        let actions = [
            ReadOrg,
            EditOrg,
            ReadPeople,
            EditPeople,
            ReadPersonalData,
            ManageLedgerTypes,
            RecordEntry,
            ReadRecords,
            ReadBulletin,
            ReadAudit,
            ManageUsers,
            ManageSecurity,
            ManageJobs,
            ReviewAccountRequests,
        ];
        let expected: [(Role, [bool; 14]); 7] = [
            (
                Role::Admin,
                [
                    true, true, true, true, true, true, true, true, true, false, false, false,
                    true, true,
                ],
            ),
            (
                Role::SecAdmin,
                [
                    true, false, false, false, false, false, false, false, false, false, true,
                    true, false, false,
                ],
            ),
            (
                Role::Manager,
                [
                    true, true, true, true, true, false, true, true, true, false, false, false,
                    false, false,
                ],
            ),
            (
                Role::Recorder,
                [
                    true, false, true, false, false, false, true, true, true, false, false, false,
                    false, false,
                ],
            ),
            (
                Role::Viewer,
                [
                    true, false, true, false, false, false, false, true, true, false, false, false,
                    false, false,
                ],
            ),
            (
                Role::Auditor,
                [
                    false, false, false, false, false, false, false, false, false, true, false,
                    false, false, true,
                ],
            ),
            (
                Role::RegionViewer,
                [
                    true, false, false, false, false, false, false, true, true, false, false,
                    false, false, false,
                ],
            ),
        ];
        for (role, row) in expected {
            for (action, allowed) in actions.iter().zip(row) {
                assert_eq!(role.allows(*action), allowed, "{role:?} × {action:?}");
            }
        }
    }

    /// `Action::ALL` names every action: this match has no wildcard, so a new variant does not
    /// compile until it is listed here, and the test below then fails until it is in `ALL`.
    fn position_in_all(action: Action) -> usize {
        use Action::*;
        match action {
            ReadOrg => 0,
            EditOrg => 1,
            ReadPeople => 2,
            EditPeople => 3,
            ReadPersonalData => 4,
            ManageLedgerTypes => 5,
            RecordEntry => 6,
            ReadRecords => 7,
            ReadBulletin => 8,
            ReadAudit => 9,
            ManageUsers => 10,
            ManageSecurity => 11,
            ManageJobs => 12,
            ReviewAccountRequests => 13,
        }
    }

    #[test]
    fn all_actions_are_listed_once() {
        for (i, action) in Action::ALL.iter().enumerate() {
            assert_eq!(position_in_all(*action), i, "{action:?}");
        }
        assert_eq!(Action::ALL.len(), 14);
    }

    /// How many actions each role is granted. A grant that is not written out in `allows` (a
    /// wildcard, or a new action granted by accident) changes a count and fails here.
    #[test]
    fn grants_are_counted_per_role() {
        let expected = [
            (Role::Admin, 11),
            (Role::SecAdmin, 3),
            (Role::Manager, 8),
            (Role::Recorder, 5),
            (Role::Viewer, 4),
            (Role::Auditor, 2),
            (Role::RegionViewer, 3),
        ];
        assert_eq!(expected.len(), Role::ALL.len());
        for (role, count) in expected {
            let granted = Action::ALL.iter().filter(|a| role.allows(**a)).count();
            assert_eq!(granted, count, "{role:?}");
        }
    }

    /// 三员分立: no role holds more than one of the system, security and audit duties.
    #[test]
    fn no_role_combines_administrator_duties() {
        for role in Role::ALL {
            let duties = [
                role.allows(Action::ManageLedgerTypes),
                role.allows(Action::ManageUsers) || role.allows(Action::ManageSecurity),
                role.allows(Action::ReadAudit),
            ];
            assert!(duties.iter().filter(|d| **d).count() <= 1, "{role:?}");
        }
    }

    /// 双人复核: the security administrator, who requests, never reviews; another duty does.
    /// Privileged accounts are the three administrators and county-wide readers of whole numbers.
    #[test]
    fn reviews_belong_to_another_duty() {
        let reviewers: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|r| r.allows(Action::ReviewAccountRequests))
            .collect();
        assert_eq!(reviewers, [Role::Admin, Role::Auditor]);
        assert!(Role::ALL
            .iter()
            .all(|r| !(r.allows(Action::ManageUsers) && r.allows(Action::ReviewAccountRequests))));
        for role in [Role::Admin, Role::SecAdmin, Role::Auditor] {
            assert!(
                role.is_privileged(false) && role.is_privileged(true),
                "{role:?}"
            );
        }
        assert!(Role::Manager.is_privileged(true));
        assert!(!Role::Manager.is_privileged(false));
        for role in [Role::Recorder, Role::Viewer, Role::RegionViewer] {
            assert!(
                !role.is_privileged(true) && !role.is_privileged(false),
                "{role:?}"
            );
        }
    }

    #[test]
    fn scope_roots_are_deduplicated() {
        let s = Scope::subtrees(1, [5, 3, 5].map(OrgId::new).to_vec());
        assert_eq!(s.roots(), Some(&[3, 5].map(OrgId::new)[..]));
        assert_eq!(Scope::county(1).roots(), None);
    }
}

/// 口令策略: at least 10 characters from at least three of the four classes (upper case, lower
/// case, digits, others). Returns the reason in Chinese when the password is too weak.
pub fn check_password_policy(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < 10 {
        return Err("密码至少10位");
    }
    if password.chars().count() > 128 {
        return Err("密码不能超过128位");
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|x| **x).count() < 3 {
        return Err("密码需包含大写字母、小写字母、数字、符号中的至少三类");
    }
    Ok(())
}

#[cfg(test)]
mod password_tests {
    use super::check_password_policy;

    #[test]
    fn policy() {
        assert!(check_password_policy("demo-password-1").is_ok());
        assert!(check_password_policy("Abcdefgh12").is_ok());
        assert_eq!(check_password_policy("Ab1-"), Err("密码至少10位"));
        assert!(check_password_policy("abcdefghijkl").is_err());
        assert!(check_password_policy("abcdefghij12").is_err());
        assert!(check_password_policy("ABCDEFGHIJ12").is_err());
        assert!(check_password_policy(&"Aa1".repeat(50)).is_err());
    }
}
