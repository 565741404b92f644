//! The queries of 双人复核 (see `accounts::review`), compiled once per backend: `super` is
//! `backend::sqlite` or `backend::postgres`.

use super::accounts::{check_display_name, check_username, load_user_for_change, user_by_id};
use super::orgs::{ensure_org_in_scope, resolve_org};
use super::*;
use crate::accounts::review::{
    code_hash, AccountRequest, RequestKind, RequestState, ACTIVATION_SECS, ACTIVATION_TRIES,
    REQUEST_SECS,
};
use crate::{org_ref, Actor, NewUser, OrgName, Pools, StoreError, StoreResult, UserChange};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::str::FromStr;
use taizhang_domain::{Action, OrgId, Role, UserId};

struct RequestRow {
    id: i64,
    kind: String,
    state: String,
    user_id: Option<i64>,
    username: String,
    display_name: String,
    role: String,
    org_id: i64,
    org_name: String,
    org_code: Option<String>,
    requested_by_name: String,
    requested_at: i64,
    decided_by_name: Option<String>,
    decided_at: Option<i64>,
    expires_at: i64,
}
from_row!(RequestRow {
    id,
    kind,
    state,
    user_id,
    username,
    display_name,
    role,
    org_id,
    org_name,
    org_code,
    requested_by_name,
    requested_at,
    decided_by_name,
    decided_at,
    expires_at,
});

const REQUEST_SELECT: &str = "SELECT r.id, r.kind, r.state, r.user_id, r.username, r.display_name, r.role, r.org_id, o.name AS org_name, o.code AS org_code, rb.username AS requested_by_name, r.requested_at, db.username AS decided_by_name, r.decided_at, r.expires_at
     FROM account_requests r JOIN orgs o ON o.id = r.org_id JOIN users rb ON rb.id = r.requested_by LEFT JOIN users db ON db.id = r.decided_by";

fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn request_from(r: RequestRow) -> StoreResult<AccountRequest> {
    let bad = |what: &str| StoreError::Internal(format!("account request {}: {what}", r.id));
    let kind = RequestKind::parse(&r.kind).ok_or_else(|| bad(&r.kind))?;
    let mut state = match r.state.as_str() {
        "pending" => RequestState::Pending,
        "confirmed" => RequestState::Confirmed,
        "refused" => RequestState::Refused,
        "cancelled" => RequestState::Cancelled,
        "activated" => RequestState::Activated,
        "voided" => RequestState::Voided,
        other => return Err(bad(other)),
    };
    let open = state == RequestState::Pending || (state == RequestState::Confirmed && kind.has_code());
    if open && r.expires_at <= Utc::now().timestamp() {
        state = RequestState::Expired;
    }
    let org_id = OrgId::new(r.org_id);
    Ok(AccountRequest {
        id: r.id,
        kind,
        state,
        user_id: r.user_id.map(UserId::new),
        username: r.username,
        display_name: r.display_name,
        role: Role::from_str(&r.role).map_err(|e| StoreError::Internal(e.to_string()))?,
        org: OrgName {
            id: org_id,
            org_ref: org_ref(org_id, r.org_code.as_deref()),
            name: r.org_name,
        },
        requested_by: r.requested_by_name,
        requested_at: ts(r.requested_at),
        decided_by: r.decided_by_name,
        decided_at: r.decided_at.map(ts),
        expires_at: ts(r.expires_at),
    })
}

async fn request_by_id(c: &mut Conn, county_id: i64, id: i64) -> StoreResult<AccountRequest> {
    let row: Option<RequestRow> =
        sqlx::query_as(&format!("{REQUEST_SELECT} WHERE r.id = $1 AND r.county_id = $2"))
            .bind(id)
            .bind(county_id)
            .fetch_optional(&mut *c)
            .await?;
    request_from(row.ok_or(StoreError::NotFound)?)
}

async fn privileged_in(c: &mut Conn, county_id: i64, role: Role, org_id: i64) -> StoreResult<bool> {
    let root: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT root_org_id FROM counties WHERE id = $1")
            .bind(county_id)
            .fetch_optional(&mut *c)
            .await?;
    let county_wide = root.and_then(|r| r.0) == Some(org_id);
    Ok(role.is_privileged(county_wide))
}

