//! The idempotency key queries, compiled once per backend.

use super::*;
use crate::idempotency::{Claim, SavedAnswer, SWEEP, UNANSWERED_AFTER};
use crate::{Pools, StoreResult};
use chrono::{DateTime, Utc};

type KeyRow = (
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
);

pub(crate) async fn claim(
    p: &Pools<DB>,
    user_id: i64,
    key: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
    expired_before: DateTime<Utc>,
) -> StoreResult<Claim> {
    let mut c = p.write.acquire().await?;
    // A bounded sweep of expired keys, and this key if it has expired.
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE (user_id, idem_key) IN \
         (SELECT user_id, idem_key FROM idempotency_keys WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
    )
    .bind(expired_before)
    .bind(SWEEP)
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2 AND created_at < $3",
    )
    .bind(user_id)
    .bind(key)
    .bind(expired_before)
    .execute(&mut *c)
    .await?;
    let taken = sqlx::query(
        "INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, idem_key) DO NOTHING",
    )
    .bind(user_id)
    .bind(key)
    .bind(fingerprint)
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected();
    if taken == 1 {
        return Ok(Claim::Taken);
    }
    let row: Option<KeyRow> = sqlx::query_as(
        "SELECT fingerprint, status, content_type, body, location, created_at \
         FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2",
    )
    .bind(user_id)
    .bind(key)
    .fetch_optional(&mut *c)
    .await?;
    Ok(match row {
        // Given back between the insert and the read: the caller tries again.
        None => Claim::InProgress,
        Some((fp, _, _, _, _, _)) if fp != fingerprint => Claim::Mismatch,
        Some((_, Some(status), content_type, body, location, _)) => Claim::Replay(SavedAnswer {
            status: u16::try_from(status).unwrap_or(500),
            content_type,
            body: body.unwrap_or_default(),
            location,
        }),
        Some((_, None, _, _, _, at)) if now - at > UNANSWERED_AFTER => Claim::Unanswered,
        Some(_) => Claim::InProgress,
    })
}

pub(crate) async fn complete(
    p: &Pools<DB>,
    user_id: i64,
    key: &str,
    a: &SavedAnswer,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = $1, content_type = $2, body = $3, location = $4 \
         WHERE user_id = $5 AND idem_key = $6",
    )
    .bind(i64::from(a.status))
    .bind(a.content_type.as_deref())
    .bind(a.body.as_str())
    .bind(a.location.as_deref())
    .bind(user_id)
    .bind(key)
    .execute(&p.write)
    .await?;
    Ok(())
}

pub(crate) async fn release(p: &Pools<DB>, user_id: i64, key: &str) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2 AND status IS NULL",
    )
    .bind(user_id)
    .bind(key)
    .execute(&p.write)
    .await?;
    Ok(())
}
