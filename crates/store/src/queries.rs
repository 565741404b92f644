// Included once per backend (see lib.rs): `DB` and `IS_PG` are defined by the including module,
// so every query below is compiled and type-checked against SQLite and against PostgreSQL.

use crate::audit::{canonical_json, entry_hash, mask_personal, AuditKey, GENESIS};
use crate::crypto::{key_fingerprint, FieldKey};
use crate::model::*;
use crate::sqlbuild::{Arg, Sql};
use crate::{Pools, StoreError, StoreResult};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use sqlx::types::Json;
use sqlx::Arguments;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use taizhang_domain::bulletin::{self, Bulletin, Figures, Grouping, TypeRef, Unit};
use taizhang_domain::ledger::{Fact, LedgerTypeDef};
use taizhang_domain::org::{validate_name, LinkKind, OrgKind, OrgRef, PositionTitle};
use taizhang_domain::period::DateRange;
use taizhang_domain::{Action, IdNumber, Phone, Role, Scope};

pub(crate) type Conn = <DB as sqlx::Database>::Connection;
type Row = <DB as sqlx::Database>::Row;

// ---- plumbing ----------------------------------------------------------------------------------

fn args_of(q: &Sql) -> StoreResult<<DB as sqlx::Database>::Arguments<'_>> {
    let mut args = <DB as sqlx::Database>::Arguments::default();
    for a in &q.args {
        let r = match a {
            Arg::I64(v) => args.add(*v),
            Arg::Str(s) => args.add(s.as_str()),
            Arg::Date(d) => args.add(*d),
        };
        r.map_err(|e| StoreError::Internal(e.to_string()))?;
    }
    Ok(args)
}

async fn fetch_all<O>(c: &mut Conn, q: &Sql) -> StoreResult<Vec<O>>
where
    O: for<'r> sqlx::FromRow<'r, Row> + Send + Unpin,
{
    Ok(sqlx::query_as_with::<DB, O, _>(&q.text, args_of(q)?).fetch_all(&mut *c).await?)
}

async fn fetch_optional<O>(c: &mut Conn, q: &Sql) -> StoreResult<Option<O>>
where
    O: for<'r> sqlx::FromRow<'r, Row> + Send + Unpin,
{
    Ok(sqlx::query_as_with::<DB, O, _>(&q.text, args_of(q)?).fetch_optional(&mut *c).await?)
}

async fn execute(c: &mut Conn, q: &Sql) -> StoreResult<u64> {
    Ok(sqlx::query_with::<DB, _>(&q.text, args_of(q)?).execute(&mut *c).await?.rows_affected())
}

fn require(actor: &Actor, action: Action) -> StoreResult<()> {
    if actor.role.allows(action) {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_default()
}

/// `col` names an organisation inside the actor's scope (in today's tree).
fn scope_cond(q: &mut Sql, scope: &Scope, col: &str) -> String {
    match scope.roots() {
        None => "1=1".to_string(),
        Some([]) => "1=0".to_string(),
        Some(roots) => {
            let list = q.list(roots);
            format!("{col} IN (SELECT descendant_id FROM org_closure WHERE valid_to IS NULL AND ancestor_id IN ({list}))")
        }
    }
}

/// Appends to the county's audit chain, inside the caller's transaction.
/// Who did something, as the audit log names them.
struct Who<'a> {
    name: &'a str,
    user_id: Option<i64>,
}

// Each argument is one column of the entry; grouping them would only rename them.
#[allow(clippy::too_many_arguments)]
async fn audit(
    c: &mut Conn,
    key: &AuditKey,
    county_id: i64,
    who: Who<'_>,
    action: &str,
    (entity, entity_id): (&str, &str),
    before: Option<Value>,
    after: Option<Value>,
) -> StoreResult<()> {
    let (actor, actor_user_id) = (who.name, who.user_id);
    if IS_PG {
        // One writer at a time per county chain.
        sqlx::query("SELECT pg_advisory_xact_lock(7215, CAST($1 AS INTEGER))").bind(county_id).execute(&mut *c).await?;
    }
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log WHERE county_id = $1 ORDER BY seq DESC LIMIT 1")
            .bind(county_id)
            .fetch_optional(&mut *c)
            .await?;
    let (prev_seq, prev_hash) = head.unwrap_or((0, GENESIS.to_string()));
    let seq = prev_seq + 1;
    let at = now_ms();
    let at_text = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let before = before.map(mask_personal);
    let after = after.map(mask_personal);
    let before_text = before.as_ref().map(canonical_json);
    let after_text = after.as_ref().map(canonical_json);
    let hash = entry_hash(key, &prev_hash, county_id, seq, &at_text, actor, action, entity, entity_id, before_text.as_deref(), after_text.as_deref());
    sqlx::query(
        "INSERT INTO audit_log (seq, county_id, at, actor_user_id, actor, action, entity, entity_id, before_json, after_json, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(seq)
    .bind(county_id)
    .bind(at)
    .bind(actor_user_id)
    .bind(actor)
    .bind(action)
    .bind(entity)
    .bind(entity_id)
    .bind(before.map(Json))
    .bind(after.map(Json))
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *c)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn audit_as(c: &mut Conn, key: &AuditKey, actor: &Actor, action: &str, entity: &str, entity_id: impl ToString, before: Option<Value>, after: Option<Value>) -> StoreResult<()> {
    let who = Who { name: &actor.username, user_id: actor.user_id };
    audit(c, key, actor.county_id, who, action, (entity, &entity_id.to_string()), before, after).await
}

// ---- migrations --------------------------------------------------------------------------------

pub async fn migrate(p: &Pools<DB>) -> StoreResult<()> {
    let mut c = p.write.acquire().await?;
    sqlx::raw_sql("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        .execute(&mut *c)
        .await?;
    let applied: Vec<(i64,)> = sqlx::query_as("SELECT version FROM schema_migrations ORDER BY version").fetch_all(&mut *c).await?;
    let supported = MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0);
    if let Some(&(found,)) = applied.last() {
        if found > supported {
            return Err(StoreError::SchemaTooNew { found, supported });
        }
    }
    let applied: HashSet<i64> = applied.into_iter().map(|(v,)| v).collect();
    let mut encrypted_existing = false;
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let mut tx = sqlx::Connection::begin(&mut *c).await?;
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        if *version == 3 {
            encrypted_existing = encrypt_plaintext_people(&mut tx, &p.field_key).await? > 0;
        }
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(*version)
            .bind(*name)
            .bind(Utc::now().to_rfc3339())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, name, "applied migration");
    }
    if encrypted_existing {
        // The plaintext that was encrypted still sits in freed pages (SQLite) or dead tuples
        // (PostgreSQL) until they are rewritten: rewrite them now.
        if IS_PG {
            sqlx::raw_sql("VACUUM FULL people").execute(&mut *c).await?;
        } else {
            sqlx::raw_sql("VACUUM").execute(&mut *c).await?;
            sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut *c).await?;
        }
    }
    Ok(())
}

pub async fn schema_version(p: &Pools<DB>) -> StoreResult<i64> {
    let v: Option<(i64,)> = sqlx::query_as("SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1")
        .fetch_optional(&p.read)
        .await?;
    Ok(v.map(|x| x.0).unwrap_or(0))
}

// ---- counties ----------------------------------------------------------------------------------

type CountyRow = (i64, String, String, Option<i64>);

fn county_from(r: CountyRow) -> County {
    County { id: r.0, code: r.1, name: r.2, root_org_id: r.3.unwrap_or(0) }
}

pub async fn create_county(p: &Pools<DB>, code: &str, name: &str, established_on: NaiveDate) -> StoreResult<County> {
    if !taizhang_domain::org::is_valid_code(code) {
        return Err(StoreError::invalid("code", "county.bad_code", "县级行政区划代码应为6位数字"));
    }
    let name = validate_name(name).map_err(|m| StoreError::invalid("name", "county.bad_name", m))?;
    let mut tx = p.write.begin().await?;
    let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM counties WHERE code = $1").bind(code).fetch_optional(&mut *tx).await?;
    if exists.is_some() {
        return Err(StoreError::conflict("county.exists", format!("行政区划代码{code}已存在")));
    }
    let (county_id,): (i64,) = sqlx::query_as("INSERT INTO counties (code, name) VALUES ($1, $2) RETURNING id")
        .bind(code)
        .bind(&name)
        .fetch_one(&mut *tx)
        .await?;
    let root = insert_org_row(&mut tx, county_id, OrgKind::County, &name, Some(code), established_on).await?;
    sqlx::query("INSERT INTO org_closure (county_id, ancestor_id, descendant_id, depth, valid_from) VALUES ($1, $2, $2, 0, $3)")
        .bind(county_id)
        .bind(root)
        .bind(established_on)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE counties SET root_org_id = $1 WHERE id = $2").bind(root).bind(county_id).execute(&mut *tx).await?;
    let system = Actor::system(county_id, "setup");
    audit_as(&mut tx,&p.audit_key, &system, "create", "county", county_id, None, Some(json!({"code": code, "name": name}))).await?;
    for def in taizhang_domain::builtin::builtin_types() {
        insert_ledger_type(&mut tx, &p.audit_key, &system, &def).await?;
    }
    tx.commit().await?;
    Ok(County { id: county_id, code: code.to_string(), name, root_org_id: root })
}

pub async fn county_by_code(p: &Pools<DB>, code: &str) -> StoreResult<County> {
    let r: Option<CountyRow> = sqlx::query_as("SELECT id, code, name, root_org_id FROM counties WHERE code = $1")
        .bind(code)
        .fetch_optional(&p.read)
        .await?;
    r.map(county_from).ok_or(StoreError::NotFound)
}

pub async fn counties(p: &Pools<DB>) -> StoreResult<Vec<County>> {
    let rows: Vec<CountyRow> = sqlx::query_as("SELECT id, code, name, root_org_id FROM counties ORDER BY id").fetch_all(&p.read).await?;
    Ok(rows.into_iter().map(county_from).collect())
}

// ---- users and sessions ------------------------------------------------------------------------

type UserRow = (i64, String, String, String, i64, Option<i64>, i64, String, Option<String>, bool, i64, bool, bool, i64);
const USER_SELECT: &str = "SELECT u.id, u.username, u.display_name, u.role, u.org_id, u.person_id, u.county_id, o.name, o.code, u.disabled, u.locked_until, u.totp_secret_enc IS NOT NULL, u.must_change_password, u.password_changed_at FROM users u JOIN orgs o ON o.id = u.org_id";

fn user_from(r: UserRow) -> StoreResult<User> {
    Ok(User {
        id: r.0,
        username: r.1,
        display_name: r.2,
        role: Role::from_str(&r.3).map_err(|e| StoreError::Internal(e.to_string()))?,
        org: OrgName { id: r.4, org_ref: org_ref(r.4, r.8.as_deref()), name: r.7 },
        person_id: r.5,
        disabled: r.9,
        locked: r.10 > Utc::now().timestamp(),
        totp_enrolled: r.11,
        must_change_password: r.12,
        password_changed_at: DateTime::from_timestamp(r.13, 0).unwrap_or_default(),
    })
}

/// An account by id, read on the caller's connection (inside its transaction when it has one).
async fn user_by_id(c: &mut Conn, id: i64) -> StoreResult<User> {
    let row: UserRow = sqlx::query_as(&format!("{USER_SELECT} WHERE u.id = $1")).bind(id).fetch_one(&mut *c).await?;
    user_from(row)
}

/// The county and name an account's own actions are audited under.
async fn user_who(c: &mut Conn, user_id: i64) -> StoreResult<(i64, String)> {
    Ok(sqlx::query_as("SELECT county_id, username FROM users WHERE id = $1").bind(user_id).fetch_one(&mut *c).await?)
}

fn check_username(username: &str) -> StoreResult<()> {
    if username.len() < 3 || username.len() > 40 || !username.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
        return Err(StoreError::invalid("username", "user.bad_username", "用户名为3–40位字母、数字、下划线或点"));
    }
    Ok(())
}

/// Accounts are the security administrator's; a system job (seeding, first start) may create them too.
fn require_manage_users(actor: &Actor) -> StoreResult<()> {
    if actor.is_system() {
        return Ok(());
    }
    require(actor, Action::ManageUsers)
}