pub(crate) async fn is_privileged(
    p: &Pools<DB>,
    county_id: i64,
    role: Role,
    org_id: i64,
) -> StoreResult<bool> {
    let mut c = p.read.acquire().await?;
    privileged_in(&mut c, county_id, role, org_id).await
}

/// Refuses to give a privileged role or scope in one step (whatever the route): the store's
/// own guard behind the request flow.
pub(crate) async fn refuse_single_step(
    c: &mut Conn,
    actor: &Actor,
    role: Role,
    org_id: i64,
) -> StoreResult<()> {
    if !actor.is_system() && privileged_in(c, actor.county_id.get(), role, org_id).await? {
        return Err(StoreError::conflict(
            "account_request.required",
            "管理员账号及全县范围可查看完整身份证号的账号，须由另一职责的管理员复核后生效",
        ));
    }
    Ok(())
}

/// Whether a change of role or home organisation gives an account a privilege it lacked, or
/// another administrator duty (a move that keeps the same duty does not).
pub(crate) async fn grant_needs_review(
    c: &mut Conn,
    actor: &Actor,
    before: &crate::User,
    role: Role,
    org_id: i64,
) -> StoreResult<bool> {
    let county = actor.county_id.get();
    if role == before.role && org_id == before.org.id.get() {
        return Ok(false);
    }
    let was = privileged_in(c, county, before.role, before.org.id.get()).await?;
    let will = privileged_in(c, county, role, org_id).await?;
    Ok(will && (!was || role != before.role))
}

/// One open request per account name at a time.
async fn ensure_none_open(c: &mut Conn, username: &str) -> StoreResult<()> {
    let open: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM account_requests WHERE username = $1 AND expires_at > $2 AND (state = 'pending' OR (state = 'confirmed' AND code_hash IS NOT NULL))",
    )
    .bind(username)
    .bind(Utc::now().timestamp())
    .fetch_optional(&mut *c)
    .await?;
    if let Some((id,)) = open {
        return Err(StoreError::conflict(
            "account_request.open",
            format!("该账号已有未完成的复核申请 #{id}，请先处理或撤回"),
        ));
    }
    Ok(())
}

struct Draft<'a> {
    kind: RequestKind,
    user_id: Option<i64>,
    username: &'a str,
    display_name: &'a str,
    role: Role,
    org_id: i64,
    person_id: Option<i64>,
    first_half_hash: &'a str,
}

async fn insert_request(
    c: &mut Conn,
    key: &crate::audit::AuditKey,
    actor: &Actor,
    d: Draft<'_>,
) -> StoreResult<AccountRequest> {
    ensure_none_open(c, d.username).await?;
    let now = Utc::now().timestamp();
    let requested_by = actor.user_id.ok_or(StoreError::Forbidden)?.get();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO account_requests (county_id, kind, state, user_id, username, display_name, role, org_id, person_id, requested_by, requested_at, expires_at, first_half_hash)
         VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(actor.county_id.get())
    .bind(d.kind.key())
    .bind(d.user_id)
    .bind(d.username)
    .bind(d.display_name)
    .bind(d.role.key())
    .bind(d.org_id)
    .bind(d.person_id)
    .bind(requested_by)
    .bind(now)
    .bind(now + REQUEST_SECS)
    .bind(Some(d.first_half_hash).filter(|h| !h.is_empty()))
    .fetch_one(&mut *c)
    .await?;
    audit_as(
        c,
        key,
        actor,
        "account_request",
        "account_request",
        id,
        None,
        Some(json!({"kind": d.kind.key(), "user_id": d.user_id, "username": d.username, "role": d.role.key(), "org_id": d.org_id})),
    )
    .await?;
    request_by_id(c, actor.county_id.get(), id).await
}

