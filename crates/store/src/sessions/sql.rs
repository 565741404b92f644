//! The sessions queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::accounts::{user_from, user_who, UserRow, USER_SELECT};
use super::*;
use crate::sessions::{LoginFacts, PasswordCheck};
use crate::{Actor, Pools, Session, SessionStage, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::json;
use taizhang_domain::{CountyId, OrgId, PersonId, Role, Scope};

// ---- logins and sessions -----------------------------------------------------------------------

from_row!(PasswordCheck { id, password_hash });
from_row!(LoginFacts {
    county_id,
    role,
    must_change_password,
    password_changed_at,
    totp_secret_enc,
    totp_last_step,
});

pub(crate) async fn user_password_hash(
    p: &Pools<DB>,
    username: &str,
) -> StoreResult<Option<PasswordCheck>> {
    Ok(sqlx::query_as(
        "SELECT id, password_hash FROM users WHERE username = $1 AND disabled = $2",
    )
    .bind(username)
    .bind(false)
    .fetch_optional(&p.read)
    .await?)
}

/// What a login needs after the password matched.
pub(crate) async fn login_facts(p: &Pools<DB>, user_id: i64) -> StoreResult<LoginFacts> {
    Ok(sqlx::query_as("SELECT county_id, role, must_change_password, password_changed_at, totp_secret_enc, totp_last_step FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&p.read)
        .await?)
}

/// Marks a one-time code's step as used; false when it was already used (a replay).
pub(crate) async fn use_totp_step(p: &Pools<DB>, user_id: i64, step: i64) -> StoreResult<bool> {
    let n =
        sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
            .bind(step)
            .bind(user_id)
            .execute(&p.write)
            .await?
            .rows_affected();
    Ok(n == 1)
}

/// Audits a wrong password (or one-time code) of a known account. Limits on guessing are the
/// web layer's (per address, per account and address, per account); nothing here locks the
/// account for everyone.
pub(crate) async fn record_failed_login(p: &Pools<DB>, user_id: i64) -> StoreResult<()> {
    let mut tx = p.write.begin().await?;
    let (county_id, username) = user_who(&mut tx, user_id).await?;
    audit(
        &mut tx,
        &p.audit_key,
        county_id,
        Who {
            name: &username,
            user_id: Some(user_id),
        },
        "login_failed",
        ("session", &user_id.to_string()),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// How the audit log names a user name that matches no account: it is often a password typed
/// into the wrong box, so never the name itself, only a keyed hash prefix (to tell repeated
/// attempts apart) and its length.
pub(crate) fn masked_username(key: &crate::crypto::FieldKey, typed: &str) -> String {
    let h = key.blind_index("login_username", typed);
    format!(
        "未知用户名#{}/{}",
        h.get(..8).unwrap_or(&h),
        typed.chars().count()
    )
}

/// Audits an event about a login name as typed (a failed login of an unknown name, a limit
/// reached, a refused activation): a known account under its name and id, anything else masked.
pub(crate) async fn audit_login_event(
    p: &Pools<DB>,
    username: &str,
    action: &str,
    entity: (&str, &str),
    after: Option<serde_json::Value>,
) -> StoreResult<()> {
    let known: Option<(i64, i64)> =
        sqlx::query_as("SELECT id, county_id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&p.read)
            .await?;
    let county_id = match known {
        Some((_, c)) => c,
        None => match sqlx::query_as::<DB, (i64,)>("SELECT id FROM counties ORDER BY id LIMIT 1")
            .fetch_optional(&p.read)
            .await?
        {
            Some((c,)) => c,
            None => return Ok(()),
        },
    };
    let masked;
    let who = match known {
        Some((id, _)) => Who {
            name: username,
            user_id: Some(id),
        },
        None => {
            masked = masked_username(&p.field_key, username);
            Who {
                name: &masked,
                user_id: None,
            }
        }
    };
    let mut tx = p.write.begin().await?;
    audit(&mut tx, &p.audit_key, county_id, who, action, entity, None, after).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn open_session(
    p: &Pools<DB>,
    user_id: i64,
    token_hash: &str,
    expires: DateTime<Utc>,
    stage: SessionStage,
) -> StoreResult<Session> {
    let mut tx = p.write.begin().await?;
    let (county_id, username) = user_who(&mut tx, user_id).await?;
    let now = Utc::now().timestamp();
    sqlx::query(
        "INSERT INTO sessions (county_id, token_hash, csrf_token, user_id, created_at, last_seen_at, expires_at, stage) VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
    )
    .bind(county_id)
    .bind(token_hash)
    .bind(crate::auth::new_token())
    .bind(user_id)
    .bind(now)
    .bind(expires.timestamp())
    .bind(stage.key())
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        &p.audit_key,
        county_id,
        Who {
            name: &username,
            user_id: Some(user_id),
        },
        "login",
        ("session", &user_id.to_string()),
        None,
        Some(json!({"stage": stage.key()})),
    )
    .await?;
    tx.commit().await?;
    session_by_token(p, token_hash, Utc::now()).await
}

pub(crate) async fn session_by_token(
    p: &Pools<DB>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Session> {
    let now = now.timestamp();
    // Absolute expiry (12 h from login) and idle expiry (30 min without a request).
    let row: Option<(i64, String, i64, String, i64)> = sqlx::query_as(
        "SELECT s.user_id, s.csrf_token, s.last_seen_at, s.stage, s.county_id FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.disabled = $4",
    )
    .bind(token_hash)
    .bind(now)
    .bind(now - crate::auth::IDLE_SECS)
    .bind(false)
    .fetch_optional(&p.read)
    .await?;
    let (user_id, csrf, last_seen, stage, session_county) =
        row.ok_or(StoreError::SessionExpired)?;
    // Touch the session at most once a minute, so reads stay reads.
    if now - last_seen > 60 {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(&p.write)
            .await?;
    }
    let mut c = p.read.acquire().await?;
    let (actor, display_name, org_name) =
        actor_for_user_id(&mut c, user_id, Some(session_county)).await?;
    Ok(Session {
        actor,
        display_name,
        org_name,
        csrf_token: csrf,
        stage: SessionStage::parse(&stage),
    })
}

/// Replaces the password of the session's user, ends the user's other sessions and moves this
/// one on to its next stage.
pub(crate) async fn change_password(
    p: &Pools<DB>,
    token_hash: &str,
    user_id: i64,
    password_hash: &str,
    next: SessionStage,
) -> StoreResult<()> {
    let mut tx = p.write.begin().await?;
    let (county_id, username) = user_who(&mut tx, user_id).await?;
    sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2, must_change_password = $3 WHERE id = $4")
        .bind(password_hash)
        .bind(Utc::now().timestamp())
        .bind(false)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE sessions SET stage = $1 WHERE token_hash = $2")
        .bind(next.key())
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        &p.audit_key,
        county_id,
        Who {
            name: &username,
            user_id: Some(user_id),
        },
        "change_password",
        ("user", &user_id.to_string()),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Binds a confirmed second factor to the session's user; the session becomes a full one.
pub(crate) async fn bind_totp(
    p: &Pools<DB>,
    token_hash: &str,
    user_id: i64,
    secret_enc: &str,
    step: i64,
) -> StoreResult<()> {
    let mut tx = p.write.begin().await?;
    let (county_id, username) = user_who(&mut tx, user_id).await?;
    sqlx::query("UPDATE users SET totp_secret_enc = $1, totp_last_step = $2 WHERE id = $3")
        .bind(secret_enc)
        .bind(step)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE sessions SET stage = $1 WHERE token_hash = $2")
        .bind(SessionStage::Full.key())
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        &p.audit_key,
        county_id,
        Who {
            name: &username,
            user_id: Some(user_id),
        },
        "bind_totp",
        ("user", &user_id.to_string()),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn close_session(p: &Pools<DB>, token_hash: &str) -> StoreResult<()> {
    let mut tx = p.write.begin().await?;
    let row: Option<(i64, i64, String)> = sqlx::query_as(
        "SELECT u.id, u.county_id, u.username FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((uid, county, name)) = row {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            &p.audit_key,
            county,
            Who {
                name: &name,
                user_id: Some(uid),
            },
            "logout",
            ("session", &uid.to_string()),
            None,
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn actor_for_username(p: &Pools<DB>, username: &str) -> StoreResult<Actor> {
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&p.read)
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut c = p.read.acquire().await?;
    Ok(actor_for_user_id(&mut c, id, None).await?.0)
}

/// Builds the actor of a user: its role, and its scope from its home organisation plus the
/// targets of active links that grant scope (派驻 for its person, 包保 for its unit). A region
/// user reads the county its session has opened (`session_county`, while that county is still
/// below its region; else its home county) through that county's read-only actor.
pub(crate) async fn actor_for_user_id(
    c: &mut Conn,
    user_id: i64,
    session_county: Option<i64>,
) -> StoreResult<(Actor, String, String)> {
    let row: UserRow = sqlx::query_as(&format!("{USER_SELECT} WHERE u.id = $1"))
        .bind(user_id)
        .fetch_one(&mut *c)
        .await?;
    let county_id = row.county_id;
    let user = user_from(row)?;
    if user.role == Role::RegionViewer {
        return region_actor(c, user, county_id, session_county).await;
    }
    let scope = match user.role {
        Role::Admin | Role::SecAdmin | Role::Auditor | Role::RegionViewer => {
            Scope::county(county_id)
        }
        _ => {
            let today = crate::today();
            let grants: Vec<(i64,)> = sqlx::query_as(
                "SELECT to_org_id FROM org_links WHERE county_id = $1 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to >= $2)
                 AND ((kind = 'dispatch' AND from_person_id = $3) OR (kind = 'cover' AND from_org_id = $4))",
            )
            .bind(county_id)
            .bind(today)
            .bind(user.person_id.map_or(-1, PersonId::get))
            .bind(user.org.id.get())
            .fetch_all(&mut *c)
            .await?;
            let mut roots = vec![user.org.id];
            roots.extend(grants.into_iter().map(|g| OrgId::new(g.0)));
            Scope::subtrees(county_id, roots)
        }
    };
    let actor = Actor {
        user_id: Some(user.id),
        username: user.username.clone(),
        role: user.role,
        county_id: CountyId::new(county_id),
        org_id: user.org.id,
        person_id: user.person_id,
        scope,
    };
    Ok((actor, user.display_name, user.org.name))
}

/// The actor of a region user in the county its session reads: that county's read-only actor
/// (see `regions::reader_in`), named after the region.
async fn region_actor(
    c: &mut Conn,
    user: crate::User,
    home_county: i64,
    session_county: Option<i64>,
) -> StoreResult<(Actor, String, String)> {
    let (region_id, region_name): (i64, String) = sqlx::query_as(
        "SELECT r.id, r.name FROM users u JOIN regions r ON r.id = u.region_id WHERE u.id = $1",
    )
    .bind(user.id.get())
    .fetch_optional(&mut *c)
    .await?
    .ok_or(StoreError::SessionExpired)?;
    let mut county_id = home_county;
    if let Some(s) = session_county.filter(|s| *s != home_county) {
        if super::regions::county_below(c, region_id, s).await? {
            county_id = s;
        }
    }
    let (root,): (Option<i64>,) = sqlx::query_as("SELECT root_org_id FROM counties WHERE id = $1")
        .bind(county_id)
        .fetch_one(&mut *c)
        .await?;
    let actor = Actor {
        user_id: Some(user.id),
        username: user.username.clone(),
        role: Role::RegionViewer,
        county_id: CountyId::new(county_id),
        org_id: OrgId::new(root.unwrap_or(0)),
        person_id: None,
        scope: Scope::county(county_id),
    };
    Ok((actor, user.display_name, region_name))
}
