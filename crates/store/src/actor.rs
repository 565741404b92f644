//! The caller of every store operation.

use taizhang_domain::{CountyId, OrgId, PersonId, Role, Scope, UserId};

/// The caller of every store operation: who it is and what it may see.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub username: String,
    pub role: Role,
    pub county_id: CountyId,
    /// The user's home organisation (`OrgId::new(0)` for a system job, which has none).
    pub org_id: OrgId,
    pub person_id: Option<PersonId>,
    pub scope: Scope,
}

impl Actor {
    /// An explicit, audited actor for administrative jobs (seeding, the CLI's report).
    pub fn system(county_id: CountyId, job: &str) -> Actor {
        Actor {
            user_id: None,
            username: format!("system:{job}"),
            role: Role::Admin,
            county_id,
            org_id: OrgId::new(0),
            person_id: None,
            scope: Scope::county(county_id.get()),
        }
    }

    /// An actor made by `Actor::system` (a job of the binary itself), not a logged-in user.
    pub fn is_system(&self) -> bool {
        self.user_id.is_none() && self.username.starts_with("system:")
    }
}
