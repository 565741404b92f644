//! Accounts: users and their roles, the county's security settings, and the first start (a
//! one-time setup code for the first security administrator).

pub(crate) mod review;

pub use review::{
    new_code_half, AccountOutcome, AccountRequest, Activation, RequestKind, RequestState,
};

use crate::{auth, Actor, OrgName, Store, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taizhang_domain::{CountyId, OrgId, PersonId, Role, UserId};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    #[schema(value_type = i64)]
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub org: OrgName,
    #[schema(value_type = Option<i64>)]
    pub person_id: Option<PersonId>,
    pub disabled: bool,
    /// A second factor (TOTP) is bound.
    pub totp_enrolled: bool,
    /// Must choose a new password at the next login (a new account, a reset).
    pub must_change_password: bool,
    pub password_changed_at: DateTime<Utc>,
}

/// A change to an account by the security administrator; unset fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct UserChange {
    /// 1–30 characters, without control or bidirectional characters.
    #[schema(max_length = 30)]
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

#[derive(Clone, Deserialize)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub org_id: OrgId,
    pub person_id: Option<PersonId>,
    /// A temporary password handed out by the security administrator must be replaced at the
    /// first login.
    pub must_change_password: bool,
}

impl std::fmt::Debug for NewUser {
    /// The password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("password", &"***")
            .field("role", &self.role)
            .field("org_id", &self.org_id)
            .field("person_id", &self.person_id)
            .field("must_change_password", &self.must_change_password)
            .finish()
    }
}

forward! {
    pub async fn users(&self, actor: &Actor) -> StoreResult<Vec<User>> => accounts::users(actor);

    pub async fn update_user(
        &self,
        actor: &Actor,
        id: UserId,
        change: &UserChange,
    ) -> StoreResult<User> => accounts::update_user(actor, id.get(), change);

    pub async fn reset_totp(&self, actor: &Actor, id: UserId) -> StoreResult<User>
        => accounts::reset_totp(actor, id.get());

    pub async fn security_settings(&self, county_id: CountyId) -> StoreResult<SecuritySettings>
        => accounts::security_settings(county_id.get());

    pub async fn update_security_settings(
        &self,
        actor: &Actor,
        new: &SecuritySettings,
    ) -> StoreResult<SecuritySettings> => accounts::update_security_settings(actor, new);

    /// The actor a user would be, for jobs that act on a user's behalf (and for tests).
    pub async fn actor_for_user(&self, username: &str) -> StoreResult<Actor>
        => sessions::actor_for_username(username);
}

impl Store {
    pub async fn create_user(&self, actor: &Actor, user: NewUser) -> StoreResult<User> {
        let hash = auth::hash_password(user.password.clone()).await?;
        dispatch!(self, accounts::create_user(actor, &user, &hash))
    }

    /// A new account with a random temporary password, returned once, to be changed at the
    /// first login.
    pub async fn create_user_with_temporary_password(
        &self,
        actor: &Actor,
        mut user: NewUser,
    ) -> StoreResult<(User, String)> {
        let password = auth::random_password();
        user.password = password.clone();
        user.must_change_password = true;
        Ok((self.create_user(actor, user).await?, password))
    }

    /// A new temporary password for an ordinary account (returned once); ends its sessions.
    pub async fn reset_password(&self, actor: &Actor, id: UserId) -> StoreResult<(User, String)> {
        let password = auth::random_password();
        let hash = auth::hash_password(password.clone()).await?;
        let user = dispatch!(self, accounts::reset_password(actor, id.get(), &hash))?;
        Ok((user, password))
    }

    /// The settings as the security administrator reads them (the role is checked here).
    pub async fn security_settings_as(&self, actor: &Actor) -> StoreResult<SecuritySettings> {
        if !actor.role.allows(taizhang_domain::Action::ManageSecurity) {
            return Err(StoreError::Forbidden);
        }
        self.security_settings(actor.county_id).await
    }

    /// For a county without any account: a new one-time setup code (valid 24 h, stored hashed)
    /// with which the person at the server's console creates the first security administrator.
    pub async fn setup_code(&self, county_id: CountyId) -> StoreResult<Option<String>> {
        if !dispatch!(self, accounts::county_needs_setup(county_id.get()))? {
            return Ok(None);
        }
        let code = auth::new_token();
        let expires = Utc::now().timestamp() + 24 * 3600;
        dispatch!(
            self,
            accounts::put_setup_code(county_id.get(), &auth::token_hash(&code), expires)
        )?;
        Ok(Some(code))
    }

    pub async fn complete_setup(
        &self,
        code: &str,
        username: &str,
        display_name: &str,
        password: &str,
    ) -> StoreResult<User> {
        let hash = auth::hash_password(password.to_string()).await?;
        dispatch!(
            self,
            accounts::complete_setup(
                &auth::token_hash(code.trim()),
                username,
                display_name,
                &hash
            )
        )
    }
}
