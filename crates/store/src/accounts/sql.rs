//! The accounts queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::account_review::{grant_needs_review, refuse_single_step};
use super::orgs::{ensure_org_in_scope, resolve_org};
use super::*;
use crate::audit::AuditKey;
use crate::sqlbuild::Sql;
use crate::{
    org_ref, Actor, NewUser, OrgName, Pools, SecuritySettings, StoreError, StoreResult, User,
    UserChange,
};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::str::FromStr;
use taizhang_domain::{Action, CountyId, OrgId, PersonId, Role, UserId};

// ---- users and sessions ------------------------------------------------------------------------

/// An account row with its home organisation's name and code.
pub(crate) struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    org_id: i64,
    person_id: Option<i64>,
    pub(crate) county_id: i64,
    org_name: String,
    org_code: Option<String>,
    disabled: bool,
    totp_enrolled: bool,
    must_change_password: bool,
    password_changed_at: i64,
}
from_row!(UserRow {
    id,
    username,
    display_name,
    role,
    org_id,
    person_id,
    county_id,
    org_name,
    org_code,
    disabled,
    totp_enrolled,
    must_change_password,
    password_changed_at,
});
pub(crate) const USER_SELECT: &str = "SELECT u.id, u.username, u.display_name, u.role, u.org_id, u.person_id, u.county_id, o.name AS org_name, o.code AS org_code, u.disabled, u.totp_secret_enc IS NOT NULL AS totp_enrolled, u.must_change_password, u.password_changed_at FROM users u JOIN orgs o ON o.id = u.org_id";

pub(crate) fn user_from(r: UserRow) -> StoreResult<User> {
    let org_id = OrgId::new(r.org_id);
    Ok(User {
        id: UserId::new(r.id),
        username: r.username,
        display_name: r.display_name,
        role: Role::from_str(&r.role).map_err(|e| StoreError::Internal(e.to_string()))?,
        org: OrgName {
            id: org_id,
            org_ref: org_ref(org_id, r.org_code.as_deref()),
            name: r.org_name,
        },
        person_id: r.person_id.map(PersonId::new),
        disabled: r.disabled,
        totp_enrolled: r.totp_enrolled,
        must_change_password: r.must_change_password,
        password_changed_at: DateTime::from_timestamp(r.password_changed_at, 0).unwrap_or_default(),
    })
}

/// An account by id, read on the caller's connection (inside its transaction when it has one).
pub(crate) async fn user_by_id(c: &mut Conn, id: i64) -> StoreResult<User> {
    let row: UserRow = sqlx::query_as(&format!("{USER_SELECT} WHERE u.id = $1"))
        .bind(id)
        .fetch_one(&mut *c)
        .await?;
    user_from(row)
}

/// The county and name an account's own actions are audited under.
pub(crate) async fn user_who(c: &mut Conn, user_id: i64) -> StoreResult<(i64, String)> {
    Ok(
        sqlx::query_as("SELECT county_id, username FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *c)
            .await?,
    )
}

/// An account's display name: not blank, within `text::DISPLAY_NAME`; trimmed.
pub(crate) fn check_display_name(name: &str) -> StoreResult<String> {
    let name = taizhang_domain::text::DISPLAY_NAME.check(name)?;
    if name.is_empty() {
        return Err(StoreError::invalid(
            "display_name",
            "user.bad_display_name",
            "姓名不能为空，且不超过30个字",
        ));
    }
    Ok(name)
}

/// A username is unique across every county and region.
pub(crate) async fn ensure_username_free(c: &mut Conn, username: &str) -> StoreResult<()> {
    let taken: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&mut *c)
        .await?;
    if taken.is_some() {
        return Err(StoreError::conflict(
            "user.exists",
            format!("用户名“{username}”已被使用"),
        ));
    }
    Ok(())
}

pub(crate) fn check_username(username: &str) -> StoreResult<()> {
    if username.len() < 3
        || username.len() > 40
        || !username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return Err(StoreError::invalid(
            "username",
            "user.bad_username",
            "用户名为3–40位字母、数字、下划线或点",
        ));
    }
    Ok(())
}