/// The security administrator requests a new privileged account.
pub(crate) async fn request_create(
    p: &Pools<DB>,
    actor: &Actor,
    u: &NewUser,
    first_half_hash: &str,
) -> StoreResult<AccountRequest> {
    require(actor, Action::ManageUsers)?;
    let username = u.username.trim();
    check_username(username)?;
    let display_name = check_display_name(&u.display_name)?;
    let mut tx = p.write.begin().await?;
    ensure_org_in_scope(&mut tx, actor, u.org_id.get()).await?;
    let taken: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM users WHERE username = $1
         UNION ALL SELECT id FROM account_requests WHERE username = $1 AND kind = 'create' AND state = 'pending' AND expires_at > $2",
    )
    .bind(username)
    .bind(Utc::now().timestamp())
    .fetch_optional(&mut *tx)
    .await?;
    if taken.is_some() {
        return Err(StoreError::conflict(
            "user.exists",
            format!("用户名“{username}”已被使用"),
        ));
    }
    let request = insert_request(
        &mut tx,
        &p.audit_key,
        actor,
        Draft {
            kind: RequestKind::Create,
            user_id: None,
            username,
            display_name: &display_name,
            role: u.role,
            org_id: u.org_id.get(),
            person_id: u.person_id.map(|x| x.get()),
            first_half_hash,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(request)
}

/// A reset or a grant of an existing account: a request when the account is (or would become)
/// privileged, `None` (nothing written) when the change may be made at once.
pub(crate) async fn request_for_account(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    kind: RequestKind,
    change: Option<&UserChange>,
    first_half_hash: &str,
) -> StoreResult<Option<AccountRequest>> {
    let mut tx = p.write.begin().await?;
    let user = load_user_for_change(&mut tx, actor, id).await?;
    let (role, org_id, needed) = match change {
        Some(ch) => {
            let role = ch.role.unwrap_or(user.role);
            let org_id = match &ch.org {
                Some(r) => resolve_org(&mut tx, actor, r).await?,
                None => user.org.id.get(),
            };
            let needed = grant_needs_review(&mut tx, actor, &user, role, org_id).await?;
            (role, org_id, needed)
        }
        None => {
            let county = actor.county_id.get();
            let needed = privileged_in(&mut tx, county, user.role, user.org.id.get()).await?;
            (user.role, user.org.id.get(), needed)
        }
    };
    if !needed {
        return Ok(None);
    }
    if Some(UserId::new(id)) == actor.user_id {
        return Err(StoreError::conflict(
            "user.self_change",
            "不能更改自己的角色或重置自己的账号，请由另一名安全管理员操作",
        ));
    }
    let hash = if kind.has_code() { first_half_hash } else { "" };
    let request = insert_request(
        &mut tx,
        &p.audit_key,
        actor,
        Draft {
            kind,
            user_id: Some(id),
            username: &user.username,
            display_name: &user.display_name,
            role,
            org_id,
            person_id: user.person_id.map(|x| x.get()),
            first_half_hash: hash,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(request))
}

pub(crate) async fn requests(p: &Pools<DB>, actor: &Actor) -> StoreResult<Vec<AccountRequest>> {
    if !actor.role.allows(Action::ManageUsers) {
        require(actor, Action::ReviewAccountRequests)?;
    }
    let rows: Vec<RequestRow> = sqlx::query_as(&format!(
        "{REQUEST_SELECT} WHERE r.county_id = $1 ORDER BY r.id DESC LIMIT 200"
    ))
    .bind(actor.county_id.get())
    .fetch_all(&p.read)
    .await?;
    rows.into_iter().map(request_from).collect()
}

/// The facts a decision needs that the public view leaves out.
struct Pending {
    requested_by: i64,
    person_id: Option<i64>,
    first_half_hash: Option<String>,
}
from_row!(Pending {
    requested_by,
    person_id,
    first_half_hash
});

async fn load_pending(
    c: &mut Conn,
    actor: &Actor,
    id: i64,
) -> StoreResult<(AccountRequest, Pending)> {
    let request = request_by_id(c, actor.county_id.get(), id).await?;
    if request.state != RequestState::Pending {
        return Err(StoreError::conflict(
            "account_request.decided",
            "该申请已处理或已过期",
        ));
    }
    let facts: Pending = sqlx::query_as(
        "SELECT requested_by, person_id, first_half_hash FROM account_requests WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *c)
    .await?;
    Ok((request, facts))
}

async fn decide(
    c: &mut Conn,
    key: &crate::audit::AuditKey,
    actor: &Actor,
    r: &AccountRequest,
    state: &str,
    action: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE account_requests SET state = $1, decided_by = $2, decided_at = $3 WHERE id = $4")
        .bind(state)
        .bind(actor.user_id.map(|u| u.get()))
        .bind(Utc::now().timestamp())
        .bind(r.id)
        .execute(&mut *c)
        .await?;
    audit_as(
        c,
        key,
        actor,
        action,
        "account_request",
        r.id,
        Some(json!({"state": r.state.key()})),
        Some(json!({"state": state, "kind": r.kind.key(), "user_id": r.user_id, "username": r.username, "role": r.role.key()})),
    )
    .await
}

/// Confirms a pending request and applies it. The confirmer holds another duty than the
/// initiator, is not the initiator, and the request is not about the confirmer's own account.
pub(crate) async fn confirm(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    second_half: &str,
    unusable_hash: &str,
) -> StoreResult<AccountRequest> {
    require(actor, Action::ReviewAccountRequests)?;
    let mut tx = p.write.begin().await?;
    let (r, facts) = load_pending(&mut tx, actor, id).await?;
    let me = actor.user_id.map(|u| u.get());
    if me == Some(facts.requested_by) {
        return Err(StoreError::conflict(
            "account_request.own",
            "不能复核自己提交的申请",
        ));
    }
    let (initiator_role,): (String,) = sqlx::query_as("SELECT role FROM users WHERE id = $1")
        .bind(facts.requested_by)
        .fetch_one(&mut *tx)
        .await?;
    if initiator_role == actor.role.key() {
        return Err(StoreError::conflict(
            "account_request.same_duty",
            "须由与申请人不同职责的管理员复核",
        ));
    }
    if r.user_id.is_some() && r.user_id == actor.user_id || r.username == actor.username {
        return Err(StoreError::conflict(
            "account_request.own_account",
            "不能复核涉及本人账号的申请，请由另一职责的管理员复核",
        ));
    }
    let now = Utc::now().timestamp();
    let user_id = match (r.kind, r.user_id) {
        (RequestKind::Create, _) => {
            let new = NewUser {
                username: r.username.clone(),
                display_name: r.display_name.clone(),
                password: String::new(),
                role: r.role,
                org_id: r.org.id,
                person_id: facts.person_id.map(taizhang_domain::PersonId::new),
                must_change_password: false,
            };
            super::accounts::insert_user(&mut tx, &p.audit_key, actor, &new, unusable_hash)
                .await?
                .id
                .get()
        }
        (_, Some(uid)) => uid.get(),
        (_, None) => return Err(StoreError::Internal(format!("account request {id} has no account"))),
    };
    match r.kind {
        RequestKind::Create => {}
        RequestKind::ResetPassword | RequestKind::Grant => {
            let before = user_by_id(&mut tx, user_id).await?;
            sqlx::query("UPDATE users SET password_hash = $1, must_change_password = $2 WHERE id = $3")
                .bind(unusable_hash)
                .bind(false)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            if r.kind == RequestKind::Grant {
                sqlx::query("UPDATE users SET role = $1, org_id = $2 WHERE id = $3")
                    .bind(r.role.key())
                    .bind(r.org.id.get())
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let (action, before_json, after_json) = if r.kind == RequestKind::Grant {
                (
                    "grant",
                    json!({"role": before.role.key(), "org_id": before.org.id}),
                    json!({"role": r.role.key(), "org_id": r.org.id, "request": id}),
                )
            } else {
                ("reset_password", json!(null), json!({"username": r.username, "request": id}))
            };
            audit_as(&mut tx, &p.audit_key, actor, action, "user", user_id, Some(before_json).filter(|b| !b.is_null()), Some(after_json)).await?;
        }
        RequestKind::ResetTotp => {
            sqlx::query("UPDATE users SET totp_secret_enc = NULL, totp_last_step = 0 WHERE id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            audit_as(&mut tx, &p.audit_key, actor, "reset_totp", "user", user_id, None, Some(json!({"username": r.username, "request": id}))).await?;
        }
    }
    super::accounts::end_sessions(&mut tx, user_id).await?;
    let code = match (r.kind.has_code(), &facts.first_half_hash) {
        (true, Some(first)) => Some(code_hash(&p.field_key, first, second_half)),
        (true, None) => return Err(StoreError::Internal(format!("account request {id} has no code"))),
        (false, _) => None,
    };
    sqlx::query("UPDATE account_requests SET user_id = $1, first_half_hash = NULL, code_hash = $2, expires_at = $3 WHERE id = $4")
        .bind(user_id)
        .bind(code)
        .bind(now + ACTIVATION_SECS)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    decide(&mut tx, &p.audit_key, actor, &r, "confirmed", "account_confirm").await?;
    let r = request_by_id(&mut tx, actor.county_id.get(), id).await?;
    tx.commit().await?;
    Ok(r)
}

pub(crate) async fn refuse(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<AccountRequest> {
    require(actor, Action::ReviewAccountRequests)?;
    let mut tx = p.write.begin().await?;
    let (r, _) = load_pending(&mut tx, actor, id).await?;
    decide(&mut tx, &p.audit_key, actor, &r, "refused", "account_refuse").await?;
    let r = request_by_id(&mut tx, actor.county_id.get(), id).await?;
    tx.commit().await?;
    Ok(r)
}

pub(crate) async fn cancel(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<AccountRequest> {
    require(actor, Action::ManageUsers)?;
    let mut tx = p.write.begin().await?;
    let r = request_by_id(&mut tx, actor.county_id.get(), id).await?;
    let open = r.state == RequestState::Pending
        || (r.state == RequestState::Confirmed && r.kind.has_code());
    if !open {
        return Err(StoreError::conflict(
            "account_request.decided",
            "该申请已处理或已过期",
        ));
    }
    sqlx::query("UPDATE account_requests SET code_hash = NULL, first_half_hash = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    decide(&mut tx, &p.audit_key, actor, &r, "cancelled", "account_cancel").await?;
    let r = request_by_id(&mut tx, actor.county_id.get(), id).await?;
    tx.commit().await?;
    Ok(r)
}

/// The owner's activation. Unknown names, missing, wrong and expired codes are all refused
/// alike; a wrong code for a confirmed request counts, and the fifth voids it.
pub(crate) async fn activate(
    p: &Pools<DB>,
    username: &str,
    code: &str,
    password_hash: &str,
) -> StoreResult<crate::User> {
    let refused = || {
        StoreError::invalid(
            "code",
            "activation.bad_code",
            "激活码不正确或已失效，请核对两段激活码，或请安全管理员重新申请",
        )
    };
    let mut tx = p.write.begin().await?;
    let found: Option<(i64, i64, i64, String)> = sqlx::query_as(
        "SELECT r.id, r.county_id, r.user_id, r.code_hash FROM account_requests r
         WHERE r.username = $1 AND r.state = 'confirmed' AND r.code_hash IS NOT NULL AND r.expires_at > $2 AND r.user_id IS NOT NULL
         ORDER BY r.id DESC LIMIT 1",
    )
    .bind(username)
    .bind(Utc::now().timestamp())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, county_id, user_id, stored)) = found else {
        tx.rollback().await?;
        super::sessions::audit_login_event(p, username, "activation_failed", ("account_request", "-"), None).await?;
        return Err(refused());
    };
    let who = Who {
        name: username,
        user_id: Some(user_id),
    };
    if stored != code {
        let (failed,): (i64,) = sqlx::query_as(
            "UPDATE account_requests SET failed_attempts = failed_attempts + 1 WHERE id = $1 RETURNING failed_attempts",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let voided = failed >= ACTIVATION_TRIES;
        if voided {
            sqlx::query("UPDATE account_requests SET state = 'voided', code_hash = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let action = if voided { "activation_voided" } else { "activation_failed" };
        audit(&mut tx, &p.audit_key, county_id, who, action, ("account_request", &id.to_string()), None, Some(json!({"failed_attempts": failed}))).await?;
        tx.commit().await?;
        return Err(refused());
    }
    sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2, must_change_password = $3 WHERE id = $4")
        .bind(password_hash)
        .bind(Utc::now().timestamp())
        .bind(false)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE account_requests SET state = 'activated', code_hash = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit(&mut tx, &p.audit_key, county_id, who, "account_activate", ("account_request", &id.to_string()), None, Some(json!({"user_id": user_id}))).await?;
    let user = user_by_id(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(user)
}
