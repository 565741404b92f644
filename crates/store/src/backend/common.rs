//! The plumbing every feature's queries share, compiled once per backend (see `backend`).

use super::people::encrypt_plaintext_people;
use super::*;
use crate::audit::{canonical_json, entry_hash, mask_personal, AuditKey, EntryParts, GENESIS};
use crate::sqlbuild::{Arg, Sql};
use crate::replica::ReadTarget;
use crate::{Actor, Pools, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::Arguments;
use std::collections::HashSet;
use taizhang_domain::{Action, Scope};

pub(crate) type Conn = <DB as sqlx::Database>::Connection;
pub(crate) type Args<'q> = <DB as sqlx::Database>::Arguments<'q>;

/// Appends one bound value to a statement's arguments.
pub(crate) fn add<'q, T>(a: &mut Args<'q>, v: T) -> StoreResult<()>
where
    T: 'q + sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    a.add(v).map_err(|e| StoreError::Internal(e.to_string()))
}

// ---- plumbing ----------------------------------------------------------------------------------

/// The statement's text as this backend runs it: on SQLite, with anonymous placeholders where
/// that is the same statement (see `anonymous_placeholders`).
pub(crate) fn text_of(q: &Sql) -> std::borrow::Cow<'_, str> {
    if IS_PG {
        return std::borrow::Cow::Borrowed(q.text.as_str());
    }
    match crate::sqlbuild::anonymous_placeholders(&q.text, q.args.len()) {
        Some(t) => std::borrow::Cow::Owned(t),
        None => std::borrow::Cow::Borrowed(q.text.as_str()),
    }
}

pub(crate) fn args_of(q: &Sql) -> StoreResult<<DB as sqlx::Database>::Arguments<'_>> {
    let mut args = <DB as sqlx::Database>::Arguments::default();
    for a in &q.args {
        let r = match a {
            Arg::I64(v) => args.add(*v),
            Arg::Str(s) => args.add(s.as_str()),
            Arg::Date(d) => args.add(*d),
            Arg::Time(t) => args.add(*t),
            Arg::Bytes(b) => args.add(b.as_slice()),
        };
        r.map_err(|e| StoreError::Internal(e.to_string()))?;
    }
    Ok(args)
}

pub(crate) async fn fetch_all<O>(c: &mut Conn, q: &Sql) -> StoreResult<Vec<O>>
where
    O: for<'r> sqlx::FromRow<'r, Row> + Send + Unpin,
{
    Ok(sqlx::query_as_with::<DB, O, _>(&text_of(q), args_of(q)?)
        .fetch_all(&mut *c)
        .await?)
}

pub(crate) async fn fetch_optional<O>(c: &mut Conn, q: &Sql) -> StoreResult<Option<O>>
where
    O: for<'r> sqlx::FromRow<'r, Row> + Send + Unpin,
{
    Ok(sqlx::query_as_with::<DB, O, _>(&text_of(q), args_of(q)?)
        .fetch_optional(&mut *c)
        .await?)
}

pub(crate) async fn execute(c: &mut Conn, q: &Sql) -> StoreResult<u64> {
    Ok(sqlx::query_with::<DB, _>(&text_of(q), args_of(q)?)
        .execute(&mut *c)
        .await?
        .rows_affected())
}

/// Runs `work` — a write transaction begun, and committed or dropped, inside it — for at most
/// `bound`. Past it the work is dropped: its transaction rolls back as the connection goes back
/// to the pool (sqlx flushes the pending rollback first), and the caller is answered `Busy`.
pub(crate) async fn within<T>(
    bound: std::time::Duration,
    work: impl std::future::Future<Output = StoreResult<T>>,
) -> StoreResult<T> {
    tokio::time::timeout(bound, work).await.unwrap_or_else(|_| {
        tracing::warn!(?bound, "a write held the write connection past its bound; rolled back");
        Err(StoreError::Busy)
    })
}

/// A write transaction that holds the write lock from its start. SQLite's deferred `BEGIN` would
/// take it at the first write and, if another process holds it then, fail at once instead of
/// waiting (a read cannot be upgraded); `BEGIN IMMEDIATE` waits, within the caller's bound.
pub(crate) async fn begin_write(p: &Pools<DB>) -> StoreResult<sqlx::Transaction<'static, DB>> {
    if IS_PG {
        Ok(p.write.begin().await?)
    } else {
        Ok(p.write.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// A read-only transaction on one read connection: every query in it sees the same snapshot.
/// PostgreSQL needs REPEATABLE READ for that; a SQLite read transaction (WAL) keeps the snapshot
/// of its first read.
pub(crate) async fn read_snapshot(p: &Pools<DB>) -> StoreResult<sqlx::Transaction<'static, DB>> {
    Ok(p.read.begin_with(SNAPSHOT_BEGIN).await?)
}

const SNAPSHOT_BEGIN: &str = if IS_PG {
    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
} else {
    "BEGIN"
};

/// A read snapshot for a report (a bulletin, say): on the read replica while it is fit (see
/// `replica`), else as `read_snapshot`. Nothing that must see the caller's own writes reads here.
pub(crate) async fn report_snapshot(
    p: &Pools<DB>,
) -> StoreResult<sqlx::Transaction<'static, DB>> {
    if let Some(r) = p.replica.as_deref() {
        if r.fit() {
            match r.pool.begin_with(SNAPSHOT_BEGIN).await {
                Ok(tx) => {
                    r.served(ReadTarget::Replica);
                    return Ok(tx);
                }
                Err(e) => r.mark_down(&e.to_string()),
            }
        }
        r.served(ReadTarget::Primary);
    }
    read_snapshot(p).await
}