/// A county's accounts never hold the role of a region user: those belong to a city or
/// province and are made with `taizhang region user`.
pub(crate) fn refuse_region_role(role: Role) -> StoreResult<()> {
    if role == Role::RegionViewer {
        return Err(StoreError::invalid(
            "role",
            "user.region_role",
            "市/省级查看账号属于市委或省委，不能在县内创建或授予",
        ));
    }
    Ok(())
}

/// Accounts are the security administrator's; a system job (seeding, first start) may create
/// them too.
pub(crate) fn require_manage_users(actor: &Actor) -> StoreResult<()> {
    if actor.is_system() {
        return Ok(());
    }
    require(actor, Action::ManageUsers)
}

pub(crate) async fn insert_user(
    c: &mut Conn,
    key: &AuditKey,
    actor: &Actor,
    u: &NewUser,
    password_hash: &str,
) -> StoreResult<User> {
    taizhang_domain::text::USERNAME.check(&u.username)?;
    let username = u.username.trim();
    check_username(username)?;
    let display_name = check_display_name(&u.display_name)?;
    refuse_region_role(u.role)?;
    ensure_username_free(c, username).await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (county_id, username, display_name, password_hash, role, org_id, person_id, disabled, created_at, password_changed_at, must_change_password)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(actor.county_id.get())
    .bind(username)
    .bind(&display_name)
    .bind(password_hash)
    .bind(u.role.key())
    .bind(u.org_id.get())
    .bind(u.person_id.map(PersonId::get))
    .bind(false)
    .bind(Utc::now())
    .bind(Utc::now().timestamp())
    .bind(u.must_change_password)
    .fetch_one(&mut *c)
    .await?;
    audit_as(
        c,
        key,
        actor,
        "create",
        "user",
        id,
        None,
        Some(json!({"username": username, "role": u.role.key(), "org_id": u.org_id})),
    )
    .await?;
    user_by_id(c, id).await
}

pub(crate) async fn create_user(
    p: &Pools<DB>,
    actor: &Actor,
    u: &NewUser,
    password_hash: &str,
) -> StoreResult<User> {
    require_manage_users(actor)?;
    let mut tx = p.write.begin().await?;
    ensure_org_in_scope(&mut tx, actor, u.org_id.get()).await?;
    refuse_single_step(&mut tx, actor, u.role, u.org_id.get()).await?;
    let user = insert_user(&mut tx, &p.audit_key, actor, u, password_hash).await?;
    tx.commit().await?;
    Ok(user)
}

pub(crate) async fn users(p: &Pools<DB>, actor: &Actor) -> StoreResult<Vec<User>> {
    require(actor, Action::ManageUsers)?;
    let mut q = Sql::new(USER_SELECT);
    let c = q.arg(actor.county_id);
    let s = scope_cond(&mut q, &actor.scope, "u.org_id");
    q.push(&format!(
        " WHERE u.county_id = {c} AND u.region_id IS NULL AND {s} ORDER BY u.id"
    ));
    let mut conn = p.read.acquire().await?;
    fetch_all::<UserRow>(&mut conn, &q)
        .await?
        .into_iter()
        .map(user_from)
        .collect()
}

pub(crate) async fn load_user_for_change(
    c: &mut Conn,
    actor: &Actor,
    id: i64,
) -> StoreResult<User> {
    require(actor, Action::ManageUsers)?;
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "{USER_SELECT} WHERE u.id = $1 AND u.county_id = $2 AND u.region_id IS NULL"
    ))
    .bind(id)
    .bind(actor.county_id.get())
    .fetch_optional(&mut *c)
    .await?;
    let user = user_from(row.ok_or(StoreError::NotFound)?)?;
    ensure_org_in_scope(c, actor, user.org.id.get()).await?;
    Ok(user)
}

