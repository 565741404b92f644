// The jobs table's queries, included once per backend inside `sqlite::jobs` and
// `postgres::jobs` (see lib.rs), so `DB`, `IS_PG`, `Conn` and the plumbing come from the
// backend module. What the functions do is documented in `crate::jobs`.

use super::*;
use crate::audit::AuditKey;
use crate::jobs::{ClaimedJob, Job, JobFilter, JobPage, NewJob};
use crate::sqlbuild::Sql;
use crate::{Actor, Pools, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::types::Json;
use taizhang_domain::jobs::{after_failure, check_dedupe_key, AfterFailure, Backoff, JobState};
use taizhang_domain::Action;

/// A job as stored.
pub(crate) struct JobRow {
    id: i64,
    county_id: i64,
    kind: String,
    dedupe_key: Option<String>,
    payload: Json<Value>,
    state: String,
    attempts: i64,
    max_attempts: i64,
    run_at: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
    last_error: Option<String>,
    result: Option<Json<Value>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

from_row!(JobRow {
    id,
    county_id,
    kind,
    dedupe_key,
    payload,
    state,
    attempts,
    max_attempts,
    run_at,
    locked_until,
    last_error,
    result,
    created_at,
    updated_at,
    finished_at,
});

const JOB_COLUMNS: &str = "id, county_id, kind, dedupe_key, payload, state, attempts, max_attempts, run_at, locked_until, last_error, result, created_at, updated_at, finished_at";

/// The longest error text a job keeps.
const MAX_ERROR_CHARS: usize = 2000;

fn job_from(r: JobRow) -> StoreResult<Job> {
    let state = r
        .state
        .parse::<JobState>()
        .map_err(|_| StoreError::Internal(format!("未知的任务状态 {}", r.state)))?;
    Ok(Job {
        id: r.id,
        county_id: taizhang_domain::ids::CountyId::new(r.county_id),
        kind: r.kind,
        dedupe_key: r.dedupe_key,
        payload: r.payload.0,
        state,
        attempts: r.attempts,
        max_attempts: r.max_attempts,
        run_at: r.run_at,
        locked_until: r.locked_until,
        last_error: r.last_error,
        result: r.result.map(|j| j.0),
        created_at: r.created_at,
        updated_at: r.updated_at,
        finished_at: r.finished_at,
    })
}

/// What the audit log keeps of a job: not its payload, which may name people.
fn job_json(j: &Job) -> Value {
    json!({
        "kind": j.kind,
        "dedupe_key": j.dedupe_key,
        "state": j.state.key(),
        "attempts": j.attempts,
        "max_attempts": j.max_attempts,
        "run_at": j.run_at,
    })
}

async fn load(c: &mut Conn, county_id: i64, id: i64) -> StoreResult<Job> {
    let row: Option<JobRow> = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE county_id = $1 AND id = $2"
    ))
    .bind(county_id)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    job_from(row.ok_or(StoreError::NotFound)?)
}

/// Enqueues on the caller's connection (inside its transaction), audited when a row is added.
pub(crate) async fn enqueue_in(
    c: &mut Conn,
    key: &AuditKey,
    actor: &Actor,
    new: &NewJob,
    now: DateTime<Utc>,
) -> StoreResult<(Job, bool)> {
    if let Some(k) = &new.dedupe_key {
        check_dedupe_key(k).map_err(|m| StoreError::invalid("dedupe_key", "job.dedupe_key", m))?;
    }
    if !new.payload.is_object() {
        return Err(StoreError::invalid(
            "payload",
            "job.payload",
            "任务参数应为 JSON 对象",
        ));
    }
    let max_attempts = new
        .max_attempts
        .unwrap_or_else(|| new.kind.default_max_attempts())
        .clamp(1, 100);
    let inserted: Option<JobRow> = sqlx::query_as(&format!(
        "INSERT INTO jobs (county_id, kind, dedupe_key, payload, state, attempts, max_attempts, run_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $7)
         ON CONFLICT (county_id, kind, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
         RETURNING {JOB_COLUMNS}"
    ))
    .bind(actor.county_id.get())
    .bind(new.kind.key())
    .bind(new.dedupe_key.as_deref())
    .bind(Json(new.payload.clone()))
    .bind(max_attempts)
    .bind(crate::jobs::to_ms(new.run_at))
    .bind(now)
    .fetch_optional(&mut *c)
    .await?;
    if let Some(row) = inserted {
        let job = job_from(row)?;
        audit_as(
            c,
            key,
            actor,
            "job.enqueue",
            "job",
            job.id,
            None,
            Some(job_json(&job)),
        )
        .await?;
        return Ok((job, true));
    }
    // The dedupe key is taken: that job is the one asked for.
    let row: Option<JobRow> = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE county_id = $1 AND kind = $2 AND dedupe_key = $3"
    ))
    .bind(actor.county_id.get())
    .bind(new.kind.key())
    .bind(new.dedupe_key.as_deref())
    .fetch_optional(&mut *c)
    .await?;
    Ok((job_from(row.ok_or(StoreError::NotFound)?)?, false))
}