/// A read connection for a report or a list: on the read replica while it is fit, else the
/// primary's read pool.
pub(crate) async fn report_conn(p: &Pools<DB>) -> StoreResult<sqlx::pool::PoolConnection<DB>> {
    if let Some(r) = p.replica.as_deref() {
        if r.fit() {
            match r.pool.acquire().await {
                Ok(c) => {
                    r.served(ReadTarget::Replica);
                    return Ok(c);
                }
                Err(e) => r.mark_down(&e.to_string()),
            }
        }
        r.served(ReadTarget::Primary);
    }
    Ok(p.read.acquire().await?)
}

pub(crate) fn require(actor: &Actor, action: Action) -> StoreResult<()> {
    if actor.role.allows(action) {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

pub(crate) fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_default()
}

/// `col` names an organisation inside the actor's scope (in today's tree).
pub(crate) fn scope_cond(q: &mut Sql, scope: &Scope, col: &str) -> String {
    roots_cond(q, scope, |list| {
        format!("{col} IN (SELECT descendant_id FROM org_closure WHERE valid_to IS NULL AND ancestor_id IN ({list}))")
    })
}

/// A scope condition over the scope's roots: always true for the whole county, false for no
/// roots, else `cond` of the roots' placeholder list.
fn roots_cond(q: &mut Sql, scope: &Scope, cond: impl FnOnce(&str) -> String) -> String {
    match scope.roots() {
        None => "1=1".to_string(),
        Some([]) => "1=0".to_string(),
        Some(roots) => {
            let list = q.list(roots);
            cond(&list)
        }
    }
}

/// The scope condition as a probe of one row's organisation: for checks of given ids (the
/// organisation and people of a write), where listing the caller's whole subtree (`scope_cond`)
/// would cost as much as the subtree is large. Planned as an index search of
/// `org_closure_desc (descendant_id, ancestor_id)`.
pub(crate) fn scope_probe(q: &mut Sql, scope: &Scope, col: &str) -> String {
    roots_cond(q, scope, |list| {
        format!("EXISTS (SELECT 1 FROM org_closure sc WHERE sc.descendant_id = {col} AND sc.valid_to IS NULL AND sc.ancestor_id IN ({list}))")
    })
}

/// Appends to the county's audit chain, inside the caller's transaction.
/// Who did something, as the audit log names them.
pub(crate) struct Who<'a> {
    pub(crate) name: &'a str,
    pub(crate) user_id: Option<i64>,
}

// Each argument is one column of the entry; grouping them would only rename them.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn audit(
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
        sqlx::query("SELECT pg_advisory_xact_lock(7215, CAST($1 AS INTEGER))")
            .bind(county_id)
            .execute(&mut *c)
            .await?;
    }
    let head: Option<(i64, String)> = sqlx::query_as(
        "SELECT seq, hash FROM audit_log WHERE county_id = $1 ORDER BY seq DESC LIMIT 1",
    )
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
    let hash = entry_hash(
        key,
        &EntryParts {
            prev_hash: &prev_hash,
            county_id,
            seq,
            at: &at_text,
            actor_user_id,
            actor,
            action,
            entity,
            entity_id,
            before: before_text.as_deref(),
            after: after_text.as_deref(),
        },
    );
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
pub(crate) async fn audit_as(
    c: &mut Conn,
    key: &AuditKey,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: impl ToString,
    before: Option<Value>,
    after: Option<Value>,
) -> StoreResult<()> {
    let who = Who {
        name: &actor.username,
        user_id: actor.user_id.map(|u| u.get()),
    };
    audit(
        c,
        key,
        actor.county_id.get(),
        who,
        action,
        (entity, &entity_id.to_string()),
        before,
        after,
    )
    .await
}

// ---- migrations --------------------------------------------------------------------------------

pub(crate) async fn migrate(p: &Pools<DB>) -> StoreResult<()> {
    let mut c = p.write.acquire().await?;
    sqlx::raw_sql("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        .execute(&mut *c)
        .await?;
    let applied: Vec<(i64,)> =
        sqlx::query_as("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&mut *c)
            .await?;
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
        if *version == 8 {
            // A database with records gets its rollups with the tables, or its bulletins would
            // start from nothing: once, with the last of the rollup migrations (the fill
            // rebuilds both the per-organisation and the subtree rows).
            let n = super::rollups::fill_all(&mut tx).await?;
            tracing::info!(records = n, "rollups filled from the records");
        }
        if *version == 15 {
            let n = super::search::fill_keys(&mut tx).await?;
            tracing::info!(names = n, "search keys filled from the names");
        }
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
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
            sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut *c)
                .await?;
        }
    }
    Ok(())
}

pub(crate) async fn schema_version(p: &Pools<DB>) -> StoreResult<i64> {
    let v: Option<(i64,)> =
        sqlx::query_as("SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1")
            .fetch_optional(&p.read)
            .await?;
    Ok(v.map(|x| x.0).unwrap_or(0))
}
