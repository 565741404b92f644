//! The audit queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::*;
use crate::audit::refusals::{Refusal, Summary};
use crate::audit::{canonical_json, ChainWalk, EntryParts};
use crate::sqlbuild::Sql;
use crate::{Actor, AuditEntry, Pools, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::types::Json;
use taizhang_domain::Action;

// ---- audit -------------------------------------------------------------------------------------

/// One entry of the audit log as stored.
pub(crate) struct AuditRow {
    seq: i64,
    at: DateTime<Utc>,
    actor_user_id: Option<i64>,
    actor: String,
    action: String,
    entity: String,
    entity_id: String,
    before_json: Option<Json<Value>>,
    after_json: Option<Json<Value>>,
    prev_hash: String,
    hash: String,
}
from_row!(AuditRow {
    seq,
    at,
    actor_user_id,
    actor,
    action,
    entity,
    entity_id,
    before_json,
    after_json,
    prev_hash,
    hash,
});
pub(crate) const AUDIT_SELECT: &str = "SELECT seq, at, actor_user_id, actor, action, entity, entity_id, before_json, after_json, prev_hash, hash FROM audit_log";

pub(crate) async fn audit_entries(
    p: &Pools<DB>,
    actor: &Actor,
    entity: Option<&str>,
    limit: i64,
    offset: i64,
) -> StoreResult<(i64, Vec<AuditEntry>)> {
    require(actor, Action::ReadAudit)?;
    taizhang_domain::text::AUDIT_ENTITY.check(entity.unwrap_or(""))?;
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
    Ok((total, rows.into_iter().map(audit_entry).collect()))
}

/// Entries of the county's log older than `before` (a `seq`), newest first, `limit` at a time:
/// the export's pages.
pub(crate) async fn audit_entries_before(
    p: &Pools<DB>,
    actor: &Actor,
    entity: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    require(actor, Action::ReadAudit)?;
    taizhang_domain::text::AUDIT_ENTITY.check(entity.unwrap_or(""))?;
    let mut q = Sql::new("");
    let county = q.arg(actor.county_id);
    let mut cond = format!(" WHERE county_id = {county}");
    if let Some(e) = entity.filter(|e| !e.is_empty()) {
        let e = q.arg(e);
        cond.push_str(&format!(" AND entity = {e}"));
    }
    if let Some(b) = before {
        let b = q.arg(b);
        cond.push_str(&format!(" AND seq < {b}"));
    }
    let lim = q.arg(limit.clamp(1, 5000));
    q.text = format!("{AUDIT_SELECT}{cond} ORDER BY seq DESC LIMIT {lim}");
    let mut c = p.read.acquire().await?;
    Ok(fetch_all::<AuditRow>(&mut c, &q)
        .await?
        .into_iter()
        .map(audit_entry)
        .collect())
}

fn audit_entry(r: AuditRow) -> AuditEntry {
    AuditEntry {
        seq: taizhang_domain::AuditSeq::new(r.seq),
        at: r.at,
        actor: r.actor,
        action: r.action,
        entity: r.entity,
        entity_id: r.entity_id,
        before: r.before_json.map(|j| j.0),
        after: r.after_json.map(|j| j.0),
        hash: r.hash,
    }
}

/// An export, as an `export` entry naming the list, its filters and how many rows it held.
pub(crate) async fn record_export(
    p: &Pools<DB>,
    actor: &Actor,
    list: &str,
    rows: usize,
    details: Value,
) -> StoreResult<()> {
    let mut tx = p.write.begin().await?;
    let mut after = json!({"list": list, "rows": rows});
    if let (Some(a), Value::Object(d)) = (after.as_object_mut(), details) {
        a.extend(d);
    }
    audit_as(&mut tx, &p.audit_key, actor, "export", "export", list, None, Some(after)).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn verify_audit_chain(
    p: &Pools<DB>,
    county_id: i64,
) -> StoreResult<Result<i64, i64>> {
    Ok(walk_audit_chain(p, county_id).await?.map(|w| w.entries()))
}

/// Walks the county's chain: how far it verified, or the first entry that broke it.
pub(crate) async fn walk_audit_chain(
    p: &Pools<DB>,
    county_id: i64,
) -> StoreResult<Result<ChainWalk, i64>> {
    let mut c = p.read.acquire().await?;
    let mut walk = ChainWalk::default();
    loop {
        let rows: Vec<AuditRow> = sqlx::query_as(&format!(
            "{AUDIT_SELECT} WHERE county_id = $1 AND seq > $2 ORDER BY seq LIMIT 5000"
        ))
        .bind(county_id)
        .bind(walk.entries())
        .fetch_all(&mut *c)
        .await?;
        if rows.is_empty() {
            return Ok(Ok(walk));
        }
        for r in rows {
            let at = r.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let before = r.before_json.as_ref().map(|j| canonical_json(&j.0));
            let after = r.after_json.as_ref().map(|j| canonical_json(&j.0));
            let entry = EntryParts {
                prev_hash: &r.prev_hash,
                county_id,
                seq: r.seq,
                at: &at,
                actor_user_id: r.actor_user_id,
                actor: &r.actor,
                action: &r.action,
                entity: &r.entity,
                entity_id: &r.entity_id,
                before: before.as_deref(),
                after: after.as_deref(),
            };
            if !walk.step(&p.audit_key, &entry, &r.hash) {
                return Ok(Err(r.seq));
            }
        }
    }
}

/// The hash of one entry of the county's chain.
pub(crate) async fn entry_hash_at(
    p: &Pools<DB>,
    county_id: i64,
    seq: i64,
) -> StoreResult<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT hash FROM audit_log WHERE county_id = $1 AND seq = $2")
            .bind(county_id)
            .bind(seq)
            .fetch_optional(&p.read)
            .await?;
    Ok(row.map(|r| r.0))
}

/// A refused request of a signed-in user, as a security event.
pub(crate) async fn record_refused(p: &Pools<DB>, actor: &Actor, r: &Refusal) -> StoreResult<()> {
    let mut tx = p.write.begin().await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "refused",
        "request",
        r.entity_id(),
        None,
        Some(r.details()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The refusals of a closed window beyond the per-user cap, as one entry.
pub(crate) async fn record_refusal_summary(p: &Pools<DB>, s: &Summary) -> StoreResult<()> {
    let (county_id, user_id, name) = &s.key;
    let mut tx = p.write.begin().await?;
    let who = Who {
        name,
        user_id: *user_id,
    };
    audit(
        &mut tx,
        &p.audit_key,
        *county_id,
        who,
        "refused",
        ("request", "summary"),
        None,
        Some(s.details()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn audit_log_is_empty(p: &Pools<DB>) -> StoreResult<bool> {
    let any: Option<(i64,)> = sqlx::query_as("SELECT seq FROM audit_log LIMIT 1")
        .fetch_optional(&p.read)
        .await?;
    Ok(any.is_none())
}