/// Changes an account's name, role, scope or status. A security administrator cannot change
/// its own role or disable itself (so that no one grants themselves a second duty, and the
/// county is never left without one); every change is audited with its before and after.
pub(crate) async fn update_user(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    change: &UserChange,
) -> StoreResult<User> {
    let mut tx = p.write.begin().await?;
    let before = load_user_for_change(&mut tx, actor, id).await?;
    if Some(UserId::new(id)) == actor.user_id
        && (change.role.is_some_and(|r| r != before.role) || change.disabled == Some(true))
    {
        return Err(StoreError::conflict(
            "user.self_change",
            "不能更改自己的角色或停用自己的账号，请由另一名安全管理员操作",
        ));
    }
    let display_name = match &change.display_name {
        Some(n) => check_display_name(n)?,
        None => before.display_name.clone(),
    };
    let org_id = match &change.org {
        Some(r) => resolve_org(&mut tx, actor, r).await?,
        None => before.org.id.get(),
    };
    let role = change.role.unwrap_or(before.role);
    refuse_region_role(role)?;
    if grant_needs_review(&mut tx, actor, &before, role, org_id).await? {
        refuse_single_step(&mut tx, actor, role, org_id).await?;
    }
    let disabled = change.disabled.unwrap_or(before.disabled);
    sqlx::query(
        "UPDATE users SET display_name = $1, role = $2, org_id = $3, disabled = $4 WHERE id = $5",
    )
    .bind(&display_name)
    .bind(role.key())
    .bind(org_id)
    .bind(disabled)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if role != before.role || org_id != before.org.id.get() || disabled {
        // A changed duty or scope takes effect now, not at the next login.
        end_sessions(&mut tx, id).await?;
    }
    // A role or scope change is a permission change: audited under its own action.
    let action = if role != before.role || org_id != before.org.id.get() {
        "grant"
    } else {
        "update"
    };
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        action,
        "user",
        id,
        Some(json!({"display_name": before.display_name, "role": before.role.key(), "org_id": before.org.id, "disabled": before.disabled})),
        Some(json!({"display_name": display_name, "role": role.key(), "org_id": org_id, "disabled": disabled})),
    )
    .await?;
    let user = user_by_id(&mut tx, id).await?;
    tx.commit().await?;
    Ok(user)
}

/// Sets a temporary password of an ordinary account (to be changed at the next login) and ends
/// its sessions; a privileged account's goes through review.
pub(crate) async fn reset_password(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    password_hash: &str,
) -> StoreResult<User> {
    let mut tx = p.write.begin().await?;
    let user = load_user_for_change(&mut tx, actor, id).await?;
    refuse_single_step(&mut tx, actor, user.role, user.org.id.get()).await?;
    sqlx::query("UPDATE users SET password_hash = $1, must_change_password = $2, password_changed_at = $3 WHERE id = $4")
        .bind(password_hash)
        .bind(true)
        .bind(Utc::now().timestamp())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let user = finish_reset(&mut tx, &p.audit_key, actor, "reset_password", &user).await?;
    tx.commit().await?;
    Ok(user)
}

/// Unbinds a lost second factor of an ordinary account; the user binds a new one at the next
/// login. A privileged account's goes through review.
pub(crate) async fn reset_totp(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<User> {
    let mut tx = p.write.begin().await?;
    let user = load_user_for_change(&mut tx, actor, id).await?;
    refuse_single_step(&mut tx, actor, user.role, user.org.id.get()).await?;
    sqlx::query("UPDATE users SET totp_secret_enc = NULL, totp_last_step = 0 WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let user = finish_reset(&mut tx, &p.audit_key, actor, "reset_totp", &user).await?;
    tx.commit().await?;
    Ok(user)
}

/// Ends every session of an account, so that a changed secret, duty or scope takes effect now.
pub(crate) async fn end_sessions(c: &mut Conn, user_id: i64) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The end of a one-step reset, once the account's secret is changed: its sessions end, the
/// reset is audited under `action`, and the account is read back.
async fn finish_reset(
    c: &mut Conn,
    key: &AuditKey,
    actor: &Actor,
    action: &str,
    user: &User,
) -> StoreResult<User> {
    let id = user.id.get();
    end_sessions(c, id).await?;
    audit_as(
        c,
        key,
        actor,
        action,
        "user",
        id,
        None,
        Some(json!({"username": user.username})),
    )
    .await?;
    user_by_id(c, id).await
}

// ---- security settings -------------------------------------------------------------------------

pub(crate) async fn security_settings(
    p: &Pools<DB>,
    county_id: i64,
) -> StoreResult<SecuritySettings> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT name, value FROM county_settings WHERE county_id = $1")
            .bind(county_id)
            .fetch_all(&p.read)
            .await?;
    let mut s = SecuritySettings::default();
    for (name, value) in rows {
        match name.as_str() {
            "password_max_age_days" => {
                s.password_max_age_days = value.parse().unwrap_or(s.password_max_age_days)
            }
            "totp_required_for_admins" => s.totp_required_for_admins = value == "true",
            _ => {}
        }
    }
    Ok(s)
}

/// Changes the county's security settings; a configuration change, audited with before and after.
pub(crate) async fn update_security_settings(
    p: &Pools<DB>,
    actor: &Actor,
    new: &SecuritySettings,
) -> StoreResult<SecuritySettings> {
    if !actor.is_system() {
        require(actor, Action::ManageSecurity)?;
    }
    if !(0..=3650).contains(&new.password_max_age_days) {
        return Err(StoreError::invalid(
            "password_max_age_days",
            "settings.bad_age",
            "密码有效期应为0–3650天（0为不过期）",
        ));
    }
    let before = security_settings(p, actor.county_id.get()).await?;
    let mut tx = p.write.begin().await?;
    for (name, value) in [
        (
            "password_max_age_days",
            new.password_max_age_days.to_string(),
        ),
        (
            "totp_required_for_admins",
            new.totp_required_for_admins.to_string(),
        ),
    ] {
        sqlx::query("DELETE FROM county_settings WHERE county_id = $1 AND name = $2")
            .bind(actor.county_id.get())
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO county_settings (county_id, name, value) VALUES ($1, $2, $3)")
            .bind(actor.county_id.get())
            .bind(name)
            .bind(value)
            .execute(&mut *tx)
            .await?;
    }
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "config",
        "security_settings",
        actor.county_id,
        Some(json!(before)),
        Some(json!(new)),
    )
    .await?;
    tx.commit().await?;
    Ok(new.clone())
}

