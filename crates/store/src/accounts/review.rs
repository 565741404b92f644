//! 双人复核 with split knowledge: creating, resetting (password or second factor) or granting a
//! privileged account (`Role::is_privileged`) is a request of the security administrator that
//! takes effect only when an administrator of another duty confirms it. Neither sees a usable
//! secret: the initiator is shown the first half of an activation code, the confirmer the second,
//! and the account's owner combines both once at `/activate` to choose a password. The code is
//! kept only as a keyed hash (under the field key, outside the database), works once, expires,
//! and five wrong tries void it; every step is audited.

use crate::{auth, Actor, NewUser, OrgName, Store, StoreResult, User, UserChange};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use taizhang_domain::{Role, UserId};
use utoipa::ToSchema;

/// A pending request may be confirmed for this long; a confirmed code may be used for this long.
pub const REQUEST_SECS: i64 = 7 * 86_400;
pub const ACTIVATION_SECS: i64 = 72 * 3600;
/// Wrong activation codes that void a request.
pub const ACTIVATION_TRIES: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// A new privileged account.
    Create,
    /// A new password for a privileged account (through an activation code).
    ResetPassword,
    /// Unbinding a privileged account's second factor.
    ResetTotp,
    /// A role or home organisation that makes an account privileged (through a fresh activation).
    Grant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for an administrator of another duty.
    Pending,
    /// Confirmed: applied; for a code, waiting for the owner's activation.
    Confirmed,
    Refused,
    Cancelled,
    /// The owner chose a password with both halves of the code.
    Activated,
    /// Five wrong codes were tried: a new request is needed.
    Voided,
    /// Not confirmed, or not activated, in time.
    Expired,
}

impl RequestKind {
    pub fn key(self) -> &'static str {
        match self {
            RequestKind::Create => "create",
            RequestKind::ResetPassword => "reset_password",
            RequestKind::ResetTotp => "reset_totp",
            RequestKind::Grant => "grant",
        }
    }

    pub fn parse(s: &str) -> Option<RequestKind> {
        [
            RequestKind::Create,
            RequestKind::ResetPassword,
            RequestKind::ResetTotp,
            RequestKind::Grant,
        ]
        .into_iter()
        .find(|k| k.key() == s)
    }

    pub fn label_cn(self) -> &'static str {
        match self {
            RequestKind::Create => "新建账号",
            RequestKind::ResetPassword => "重置密码",
            RequestKind::ResetTotp => "解绑验证器",
            RequestKind::Grant => "授予角色",
        }
    }

    /// Whether confirming it hands out an activation code (all but unbinding a second factor).
    pub fn has_code(self) -> bool {
        self != RequestKind::ResetTotp
    }
}

impl RequestState {
    pub fn key(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Confirmed => "confirmed",
            RequestState::Refused => "refused",
            RequestState::Cancelled => "cancelled",
            RequestState::Activated => "activated",
            RequestState::Voided => "voided",
            RequestState::Expired => "expired",
        }
    }

    pub fn label_cn(self) -> &'static str {
        match self {
            RequestState::Pending => "待复核",
            RequestState::Confirmed => "已复核",
            RequestState::Refused => "已驳回",
            RequestState::Cancelled => "已撤回",
            RequestState::Activated => "已激活",
            RequestState::Voided => "已作废",
            RequestState::Expired => "已过期",
        }
    }
}

/// A request about a privileged account, as the administrators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountRequest {
    pub id: i64,
    pub kind: RequestKind,
    pub state: RequestState,
    /// The account (none yet for a new account that is not confirmed).
    #[schema(value_type = Option<i64>)]
    pub user_id: Option<UserId>,
    pub username: String,
    pub display_name: String,
    /// The role the account has, or is to have.
    pub role: Role,
    pub org: OrgName,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Until when it may be confirmed (pending) or its code used (confirmed).
    pub expires_at: DateTime<Utc>,
}

/// What the security administrator's change to an account came to: done at once (an ordinary
/// account), or a request for another duty to confirm, with the first half of the activation
/// code for the owner when it has one.
pub enum AccountOutcome<T> {
    Done(T),
    Requested {
        request: Box<AccountRequest>,
        code_half: Option<String>,
    },
}

impl<T> AccountOutcome<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> AccountOutcome<U> {
        match self {
            AccountOutcome::Done(v) => AccountOutcome::Done(f(v)),
            AccountOutcome::Requested { request, code_half } => {
                AccountOutcome::Requested { request, code_half }
            }
        }
    }
}

/// The owner's activation: user name, the two halves in order, the chosen password.
pub struct Activation<'a> {
    pub username: &'a str,
    pub first: &'a str,
    pub second: &'a str,
    pub password: &'a str,
}

/// The keyed hash of a half typed by the owner (or made here), upper case, without separators.
pub(crate) fn half_hash(key: &crate::crypto::FieldKey, half: &str) -> String {
    key.blind_index("activation_half", &normalise_half(half))
}

/// The keyed hash of the whole code: the first half's hash joined with the second half.
pub(crate) fn code_hash(key: &crate::crypto::FieldKey, first_hash: &str, second: &str) -> String {
    key.blind_index(
        "activation_code",
        &format!("{first_hash}:{}", normalise_half(second)),
    )
}

fn normalise_half(half: &str) -> String {
    half.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Half of an activation code: 8 characters (40 bits) from an alphabet without look-alikes,
/// shown as `ABCD-EFGH`.
pub fn new_code_half() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let chars: Vec<char> = (0..8)
        .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
        .collect();
    format!(
        "{}-{}",
        chars[..4].iter().collect::<String>(),
        chars[4..].iter().collect::<String>()
    )
}

