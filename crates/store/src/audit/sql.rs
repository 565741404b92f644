//! The audit queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::*;
use crate::audit::{canonical_json, entry_hash, GENESIS};
use crate::sqlbuild::Sql;
use crate::{Actor, AuditEntry, Pools, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use taizhang_domain::Action;

// ---- audit -------------------------------------------------------------------------------------

/// One entry of the audit log as stored.
pub(crate) struct AuditRow {
    seq: i64,
    at: DateTime<Utc>,
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
    actor,
    action,
    entity,
    entity_id,
    before_json,
    after_json,
    prev_hash,
    hash,
});
pub(crate) const AUDIT_SELECT: &str = "SELECT seq, at, actor, action, entity, entity_id, before_json, after_json, prev_hash, hash FROM audit_log";

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
    Ok((
        total,
        rows.into_iter()
            .map(|r| AuditEntry {
                seq: taizhang_domain::AuditSeq::new(r.seq),
                at: r.at,
                actor: r.actor,
                action: r.action,
                entity: r.entity,
                entity_id: r.entity_id,
                before: r.before_json.map(|j| j.0),
                after: r.after_json.map(|j| j.0),
                hash: r.hash,
            })
            .collect(),
    ))
}

pub(crate) async fn verify_audit_chain(
    p: &Pools<DB>,
    county_id: i64,
) -> StoreResult<Result<i64, i64>> {
    let mut c = p.read.acquire().await?;
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut after_seq = 0_i64;
    loop {
        let rows: Vec<AuditRow> = sqlx::query_as(&format!(
            "{AUDIT_SELECT} WHERE county_id = $1 AND seq > $2 ORDER BY seq LIMIT 5000"
        ))
        .bind(county_id)
        .bind(after_seq)
        .fetch_all(&mut *c)
        .await?;
        if rows.is_empty() {
            return Ok(Ok(expected_seq - 1));
        }
        for r in rows {
            let at = r.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let before = r.before_json.as_ref().map(|j| canonical_json(&j.0));
            let after = r.after_json.as_ref().map(|j| canonical_json(&j.0));
            let h = entry_hash(
                &p.audit_key,
                &prev,
                county_id,
                r.seq,
                &at,
                &r.actor,
                &r.action,
                &r.entity,
                &r.entity_id,
                before.as_deref(),
                after.as_deref(),
            );
            if r.seq != expected_seq || r.prev_hash != prev || r.hash != h {
                return Ok(Err(r.seq));
            }
            prev = r.hash;
            expected_seq += 1;
            after_seq = r.seq;
        }
    }
}

pub(crate) async fn audit_log_is_empty(p: &Pools<DB>) -> StoreResult<bool> {
    let any: Option<(i64,)> = sqlx::query_as("SELECT seq FROM audit_log LIMIT 1")
        .fetch_optional(&p.read)
        .await?;
    Ok(any.is_none())
}