// ---- first start -------------------------------------------------------------------------------

/// Whether the county has no account yet (its first security administrator is still to be set up).
pub(crate) async fn county_needs_setup(p: &Pools<DB>, county_id: i64) -> StoreResult<bool> {
    let any: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE county_id = $1 LIMIT 1")
        .bind(county_id)
        .fetch_optional(&p.read)
        .await?;
    Ok(any.is_none())
}

pub(crate) async fn put_setup_code(
    p: &Pools<DB>,
    county_id: i64,
    code_hash: &str,
    expires_at: i64,
) -> StoreResult<()> {
    let mut tx = p.write.begin().await?;
    sqlx::query("DELETE FROM setup_codes WHERE county_id = $1")
        .bind(county_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO setup_codes (county_id, code_hash, expires_at) VALUES ($1, $2, $3)")
        .bind(county_id)
        .bind(code_hash)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates the county's first account — its security administrator — with the password the
/// person at the console chose, if the one-time code is right and no account exists yet.
pub(crate) async fn complete_setup(
    p: &Pools<DB>,
    code_hash: &str,
    username: &str,
    display_name: &str,
    password_hash: &str,
) -> StoreResult<User> {
    let mut tx = p.write.begin().await?;
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT county_id FROM setup_codes WHERE code_hash = $1 AND expires_at > $2",
    )
    .bind(code_hash)
    .bind(Utc::now().timestamp())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((county_id,)) = found else {
        return Err(StoreError::invalid(
            "code",
            "setup.bad_code",
            "初始化码不正确或已过期，请查看服务器启动时打印的初始化码",
        ));
    };
    let any: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE county_id = $1 LIMIT 1")
        .bind(county_id)
        .fetch_optional(&mut *tx)
        .await?;
    if any.is_some() {
        return Err(StoreError::conflict(
            "setup.done",
            "本县已完成初始化，请直接登录",
        ));
    }
    let (root,): (Option<i64>,) = sqlx::query_as("SELECT root_org_id FROM counties WHERE id = $1")
        .bind(county_id)
        .fetch_one(&mut *tx)
        .await?;
    let system = Actor::system(CountyId::new(county_id), "setup");
    let new = NewUser {
        username: username.to_string(),
        display_name: display_name.to_string(),
        password: String::new(),
        role: Role::SecAdmin,
        org_id: OrgId::new(root.unwrap_or(0)),
        person_id: None,
        must_change_password: false,
    };
    let user = insert_user(&mut tx, &p.audit_key, &system, &new, password_hash).await?;
    sqlx::query("DELETE FROM setup_codes WHERE county_id = $1")
        .bind(county_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(user)
}