forward! {
    /// The county's requests, newest first: for the security administrator and the reviewers.
    pub async fn account_requests(&self, actor: &Actor) -> StoreResult<Vec<AccountRequest>>
        => account_review::requests(actor);

    /// The reviewer refuses a pending request.
    pub async fn refuse_account_request(&self, actor: &Actor, id: i64) -> StoreResult<AccountRequest>
        => account_review::refuse(actor, id);

    /// The security administrator withdraws a request (pending, or confirmed and not activated).
    pub async fn cancel_account_request(&self, actor: &Actor, id: i64) -> StoreResult<AccountRequest>
        => account_review::cancel(actor, id);
}

impl Store {
    /// Whether an account of this role, at this home organisation, is privileged.
    async fn privileged(
        &self,
        actor: &Actor,
        role: Role,
        org_id: taizhang_domain::OrgId,
    ) -> StoreResult<bool> {
        dispatch!(
            self,
            account_review::is_privileged(actor.county_id.get(), role, org_id.get())
        )
    }

    /// A new account: an ordinary one at once with a temporary password (shown once, changed at
    /// the first login); a privileged one as a request for review.
    pub async fn create_account(
        &self,
        actor: &Actor,
        user: NewUser,
    ) -> StoreResult<AccountOutcome<(User, String)>> {
        if !self.privileged(actor, user.role, user.org_id).await? {
            return Ok(AccountOutcome::Done(
                self.create_user_with_temporary_password(actor, user)
                    .await?,
            ));
        }
        let half = new_code_half();
        let hash = half_hash(self.field_key(), &half);
        let request = dispatch!(self, account_review::request_create(actor, &user, &hash))?;
        Ok(AccountOutcome::Requested {
            request: Box::new(request),
            code_half: Some(half),
        })
    }

    /// A password reset: an ordinary account gets a temporary password now; a privileged one a
    /// request for review (its password stays until the request is confirmed).
    pub async fn reset_account_password(
        &self,
        actor: &Actor,
        id: UserId,
    ) -> StoreResult<AccountOutcome<(User, String)>> {
        let half = new_code_half();
        let hash = half_hash(self.field_key(), &half);
        let requested = dispatch!(
            self,
            account_review::request_for_account(
                actor,
                id.get(),
                RequestKind::ResetPassword,
                None,
                &hash
            )
        )?;
        match requested {
            Some(request) => Ok(AccountOutcome::Requested {
                request: Box::new(request),
                code_half: Some(half),
            }),
            None => Ok(AccountOutcome::Done(self.reset_password(actor, id).await?)),
        }
    }

    /// Unbinding a lost second factor: at once for an ordinary account, under review for a
    /// privileged one.
    pub async fn reset_account_totp(
        &self,
        actor: &Actor,
        id: UserId,
    ) -> StoreResult<AccountOutcome<User>> {
        let requested = dispatch!(
            self,
            account_review::request_for_account(actor, id.get(), RequestKind::ResetTotp, None, "")
        )?;
        match requested {
            Some(request) => Ok(AccountOutcome::Requested {
                request: Box::new(request),
                code_half: None,
            }),
            None => Ok(AccountOutcome::Done(self.reset_totp(actor, id).await?)),
        }
    }

    /// A change to an account. A role or home organisation that makes it privileged becomes a
    /// request (and, once confirmed, a fresh activation, since someone may know its password);
    /// the name and the status in the same change take effect at once.
    pub async fn change_account(
        &self,
        actor: &Actor,
        id: UserId,
        change: &UserChange,
    ) -> StoreResult<AccountOutcome<User>> {
        let half = new_code_half();
        let hash = half_hash(self.field_key(), &half);
        let requested = dispatch!(
            self,
            account_review::request_for_account(
                actor,
                id.get(),
                RequestKind::Grant,
                Some(change),
                &hash
            )
        )?;
        let Some(request) = requested else {
            return Ok(AccountOutcome::Done(
                self.update_user(actor, id, change).await?,
            ));
        };
        if change.display_name.is_some() || change.disabled.is_some() {
            let rest = UserChange {
                display_name: change.display_name.clone(),
                disabled: change.disabled,
                role: None,
                org: None,
            };
            self.update_user(actor, id, &rest).await?;
        }
        Ok(AccountOutcome::Requested {
            request: Box::new(request),
            code_half: Some(half),
        })
    }

    /// An administrator of another duty confirms a pending request: it takes effect now, and
    /// the second half of the activation code is returned (once) when it has one.
    pub async fn confirm_account_request(
        &self,
        actor: &Actor,
        id: i64,
    ) -> StoreResult<(AccountRequest, Option<String>)> {
        let half = new_code_half();
        // Until the owner activates, the account's password is one nobody knows.
        let unusable = tokio::task::spawn_blocking(auth::dummy_hash)
            .await
            .map_err(|e| crate::StoreError::Internal(e.to_string()))?;
        let request = dispatch!(
            self,
            account_review::confirm(actor, id, &normalise_half(&half), &unusable)
        )?;
        let shown = request.kind.has_code().then_some(half);
        Ok((request, shown))
    }

    /// The owner combines both halves and chooses a password. Every refusal says the same
    /// (unknown name, no code, wrong or expired code); wrong codes are counted and audited.
    pub async fn activate_account(&self, a: &Activation<'_>) -> StoreResult<User> {
        let hash = auth::hash_password(a.password.to_string()).await?;
        let first = half_hash(self.field_key(), a.first);
        let code = code_hash(self.field_key(), &first, a.second);
        dispatch!(
            self,
            account_review::activate(a.username.trim(), &code, &hash)
        )
    }
}