pub async fn enqueue_job(
    p: &Pools<DB>,
    actor: &Actor,
    new: &NewJob,
    now: DateTime<Utc>,
) -> StoreResult<(Job, bool)> {
    let mut tx = p.write.begin().await?;
    let out = enqueue_in(&mut tx, &p.audit_key, actor, new, now).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn claim(
    p: &Pools<DB>,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> StoreResult<Option<ClaimedJob>> {
    let mut tx = p.write.begin().await?;
    // A job whose worker vanished during its last attempt is given up, not run for ever.
    sqlx::query(
        "UPDATE jobs SET state = 'dead', locked_until = NULL, finished_at = $1, updated_at = $1,
             last_error = '任务运行中断（租约到期），已达最大尝试次数'
         WHERE state = 'running' AND locked_until <= $1 AND attempts >= max_attempts",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // PostgreSQL: concurrent workers skip each other's rows. SQLite: the one write connection
    // makes this statement the only writer.
    let lock = if IS_PG { " FOR UPDATE SKIP LOCKED" } else { "" };
    let row: Option<JobRow> = sqlx::query_as(&format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = $2, updated_at = $1
         WHERE id = (SELECT id FROM jobs
                     WHERE (state IN ('queued', 'failed') AND run_at <= $1) OR (state = 'running' AND locked_until <= $1)
                     ORDER BY run_at, id LIMIT 1{lock})
         RETURNING {JOB_COLUMNS}"
    ))
    .bind(now)
    .bind(lease_until)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some(row) = row else { return Ok(None) };
    let job = job_from(row)?;
    Ok(Some(ClaimedJob {
        attempt: job.attempts,
        job,
    }))
}

pub async fn complete(
    p: &Pools<DB>,
    claimed: &ClaimedJob,
    result: &Value,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'succeeded', result = $1, locked_until = NULL, finished_at = $2, updated_at = $2
         WHERE id = $3 AND state = 'running' AND attempts = $4",
    )
    .bind(Json(result.clone()))
    .bind(now)
    .bind(claimed.job.id)
    .bind(claimed.attempt)
    .execute(&p.write)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn fail(
    p: &Pools<DB>,
    claimed: &ClaimedJob,
    error: &str,
    backoff: &Backoff,
    now: DateTime<Utc>,
) -> StoreResult<Option<JobState>> {
    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
    let job = &claimed.job;
    let (state, run_at, finished_at) =
        match after_failure(backoff, job.id, claimed.attempt, job.max_attempts, now) {
            AfterFailure::RetryAt(at) => (JobState::Failed, crate::jobs::to_ms(at), None),
            AfterFailure::Dead => (JobState::Dead, job.run_at, Some(now)),
        };
    let done = sqlx::query(
        "UPDATE jobs SET state = $1, run_at = $2, last_error = $3, locked_until = NULL, finished_at = $4, updated_at = $5
         WHERE id = $6 AND state = 'running' AND attempts = $7",
    )
    .bind(state.key())
    .bind(run_at)
    .bind(&error)
    .bind(finished_at)
    .bind(now)
    .bind(job.id)
    .bind(claimed.attempt)
    .execute(&p.write)
    .await?;
    Ok((done.rows_affected() == 1).then_some(state))
}

pub async fn list(p: &Pools<DB>, actor: &Actor, f: &JobFilter) -> StoreResult<JobPage> {
    require(actor, Action::ManageJobs)?;
    let mut q = Sql::new("");
    let county = q.arg(actor.county_id.get());
    let mut cond = format!(" WHERE county_id = {county}");
    if let Some(state) = f.state {
        let s = q.arg(state.key());
        cond.push_str(&format!(" AND state = {s}"));
    }
    if let Some(kind) = f.kind {
        let k = q.arg(kind.key());
        cond.push_str(&format!(" AND kind = {k}"));
    }
    let mut c = p.read.acquire().await?;
    let mut count = q.clone();
    count.text = format!("SELECT COUNT(*) FROM jobs{cond}");
    let (total,) = fetch_optional::<(i64,)>(&mut c, &count)
        .await?
        .unwrap_or((0,));
    let limit = q.arg(f.limit.clamp(1, 500));
    let offset = q.arg(f.offset.max(0));
    q.text = format!(
        "SELECT {JOB_COLUMNS} FROM jobs{cond} ORDER BY id DESC LIMIT {limit} OFFSET {offset}"
    );
    let jobs = fetch_all::<JobRow>(&mut c, &q)
        .await?
        .into_iter()
        .map(job_from)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(JobPage { total, jobs })
}

pub async fn get(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<Job> {
    require(actor, Action::ManageJobs)?;
    let mut c = p.read.acquire().await?;
    load(&mut c, actor.county_id.get(), id).await
}

pub async fn retry(p: &Pools<DB>, actor: &Actor, id: i64, now: DateTime<Utc>) -> StoreResult<Job> {
    require(actor, Action::ManageJobs)?;
    let mut tx = p.write.begin().await?;
    let before = load(&mut tx, actor.county_id.get(), id).await?;
    if !before.state.can_retry() {
        return Err(StoreError::conflict(
            "job.not_retryable",
            format!(
                "该任务{}，只有已放弃或等待重试的任务可以立即重试",
                before.state.label_cn()
            ),
        ));
    }
    sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, locked_until = NULL, finished_at = NULL, updated_at = $1
         WHERE county_id = $2 AND id = $3",
    )
    .bind(now)
    .bind(actor.county_id.get())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let after = load(&mut tx, actor.county_id.get(), id).await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "job.retry",
        "job",
        id,
        Some(job_json(&before)),
        Some(job_json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