async fn insert_user(c: &mut Conn, key: &AuditKey, actor: &Actor, u: &NewUser, password_hash: &str) -> StoreResult<User> {
    let username = u.username.trim();
    check_username(username)?;
    let display_name = u.display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 30 {
        return Err(StoreError::invalid("display_name", "user.bad_display_name", "姓名不能为空，且不超过30个字"));
    }
    let taken: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE username = $1").bind(username).fetch_optional(&mut *c).await?;
    if taken.is_some() {
        return Err(StoreError::conflict("user.exists", format!("用户名“{username}”已被使用")));
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (county_id, username, display_name, password_hash, role, org_id, person_id, disabled, created_at, password_changed_at, must_change_password)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(actor.county_id)
    .bind(username)
    .bind(display_name)
    .bind(password_hash)
    .bind(u.role.key())
    .bind(u.org_id)
    .bind(u.person_id)
    .bind(false)
    .bind(Utc::now())
    .bind(Utc::now().timestamp())
    .bind(u.must_change_password)
    .fetch_one(&mut *c)
    .await?;
    audit_as(c, key, actor, "create", "user", id, None, Some(json!({"username": username, "role": u.role.key(), "org_id": u.org_id}))).await?;
    user_by_id(c, id).await
}

pub async fn create_user(p: &Pools<DB>, actor: &Actor, u: &NewUser, password_hash: &str) -> StoreResult<User> {
    require_manage_users(actor)?;
    let mut tx = p.write.begin().await?;
    ensure_org_in_scope(&mut tx, actor, u.org_id).await?;
    let user = insert_user(&mut tx, &p.audit_key, actor, u, password_hash).await?;
    tx.commit().await?;
    Ok(user)
}

pub async fn users(p: &Pools<DB>, actor: &Actor) -> StoreResult<Vec<User>> {
    require(actor, Action::ManageUsers)?;
    let mut q = Sql::new(USER_SELECT);
    let c = q.arg(actor.county_id);
    let s = scope_cond(&mut q, &actor.scope, "u.org_id");
    q.push(&format!(" WHERE u.county_id = {c} AND {s} ORDER BY u.id"));
    let mut conn = p.read.acquire().await?;
    fetch_all::<UserRow>(&mut conn, &q).await?.into_iter().map(user_from).collect()
}

async fn load_user_for_change(c: &mut Conn, actor: &Actor, id: i64) -> StoreResult<User> {
    require(actor, Action::ManageUsers)?;
    let row: Option<UserRow> = sqlx::query_as(&format!("{USER_SELECT} WHERE u.id = $1 AND u.county_id = $2")).bind(id).bind(actor.county_id).fetch_optional(&mut *c).await?;
    let user = user_from(row.ok_or(StoreError::NotFound)?)?;
    ensure_org_in_scope(c, actor, user.org.id).await?;
    Ok(user)
}

/// Changes an account's name, role, scope or status. A security administrator cannot change
/// its own role or disable itself (so that no one grants themselves a second duty, and the
/// county is never left without one); every change is audited with its before and after.
pub async fn update_user(p: &Pools<DB>, actor: &Actor, id: i64, change: &UserChange) -> StoreResult<User> {
    let mut tx = p.write.begin().await?;
    let before = load_user_for_change(&mut tx, actor, id).await?;
    if Some(id) == actor.user_id && (change.role.is_some_and(|r| r != before.role) || change.disabled == Some(true)) {
        return Err(StoreError::conflict("user.self_change", "不能更改自己的角色或停用自己的账号，请由另一名安全管理员操作"));
    }
    let display_name = match &change.display_name {
        Some(n) if n.trim().is_empty() || n.trim().chars().count() > 30 => {
            return Err(StoreError::invalid("display_name", "user.bad_display_name", "姓名不能为空，且不超过30个字"));
        }
        Some(n) => n.trim().to_string(),
        None => before.display_name.clone(),
    };
    let org_id = match &change.org {
        Some(r) => resolve_org(&mut tx, actor, r).await?,
        None => before.org.id,
    };
    let role = change.role.unwrap_or(before.role);
    let disabled = change.disabled.unwrap_or(before.disabled);
    sqlx::query("UPDATE users SET display_name = $1, role = $2, org_id = $3, disabled = $4 WHERE id = $5")
        .bind(&display_name)
        .bind(role.key())
        .bind(org_id)
        .bind(disabled)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if role != before.role || org_id != before.org.id || disabled {
        // A changed duty or scope takes effect now, not at the next login.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
    }
    // A role or scope change is a permission change: audited under its own action.
    let action = if role != before.role || org_id != before.org.id { "grant" } else { "update" };
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

/// Sets a temporary password (to be changed at the next login), unlocks the account and ends its sessions.
pub async fn reset_password(p: &Pools<DB>, actor: &Actor, id: i64, password_hash: &str) -> StoreResult<User> {
    let mut tx = p.write.begin().await?;
    let user = load_user_for_change(&mut tx, actor, id).await?;
    sqlx::query("UPDATE users SET password_hash = $1, must_change_password = $2, password_changed_at = $3, failed_logins = 0, locked_until = 0 WHERE id = $4")
        .bind(password_hash)
        .bind(true)
        .bind(Utc::now().timestamp())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
    audit_as(&mut tx, &p.audit_key, actor, "reset_password", "user", id, None, Some(json!({"username": user.username}))).await?;
    let user = user_by_id(&mut tx, id).await?;
    tx.commit().await?;
    Ok(user)
}

/// Unbinds a lost second factor; the user binds a new one at the next login.
pub async fn reset_totp(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<User> {
    let mut tx = p.write.begin().await?;
    let user = load_user_for_change(&mut tx, actor, id).await?;
    sqlx::query("UPDATE users SET totp_secret_enc = NULL, totp_last_step = 0 WHERE id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
    audit_as(&mut tx, &p.audit_key, actor, "reset_totp", "user", id, None, Some(json!({"username": user.username}))).await?;
    let user = user_by_id(&mut tx, id).await?;
    tx.commit().await?;
    Ok(user)
}

// ---- security settings -------------------------------------------------------------------------

pub async fn security_settings(p: &Pools<DB>, county_id: i64) -> StoreResult<SecuritySettings> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, value FROM county_settings WHERE county_id = $1").bind(county_id).fetch_all(&p.read).await?;
    let mut s = SecuritySettings::default();
    for (name, value) in rows {
        match name.as_str() {
            "password_max_age_days" => s.password_max_age_days = value.parse().unwrap_or(s.password_max_age_days),
            "totp_required_for_admins" => s.totp_required_for_admins = value == "true",
            _ => {}
        }
    }
    Ok(s)
}

/// Changes the county's security settings; a configuration change, audited with before and after.
pub async fn update_security_settings(p: &Pools<DB>, actor: &Actor, new: &SecuritySettings) -> StoreResult<SecuritySettings> {
    if !actor.is_system() {
        require(actor, Action::ManageSecurity)?;
    }
    if !(0..=3650).contains(&new.password_max_age_days) {
        return Err(StoreError::invalid("password_max_age_days", "settings.bad_age", "密码有效期应为0–3650天（0为不过期）"));
    }
    let before = security_settings(p, actor.county_id).await?;
    let mut tx = p.write.begin().await?;
    for (name, value) in [("password_max_age_days", new.password_max_age_days.to_string()), ("totp_required_for_admins", new.totp_required_for_admins.to_string())] {
        sqlx::query("DELETE FROM county_settings WHERE county_id = $1 AND name = $2").bind(actor.county_id).bind(name).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO county_settings (county_id, name, value) VALUES ($1, $2, $3)").bind(actor.county_id).bind(name).bind(value).execute(&mut *tx).await?;
    }
    audit_as(&mut tx, &p.audit_key, actor, "config", "security_settings", actor.county_id, Some(json!(before)), Some(json!(new))).await?;
    tx.commit().await?;
    Ok(new.clone())
}

// ---- logins and sessions -----------------------------------------------------------------------

pub async fn user_password_hash(p: &Pools<DB>, username: &str) -> StoreResult<Option<(i64, String, i64)>> {
    Ok(sqlx::query_as("SELECT id, password_hash, locked_until FROM users WHERE username = $1 AND disabled = $2")
        .bind(username)
        .bind(false)
        .fetch_optional(&p.read)
        .await?)
}

/// What a login needs after the password matched: (county, role, must change, password set at,
/// second-factor secret, last used step).
pub async fn login_facts(p: &Pools<DB>, user_id: i64) -> StoreResult<(i64, String, bool, i64, Option<String>, i64)> {
    Ok(sqlx::query_as("SELECT county_id, role, must_change_password, password_changed_at, totp_secret_enc, totp_last_step FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&p.read)
        .await?)
}

/// Marks a one-time code's step as used; false when it was already used (a replay).
pub async fn use_totp_step(p: &Pools<DB>, user_id: i64, step: i64) -> StoreResult<bool> {
    let n = sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1").bind(step).bind(user_id).execute(&p.write).await?.rows_affected();
    Ok(n == 1)
}

/// Counts a failed login; the fifth in a row locks the account for a while. Returns whether the
/// account is now locked.
pub async fn record_failed_login(p: &Pools<DB>, user_id: i64, now: i64) -> StoreResult<bool> {
    use crate::auth::{LOCKOUT_AFTER, LOCKOUT_SECS};
    let mut tx = p.write.begin().await?;
    // One statement counts the failure, so concurrent failures cannot overwrite each other.
    let (county_id, username, failed): (i64, String, i64) =
        sqlx::query_as("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING county_id, username, failed_logins")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
    let locked = failed >= LOCKOUT_AFTER;
    if locked {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = $1 WHERE id = $2").bind(now + LOCKOUT_SECS).bind(user_id).execute(&mut *tx).await?;
    }
    let action = if locked { "account_locked" } else { "login_failed" };
    audit(&mut tx, &p.audit_key, county_id, Who { name: &username, user_id: Some(user_id) }, action, ("session", &user_id.to_string()), None, Some(json!({"failed_logins": failed}))).await?;
    tx.commit().await?;
    Ok(locked)
}

pub async fn reset_failed_logins(p: &Pools<DB>, user_id: i64) -> StoreResult<()> {
    sqlx::query("UPDATE users SET failed_logins = 0 WHERE id = $1 AND failed_logins <> 0").bind(user_id).execute(&p.write).await?;
    Ok(())
}

pub async fn audit_failed_login(p: &Pools<DB>, username: &str) -> StoreResult<()> {
    let county: Option<(i64,)> = sqlx::query_as("SELECT county_id FROM users WHERE username = $1").bind(username).fetch_optional(&p.read).await?;
    let county_id = match county {
        Some((c,)) => c,
        None => match sqlx::query_as::<DB, (i64,)>("SELECT id FROM counties ORDER BY id LIMIT 1").fetch_optional(&p.read).await? {
            Some((c,)) => c,
            None => return Ok(()),
        },
    };
    let mut tx = p.write.begin().await?;
    let name: String = username.chars().take(40).collect();
    audit(&mut tx, &p.audit_key, county_id, Who { name: &name, user_id: None }, "login_failed", ("session", "-"), None, None).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn open_session(p: &Pools<DB>, user_id: i64, token_hash: &str, expires: DateTime<Utc>, stage: SessionStage) -> StoreResult<Session> {
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
    audit(&mut tx, &p.audit_key, county_id, Who { name: &username, user_id: Some(user_id) }, "login", ("session", &user_id.to_string()), None, Some(json!({"stage": stage.key()}))).await?;
    tx.commit().await?;
    session_by_token(p, token_hash, Utc::now()).await
}

pub async fn session_by_token(p: &Pools<DB>, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Session> {
    let now = now.timestamp();
    // Absolute expiry (12 h from login) and idle expiry (30 min without a request).
    let row: Option<(i64, String, i64, String)> = sqlx::query_as(
        "SELECT s.user_id, s.csrf_token, s.last_seen_at, s.stage FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.disabled = $4",
    )
    .bind(token_hash)
    .bind(now)
    .bind(now - crate::auth::IDLE_SECS)
    .bind(false)
    .fetch_optional(&p.read)
    .await?;
    let (user_id, csrf, last_seen, stage) = row.ok_or(StoreError::SessionExpired)?;
    // Touch the session at most once a minute, so reads stay reads.
    if now - last_seen > 60 {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2").bind(now).bind(token_hash).execute(&p.write).await?;
    }
    let mut c = p.read.acquire().await?;
    let (actor, display_name, org_name) = actor_for_user_id(&mut c, user_id).await?;
    Ok(Session { actor, display_name, org_name, csrf_token: csrf, stage: SessionStage::parse(&stage) })
}

/// Replaces the password of the session's user, ends the user's other sessions and moves this
/// one on to its next stage.
pub async fn change_password(p: &Pools<DB>, token_hash: &str, user_id: i64, password_hash: &str, next: SessionStage) -> StoreResult<()> {
    let mut tx = p.write.begin().await?;
    let (county_id, username) = user_who(&mut tx, user_id).await?;
    sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2, must_change_password = $3 WHERE id = $4")
        .bind(password_hash)
        .bind(Utc::now().timestamp())
        .bind(false)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2").bind(user_id).bind(token_hash).execute(&mut *tx).await?;
    sqlx::query("UPDATE sessions SET stage = $1 WHERE token_hash = $2").bind(next.key()).bind(token_hash).execute(&mut *tx).await?;
    audit(&mut tx, &p.audit_key, county_id, Who { name: &username, user_id: Some(user_id) }, "change_password", ("user", &user_id.to_string()), None, None).await?;
    tx.commit().await?;
    Ok(())
}

/// Binds a confirmed second factor to the session's user; the session becomes a full one.
pub async fn bind_totp(p: &Pools<DB>, token_hash: &str, user_id: i64, secret_enc: &str, step: i64) -> StoreResult<()> {
    let mut tx = p.write.begin().await?;
    let (county_id, username) = user_who(&mut tx, user_id).await?;
    sqlx::query("UPDATE users SET totp_secret_enc = $1, totp_last_step = $2 WHERE id = $3").bind(secret_enc).bind(step).bind(user_id).execute(&mut *tx).await?;
    sqlx::query("UPDATE sessions SET stage = $1 WHERE token_hash = $2").bind(SessionStage::Full.key()).bind(token_hash).execute(&mut *tx).await?;
    audit(&mut tx, &p.audit_key, county_id, Who { name: &username, user_id: Some(user_id) }, "bind_totp", ("user", &user_id.to_string()), None, None).await?;
    tx.commit().await?;
    Ok(())
}

// ---- first start -------------------------------------------------------------------------------

/// Whether the county has no account yet (its first security administrator is still to be set up).
pub async fn county_needs_setup(p: &Pools<DB>, county_id: i64) -> StoreResult<bool> {
    let any: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE county_id = $1 LIMIT 1").bind(county_id).fetch_optional(&p.read).await?;
    Ok(any.is_none())
}

pub async fn put_setup_code(p: &Pools<DB>, county_id: i64, code_hash: &str, expires_at: i64) -> StoreResult<()> {
    let mut tx = p.write.begin().await?;
    sqlx::query("DELETE FROM setup_codes WHERE county_id = $1").bind(county_id).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO setup_codes (county_id, code_hash, expires_at) VALUES ($1, $2, $3)").bind(county_id).bind(code_hash).bind(expires_at).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Creates the county's first account — its security administrator — with the password the
/// person at the console chose, if the one-time code is right and no account exists yet.
pub async fn complete_setup(p: &Pools<DB>, code_hash: &str, username: &str, display_name: &str, password_hash: &str) -> StoreResult<User> {
    let mut tx = p.write.begin().await?;
    let found: Option<(i64,)> = sqlx::query_as("SELECT county_id FROM setup_codes WHERE code_hash = $1 AND expires_at > $2")
        .bind(code_hash)
        .bind(Utc::now().timestamp())
        .fetch_optional(&mut *tx)
        .await?;
    let Some((county_id,)) = found else {
        return Err(StoreError::invalid("code", "setup.bad_code", "初始化码不正确或已过期，请查看服务器启动时打印的初始化码"));
    };
    let any: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE county_id = $1 LIMIT 1").bind(county_id).fetch_optional(&mut *tx).await?;
    if any.is_some() {
        return Err(StoreError::conflict("setup.done", "本县已完成初始化，请直接登录"));
    }
    let (root,): (Option<i64>,) = sqlx::query_as("SELECT root_org_id FROM counties WHERE id = $1").bind(county_id).fetch_one(&mut *tx).await?;
    let system = Actor::system(county_id, "setup");
    let new = NewUser {
        username: username.to_string(),
        display_name: display_name.to_string(),
        password: String::new(),
        role: Role::SecAdmin,
        org_id: root.unwrap_or(0),
        person_id: None,
        must_change_password: false,
    };
    let user = insert_user(&mut tx, &p.audit_key, &system, &new, password_hash).await?;
    sqlx::query("DELETE FROM setup_codes WHERE county_id = $1").bind(county_id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(user)
}

pub async fn close_session(p: &Pools<DB>, token_hash: &str) -> StoreResult<()> {
    let mut tx = p.write.begin().await?;
    let row: Option<(i64, i64, String)> = sqlx::query_as(
        "SELECT u.id, u.county_id, u.username FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((uid, county, name)) = row {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&mut *tx).await?;
        audit(&mut tx, &p.audit_key, county, Who { name: &name, user_id: Some(uid) }, "logout", ("session", &uid.to_string()), None, None).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn actor_for_username(p: &Pools<DB>, username: &str) -> StoreResult<Actor> {
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&p.read)
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut c = p.read.acquire().await?;
    Ok(actor_for_user_id(&mut c, id).await?.0)
}

/// Builds the actor of a user: its role, and its scope from its home organisation plus the
/// targets of active links that grant scope (派驻 for its person, 包保 for its unit).
async fn actor_for_user_id(c: &mut Conn, user_id: i64) -> StoreResult<(Actor, String, String)> {
    let row: UserRow = sqlx::query_as(&format!("{USER_SELECT} WHERE u.id = $1")).bind(user_id).fetch_one(&mut *c).await?;
    let county_id = row.6;
    let user = user_from(row)?;
    let scope = match user.role {
        Role::Admin | Role::SecAdmin | Role::Auditor => Scope::county(county_id),
        _ => {
            let today = crate::today();
            let grants: Vec<(i64,)> = sqlx::query_as(
                "SELECT to_org_id FROM org_links WHERE county_id = $1 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to >= $2)
                 AND ((kind = 'dispatch' AND from_person_id = $3) OR (kind = 'cover' AND from_org_id = $4))",
            )
            .bind(county_id)
            .bind(today)
            .bind(user.person_id.unwrap_or(-1))
            .bind(user.org.id)
            .fetch_all(&mut *c)
            .await?;
            let mut roots = vec![user.org.id];
            roots.extend(grants.into_iter().map(|g| g.0));
            Scope::subtrees(county_id, roots)
        }
    };
    let actor = Actor {
        user_id: Some(user.id),
        username: user.username.clone(),
        role: user.role,
        county_id,
        org_id: user.org.id,
        person_id: user.person_id,
        scope,
    };
    Ok((actor, user.display_name, user.org.name))
}

// ---- organisations -----------------------------------------------------------------------------

type OrgRow = (i64, String, String, Option<String>, NaiveDate, Option<NaiveDate>, Option<i64>);
const ORG_SELECT: &str = "SELECT o.id, o.kind, o.name, o.code, o.established_on, o.dissolved_on, e.parent_id FROM orgs o LEFT JOIN org_edges e ON e.child_id = o.id AND e.valid_to IS NULL";

fn org_from(r: OrgRow) -> StoreResult<Org> {
    let kind = OrgKind::from_str(&r.1).map_err(|e| StoreError::Internal(e.to_string()))?;
    Ok(Org {
        id: r.0,
        org_ref: org_ref(r.0, r.3.as_deref()),
        kind,
        kind_label: kind.label_cn().to_string(),
        name: r.2,
        code: r.3,
        established_on: r.4,
        dissolved_on: r.5,
        parent_id: r.6,
    })
}

async fn insert_org_row(c: &mut Conn, county_id: i64, kind: OrgKind, name: &str, code: Option<&str>, established: NaiveDate) -> StoreResult<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO orgs (county_id, kind, name, code, established_on, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(county_id)
    .bind(kind.key())
    .bind(name)
    .bind(code)
    .bind(established)
    .bind(Utc::now())
    .fetch_one(&mut *c)
    .await?;
    Ok(id)
}

async fn org_in_scope(c: &mut Conn, scope: &Scope, org_id: i64) -> StoreResult<bool> {
    let mut q = Sql::new("SELECT o.id FROM orgs o WHERE o.id = ");
    let id = q.arg(org_id);
    let county = q.arg(scope.county_id);
    let cond = scope_cond(&mut q, scope, "o.id");
    q.push(&format!("{id} AND o.county_id = {county} AND {cond}"));
    Ok(fetch_optional::<(i64,)>(c, &q).await?.is_some())
}

/// Out of scope and missing look the same to the caller: NotFound.
async fn ensure_org_in_scope(c: &mut Conn, actor: &Actor, org_id: i64) -> StoreResult<()> {
    if org_in_scope(c, &actor.scope, org_id).await? {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

async fn load_org(c: &mut Conn, actor: &Actor, id: i64) -> StoreResult<Org> {
    ensure_org_in_scope(c, actor, id).await?;
    let r: OrgRow = sqlx::query_as(&format!("{ORG_SELECT} WHERE o.id = $1")).bind(id).fetch_one(&mut *c).await?;
    org_from(r)
}

/// Resolves a code or `o{id}` within the actor's county and scope.
async fn resolve_org(c: &mut Conn, actor: &Actor, r: &str) -> StoreResult<i64> {
    let parsed: OrgRef = r.parse().map_err(|_| StoreError::NotFound)?;
    let id = match parsed {
        OrgRef::Id(id) => id,
        OrgRef::Code(code) => {
            let found: Option<(i64,)> = sqlx::query_as("SELECT id FROM orgs WHERE county_id = $1 AND code = $2")
                .bind(actor.county_id)
                .bind(&code)
                .fetch_optional(&mut *c)
                .await?;
            found.ok_or(StoreError::NotFound)?.0
        }
    };
    ensure_org_in_scope(c, actor, id).await?;
    Ok(id)
}

pub async fn org_by_ref(p: &Pools<DB>, actor: &Actor, r: &str) -> StoreResult<Org> {
    require(actor, Action::ReadOrg)?;
    let mut c = p.read.acquire().await?;
    let id = resolve_org(&mut c, actor, r).await?;
    load_org(&mut c, actor, id).await
}

pub async fn org_by_id(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<Org> {
    require(actor, Action::ReadOrg)?;
    let mut c = p.read.acquire().await?;
    load_org(&mut c, actor, id).await
}

pub async fn children(p: &Pools<DB>, actor: &Actor, id: i64, include_dissolved: bool) -> StoreResult<Vec<Org>> {
    require(actor, Action::ReadOrg)?;
    let mut c = p.read.acquire().await?;
    ensure_org_in_scope(&mut c, actor, id).await?;
    let dissolved = if include_dissolved { "" } else { " AND o.dissolved_on IS NULL" };
    let rows: Vec<OrgRow> = sqlx::query_as(&format!("{ORG_SELECT} WHERE e.parent_id = $1{dissolved} ORDER BY o.kind, o.code, o.id"))
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
    rows.into_iter().map(org_from).collect()
}

pub async fn ancestors(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<Vec<Org>> {
    require(actor, Action::ReadOrg)?;
    let mut c = p.read.acquire().await?;
    ensure_org_in_scope(&mut c, actor, id).await?;
    let mut q = Sql::new("SELECT o.id, o.kind, o.name, o.code, o.established_on, o.dissolved_on, e.parent_id FROM org_closure a JOIN orgs o ON o.id = a.ancestor_id LEFT JOIN org_edges e ON e.child_id = o.id AND e.valid_to IS NULL WHERE a.valid_to IS NULL AND a.descendant_id = ");
    let d = q.arg(id);
    let s = scope_cond(&mut q, &actor.scope, "o.id");
    q.push(&format!("{d} AND {s} ORDER BY a.depth DESC"));
    fetch_all::<OrgRow>(&mut c, &q).await?.into_iter().map(org_from).collect()
}

pub async fn org_history(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<Vec<OrgEdge>> {
    require(actor, Action::ReadOrg)?;
    let mut c = p.read.acquire().await?;
    ensure_org_in_scope(&mut c, actor, id).await?;
    let rows: Vec<(i64, String, NaiveDate, Option<NaiveDate>)> = sqlx::query_as(
        "SELECT e.parent_id, o.name, e.valid_from, e.valid_to FROM org_edges e JOIN orgs o ON o.id = e.parent_id WHERE e.child_id = $1 ORDER BY e.valid_from, e.id",
    )
    .bind(id)
    .fetch_all(&mut *c)
    .await?;
    Ok(rows.into_iter().map(|r| OrgEdge { parent_id: r.0, parent_name: r.1, valid_from: r.2, valid_to: r.3 }).collect())
}

pub async fn scope_roots(p: &Pools<DB>, actor: &Actor) -> StoreResult<Vec<Org>> {
    let mut c = p.read.acquire().await?;
    let ids: Vec<i64> = match actor.scope.roots() {
        Some(r) => r.to_vec(),
        None => {
            let (root,): (i64,) = sqlx::query_as("SELECT root_org_id FROM counties WHERE id = $1").bind(actor.county_id).fetch_one(&mut *c).await?;
            vec![root]
        }
    };
    let mut out = Vec::new();
    for id in ids {
        let r: Option<OrgRow> = sqlx::query_as(&format!("{ORG_SELECT} WHERE o.id = $1")).bind(id).fetch_optional(&mut *c).await?;
        if let Some(r) = r {
            out.push(org_from(r)?);
        }
    }
    Ok(out)
}

pub async fn search_orgs(p: &Pools<DB>, actor: &Actor, text: &str, limit: i64) -> StoreResult<Vec<Org>> {
    require(actor, Action::ReadOrg)?;
    let mut q = Sql::new(ORG_SELECT);
    let county = q.arg(actor.county_id);
    let pat = q.arg(format!("%{}%", text.trim().replace(['%', '_'], "")));
    let code = q.arg(text.trim());
    let s = scope_cond(&mut q, &actor.scope, "o.id");
    let lim = q.arg(limit.clamp(1, 200));
    q.push(&format!(" WHERE o.county_id = {county} AND (o.name LIKE {pat} OR o.code = {code}) AND {s} ORDER BY o.dissolved_on IS NOT NULL, o.id LIMIT {lim}"));
    let mut c = p.read.acquire().await?;
    fetch_all::<OrgRow>(&mut c, &q).await?.into_iter().map(org_from).collect()
}

fn org_json(o: &Org) -> Value {
    json!({"id": o.id, "kind": o.kind.key(), "name": o.name, "code": o.code, "parent_id": o.parent_id,
           "established_on": o.established_on, "dissolved_on": o.dissolved_on})
}

fn check_code(code: Option<&str>) -> StoreResult<Option<String>> {
    match code.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) if taizhang_domain::org::is_valid_code(c) => Ok(Some(c.to_string())),
        Some(_) => Err(StoreError::invalid("code", "org.bad_code", "组织编码应为行政区划代码（6、9或12位数字）或18位统一社会信用代码")),
    }
}

pub async fn create_org(p: &Pools<DB>, actor: &Actor, parent_ref: &str, new: &NewOrg) -> StoreResult<Org> {
    require(actor, Action::EditOrg)?;
    let name = validate_name(&new.name).map_err(|m| StoreError::invalid("name", "org.bad_name", m))?;
    let code = check_code(new.code.as_deref())?;
    if new.kind == OrgKind::County {
        return Err(StoreError::invalid("kind", "org.bad_kind", "县委只能在创建县时建立"));
    }
    let established = new.established_on.unwrap_or_else(crate::today);
    let mut tx = p.write.begin().await?;
    let parent_id = resolve_org(&mut tx, actor, parent_ref).await?;
    let parent = load_org(&mut tx, actor, parent_id).await?;
    if parent.dissolved_on.is_some() {
        return Err(StoreError::conflict("org.parent_dissolved", format!("上级组织“{}”已撤销", parent.name)));
    }
    if let Some(code) = &code {
        let used: Option<(i64,)> = sqlx::query_as("SELECT id FROM orgs WHERE county_id = $1 AND code = $2").bind(actor.county_id).bind(code).fetch_optional(&mut *tx).await?;
        if used.is_some() {
            return Err(StoreError::conflict("org.code_in_use", format!("组织编码{code}已被使用")));
        }
    }
    let id = insert_org_row(&mut tx, actor.county_id, new.kind, &name, code.as_deref(), established).await?;
    attach(&mut tx, actor.county_id, id, parent_id, established).await?;
    let org = load_org_unscoped(&mut tx, id).await?;
    audit_as(&mut tx,&p.audit_key, actor, "create", "org", id, None, Some(org_json(&org))).await?;
    tx.commit().await?;
    Ok(org)
}

async fn load_org_unscoped(c: &mut Conn, id: i64) -> StoreResult<Org> {
    let r: OrgRow = sqlx::query_as(&format!("{ORG_SELECT} WHERE o.id = $1")).bind(id).fetch_one(&mut *c).await?;
    org_from(r)
}

/// Puts `child` (with its current subtree) under `parent` from `on`: a new edge and the closure
/// rows from each new ancestor to each node of the subtree.
async fn attach(c: &mut Conn, county_id: i64, child: i64, parent: i64, on: NaiveDate) -> StoreResult<()> {
    sqlx::query("INSERT INTO org_edges (county_id, child_id, parent_id, valid_from) VALUES ($1, $2, $3, $4)")
        .bind(county_id)
        .bind(child)
        .bind(parent)
        .bind(on)
        .execute(&mut *c)
        .await?;
    let subtree: Vec<(i64, i64)> = sqlx::query_as("SELECT descendant_id, depth FROM org_closure WHERE ancestor_id = $1 AND valid_to IS NULL")
        .bind(child)
        .fetch_all(&mut *c)
        .await?;
    let subtree = if subtree.is_empty() {
        sqlx::query("INSERT INTO org_closure (county_id, ancestor_id, descendant_id, depth, valid_from) VALUES ($1, $2, $2, 0, $3)")
            .bind(county_id)
            .bind(child)
            .bind(on)
            .execute(&mut *c)
            .await?;
        vec![(child, 0)]
    } else {
        subtree
    };
    let uppers: Vec<(i64, i64)> = sqlx::query_as("SELECT ancestor_id, depth FROM org_closure WHERE descendant_id = $1 AND valid_to IS NULL")
        .bind(parent)
        .fetch_all(&mut *c)
        .await?;
    for (a, da) in &uppers {
        for (d, dd) in &subtree {
            sqlx::query("INSERT INTO org_closure (county_id, ancestor_id, descendant_id, depth, valid_from) VALUES ($1, $2, $3, $4, $5)")
                .bind(county_id)
                .bind(*a)
                .bind(*d)
                .bind(da + 1 + dd)
                .bind(on)
                .execute(&mut *c)
                .await?;
        }
    }
    Ok(())
}

pub async fn rename_org(p: &Pools<DB>, actor: &Actor, id: i64, name: &str) -> StoreResult<Org> {
    require(actor, Action::EditOrg)?;
    let name = validate_name(name).map_err(|m| StoreError::invalid("name", "org.bad_name", m))?;
    let mut tx = p.write.begin().await?;
    let before = load_org(&mut tx, actor, id).await?;
    sqlx::query("UPDATE orgs SET name = $1 WHERE id = $2").bind(&name).bind(id).execute(&mut *tx).await?;
    let after = load_org_unscoped(&mut tx, id).await?;
    audit_as(&mut tx,&p.audit_key, actor, "rename", "org", id, Some(org_json(&before)), Some(org_json(&after))).await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn move_org(p: &Pools<DB>, actor: &Actor, id: i64, new_parent_ref: &str, on: NaiveDate) -> StoreResult<Org> {
    require(actor, Action::EditOrg)?;
    let mut tx = p.write.begin().await?;
    let before = load_org(&mut tx, actor, id).await?;
    let new_parent = resolve_org(&mut tx, actor, new_parent_ref).await?;
    let parent = load_org(&mut tx, actor, new_parent).await?;
    if before.kind == OrgKind::County || before.parent_id.is_none() {
        return Err(StoreError::conflict("org.root_move", "县委是根节点，不能调整隶属"));
    }
    if before.dissolved_on.is_some() || parent.dissolved_on.is_some() {
        return Err(StoreError::conflict("org.dissolved", "已撤销的组织不能调整隶属"));
    }
    if before.parent_id == Some(new_parent) {
        return Err(StoreError::conflict("org.same_parent", format!("“{}”已隶属于“{}”", before.name, parent.name)));
    }
    let inside: Option<(i64,)> = sqlx::query_as("SELECT descendant_id FROM org_closure WHERE ancestor_id = $1 AND descendant_id = $2 AND valid_to IS NULL")
        .bind(id)
        .bind(new_parent)
        .fetch_optional(&mut *tx)
        .await?;
    if inside.is_some() {
        return Err(StoreError::conflict("org.cycle", format!("不能把“{}”调整到它自己的下级“{}”之下", before.name, parent.name)));
    }
    let (since,): (NaiveDate,) = sqlx::query_as("SELECT valid_from FROM org_edges WHERE child_id = $1 AND valid_to IS NULL")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if on <= since {
        return Err(StoreError::invalid("on", "org.move_date", format!("调整日期应晚于现隶属关系的开始日期{since}")));
    }
    // Close the rows from the old ancestors to every node of the subtree; the subtree's own rows stay.
    let subtree: Vec<(i64,)> = sqlx::query_as("SELECT descendant_id FROM org_closure WHERE ancestor_id = $1 AND valid_to IS NULL")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    let uppers: Vec<(i64,)> = sqlx::query_as("SELECT ancestor_id FROM org_closure WHERE descendant_id = $1 AND depth > 0 AND valid_to IS NULL")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    for (a,) in &uppers {
        for (d,) in &subtree {
            sqlx::query("UPDATE org_closure SET valid_to = $1 WHERE ancestor_id = $2 AND descendant_id = $3 AND valid_to IS NULL")
                .bind(on)
                .bind(*a)
                .bind(*d)
                .execute(&mut *tx)
                .await?;
        }
    }
    sqlx::query("UPDATE org_edges SET valid_to = $1 WHERE child_id = $2 AND valid_to IS NULL").bind(on).bind(id).execute(&mut *tx).await?;
    attach(&mut tx, actor.county_id, id, new_parent, on).await?;
    let after = load_org_unscoped(&mut tx, id).await?;
    audit_as(&mut tx,&p.audit_key, actor, "move", "org", id, Some(org_json(&before)), Some(json!({"parent_id": new_parent, "on": on}))).await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn dissolve_org(p: &Pools<DB>, actor: &Actor, id: i64, on: NaiveDate) -> StoreResult<Org> {
    require(actor, Action::EditOrg)?;
    let mut tx = p.write.begin().await?;
    let before = load_org(&mut tx, actor, id).await?;
    if before.parent_id.is_none() {
        return Err(StoreError::conflict("org.root_dissolve", "县委是根节点，不能撤销"));
    }
    if before.dissolved_on.is_some() {
        return Err(StoreError::conflict("org.already_dissolved", format!("“{}”已于{}撤销", before.name, before.dissolved_on.unwrap_or(on))));
    }
    if on < before.established_on {
        return Err(StoreError::invalid("on", "org.dissolve_date", "撤销日期不能早于成立日期"));
    }
    let (active_children,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM org_edges e JOIN orgs o ON o.id = e.child_id WHERE e.parent_id = $1 AND e.valid_to IS NULL AND o.dissolved_on IS NULL",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if active_children > 0 {
        return Err(StoreError::conflict("org.has_children", format!("“{}”还有{active_children}个下级组织，请先调整或撤销下级组织", before.name)));
    }
    // The node keeps its place in the tree's history: its records still count where they belonged.
    sqlx::query("UPDATE orgs SET dissolved_on = $1 WHERE id = $2").bind(on).bind(id).execute(&mut *tx).await?;
    let after = load_org_unscoped(&mut tx, id).await?;
    audit_as(&mut tx,&p.audit_key, actor, "dissolve", "org", id, Some(org_json(&before)), Some(org_json(&after))).await?;
    tx.commit().await?;
    Ok(after)
}

// ---- cross-links -------------------------------------------------------------------------------

/// A link with the names of what it joins, in one row.
struct LinkRow {
    id: i64,
    kind: String,
    from_org_id: Option<i64>,
    from_person_id: Option<i64>,
    to_org_id: i64,
    via_org_id: Option<i64>,
    role: Option<String>,
    note: String,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
    from_org_name: Option<String>,
    from_org_code: Option<String>,
    from_person_name: Option<String>,
    to_org_name: String,
    to_org_code: Option<String>,
    via_org_name: Option<String>,
    via_org_code: Option<String>,
}
impl<'r> sqlx::FromRow<'r, Row> for LinkRow {
    fn from_row(r: &'r Row) -> Result<Self, sqlx::Error> {
        use sqlx::Row as _;
        Ok(LinkRow {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            from_org_id: r.try_get("from_org_id")?,
            from_person_id: r.try_get("from_person_id")?,
            to_org_id: r.try_get("to_org_id")?,
            via_org_id: r.try_get("via_org_id")?,
            role: r.try_get("role")?,
            note: r.try_get("note")?,
            valid_from: r.try_get("valid_from")?,
            valid_to: r.try_get("valid_to")?,
            from_org_name: r.try_get("from_org_name")?,
            from_org_code: r.try_get("from_org_code")?,
            from_person_name: r.try_get("from_person_name")?,
            to_org_name: r.try_get("to_org_name")?,
            to_org_code: r.try_get("to_org_code")?,
            via_org_name: r.try_get("via_org_name")?,
            via_org_code: r.try_get("via_org_code")?,
        })
    }
}

const LINK_SELECT: &str = "SELECT l.id, l.kind, l.from_org_id, l.from_person_id, l.to_org_id, l.via_org_id, l.role, l.note, l.valid_from, l.valid_to,
    fo.name AS from_org_name, fo.code AS from_org_code, fp.name AS from_person_name, t.name AS to_org_name, t.code AS to_org_code,
    vo.name AS via_org_name, vo.code AS via_org_code
    FROM org_links l JOIN orgs t ON t.id = l.to_org_id LEFT JOIN orgs fo ON fo.id = l.from_org_id
    LEFT JOIN people fp ON fp.id = l.from_person_id LEFT JOIN orgs vo ON vo.id = l.via_org_id";

async fn org_name(c: &mut Conn, id: i64) -> StoreResult<OrgName> {
    let (name, code): (String, Option<String>) = sqlx::query_as("SELECT name, code FROM orgs WHERE id = $1").bind(id).fetch_one(&mut *c).await?;
    Ok(OrgName { id, org_ref: org_ref(id, code.as_deref()), name })
}

async fn person_name(c: &mut Conn, id: i64) -> StoreResult<PersonName> {
    let (name,): (String,) = sqlx::query_as("SELECT name FROM people WHERE id = $1").bind(id).fetch_one(&mut *c).await?;
    Ok(PersonName { id, name })
}

fn link_from(r: LinkRow) -> StoreResult<Link> {
    let kind = LinkKind::from_str(&r.kind).map_err(|e| StoreError::Internal(e.to_string()))?;
    let name = |id: Option<i64>, name: Option<String>, code: Option<String>| {
        id.map(|id| OrgName { id, org_ref: org_ref(id, code.as_deref()), name: name.unwrap_or_default() })
    };
    Ok(Link {
        id: r.id,
        kind,
        kind_label: kind.label_cn().to_string(),
        from_org: name(r.from_org_id, r.from_org_name, r.from_org_code),
        from_person: r.from_person_id.map(|id| PersonName { id, name: r.from_person_name.unwrap_or_default() }),
        to_org: OrgName { id: r.to_org_id, org_ref: org_ref(r.to_org_id, r.to_org_code.as_deref()), name: r.to_org_name },
        via_org: name(r.via_org_id, r.via_org_name, r.via_org_code),
        role: r.role,
        note: r.note,
        valid_from: r.valid_from,
        valid_to: r.valid_to,
    })
}

fn link_json(l: &Link) -> Value {
    json!({"kind": l.kind.key(), "from_org": l.from_org.as_ref().map(|o| o.id), "from_person": l.from_person.as_ref().map(|x| x.id),
           "to_org": l.to_org.id, "via_org": l.via_org.as_ref().map(|o| o.id), "role": l.role, "valid_from": l.valid_from, "valid_to": l.valid_to})
}

pub async fn create_link(p: &Pools<DB>, actor: &Actor, new: &NewLink) -> StoreResult<Link> {
    require(actor, Action::EditOrg)?;
    if let Some(to) = new.valid_to {
        if to < new.valid_from {
            return Err(StoreError::invalid("valid_to", "link.dates", "结束日期不能早于开始日期"));
        }
    }
    let mut tx = p.write.begin().await?;
    // Both ends, the sending unit and the person must be in the caller's scope: links that reach
    // across subtrees (a county organ paired with a village) are made by the county.
    let to = resolve_org(&mut tx, actor, &new.to_org).await?;
    let from_org = match &new.from_org {
        Some(r) => Some(resolve_org(&mut tx, actor, r).await.map_err(|_| StoreError::invalid("from_org", "link.from_org", "起始组织不存在或不在您的管理范围内"))?),
        None => None,
    };
    let via_org = match &new.via_org {
        Some(r) => Some(resolve_org(&mut tx, actor, r).await.map_err(|_| StoreError::invalid("via_org", "link.via_org", "派出单位不存在或不在您的管理范围内"))?),
        None => None,
    };
    if let Some(pid) = new.from_person {
        load_person(&mut tx, actor, pid).await.map_err(|_| StoreError::invalid("from_person", "link.from_person", "人员不存在或不在您的管理范围内"))?;
    }
    match (new.kind.from_person(), new.from_person.is_some(), from_org.is_some()) {
        (true, true, false) | (false, false, true) => {}
        (true, _, _) => return Err(StoreError::invalid("from_person", "link.needs_person", format!("{}需要指定人员（且不指定起始组织）", new.kind.label_cn()))),
        (false, _, _) => return Err(StoreError::invalid("from_org", "link.needs_org", format!("{}需要指定起始组织（且不指定人员）", new.kind.label_cn()))),
    }
    if from_org == Some(to) {
        return Err(StoreError::invalid("to_org", "link.self", "不能与自身建立关系"));
    }
    let role = new.role.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if let Some(r) = role {
        if new.kind != LinkKind::AllianceMember || !matches!(r, "chair" | "member") {
            return Err(StoreError::invalid("role", "link.role", "角色仅用于联盟成员，取值为 chair（轮值主席）或 member（成员）"));
        }
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO org_links (county_id, kind, from_org_id, from_person_id, to_org_id, via_org_id, role, note, valid_from, valid_to, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(actor.county_id)
    .bind(new.kind.key())
    .bind(from_org)
    .bind(new.from_person)
    .bind(to)
    .bind(via_org)
    .bind(role)
    .bind(new.note.as_deref().unwrap_or("").trim())
    .bind(new.valid_from)
    .bind(new.valid_to)
    .bind(Utc::now())
    .fetch_one(&mut *tx)
    .await?;
    let row: LinkRow = sqlx::query_as(&format!("{LINK_SELECT} WHERE l.id = $1")).bind(id).fetch_one(&mut *tx).await?;
    let link = link_from(row)?;
    audit_as(&mut tx,&p.audit_key, actor, "create", "link", id, None, Some(link_json(&link))).await?;
    tx.commit().await?;
    Ok(link)
}

pub async fn end_link(p: &Pools<DB>, actor: &Actor, id: i64, on: NaiveDate) -> StoreResult<Link> {
    require(actor, Action::EditOrg)?;
    let mut tx = p.write.begin().await?;
    let row: LinkRow = sqlx::query_as(&format!("{LINK_SELECT} WHERE l.id = $1 AND l.county_id = $2"))
        .bind(id)
        .bind(actor.county_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    ensure_org_in_scope(&mut tx, actor, row.to_org_id).await?;
    if let Some(ended) = row.valid_to {
        return Err(StoreError::conflict("link.already_ended", format!("该关系已于{ended}结束")));
    }
    if on < row.valid_from {
        return Err(StoreError::invalid("on", "link.dates", "结束日期不能早于开始日期"));
    }
    let before = link_from(row)?;
    sqlx::query("UPDATE org_links SET valid_to = $1 WHERE id = $2").bind(on).bind(id).execute(&mut *tx).await?;
    let row: LinkRow = sqlx::query_as(&format!("{LINK_SELECT} WHERE l.id = $1")).bind(id).fetch_one(&mut *tx).await?;
    let after = link_from(row)?;
    audit_as(&mut tx,&p.audit_key, actor, "end", "link", id, Some(link_json(&before)), Some(link_json(&after))).await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn links(p: &Pools<DB>, actor: &Actor, org_id: Option<i64>, kind: Option<LinkKind>) -> StoreResult<Vec<Link>> {
    require(actor, Action::ReadOrg)?;
    let mut c = p.read.acquire().await?;
    let mut q = Sql::new(LINK_SELECT);
    let county = q.arg(actor.county_id);
    q.push(&format!(" WHERE l.county_id = {county}"));
    if let Some(k) = kind {
        let k = q.arg(k.key());
        q.push(&format!(" AND l.kind = {k}"));
    }
    match org_id {
        Some(id) => {
            ensure_org_in_scope(&mut c, actor, id).await?;
            let a = q.arg(id);
            q.push(&format!(" AND (l.to_org_id = {a} OR l.from_org_id = {a} OR l.via_org_id = {a})"));
        }
        None => {
            // Visible when either end is in scope.
            let s1 = scope_cond(&mut q, &actor.scope, "l.to_org_id");
            let s2 = scope_cond(&mut q, &actor.scope, "l.from_org_id");
            q.push(&format!(" AND ({s1} OR {s2})"));
        }
    }
    q.push(" ORDER BY l.kind, l.valid_from DESC, l.id LIMIT 2000");
    fetch_all::<LinkRow>(&mut c, &q).await?.into_iter().map(link_from).collect()
}

// ---- people and positions ----------------------------------------------------------------------

type PersonRow = (i64, String, Option<String>, i64, Option<String>, Option<String>, Option<NaiveDate>, bool, bool, String, Option<String>);
const PERSON_SELECT: &str =
    "SELECT p.id, p.name, p.gender, p.org_id, p.id_number_enc, p.phone_enc, p.birth_date, p.party_member, p.retired, po.name, po.code FROM people p JOIN orgs po ON po.id = p.org_id";

/// A person is visible when their organisation, or one where they hold an active position, is in scope.
fn person_scope_cond(q: &mut Sql, scope: &Scope) -> String {
    let a = scope_cond(q, scope, "p.org_id");
    let b = scope_cond(q, scope, "ps.org_id");
    format!("({a} OR EXISTS (SELECT 1 FROM positions ps WHERE ps.person_id = p.id AND ps.valid_to IS NULL AND {b}))")
}

/// Opens an encrypted personal field: whole when `whole`, else masked. A value that does not
/// open (changed bytes) shows as stars rather than failing the page.
fn open_personal<T>(key: &FieldKey, field: &str, stored: Option<String>, whole: bool, parse: impl Fn(&str) -> Option<T>, mask: impl Fn(&T) -> String) -> Option<String> {
    let stored = stored?;
    let plain = match key.decrypt(field, &stored) {
        Ok(v) => v,
        Err(_) => {
            tracing::warn!(field, "a stored personal field does not decrypt");
            return Some("******".to_string());
        }
    };
    match parse(&plain) {
        Some(v) if !whole => Some(mask(&v)),
        None if !whole => Some("******".to_string()),
        _ => Some(plain),
    }
}

async fn person_from(c: &mut Conn, key: &FieldKey, r: PersonRow, with_positions: bool, whole: bool) -> StoreResult<Person> {
    let id_number = open_personal(key, "id_number", r.4, whole, |s| IdNumber::parse(s, crate::today()).ok(), |v| v.masked());
    let phone = open_personal(key, "phone", r.5, whole, |s| Phone::parse(s).ok(), |v| v.masked());
    let positions = if with_positions { positions_where(c, "ps.person_id = $1", r.0).await? } else { Vec::new() };
    Ok(Person {
        id: r.0,
        name: r.1,
        gender: r.2,
        org: OrgName { id: r.3, org_ref: org_ref(r.3, r.10.as_deref()), name: r.9 },
        id_number,
        phone,
        birth_date: r.6,
        party_member: r.7,
        retired: r.8,
        positions,
    })
}

/// Encrypts the plaintext personal data written before migration 3 (run inside its transaction)
/// and records which key encrypted it.
async fn encrypt_plaintext_people(c: &mut Conn, key: &FieldKey) -> StoreResult<usize> {
    let rows: Vec<(i64, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT id, id_number, phone FROM people WHERE id_number IS NOT NULL OR phone IS NOT NULL").fetch_all(&mut *c).await?;
    for (id, id_number, phone) in &rows {
        let id_number = id_number.as_deref().map(|v| (key.encrypt("id_number", v), key.blind_index("id_number", v)));
        let phone = phone.as_deref().map(|v| (key.encrypt("phone", v), key.blind_index("phone", v)));
        sqlx::query("UPDATE people SET id_number_enc = $1, id_number_bidx = $2, phone_enc = $3, phone_bidx = $4, id_number = NULL, phone = NULL WHERE id = $5")
            .bind(id_number.as_ref().map(|v| v.0.clone()))
            .bind(id_number.as_ref().map(|v| v.1.clone()))
            .bind(phone.as_ref().map(|v| v.0.clone()))
            .bind(phone.as_ref().map(|v| v.1.clone()))
            .bind(id)
            .execute(&mut *c)
            .await?;
    }
    sqlx::query("INSERT INTO instance_settings (name, value) VALUES ('field_key_check', $1)").bind(key_fingerprint(key)).execute(&mut *c).await?;
    tracing::info!(people = rows.len(), "encrypted personal data at rest");
    Ok(rows.len())
}

/// `Ok(())` when the database was encrypted under this field key (recording it on first use).
pub async fn check_field_key(p: &Pools<DB>) -> StoreResult<Result<(), ()>> {
    let mine = key_fingerprint(&p.field_key);
    let stored: Option<(String,)> = sqlx::query_as("SELECT value FROM instance_settings WHERE name = 'field_key_check'").fetch_optional(&p.read).await?;
    match stored {
        Some((v,)) if v == mine => Ok(Ok(())),
        Some(_) => Ok(Err(())),
        None => {
            sqlx::query("INSERT INTO instance_settings (name, value) VALUES ('field_key_check', $1)").bind(&mine).execute(&p.write).await?;
            Ok(Ok(()))
        }
    }
}

pub async fn create_person(p: &Pools<DB>, actor: &Actor, new: &NewPerson) -> StoreResult<Person> {
    require(actor, Action::EditPeople)?;
    let mut errors = Vec::new();
    let name = new.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 30 {
        errors.push(taizhang_domain::ledger::FieldError::new("name", "person.bad_name", "姓名不能为空，且不超过30个字"));
    }
    let id_number = match new.id_number.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match IdNumber::parse(s, crate::today()) {
            Ok(id) => Some(id),
            Err(e) => {
                errors.push(taizhang_domain::ledger::FieldError::new("id_number", e.code(), e.to_string()));
                None
            }
        },
    };
    let phone = match new.phone.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match Phone::parse(s) {
            Ok(ph) => Some(ph),
            Err(e) => {
                errors.push(taizhang_domain::ledger::FieldError::new("phone", e.code(), e.to_string()));
                None
            }
        },
    };
    let gender = match (new.gender.as_deref().map(str::trim).filter(|s| !s.is_empty()), &id_number) {
        (Some(g @ ("男" | "女")), _) => Some(g.to_string()),
        (Some(_), _) => {
            errors.push(taizhang_domain::ledger::FieldError::new("gender", "person.bad_gender", "性别应为“男”或“女”"));
            None
        }
        (None, Some(id)) => Some(if id.is_male() { "男" } else { "女" }.to_string()),
        (None, None) => None,
    };
    if let (Some(g), Some(id)) = (&gender, &id_number) {
        if (g == "男") != id.is_male() {
            errors.push(taizhang_domain::ledger::FieldError::new("gender", "person.gender_mismatch", "性别与身份证号不一致"));
        }
    }
    if !errors.is_empty() {
        return Err(StoreError::Invalid(errors));
    }
    let mut tx = p.write.begin().await?;
    let org_id = resolve_org(&mut tx, actor, &new.org).await?;
    if let Some(id) = &id_number {
        let dup: Option<(i64,)> = sqlx::query_as("SELECT id FROM people WHERE county_id = $1 AND id_number_bidx = $2")
            .bind(actor.county_id)
            .bind(p.field_key.blind_index("id_number", id.as_str()))
            .fetch_optional(&mut *tx)
            .await?;
        if dup.is_some() {
            return Err(StoreError::conflict("person.duplicate_id_number", format!("身份证号{}已登记", id.masked())));
        }
    }
    let now = Utc::now();
    let (pid,): (i64,) = sqlx::query_as(
        "INSERT INTO people (county_id, org_id, name, gender, id_number_enc, id_number_bidx, phone_enc, phone_bidx, birth_date, party_member, retired, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(actor.county_id)
    .bind(org_id)
    .bind(&name)
    .bind(&gender)
    .bind(id_number.as_ref().map(|i| p.field_key.encrypt("id_number", i.as_str())))
    .bind(id_number.as_ref().map(|i| p.field_key.blind_index("id_number", i.as_str())))
    .bind(phone.as_ref().map(|x| p.field_key.encrypt("phone", x.as_str())))
    .bind(phone.as_ref().map(|x| p.field_key.blind_index("phone", x.as_str())))
    .bind(id_number.as_ref().map(|i| i.birth_date()))
    .bind(new.party_member)
    .bind(new.retired)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "create",
        "person",
        pid,
        None,
        Some(json!({"name": name, "org_id": org_id, "gender": gender, "id_number": id_number.as_ref().map(|i| i.as_str()),
                    "phone": phone.as_ref().map(|x| x.as_str()), "party_member": new.party_member, "retired": new.retired})),
    )
    .await?;
    let row: PersonRow = sqlx::query_as(&format!("{PERSON_SELECT} WHERE p.id = $1")).bind(pid).fetch_one(&mut *tx).await?;
    let person = person_from(&mut tx, &p.field_key, row, true, false).await?;
    tx.commit().await?;
    Ok(person)
}

async fn load_person(c: &mut Conn, actor: &Actor, id: i64) -> StoreResult<PersonRow> {
    let mut q = Sql::new(PERSON_SELECT);
    let i = q.arg(id);
    let county = q.arg(actor.county_id);
    let s = person_scope_cond(&mut q, &actor.scope);
    q.push(&format!(" WHERE p.id = {i} AND p.county_id = {county} AND {s}"));
    fetch_optional::<PersonRow>(c, &q).await?.ok_or(StoreError::NotFound)
}

/// One person, personal data masked; with `reveal`, whole for a role that may see it, and the
/// view is audited (who saw whose 身份证号 and phone, and when).
pub async fn person(p: &Pools<DB>, actor: &Actor, id: i64, reveal: bool) -> StoreResult<Person> {
    require(actor, Action::ReadPeople)?;
    if reveal {
        require(actor, Action::ReadPersonalData)?;
        let mut tx = p.write.begin().await?;
        let row = load_person(&mut tx, actor, id).await?;
        let person = person_from(&mut tx, &p.field_key, row, true, true).await?;
        audit_as(&mut tx, &p.audit_key, actor, "view_personal", "person", id, None, Some(json!({"fields": ["id_number", "phone"]}))).await?;
        tx.commit().await?;
        return Ok(person);
    }
    let mut c = p.read.acquire().await?;
    let row = load_person(&mut c, actor, id).await?;
    person_from(&mut c, &p.field_key, row, true, false).await
}

pub async fn people(p: &Pools<DB>, actor: &Actor, org_id: Option<i64>, text: &str, limit: i64, offset: i64) -> StoreResult<(i64, Vec<Person>)> {
    require(actor, Action::ReadPeople)?;
    let mut c = p.read.acquire().await?;
    let mut q = Sql::new("");
    let county = q.arg(actor.county_id);
    let s = person_scope_cond(&mut q, &actor.scope);
    let mut cond = format!(" WHERE p.county_id = {county} AND {s}");
    if let Some(org) = org_id {
        ensure_org_in_scope(&mut c, actor, org).await?;
        let o = q.arg(org);
        cond.push_str(&format!(" AND (p.org_id = {o} OR EXISTS (SELECT 1 FROM positions px WHERE px.person_id = p.id AND px.org_id = {o} AND px.valid_to IS NULL))"));
    }
    let text = text.trim();
    // A whole 身份证号 or phone number is found through its blind index; anything else is a name.
    if let Ok(id) = IdNumber::parse(text, crate::today()) {
        let b = q.arg(p.field_key.blind_index("id_number", id.as_str()));
        cond.push_str(&format!(" AND p.id_number_bidx = {b}"));
    } else if let Ok(phone) = Phone::parse(text) {
        let b = q.arg(p.field_key.blind_index("phone", phone.as_str()));
        cond.push_str(&format!(" AND p.phone_bidx = {b}"));
    } else if !text.is_empty() {
        let pat = q.arg(format!("%{}%", text.replace(['%', '_'], "")));
        cond.push_str(&format!(" AND p.name LIKE {pat}"));
    }
    let mut count_q = q.clone();
    count_q.text = format!("SELECT COUNT(*) FROM people p{cond}");
    let (total,) = fetch_optional::<(i64,)>(&mut c, &count_q).await?.unwrap_or((0,));
    let lim = q.arg(limit.clamp(1, 500));
    let off = q.arg(offset.max(0));
    q.text = format!("{PERSON_SELECT}{cond} ORDER BY p.id LIMIT {lim} OFFSET {off}");
    let rows = fetch_all::<PersonRow>(&mut c, &q).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(person_from(&mut c, &p.field_key, r, false, false).await?);
    }
    Ok((total, out))
}

type PositionRow = (i64, i64, String, i64, String, Option<String>, String, NaiveDate, Option<NaiveDate>);

async fn positions_where(c: &mut Conn, cond: &str, arg: i64) -> StoreResult<Vec<Position>> {
    let rows: Vec<PositionRow> = sqlx::query_as(&format!(
        "SELECT ps.id, ps.person_id, pe.name, ps.org_id, o.name, o.code, ps.title, ps.valid_from, ps.valid_to
         FROM positions ps JOIN people pe ON pe.id = ps.person_id JOIN orgs o ON o.id = ps.org_id WHERE {cond}
         ORDER BY ps.valid_to IS NOT NULL, ps.title, ps.valid_from DESC, ps.id LIMIT 2000"
    ))
    .bind(arg)
    .fetch_all(&mut *c)
    .await?;
    rows.into_iter()
        .map(|r| {
            let title = PositionTitle::from_str(&r.6).map_err(|e| StoreError::Internal(e.to_string()))?;
            Ok(Position {
                id: r.0,
                person: PersonName { id: r.1, name: r.2 },
                org: OrgName { id: r.3, org_ref: org_ref(r.3, r.5.as_deref()), name: r.4 },
                title,
                title_label: title.label_cn().to_string(),
                valid_from: r.7,
                valid_to: r.8,
            })
        })
        .collect()
}

pub async fn positions_in(p: &Pools<DB>, actor: &Actor, org_id: i64) -> StoreResult<Vec<Position>> {
    require(actor, Action::ReadPeople)?;
    let mut c = p.read.acquire().await?;
    ensure_org_in_scope(&mut c, actor, org_id).await?;
    positions_where(&mut c, "ps.org_id = $1", org_id).await
}

pub async fn add_position(p: &Pools<DB>, actor: &Actor, new: &NewPosition) -> StoreResult<Position> {
    require(actor, Action::EditPeople)?;
    if let Some(to) = new.valid_to {
        if to < new.valid_from {
            return Err(StoreError::invalid("valid_to", "position.dates", "任职结束日期不能早于开始日期"));
        }
    }
    let mut tx = p.write.begin().await?;
    let org_id = resolve_org(&mut tx, actor, &new.org).await?;
    // Appointing someone from outside one's scope is a county administrator's act.
    load_person(&mut tx, actor, new.person_id).await.map_err(|_| StoreError::invalid("person_id", "position.person", "人员不存在或不在您的管理范围内"))?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO positions (county_id, person_id, org_id, title, valid_from, valid_to, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(actor.county_id)
    .bind(new.person_id)
    .bind(org_id)
    .bind(new.title.key())
    .bind(new.valid_from)
    .bind(new.valid_to)
    .bind(Utc::now())
    .fetch_one(&mut *tx)
    .await?;
    audit_as(&mut tx,&p.audit_key, actor, "create", "position", id, None, Some(json!({"person_id": new.person_id, "org_id": org_id, "title": new.title.key(), "valid_from": new.valid_from, "valid_to": new.valid_to}))).await?;
    let pos = positions_where(&mut tx, "ps.id = $1", id).await?.pop().ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(pos)
}

pub async fn end_position(p: &Pools<DB>, actor: &Actor, id: i64, on: NaiveDate) -> StoreResult<Position> {
    require(actor, Action::EditPeople)?;
    let mut tx = p.write.begin().await?;
    let pos = positions_where(&mut tx, "ps.id = $1", id).await?.pop().ok_or(StoreError::NotFound)?;
    ensure_org_in_scope(&mut tx, actor, pos.org.id).await?;
    if let Some(ended) = pos.valid_to {
        return Err(StoreError::conflict("position.already_ended", format!("该任职已于{ended}结束")));
    }
    if on < pos.valid_from {
        return Err(StoreError::invalid("on", "position.dates", "任职结束日期不能早于开始日期"));
    }
    sqlx::query("UPDATE positions SET valid_to = $1 WHERE id = $2").bind(on).bind(id).execute(&mut *tx).await?;
    audit_as(&mut tx,&p.audit_key, actor, "end", "position", id, Some(json!({"valid_to": pos.valid_to})), Some(json!({"valid_to": on}))).await?;
    let after = positions_where(&mut tx, "ps.id = $1", id).await?.pop().ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(after)
}

// ---- ledger types ------------------------------------------------------------------------------

type TypeRow = (i64, String, String, i64, Json<LedgerTypeDef>);
const TYPE_SELECT: &str = "SELECT t.id, t.key, t.name, t.current_version, v.definition FROM ledger_types t JOIN ledger_type_versions v ON v.ledger_type_id = t.id AND v.version = t.current_version";

fn type_from(r: TypeRow) -> LedgerType {
    LedgerType { id: r.0, key: r.1, name: r.2, version: r.3, definition: r.4 .0 }
}

async fn insert_ledger_type(c: &mut Conn, key: &AuditKey, actor: &Actor, def: &LedgerTypeDef) -> StoreResult<i64> {
    let (id,): (i64,) = sqlx::query_as("INSERT INTO ledger_types (county_id, key, name, current_version, created_at) VALUES ($1, $2, $3, 1, $4) RETURNING id")
        .bind(actor.county_id)
        .bind(&def.key)
        .bind(&def.name)
        .bind(Utc::now())
        .fetch_one(&mut *c)
        .await?;
    sqlx::query("INSERT INTO ledger_type_versions (county_id, ledger_type_id, version, definition, created_at) VALUES ($1, $2, 1, $3, $4)")
        .bind(actor.county_id)
        .bind(id)
        .bind(Json(def))
        .bind(Utc::now())
        .execute(&mut *c)
        .await?;
    audit_as(c, key, actor, "create", "ledger_type", &def.key, None, Some(serde_json::to_value(def).unwrap_or(Value::Null))).await?;
    Ok(id)
}

pub async fn ledger_types(p: &Pools<DB>, actor: &Actor) -> StoreResult<Vec<LedgerType>> {
    require(actor, Action::ReadRecords)?;
    let rows: Vec<TypeRow> = sqlx::query_as(&format!("{TYPE_SELECT} WHERE t.county_id = $1 ORDER BY t.id")).bind(actor.county_id).fetch_all(&p.read).await?;
    Ok(rows.into_iter().map(type_from).collect())
}

async fn load_type(c: &mut Conn, county_id: i64, key: &str) -> StoreResult<LedgerType> {
    let row: Option<TypeRow> = sqlx::query_as(&format!("{TYPE_SELECT} WHERE t.county_id = $1 AND t.key = $2")).bind(county_id).bind(key).fetch_optional(&mut *c).await?;
    row.map(type_from).ok_or(StoreError::NotFound)
}

pub async fn ledger_type(p: &Pools<DB>, actor: &Actor, key: &str) -> StoreResult<LedgerType> {
    require(actor, Action::ReadRecords)?;
    let mut c = p.read.acquire().await?;
    load_type(&mut c, actor.county_id, key).await
}

pub async fn create_ledger_type(p: &Pools<DB>, actor: &Actor, def: &LedgerTypeDef) -> StoreResult<LedgerType> {
    require(actor, Action::ManageLedgerTypes)?;
    def.validate().map_err(StoreError::Invalid)?;
    let mut tx = p.write.begin().await?;
    let taken: Option<(i64,)> = sqlx::query_as("SELECT id FROM ledger_types WHERE county_id = $1 AND key = $2").bind(actor.county_id).bind(&def.key).fetch_optional(&mut *tx).await?;
    if taken.is_some() {
        return Err(StoreError::conflict("ledger_type.exists", format!("类型标识“{}”已存在", def.key)));
    }
    insert_ledger_type(&mut tx, &p.audit_key, actor, def).await?;
    let t = load_type(&mut tx, actor.county_id, &def.key).await?;
    tx.commit().await?;
    Ok(t)
}

pub async fn update_ledger_type(p: &Pools<DB>, actor: &Actor, def: &LedgerTypeDef) -> StoreResult<LedgerType> {
    require(actor, Action::ManageLedgerTypes)?;
    def.validate().map_err(StoreError::Invalid)?;
    let mut tx = p.write.begin().await?;
    let current = load_type(&mut tx, actor.county_id, &def.key).await?;
    current.definition.check_evolution(def).map_err(StoreError::Invalid)?;
    if &current.definition == def {
        return Ok(current);
    }
    let version = current.version + 1;
    sqlx::query("INSERT INTO ledger_type_versions (county_id, ledger_type_id, version, definition, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(actor.county_id)
        .bind(current.id)
        .bind(version)
        .bind(Json(def))
        .bind(Utc::now())
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE ledger_types SET current_version = $1, name = $2 WHERE id = $3").bind(version).bind(&def.name).bind(current.id).execute(&mut *tx).await?;
    audit_as(&mut tx,&p.audit_key, actor, "update", "ledger_type", &def.key, serde_json::to_value(&current.definition).ok(), serde_json::to_value(def).ok()).await?;
    let t = load_type(&mut tx, actor.county_id, &def.key).await?;
    tx.commit().await?;
    Ok(t)
}

// ---- records -----------------------------------------------------------------------------------

type RecordRow = (i64, String, String, i64, i64, String, Option<String>, NaiveDate, Json<Value>, Option<String>, DateTime<Utc>, Option<DateTime<Utc>>);
const RECORD_SELECT: &str = "SELECT r.id, t.key, t.name, r.type_version, r.org_id, o.name, o.code, r.occurred_on, r.fields, u.username, r.created_at, r.voided_at
     FROM ledger_records r JOIN ledger_types t ON t.id = r.ledger_type_id JOIN orgs o ON o.id = r.org_id LEFT JOIN users u ON u.id = r.created_by";

/// Records are visible where their organisation is in scope today, or was under a scope root on
/// the record's date (so a bulletin's figures and the records behind them always agree).
fn record_scope_cond(q: &mut Sql, scope: &Scope) -> String {
    match scope.roots() {
        None => "1=1".into(),
        Some([]) => "1=0".into(),
        Some(roots) => {
            let l = q.list(roots);
            format!("EXISTS (SELECT 1 FROM org_closure sc WHERE sc.descendant_id = r.org_id AND sc.ancestor_id IN ({l}) AND (sc.valid_to IS NULL OR (sc.valid_from <= r.occurred_on AND r.occurred_on < sc.valid_to)))")
        }
    }
}

async fn records_from(c: &mut Conn, rows: Vec<RecordRow>) -> StoreResult<Vec<Record>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut names: HashMap<i64, Vec<PersonName>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut q = Sql::new("SELECT rp.record_id, p.id, p.name FROM record_people rp JOIN people p ON p.id = rp.person_id WHERE rp.record_id IN (");
        let l = q.list(chunk);
        q.push(&format!("{l}) ORDER BY rp.record_id, rp.field_key, p.id"));
        for (rid, pid, name) in fetch_all::<(i64, i64, String)>(c, &q).await? {
            let v = names.entry(rid).or_default();
            if !v.iter().any(|x| x.id == pid) {
                v.push(PersonName { id: pid, name });
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| Record {
            id: r.0,
            ledger_type: r.1,
            ledger_type_name: r.2,
            type_version: r.3,
            org: OrgName { id: r.4, org_ref: org_ref(r.4, r.6.as_deref()), name: r.5 },
            occurred_on: r.7,
            fields: r.8 .0,
            people: names.remove(&r.0).unwrap_or_default(),
            created_by: r.9,
            created_at: r.10,
            voided_at: r.11,
        })
        .collect())
}

struct PreparedRecord {
    type_id: i64,
    version: i64,
    org_id: i64,
    occurred_on: NaiveDate,
    validated: taizhang_domain::ledger::ValidatedRecord,
}

/// Validates one record against its type and the county: the organisation in scope and alive on
/// the date, the people and attachments it names existing.
async fn prepare_record(
    c: &mut Conn,
    actor: &Actor,
    types: &mut HashMap<String, LedgerType>,
    new: &NewRecord,
    today: NaiveDate,
) -> StoreResult<PreparedRecord> {
    if !types.contains_key(&new.ledger_type) {
        let t = load_type(c, actor.county_id, &new.ledger_type)
            .await
            .map_err(|_| StoreError::invalid("ledger_type", "record.unknown_type", format!("台账类型“{}”不存在", new.ledger_type)))?;
        types.insert(new.ledger_type.clone(), t);
    }
    let t = &types[&new.ledger_type];
    let validation = t.definition.validate_record(&new.fields);
    let mut errors = validation.as_ref().err().cloned().unwrap_or_default();
    if new.occurred_on > today {
        errors.push(taizhang_domain::ledger::FieldError::new("occurred_on", "record.future_date", "日期不能晚于今天"));
    }
    if new.occurred_on < NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default() {
        errors.push(taizhang_domain::ledger::FieldError::new("occurred_on", "record.too_old", "日期不能早于2000年"));
    }
    let org = match resolve_org(c, actor, &new.org).await {
        Ok(id) => Some(load_org_unscoped(c, id).await?),
        Err(StoreError::NotFound) => {
            errors.push(taizhang_domain::ledger::FieldError::new("org", "record.unknown_org", "组织不存在或不在您的管理范围内"));
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(o) = &org {
        if o.established_on > new.occurred_on || o.dissolved_on.is_some_and(|d| d <= new.occurred_on) {
            errors.push(taizhang_domain::ledger::FieldError::new("occurred_on", "record.org_not_active", format!("“{}”在该日期未处于存续状态", o.name)));
        }
    }
    let validated = match validation {
        Ok(v) => v,
        Err(_) => return Err(StoreError::Invalid(errors)),
    };
    if !validated.people.is_empty() {
        // Only people the caller may see: an id from elsewhere is "not found", never a name.
        let mut q = Sql::new("SELECT p.id FROM people p WHERE p.county_id = ");
        let cty = q.arg(actor.county_id);
        let l = q.list(&validated.people);
        let s = person_scope_cond(&mut q, &actor.scope);
        q.push(&format!("{cty} AND p.id IN ({l}) AND {s}"));
        let found: HashSet<i64> = fetch_all::<(i64,)>(c, &q).await?.into_iter().map(|x| x.0).collect();
        for pid in &validated.people {
            if !found.contains(pid) {
                errors.push(taizhang_domain::ledger::FieldError::new("people", "record.unknown_person", format!("人员编号{pid}不存在")));
            }
        }
    }
    let county_actor = Actor { scope: Scope::county(actor.county_id), ..actor.clone() };
    for (field, r) in &validated.orgs {
        let s = match r {
            OrgRef::Code(code) => code.clone(),
            OrgRef::Id(id) => format!("o{id}"),
        };
        if resolve_org(c, &county_actor, &s).await.is_err() {
            errors.push(taizhang_domain::ledger::FieldError::new(field.clone(), "record.unknown_org", format!("组织“{s}”不存在")));
        }
    }
    for a in &validated.attachments {
        if !attachment_visible(c, actor, a).await? {
            errors.push(taizhang_domain::ledger::FieldError::new("attachments", "record.unknown_attachment", "附件不存在，请重新上传"));
        }
    }
    if !errors.is_empty() {
        return Err(StoreError::Invalid(errors));
    }
    let org = org.ok_or(StoreError::NotFound)?;
    Ok(PreparedRecord { type_id: t.id, version: t.version, org_id: org.id, occurred_on: new.occurred_on, validated })
}

async fn insert_prepared(c: &mut Conn, actor: &Actor, r: &PreparedRecord) -> StoreResult<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO ledger_records (county_id, ledger_type_id, type_version, org_id, occurred_on, fields, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(actor.county_id)
    .bind(r.type_id)
    .bind(r.version)
    .bind(r.org_id)
    .bind(r.occurred_on)
    .bind(Json(Value::Object(r.validated.values.clone())))
    .bind(actor.user_id)
    .bind(Utc::now())
    .fetch_one(&mut *c)
    .await?;
    Ok(id)
}

/// People, facts and attachments of many records, in multi-row inserts.
async fn insert_record_details(c: &mut Conn, county_id: i64, items: &[(i64, &PreparedRecord)], defs: &HashMap<i64, LedgerTypeDef>) -> StoreResult<()> {
    let mut people: Vec<(i64, String, i64)> = Vec::new();
    let mut facts: Vec<(i64, String, Option<i64>, Option<String>)> = Vec::new();
    let mut attachments: Vec<(i64, String)> = Vec::new();
    for (rid, r) in items {
        if let Some(def) = defs.get(&r.type_id) {
            for f in def.fields.iter() {
                if let taizhang_domain::ledger::FieldKind::People { .. } = f.kind {
                    if let Some(Value::Array(ids)) = r.validated.values.get(&f.key) {
                        let mut seen = HashSet::new();
                        for pid in ids.iter().filter_map(Value::as_i64) {
                            if seen.insert(pid) {
                                people.push((*rid, f.key.clone(), pid));
                            }
                        }
                    }
                }
            }
        }
        for fact in &r.validated.facts {
            match fact {
                Fact::Number { field, value } => facts.push((*rid, field.clone(), Some(*value), None)),
                Fact::Choice { field, option } => facts.push((*rid, field.clone(), None, Some(option.clone()))),
            }
        }
        for a in &r.validated.attachments {
            attachments.push((*rid, a.clone()));
        }
    }
    for chunk in people.chunks(400) {
        let mut q = Sql::new("INSERT INTO record_people (county_id, record_id, field_key, person_id) VALUES ");
        let rows: Vec<String> = chunk
            .iter()
            .map(|(rid, f, pid)| format!("({}, {}, {}, {})", q.arg(county_id), q.arg(*rid), q.arg(f.as_str()), q.arg(*pid)))
            .collect();
        q.push(&rows.join(", "));
        execute(c, &q).await?;
    }
    for chunk in facts.chunks(400) {
        let mut q = Sql::new("INSERT INTO record_facts (county_id, record_id, field_key, num_value, option_value) VALUES ");
        let rows: Vec<String> = chunk
            .iter()
            .map(|(rid, f, n, o)| {
                let n = match n {
                    Some(v) => q.arg(*v),
                    None => "NULL".into(),
                };
                let o = match o {
                    Some(v) => q.arg(v.as_str()),
                    None => "NULL".into(),
                };
                format!("({}, {}, {}, {n}, {o})", q.arg(county_id), q.arg(*rid), q.arg(f.as_str()))
            })
            .collect();
        q.push(&rows.join(", "));
        execute(c, &q).await?;
    }
    for (rid, a) in attachments {
        sqlx::query("INSERT INTO record_attachments (county_id, record_id, attachment_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(county_id)
            .bind(rid)
            .bind(&a)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

pub async fn create_record(p: &Pools<DB>, actor: &Actor, new: &NewRecord, today: NaiveDate) -> StoreResult<Record> {
    require(actor, Action::RecordEntry)?;
    let mut tx = p.write.begin().await?;
    let mut types = HashMap::new();
    let prepared = prepare_record(&mut tx, actor, &mut types, new, today).await?;
    let id = insert_prepared(&mut tx, actor, &prepared).await?;
    let defs: HashMap<i64, LedgerTypeDef> = types.into_values().map(|t| (t.id, t.definition)).collect();
    insert_record_details(&mut tx, actor.county_id, &[(id, &prepared)], &defs).await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "create",
        "record",
        id,
        None,
        Some(json!({"ledger_type": new.ledger_type, "org_id": prepared.org_id, "occurred_on": new.occurred_on, "fields": prepared.validated.values})),
    )
    .await?;
    let row: RecordRow = sqlx::query_as(&format!("{RECORD_SELECT} WHERE r.id = $1")).bind(id).fetch_one(&mut *tx).await?;
    let rec = records_from(&mut tx, vec![row]).await?.pop().ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(rec)
}

pub async fn create_records(p: &Pools<DB>, actor: &Actor, new: &[NewRecord], today: NaiveDate) -> StoreResult<usize> {
    require(actor, Action::RecordEntry)?;
    let mut tx = p.write.begin().await?;
    let mut types = HashMap::new();
    let mut prepared = Vec::with_capacity(new.len());
    for (i, n) in new.iter().enumerate() {
        match prepare_record(&mut tx, actor, &mut types, n, today).await {
            Ok(r) => prepared.push(r),
            Err(StoreError::Invalid(errs)) => {
                // Name the row, so that a batch's caller can say which one failed.
                return Err(StoreError::Invalid(
                    errs.into_iter().map(|e| taizhang_domain::ledger::FieldError::new(format!("[{i}].{}", e.field), &e.code, e.message)).collect(),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    let mut ids = Vec::with_capacity(prepared.len());
    for r in &prepared {
        ids.push(insert_prepared(&mut tx, actor, r).await?);
    }
    let defs: HashMap<i64, LedgerTypeDef> = types.into_values().map(|t| (t.id, t.definition)).collect();
    let items: Vec<(i64, &PreparedRecord)> = ids.iter().copied().zip(prepared.iter()).collect();
    insert_record_details(&mut tx, actor.county_id, &items, &defs).await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "import",
        "record",
        format!("{}..{}", ids.first().copied().unwrap_or(0), ids.last().copied().unwrap_or(0)),
        None,
        Some(json!({"count": ids.len()})),
    )
    .await?;
    tx.commit().await?;
    Ok(ids.len())
}

pub async fn record(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<Record> {
    require(actor, Action::ReadRecords)?;
    let mut c = p.read.acquire().await?;
    let mut q = Sql::new(RECORD_SELECT);
    let i = q.arg(id);
    let county = q.arg(actor.county_id);
    let s = record_scope_cond(&mut q, &actor.scope);
    q.push(&format!(" WHERE r.id = {i} AND r.county_id = {county} AND {s}"));
    let row = fetch_optional::<RecordRow>(&mut c, &q).await?.ok_or(StoreError::NotFound)?;
    records_from(&mut c, vec![row]).await?.pop().ok_or(StoreError::NotFound)
}

/// The organisation-subtree condition "as the tree was on the record's date".
fn subtree_on_record_date(q: &mut Sql, root: i64) -> String {
    let a = q.arg(root);
    format!("EXISTS (SELECT 1 FROM org_closure cl WHERE cl.ancestor_id = {a} AND cl.descendant_id = r.org_id AND cl.valid_from <= r.occurred_on AND (cl.valid_to IS NULL OR r.occurred_on < cl.valid_to))")
}

pub async fn records(p: &Pools<DB>, actor: &Actor, rq: &RecordQuery) -> StoreResult<RecordPage> {
    require(actor, Action::ReadRecords)?;
    let mut c = p.read.acquire().await?;
    let mut q = Sql::new("");
    let county = q.arg(actor.county_id);
    let s = record_scope_cond(&mut q, &actor.scope);
    let mut cond = format!(" WHERE r.county_id = {county} AND r.voided_at IS NULL AND {s}");
    if let Some(org) = rq.org.as_deref().filter(|o| !o.is_empty()) {
        let id = resolve_org(&mut c, actor, org).await?;
        let sub = subtree_on_record_date(&mut q, id);
        cond.push_str(&format!(" AND {sub}"));
    }
    if let Some(t) = rq.ledger_type.as_deref().filter(|t| !t.is_empty()) {
        let t = q.arg(t);
        cond.push_str(&format!(" AND t.key = {t}"));
    }
    if let Some(f) = rq.from {
        let f = q.arg(f);
        cond.push_str(&format!(" AND r.occurred_on >= {f}"));
    }
    if let Some(t) = rq.to {
        let t = q.arg(t);
        cond.push_str(&format!(" AND r.occurred_on <= {t}"));
    }
    if let (Some(field), Some(option)) = (rq.field.as_deref(), rq.option.as_deref()) {
        let f = q.arg(field);
        let o = q.arg(option);
        cond.push_str(&format!(" AND EXISTS (SELECT 1 FROM record_facts fx WHERE fx.record_id = r.id AND fx.field_key = {f} AND fx.option_value = {o})"));
    }
    if let Some(pid) = rq.person {
        let pid = q.arg(pid);
        cond.push_str(&format!(" AND EXISTS (SELECT 1 FROM record_people px WHERE px.record_id = r.id AND px.person_id = {pid})"));
    }
    let mut count_q = q.clone();
    count_q.text = format!("SELECT COUNT(*) FROM ledger_records r JOIN ledger_types t ON t.id = r.ledger_type_id{cond}");
    let (total,) = fetch_optional::<(i64,)>(&mut c, &count_q).await?.unwrap_or((0,));
    let lim = q.arg(rq.limit.unwrap_or(50).clamp(1, 1000));
    let off = q.arg(rq.offset.unwrap_or(0).max(0));
    q.text = format!("{RECORD_SELECT}{cond} ORDER BY r.occurred_on DESC, r.id DESC LIMIT {lim} OFFSET {off}");
    let rows = fetch_all::<RecordRow>(&mut c, &q).await?;
    Ok(RecordPage { total, records: records_from(&mut c, rows).await? })
}

pub async fn void_record(p: &Pools<DB>, actor: &Actor, id: i64, reason: &str) -> StoreResult<Record> {
    require(actor, Action::RecordEntry)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(StoreError::invalid("reason", "record.void_reason", "请填写作废原因（不超过200字）"));
    }
    let mut tx = p.write.begin().await?;
    let mut q = Sql::new(RECORD_SELECT);
    let i = q.arg(id);
    let county = q.arg(actor.county_id);
    let s = scope_cond(&mut q, &actor.scope, "r.org_id");
    q.push(&format!(" WHERE r.id = {i} AND r.county_id = {county} AND {s}"));
    let row = fetch_optional::<RecordRow>(&mut tx, &q).await?.ok_or(StoreError::NotFound)?;
    if row.11.is_some() {
        return Err(StoreError::conflict("record.already_void", "该记录已作废"));
    }
    sqlx::query("UPDATE ledger_records SET voided_at = $1, void_reason = $2 WHERE id = $3").bind(Utc::now()).bind(reason).bind(id).execute(&mut *tx).await?;
    audit_as(&mut tx,&p.audit_key, actor, "void", "record", id, Some(json!({"fields": row.8 .0})), Some(json!({"void_reason": reason}))).await?;
    let row: RecordRow = sqlx::query_as(&format!("{RECORD_SELECT} WHERE r.id = $1")).bind(id).fetch_one(&mut *tx).await?;
    let rec = records_from(&mut tx, vec![row]).await?.pop().ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(rec)
}

pub async fn insert_attachment(p: &Pools<DB>, actor: &Actor, id: &str, file_name: &str, content_type: &str, size: i64) -> StoreResult<()> {
    require(actor, Action::RecordEntry)?;
    let mut tx = p.write.begin().await?;
    let res = sqlx::query(
        "INSERT INTO attachments (id, county_id, file_name, content_type, size_bytes, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(actor.county_id)
    .bind(file_name.chars().take(200).collect::<String>())
    .bind(content_type)
    .bind(size)
    .bind(actor.user_id)
    .bind(Utc::now())
    .execute(&mut *tx)
    .await?;
    if res.rows_affected() > 0 {
        audit_as(&mut tx,&p.audit_key, actor, "upload", "attachment", id, None, Some(json!({"file_name": file_name, "size": size}))).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// An attachment is the caller's if it uploaded it, or if a record the caller may see uses it.
fn attachment_query(actor: &Actor, id: &str, select: &str) -> Sql {
    let mut q = Sql::new(&format!("SELECT {select} FROM attachments a WHERE a.county_id = "));
    let county = q.arg(actor.county_id);
    let i = q.arg(id);
    let uid = q.arg(actor.user_id.unwrap_or(-1));
    let s = record_scope_cond(&mut q, &actor.scope);
    q.push(&format!(
        "{county} AND a.id = {i} AND (a.created_by = {uid} OR EXISTS (SELECT 1 FROM record_attachments ra JOIN ledger_records r ON r.id = ra.record_id WHERE ra.attachment_id = a.id AND r.county_id = a.county_id AND {s}))"
    ));
    q
}

async fn attachment_visible(c: &mut Conn, actor: &Actor, id: &str) -> StoreResult<bool> {
    Ok(fetch_optional::<(String,)>(c, &attachment_query(actor, id, "a.id")).await?.is_some())
}

pub async fn attachment_meta(p: &Pools<DB>, actor: &Actor, id: &str) -> StoreResult<(String, String)> {
    require(actor, Action::ReadRecords)?;
    let mut c = p.read.acquire().await?;
    fetch_optional::<(String, String)>(&mut c, &attachment_query(actor, id, "a.file_name, a.content_type")).await?.ok_or(StoreError::NotFound)
}

// ---- overdue -----------------------------------------------------------------------------------

/// For every cadence rule: organisations of the rule's kinds under `root` that have no matching
/// record for the last closed period past its deadline (overdue), or yet for the current one (due).
pub async fn overdue(p: &Pools<DB>, actor: &Actor, root_ref: &str, as_of: NaiveDate) -> StoreResult<Vec<OverdueItem>> {
    require(actor, Action::ReadRecords)?;
    let mut c = p.read.acquire().await?;
    let root = resolve_org(&mut c, actor, root_ref).await?;
    let types: Vec<TypeRow> = sqlx::query_as(&format!("{TYPE_SELECT} WHERE t.county_id = $1 ORDER BY t.id")).bind(actor.county_id).fetch_all(&mut *c).await?;
    let mut out = Vec::new();
    for t in types.into_iter().map(type_from) {
        for rule in &t.definition.cadences {
            // No cadence period reaches outside the platform's dates: nothing is due there.
            let Ok(current) = rule.cadence.period_containing(as_of) else { continue };
            for (period, is_current) in [(current.previous(), false), (Some(current), true)] {
                let Some(period) = period else { continue };
                let range = period.range();
                let due_on = range.to + chrono::Duration::days(i64::from(rule.grace_days));
                if !is_current && as_of <= due_on {
                    continue; // last period's deadline has not passed yet
                }
                let mut q = Sql::new("SELECT o.id, o.name, o.code FROM org_closure cl JOIN orgs o ON o.id = cl.descendant_id WHERE cl.ancestor_id = ");
                let r = q.arg(root);
                let kinds: Vec<String> = rule.org_kinds.iter().map(|k| q.arg(k.key())).collect();
                let end = q.arg(range.to);
                let start = q.arg(range.from);
                let tid = q.arg(t.id);
                let matching = match &rule.when {
                    Some(w) => {
                        let f = q.arg(w.field.as_str());
                        let v = q.arg(w.value.as_str());
                        format!(" AND EXISTS (SELECT 1 FROM record_facts fx WHERE fx.record_id = r.id AND fx.field_key = {f} AND fx.option_value = {v})")
                    }
                    None => String::new(),
                };
                q.push(&format!(
                    "{r} AND cl.valid_to IS NULL AND o.kind IN ({}) AND o.established_on <= {end} AND (o.dissolved_on IS NULL OR o.dissolved_on > {end})
                     AND NOT EXISTS (SELECT 1 FROM ledger_records r WHERE r.org_id = o.id AND r.ledger_type_id = {tid} AND r.voided_at IS NULL
                                     AND r.occurred_on BETWEEN {start} AND {end}{matching})
                     ORDER BY o.id",
                    kinds.join(", ")
                ));
                for (id, name, code) in fetch_all::<(i64, String, Option<String>)>(&mut c, &q).await? {
                    out.push(OverdueItem {
                        org: OrgName { id, org_ref: org_ref(id, code.as_deref()), name },
                        ledger_type: t.key.clone(),
                        ledger_type_name: t.name.clone(),
                        rule: rule.label.clone(),
                        period: period.to_string(),
                        period_label: period.label_cn(),
                        due_on,
                        status: taizhang_domain::OverdueStatus::on(as_of, due_on).key().to_string(),
                    });
                }
            }
        }
    }
    Ok(out)
}

// ---- bulletins ---------------------------------------------------------------------------------

fn clip(range: DateRange, from: NaiveDate, to_inclusive: Option<NaiveDate>) -> Option<DateRange> {
    let f = range.from.max(from);
    let t = match to_inclusive {
        Some(t) => range.to.min(t),
        None => range.to,
    };
    DateRange::new(f, t).ok()
}

/// (target, from person, from org, via org, valid from, valid to)
type LinkUnitRow = (i64, Option<i64>, Option<i64>, Option<i64>, NaiveDate, Option<NaiveDate>);

/// The units a bulletin ranks, each with the part of the period it counts for.
async fn bulletin_units(c: &mut Conn, actor: &Actor, root: i64, range: DateRange, grouping: Grouping) -> StoreResult<Vec<Unit>> {
    let mut units: Vec<Unit> = Vec::new();
    match grouping {
        Grouping::Children => {
            let rows: Vec<(i64, NaiveDate, Option<NaiveDate>)> = sqlx::query_as(
                "SELECT child_id, valid_from, valid_to FROM org_edges WHERE parent_id = $1 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $3) ORDER BY id",
            )
            .bind(root)
            .bind(range.to)
            .bind(range.from)
            .fetch_all(&mut *c)
            .await?;
            for (child, from, to_excl) in rows {
                let org = load_org_unscoped(c, child).await?;
                if org.kind.is_grouping() {
                    continue;
                }
                if let Some(r) = clip(range, from, to_excl.and_then(|d| d.pred_opt())) {
                    merge_unit(&mut units, Unit { org: org.brief(), range: r, via: None });
                }
            }
        }
        Grouping::Link(kind) => {
            let rows: Vec<LinkUnitRow> = sqlx::query_as(
                "SELECT l.to_org_id, l.from_person_id, l.from_org_id, l.via_org_id, l.valid_from, l.valid_to FROM org_links l
                 JOIN org_closure cl ON cl.descendant_id = l.to_org_id AND cl.ancestor_id = $1 AND cl.valid_to IS NULL
                 WHERE l.kind = $2 AND l.valid_from <= $3 AND (l.valid_to IS NULL OR l.valid_to >= $4) ORDER BY l.id",
            )
            .bind(root)
            .bind(kind.key())
            .bind(range.to)
            .bind(range.from)
            .fetch_all(&mut *c)
            .await?;
            for (to, person, from_org, via, from, to_incl) in rows {
                if !org_in_scope(c, &actor.scope, to).await? {
                    continue;
                }
                let org = load_org_unscoped(c, to).await?;
                let mut via_text = Vec::new();
                if let Some(pid) = person {
                    via_text.push(person_name(c, pid).await?.name);
                }
                for o in [from_org, via].into_iter().flatten() {
                    via_text.push(org_name(c, o).await?.name);
                }
                if let Some(r) = clip(range, from, to_incl) {
                    let via = if via_text.is_empty() { None } else { Some(via_text.join("，")) };
                    merge_unit(&mut units, Unit { org: org.brief(), range: r, via });
                }
            }
        }
    }
    Ok(units)
}

/// One row per organisation: a second period for the same one widens its range.
fn merge_unit(units: &mut Vec<Unit>, u: Unit) {
    match units.iter_mut().find(|x| x.org.id == u.org.id) {
        Some(x) => {
            x.range = DateRange { from: x.range.from.min(u.range.from), to: x.range.to.max(u.range.to) };
            if let (Some(a), Some(b)) = (&x.via, &u.via) {
                if a != b {
                    x.via = Some(format!("{a}；{b}"));
                }
            }
        }
        None => units.push(u),
    }
}

pub async fn bulletin(p: &Pools<DB>, actor: &Actor, root_ref: &str, range: DateRange, grouping: Grouping) -> StoreResult<Bulletin> {
    require(actor, Action::ReadBulletin)?;
    if range.days() > 3660 {
        return Err(StoreError::invalid("to", "bulletin.range_too_long", "统计区间不能超过10年"));
    }
    let mut c = p.read.acquire().await?;
    let root = resolve_org(&mut c, actor, root_ref).await?;
    let root_org = load_org_unscoped(&mut c, root).await?;
    let types: Vec<LedgerType> = sqlx::query_as::<DB, TypeRow>(&format!("{TYPE_SELECT} WHERE t.county_id = $1 ORDER BY t.id"))
        .bind(actor.county_id)
        .fetch_all(&mut *c)
        .await?
        .into_iter()
        .map(type_from)
        .collect();
    let units = bulletin_units(&mut c, actor, root, range, grouping).await?;

    // The records counted: under the root (or under a unit within its part of the period), as
    // the tree was on each record's date. For a subtree this is a join on the closure, which the
    // planner can hash; a record has at most one closure row per ancestor on a given date.
    let base = |q: &mut Sql| -> (String, String) {
        let county = q.arg(actor.county_id);
        let from = q.arg(range.from);
        let to = q.arg(range.to);
        let filter = format!("r.county_id = {county} AND r.voided_at IS NULL AND r.occurred_on BETWEEN {from} AND {to}");
        match grouping {
            Grouping::Children => {
                let a = q.arg(root);
                (
                    format!(" JOIN org_closure cl ON cl.descendant_id = r.org_id AND cl.ancestor_id = {a} AND cl.valid_from <= r.occurred_on AND (cl.valid_to IS NULL OR r.occurred_on < cl.valid_to)"),
                    filter,
                )
            }
            Grouping::Link(_) => {
                let parts: Vec<String> = units
                    .iter()
                    .map(|u| format!("(cl.ancestor_id = {} AND r.occurred_on BETWEEN {} AND {})", q.arg(u.org.id), q.arg(u.range.from), q.arg(u.range.to)))
                    .collect();
                let place = if parts.is_empty() {
                    "1=0".to_string()
                } else {
                    format!("EXISTS (SELECT 1 FROM org_closure cl WHERE cl.descendant_id = r.org_id AND cl.valid_from <= r.occurred_on AND (cl.valid_to IS NULL OR r.occurred_on < cl.valid_to) AND ({}))", parts.join(" OR "))
                };
                (String::new(), format!("{filter} AND {place}"))
            }
        }
    };
    let mut figures = Figures::default();

    let mut q = Sql::new("");
    let (j, w) = base(&mut q);
    q.text = format!("SELECT r.ledger_type_id, COUNT(*), COUNT(DISTINCT r.org_id) FROM ledger_records r{j} WHERE {w} GROUP BY r.ledger_type_id");
    for (t, n, orgs) in fetch_all::<(i64, i64, i64)>(&mut c, &q).await? {
        figures.totals.insert(t, (n, orgs, 0));
    }
    let mut q = Sql::new("");
    let (j, w) = base(&mut q);
    q.text = format!("SELECT r.ledger_type_id, COUNT(DISTINCT rp.person_id) FROM ledger_records r{j} JOIN record_people rp ON rp.record_id = r.id WHERE {w} GROUP BY r.ledger_type_id");
    for (t, people) in fetch_all::<(i64, i64)>(&mut c, &q).await? {
        if let Some(x) = figures.totals.get_mut(&t) {
            x.2 = people;
        }
    }
    let mut q = Sql::new("");
    let (j, w) = base(&mut q);
    q.text = format!(
        "SELECT r.ledger_type_id, f.field_key, f.option_value, CAST(COALESCE(SUM(f.num_value), 0) AS BIGINT), COUNT(*)
         FROM ledger_records r{j} JOIN record_facts f ON f.record_id = r.id WHERE {w} GROUP BY r.ledger_type_id, f.field_key, f.option_value"
    );
    for (t, field, option, sum, n) in fetch_all::<(i64, String, Option<String>, i64, i64)>(&mut c, &q).await? {
        match option {
            Some(o) => {
                figures.choices.insert((t, field, o), n);
            }
            None => {
                figures.sums.insert((t, field), sum);
            }
        }
    }
    if !units.is_empty() {
        let mut q = Sql::new("");
        let county = q.arg(actor.county_id);
        let parts: Vec<String> = units
            .iter()
            .map(|u| format!("(u.ancestor_id = {} AND r.occurred_on BETWEEN {} AND {})", q.arg(u.org.id), q.arg(u.range.from), q.arg(u.range.to)))
            .collect();
        q.text = format!(
            "SELECT u.ancestor_id, r.ledger_type_id, COUNT(*) FROM ledger_records r
             JOIN org_closure u ON u.descendant_id = r.org_id AND u.valid_from <= r.occurred_on AND (u.valid_to IS NULL OR r.occurred_on < u.valid_to)
             WHERE r.county_id = {county} AND r.voided_at IS NULL AND ({}) GROUP BY u.ancestor_id, r.ledger_type_id",
            parts.join(" OR ")
        );
        let index: HashMap<i64, usize> = units.iter().enumerate().map(|(i, u)| (u.org.id, i)).collect();
        for (unit, t, n) in fetch_all::<(i64, i64, i64)>(&mut c, &q).await? {
            if let Some(i) = index.get(&unit) {
                *figures.unit_counts.entry((*i, t)).or_default() += n;
            }
        }
    }
    let refs: Vec<TypeRef<'_>> = types.iter().map(|t| TypeRef { id: t.id, def: &t.definition }).collect();
    Ok(bulletin::compose(root_org.brief(), range, grouping, &refs, units, &figures))
}

// ---- audit -------------------------------------------------------------------------------------

type AuditRow = (i64, DateTime<Utc>, String, String, String, String, Option<Json<Value>>, Option<Json<Value>>, String, String);
const AUDIT_SELECT: &str = "SELECT seq, at, actor, action, entity, entity_id, before_json, after_json, prev_hash, hash FROM audit_log";

pub async fn audit_entries(p: &Pools<DB>, actor: &Actor, entity: Option<&str>, limit: i64, offset: i64) -> StoreResult<(i64, Vec<AuditEntry>)> {
    require(actor, Action::ReadAudit)?;
    let mut q = Sql::new("");
    let county = q.arg(actor.county_id);
    let mut cond = format!(" WHERE county_id = {county}");
    if let Some(e) = entity.filter(|e| !e.is_empty()) {
        let e = q.arg(e);
        cond.push_str(&format!(" AND entity = {e}"));
    }
    let mut c = p.read.acquire().await?;
    let mut cq = q.clone();
    cq.text = format!("SELECT COUNT(*) FROM audit_log{cond}");
    let (total,) = fetch_optional::<(i64,)>(&mut c, &cq).await?.unwrap_or((0,));
    let lim = q.arg(limit.clamp(1, 500));
    let off = q.arg(offset.max(0));
    q.text = format!("{AUDIT_SELECT}{cond} ORDER BY seq DESC LIMIT {lim} OFFSET {off}");
    let rows = fetch_all::<AuditRow>(&mut c, &q).await?;
    Ok((
        total,
        rows.into_iter()
            .map(|r| AuditEntry { seq: r.0, at: r.1, actor: r.2, action: r.3, entity: r.4, entity_id: r.5, before: r.6.map(|j| j.0), after: r.7.map(|j| j.0), hash: r.9 })
            .collect(),
    ))
}

pub async fn verify_audit_chain(p: &Pools<DB>, county_id: i64) -> StoreResult<Result<i64, i64>> {
    let mut c = p.read.acquire().await?;
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut after_seq = 0_i64;
    loop {
        let rows: Vec<AuditRow> = sqlx::query_as(&format!("{AUDIT_SELECT} WHERE county_id = $1 AND seq > $2 ORDER BY seq LIMIT 5000"))
            .bind(county_id)
            .bind(after_seq)
            .fetch_all(&mut *c)
            .await?;
        if rows.is_empty() {
            return Ok(Ok(expected_seq - 1));
        }
        for r in rows {
            let at = r.1.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let before = r.6.as_ref().map(|j| canonical_json(&j.0));
            let after = r.7.as_ref().map(|j| canonical_json(&j.0));
            let h = entry_hash(&p.audit_key, &prev, county_id, r.0, &at, &r.2, &r.3, &r.4, &r.5, before.as_deref(), after.as_deref());
            if r.0 != expected_seq || r.8 != prev || r.9 != h {
                return Ok(Err(r.0));
            }
            prev = r.9;
            expected_seq += 1;
            after_seq = r.0;
        }
    }
}

pub async fn audit_log_is_empty(p: &Pools<DB>) -> StoreResult<bool> {
    let any: Option<(i64,)> = sqlx::query_as("SELECT seq FROM audit_log LIMIT 1").fetch_optional(&p.read).await?;
    Ok(any.is_none())
}

pub async fn analyze(p: &Pools<DB>) -> StoreResult<()> {
    sqlx::raw_sql("ANALYZE").execute(&p.write).await?;
    Ok(())
}

pub async fn table_counts(p: &Pools<DB>) -> StoreResult<Vec<(String, i64)>> {
    // The tables a copy or backup carries: one list for all of them.
    let mut out = Vec::new();
    for t in TABLES {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {}", t.name)).fetch_one(&p.read).await?;
        out.push((t.name.to_string(), n));
    }
    Ok(out)
}

// ---- copy between databases --------------------------------------------------------------------

use crate::copy::{Checksum, Col, TableSpec, Val, TABLES};

fn read_val(row: &Row, i: usize, col: Col) -> Result<Val, sqlx::Error> {
    use sqlx::Row as _;
    Ok(match col {
        Col::I64 => row.try_get::<Option<i64>, _>(i)?.map(Val::I64),
        Col::Text => row.try_get::<Option<String>, _>(i)?.map(Val::Text),
        Col::Date => row.try_get::<Option<NaiveDate>, _>(i)?.map(Val::Date),
        Col::Ts => row.try_get::<Option<DateTime<Utc>>, _>(i)?.map(Val::Ts),
        Col::Bool => row.try_get::<Option<bool>, _>(i)?.map(Val::Bool),
        Col::Json => row.try_get::<Option<Json<Value>>, _>(i)?.map(|j| Val::Json(j.0)),
    }
    .unwrap_or(Val::Null))
}

fn county_filter(t: &TableSpec) -> &'static str {
    if t.name == "counties" {
        "id"
    } else {
        "county_id"
    }
}

/// Every row of every table that belongs to the county (all counties when `None`), in key order.
pub async fn export_tables(p: &Pools<DB>, county: Option<i64>) -> StoreResult<Vec<(&'static TableSpec, Vec<Vec<Val>>)>> {
    // One snapshot for every table, so a copy taken while the server runs is consistent.
    let mut c = p.read.begin().await?;
    if IS_PG {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut *c).await?;
    }
    let out = export_all(&mut c, county).await?;
    c.commit().await?;
    Ok(out)
}

/// Every row of every table (of one county, or all), in key order, read on `c`: inside the
/// caller's transaction, so one snapshot (copy, backup, a restore reading back what it wrote).
pub(crate) async fn export_all(c: &mut Conn, county: Option<i64>) -> StoreResult<Vec<(&'static TableSpec, Vec<Vec<Val>>)>> {
    let mut out = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
        let filter = match county {
            Some(_) => format!(" WHERE {} = $1", county_filter(t)),
            None => String::new(),
        };
        let sql = format!("SELECT {} FROM {}{filter} ORDER BY {}", cols.join(", "), t.name, t.order);
        let mut q = sqlx::query(&sql);
        if let Some(id) = county {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&mut *c).await?;
        let mut vals = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut v = Vec::with_capacity(t.columns.len());
            for (i, (_, col)) in t.columns.iter().enumerate() {
                v.push(read_val(r, i, *col)?);
            }
            vals.push(v);
        }
        out.push((t, vals));
    }
    Ok(out)
}

/// The first table (of those a copy or backup holds, and sessions) that has rows, and how many.
pub(crate) async fn first_non_empty(c: &mut Conn) -> StoreResult<Option<(&'static str, i64)>> {
    for name in TABLES.iter().map(|t| t.name).chain(["sessions"]) {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {name}")).fetch_one(&mut *c).await?;
        if n > 0 {
            return Ok(Some((name, n)));
        }
    }
    Ok(None)
}

/// Counts and checksums of the county's rows in every table.
pub async fn table_checksums(p: &Pools<DB>, county: Option<i64>) -> StoreResult<Vec<(String, i64, String)>> {
    Ok(export_tables(p, county)
        .await?
        .into_iter()
        .map(|(t, rows)| {
            let mut sum = Checksum::default();
            for r in &rows {
                sum.row(r);
            }
            (t.name.to_string(), rows.len() as i64, sum.hex())
        })
        .collect())
}

fn add_val(args: &mut <DB as sqlx::Database>::Arguments<'_>, col: Col, v: &Val) -> StoreResult<()> {
    let r = match (col, v) {
        (Col::I64, Val::I64(x)) => args.add(Some(*x)),
        (Col::I64, _) => args.add(None::<i64>),
        (Col::Text, Val::Text(x)) => args.add(Some(x.clone())),
        (Col::Text, _) => args.add(None::<String>),
        (Col::Date, Val::Date(x)) => args.add(Some(*x)),
        (Col::Date, _) => args.add(None::<NaiveDate>),
        (Col::Ts, Val::Ts(x)) => args.add(Some(*x)),
        (Col::Ts, _) => args.add(None::<DateTime<Utc>>),
        (Col::Bool, Val::Bool(x)) => args.add(Some(*x)),
        (Col::Bool, _) => args.add(None::<bool>),
        (Col::Json, Val::Json(x)) => args.add(Some(Json(x.clone()))),
        (Col::Json, _) => args.add(None::<Json<Value>>),
    };
    r.map_err(|e| StoreError::Internal(e.to_string()))
}

/// Writes exported rows into this (empty, migrated) database in one transaction.
pub async fn import_tables(p: &Pools<DB>, tables: &[(&'static TableSpec, Vec<Vec<Val>>)]) -> StoreResult<()> {
    let mut tx = p.write.begin().await?;
    import_all(&mut tx, tables).await?;
    tx.commit().await?;
    Ok(())
}

/// Inserts exported rows on `c` (the caller's transaction); on PostgreSQL the identity sequences
/// then continue after the copied ids.
pub(crate) async fn import_all(c: &mut Conn, tables: &[(&'static TableSpec, Vec<Vec<Val>>)]) -> StoreResult<()> {
    // Parents come before children in TABLES, so every foreign key holds as rows arrive.
    for (t, rows) in tables {
        let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
        let per_stmt = (30_000 / t.columns.len()).clamp(1, 500);
        for chunk in rows.chunks(per_stmt) {
            let mut args = <DB as sqlx::Database>::Arguments::default();
            let mut n = 0;
            let mut groups = Vec::with_capacity(chunk.len());
            for row in chunk {
                let mut ph = Vec::with_capacity(row.len());
                for ((_, col), v) in t.columns.iter().zip(row) {
                    add_val(&mut args, *col, v)?;
                    n += 1;
                    ph.push(format!("${n}"));
                }
                groups.push(format!("({})", ph.join(", ")));
            }
            let sql = format!("INSERT INTO {} ({}) VALUES {}", t.name, cols.join(", "), groups.join(", "));
            sqlx::query_with::<DB, _>(&sql, args).execute(&mut *c).await?;
        }
        if IS_PG {
            if let Some(col) = t.identity {
                sqlx::raw_sql(&format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', '{col}'), GREATEST((SELECT MAX({col}) FROM {0}), 1))",
                    t.name
                ))
                .execute(&mut *c)
                .await?;
            }
        }
    }
    Ok(())
}
