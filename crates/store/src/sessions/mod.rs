//! Logins and sessions: passwords, the second factor (TOTP), lockout after failed logins, and the
//! stages a session passes before it reaches the county's data.

use crate::{auth, totp, Actor, SecuritySettings, Store, StoreError, StoreResult};
use chrono::{Duration, Utc};
use taizhang_domain::CountyId;

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

/// A logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub display_name: String,
    pub org_name: String,
    pub csrf_token: String,
    pub stage: SessionStage,
}

/// An account's password hash, looked up by name at a login. No `Debug`: it holds a password
/// hash.
#[derive(Clone)]
pub(crate) struct PasswordCheck {
    pub id: i64,
    pub password_hash: String,
}

/// What a login needs after the password matched. No `Debug`: it holds the (encrypted)
/// second-factor secret.
#[derive(Clone)]
pub(crate) struct LoginFacts {
    pub county_id: i64,
    pub role: String,
    pub must_change_password: bool,
    pub password_changed_at: i64,
    /// The encrypted second-factor secret, when one is bound.
    pub totp_secret_enc: Option<String>,
    /// The last one-time code step used, so that a code works once.
    pub totp_last_step: i64,
}

forward! {
    pub async fn session(&self, token: &str) -> StoreResult<Session>
        => sessions::session_by_token(&auth::token_hash(token), Utc::now());

    pub async fn logout(&self, token: &str) -> StoreResult<()>
        => sessions::close_session(&auth::token_hash(token));
}

