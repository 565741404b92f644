//! Idempotency keys (幂等键): a create sent again with the key it was first sent with is answered
//! as the first time, and writes nothing.
//!
//! A key is taken before the create runs ([`Store::claim_idempotency_key`]: one row per user and
//! key, its primary key deciding between concurrent requests) and completed with the answer after
//! it ([`Store::complete_idempotency_key`]), or given back when the create was refused
//! ([`Store::release_idempotency_key`]), so that the same request may be tried again. The row is
//! not written in the create's own transaction: the creates are many and each has its own; the
//! reservation is what keeps two requests with one key from both creating. A process that dies
//! between the create's commit and the completion leaves the key taken and unanswered: a repeat
//! is then refused (`InProgress`, and after [`UNANSWERED_AFTER`] `Unanswered`), never created a
//! second time. Keys are kept [`KEEP_DAYS`] days; each claim deletes a bounded number of expired
//! ones.

use crate::{Store, StoreResult};
use chrono::{Duration, Utc};
use taizhang_domain::UserId;

/// How long a key is remembered.
pub const KEEP_DAYS: i64 = 7;
/// Expired keys deleted by one claim, at most.
pub(crate) const SWEEP: i64 = 100;
/// A key taken this long ago and still unanswered belongs to a request that died.
pub const UNANSWERED_AFTER: Duration = Duration::minutes(2);

/// The first answer to a request with a key, replayed to its repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
    /// The `Location` of a redirect (a form's answer).
    pub location: Option<String>,
}

/// What taking a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is the caller's now: run the request, then complete or release it.
    Taken,
    /// The same request was answered before: answer this.
    Replay(SavedAnswer),
    /// The key was used for a different request.
    Mismatch,
    /// A request with the key is running.
    InProgress,
    /// A request took the key long ago and never answered (it died): whether it created
    /// something is unknown, so nothing is created again.
    Unanswered,
}

impl Store {
    /// Takes `key` for the user's request whose fingerprint (a SHA-256, hex) is given, or says
    /// why not.
    pub async fn claim_idempotency_key(
        &self,
        user: UserId,
        key: &str,
        fingerprint: &str,
    ) -> StoreResult<Claim> {
        let now = Utc::now();
        dispatch!(
            self,
            idempotency::claim(
                user.get(),
                key,
                fingerprint,
                now,
                now - Duration::days(KEEP_DAYS)
            )
        )
    }

    /// Keeps the answer of the request that took the key, for its repeats.
    pub async fn complete_idempotency_key(
        &self,
        user: UserId,
        key: &str,
        answer: &SavedAnswer,
    ) -> StoreResult<()> {
        dispatch!(self, idempotency::complete(user.get(), key, answer))
    }

    /// Gives the key back (the request was refused and created nothing).
    pub async fn release_idempotency_key(&self, user: UserId, key: &str) -> StoreResult<()> {
        dispatch!(self, idempotency::release(user.get(), key))
    }
}
