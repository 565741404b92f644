//! The audit queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::*;
use crate::audit::refusals::{Refusal, Summary};
use crate::audit::{canonical_json, ChainWalk, EntryParts};
use crate::sqlbuild::Sql;
use crate::audit::{AuditPage, AuditQuery};
use crate::{Actor, AuditEntry, Pools, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::types::Json;
use taizhang_domain::audit::{AuditCursor, AuditFilter, MAX_PAGE};
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

/// The condition of the county's entries that match `f`, its values bound in `q`.
fn audit_cond(q: &mut Sql, actor: &Actor, f: &AuditFilter) -> String {
    let county = q.arg(actor.county_id);
    let mut cond = format!(" WHERE county_id = {county}");
    let columns = [
        ("actor", &f.actor),
        ("action", &f.action),
        ("entity", &f.entity),
        ("entity_id", &f.entity_id),
    ];
    for (column, value) in columns {
        if let Some(v) = value {
            let v = q.arg(v.as_str());
            cond.push_str(&format!(" AND {column} = {v}"));
        }
    }
    if let Some(t) = f.since() {
        let t = q.arg(t);
        cond.push_str(&format!(" AND at >= {t}"));
    }
    if let Some(t) = f.until() {
        let t = q.arg(t);
        cond.push_str(&format!(" AND at < {t}"));
    }
    cond
}

/// A page of the entries matching the filters, newest first; the cursors either side are given
/// only where an entry lies beyond the page.
pub(crate) async fn audit_page(
    p: &Pools<DB>,
    actor: &Actor,
    aq: &AuditQuery,
) -> StoreResult<AuditPage> {
    require(actor, Action::ReadAudit)?;
    let filter = AuditFilter::parse(&aq.filter);
    let cursor = AuditCursor::new(aq.before, aq.after).map_err(|e| vec![e]);
    let (filter, cursor) = match (filter, cursor) {
        (Ok(f), Ok(c)) => (f, c),
        (f, c) => {
            let errors = [f.err(), c.err()].into_iter().flatten().flatten();
            return Err(StoreError::Invalid(errors.collect()));
        }
    };
    let mut q = Sql::new("");
    let cond = audit_cond(&mut q, actor, &filter);
    let mut c = p.read.acquire().await?;
    let mut count = q.clone();
    count.text = format!("SELECT COUNT(*) FROM audit_log{cond}");
    let (total,) = fetch_optional::<(i64,)>(&mut c, &count)
        .await?
        .unwrap_or((0,));
    let lim = q.arg(aq.limit.clamp(1, MAX_PAGE));
    let order = match cursor {
        AuditCursor::Newest => {
            let off = q.arg(aq.offset.max(0));
            format!("ORDER BY seq DESC LIMIT {lim} OFFSET {off}")
        }
        AuditCursor::Before(b) => {
            let b = q.arg(b);
            format!("AND seq < {b} ORDER BY seq DESC LIMIT {lim}")
        }
        // The next entries upwards, turned newest first below.
        AuditCursor::After(a) => {
            let a = q.arg(a);
            format!("AND seq > {a} ORDER BY seq LIMIT {lim}")
        }
    };
    let mut page = q.clone();
    page.text = format!("{AUDIT_SELECT}{cond} {order}");
    let mut rows = fetch_all::<AuditRow>(&mut c, &page).await?;
    if matches!(cursor, AuditCursor::After(_)) {
        rows.reverse();
    }
    // The page's bounds: an empty page past a cursor is bounded by the cursor itself.
    let (top, bottom) = match (rows.first(), rows.last(), cursor) {
        (Some(f), Some(l), _) => (Some(f.seq), Some(l.seq)),
        (_, _, AuditCursor::Before(b)) => (Some(b - 1), None),
        (_, _, AuditCursor::After(a)) => (None, Some(a + 1)),
        _ => (None, None),
    };
    let newer = match top {
        Some(s) => any_beyond(&mut c, actor, &filter, ">", s).await?.then_some(s),
        None => None,
    };
    let older = match bottom {
        Some(s) => any_beyond(&mut c, actor, &filter, "<", s).await?.then_some(s),
        None => None,
    };
    Ok(AuditPage {
        total,
        entries: rows.into_iter().map(audit_entry).collect(),
        newer,
        older,
    })
}

/// Whether an entry matching `f` lies beyond `seq` (`op` is `>` or `<`).
async fn any_beyond(
    c: &mut Conn,
    actor: &Actor,
    f: &AuditFilter,
    op: &str,
    seq: i64,
) -> StoreResult<bool> {
    let mut q = Sql::new("");
    let cond = audit_cond(&mut q, actor, f);
    let seq = q.arg(seq);
    q.text = format!("SELECT seq FROM audit_log{cond} AND seq {op} {seq} LIMIT 1");
    Ok(fetch_optional::<(i64,)>(c, &q).await?.is_some())
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
    let entity = taizhang_domain::text::AUDIT_ENTITY.check(entity.unwrap_or(""))?;
    let filter = AuditFilter {
        entity: (!entity.is_empty()).then_some(entity),
        ..AuditFilter::default()
    };
    let mut q = Sql::new("");
    let mut cond = audit_cond(&mut q, actor, &filter);
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