impl Store {
    /// Checks a password (and the one-time code when the account has a second factor) and opens
    /// a session; the token is returned once and stored hashed. The session is a full one only
    /// when the password is current and an administrator has a second factor; otherwise it may
    /// only change the password or bind the second factor first.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        totp_code: Option<&str>,
    ) -> StoreResult<(Session, String)> {
        let found = dispatch!(self, sessions::user_password_hash(username))?;
        let now = Utc::now().timestamp();
        // Hash anyway when the user is unknown, so that timing does not reveal which names
        // exist; an unknown name and a wrong password are answered alike.
        let PasswordCheck {
            id: user_id,
            password_hash: hash,
        } = match found {
            Some(f) => f,
            None => PasswordCheck {
                id: 0,
                password_hash: tokio::task::spawn_blocking(auth::dummy_hash)
                    .await
                    .map_err(|e| StoreError::Internal(e.to_string()))?,
            },
        };
        let ok = auth::verify_password(password.to_string(), hash).await?;
        if user_id == 0 {
            self.audit_login_event(username, "login_failed", None)
                .await?;
            return Err(StoreError::BadCredentials);
        }
        if !ok {
            return Err(self.failed_login(user_id).await);
        }
        let facts = dispatch!(self, sessions::login_facts(user_id))?;
        let totp_enrolled = facts.totp_secret_enc.is_some();
        if let Some(secret_enc) = &facts.totp_secret_enc {
            let Some(code) = totp_code.map(str::trim).filter(|c| !c.is_empty()) else {
                return Err(StoreError::SecondFactorRequired);
            };
            let secret = self
                .field_key()
                .decrypt("totp_secret", secret_enc)
                .map_err(|_| StoreError::Internal("第二因素密钥无法解密".into()))?;
            let step = totp::verify(&secret, code, now, facts.totp_last_step);
            // A wrong or replayed code counts as a failed login, like a wrong password.
            match step {
                Some(step) if dispatch!(self, sessions::use_totp_step(user_id, step))? => {}
                _ => return Err(self.failed_login(user_id).await),
            }
        }
        let settings = self
            .security_settings(CountyId::new(facts.county_id))
            .await?;
        let role: taizhang_domain::Role = facts
            .role
            .parse()
            .map_err(|_| StoreError::Internal(format!("unknown role {}", facts.role)))?;
        let expired = settings.password_max_age_days > 0
            && now - facts.password_changed_at > settings.password_max_age_days * 86_400;
        let stage = if facts.must_change_password || expired {
            SessionStage::ChangePassword
        } else if needs_second_factor(&settings, role, totp_enrolled) {
            SessionStage::EnrollTotp
        } else {
            SessionStage::Full
        };
        // A new token at every login: a session id never outlives the login that made it.
        let token = auth::new_token();
        let expires = Utc::now() + Duration::seconds(auth::ABSOLUTE_SECS);
        let session = dispatch!(
            self,
            sessions::open_session(user_id, &auth::token_hash(&token), expires, stage)
        )?;
        Ok((session, token))
    }

    /// Audits a failed login (a wrong password or one-time code); the error to answer with.
    async fn failed_login(&self, user_id: i64) -> StoreError {
        match dispatch!(self, sessions::record_failed_login(user_id)) {
            Ok(()) => StoreError::BadCredentials,
            Err(e) => e,
        }
    }

    /// Audits an event about a login name as typed (`login_failed`, `login_blocked` …): a known
    /// account under its name and id, an unknown name only as a keyed hash prefix and length.
    pub async fn audit_login_event(
        &self,
        username: &str,
        action: &str,
        after: Option<serde_json::Value>,
    ) -> StoreResult<()> {
        dispatch!(
            self,
            sessions::audit_login_event(username, action, ("session", "-"), after)
        )
    }

    /// Changes the session user's own password: the current one must be right, the new one must
    /// meet the policy and differ from it. Ends the user's other sessions.
    pub async fn change_password(
        &self,
        token: &str,
        current: &str,
        new: &str,
    ) -> StoreResult<Session> {
        let session = self.session(token).await?;
        let user_id = session.actor.user_id.ok_or(StoreError::Forbidden)?.get();
        let found = dispatch!(self, sessions::user_password_hash(&session.actor.username))?;
        let hash = found.ok_or(StoreError::SessionExpired)?.password_hash;
        if !auth::verify_password(current.to_string(), hash.clone()).await? {
            return Err(StoreError::invalid(
                "current_password",
                "password.wrong",
                "当前密码不正确",
            ));
        }
        if auth::verify_password(new.to_string(), hash).await? {
            return Err(StoreError::invalid(
                "new_password",
                "password.reused",
                "新密码不能与当前密码相同",
            ));
        }
        let new_hash = auth::hash_password(new.to_string()).await?;
        let settings = self.security_settings(session.actor.county_id).await?;
        let facts = dispatch!(self, sessions::login_facts(user_id))?;
        let totp_enrolled = facts.totp_secret_enc.is_some();
        let next = if needs_second_factor(&settings, session.actor.role, totp_enrolled) {
            SessionStage::EnrollTotp
        } else {
            SessionStage::Full
        };
        dispatch!(
            self,
            sessions::change_password(&auth::token_hash(token), user_id, &new_hash, next)
        )?;
        self.session(token).await
    }

    /// Binds a second factor to the session's user once a code from it has been typed back.
    pub async fn bind_totp(&self, token: &str, secret: &str, code: &str) -> StoreResult<Session> {
        let session = self.session(token).await?;
        let user_id = session.actor.user_id.ok_or(StoreError::Forbidden)?.get();
        let Some(step) = totp::verify(secret, code, Utc::now().timestamp(), 0) else {
            return Err(StoreError::invalid(
                "code",
                "totp.bad_code",
                "动态口令不正确：请核对手机时间，并输入验证器当前显示的6位数字",
            ));
        };
        let enc = self.field_key().encrypt("totp_secret", secret);
        dispatch!(
            self,
            sessions::bind_totp(&auth::token_hash(token), user_id, &enc, step)
        )?;
        self.session(token).await
    }
}

/// An administrator without a bound second factor, where the county requires one.
fn needs_second_factor(
    settings: &SecuritySettings,
    role: taizhang_domain::Role,
    totp_enrolled: bool,
) -> bool {
    settings.totp_required_for_admins && role.is_administrator() && !totp_enrolled
}
