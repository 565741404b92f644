//! Jobs: work that runs later, inside the one server process — a nightly check of each county's
//! audit chain today; a case's deadline, a reminder, a webhook delivery or an escalation next.
//!
//! A job is a row of `jobs` (migration 5) in its county: a kind (`JobKind`'s stable key), a JSON
//! payload, a state (`JobState`), the instant it is due (`run_at`) and a count of attempts.
//!
//! - **Enqueue** ([`Store::enqueue_job`]; inside the store, `jobs::enqueue_in(&mut tx, …)` of the
//!   backend module joins another write's transaction, so that a case and its deadline are stored
//!   together or not at all). A `dedupe_key` names one
//!   logical job: enqueuing a county's `(kind, dedupe_key)` again returns the job already there
//!   instead of adding one (`daily:2026-05-01` for a nightly job, `case:17:deadline` for a case).
//!   Enqueuing is audited (`job.enqueue`) when it adds a row.
//! - **Claim** ([`Store::claim_job`]): the worker takes the oldest due job — queued or failed with
//!   `run_at <= now`, or running with an expired lease (its worker crashed or hung) — marks it
//!   running, counts the attempt and holds a lease until `now + lease`. On PostgreSQL the row is
//!   chosen `FOR UPDATE SKIP LOCKED`, on SQLite by one `UPDATE … WHERE id = (SELECT …) RETURNING`
//!   on the single write connection: either way two workers never claim the same job at once.
//! - **Finish** ([`Store::complete_job`], [`Store::fail_job`]): the attempt number the claim
//!   returned fences the update, so a worker whose lease ran out cannot overwrite the outcome of
//!   the attempt that took its place. A failure waits the back-off (`domain::jobs::Backoff`) in
//!   state `failed`, or becomes `dead` on its last attempt.
//! - Delivery is **at least once**: a crash between the work and `complete_job` runs the job
//!   again once the lease expires. Handlers must therefore be idempotent (check before acting,
//!   write with a key).
//! - **Administrators** ([`Action::ManageJobs`], the 系统管理员) list their county's jobs
//!   ([`Store::jobs`]) and run a dead or waiting one again now ([`Store::retry_job`], audited as
//!   `job.retry`). Claims and outcomes are the worker's bookkeeping, kept on the row itself and not
//!   in the audit log.
//!
//! Every instant is passed in by the caller, so tests move time by hand.

use crate::{Backend, Store, StoreResult};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;
use taizhang_domain::jobs::{Backoff, JobKind, JobState};
use utoipa::ToSchema;

#[cfg(doc)]
use taizhang_domain::Action;

/// One job, as the worker and the administrators' list see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Job {
    pub id: i64,
    #[schema(value_type = i64)]
    pub county_id: taizhang_domain::ids::CountyId,
    /// The kind's stable key (`audit.verify`).
    pub kind: String,
    /// Names one logical job of its kind in its county.
    pub dedupe_key: Option<String>,
    #[schema(value_type = Object)]
    pub payload: Value,
    pub state: JobState,
    /// Attempts started so far (the running one included).
    pub attempts: i64,
    pub max_attempts: i64,
    /// When it is due (its next attempt, after a failure).
    pub run_at: DateTime<Utc>,
    /// While running: until when its worker holds it.
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// What the last successful attempt reported.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Job {
    /// The kind, when this binary knows it.
    pub fn kind(&self) -> Option<JobKind> {
        self.kind.parse().ok()
    }

    /// The kind's Chinese label, or its key for a kind this binary does not know.
    pub fn kind_label(&self) -> &str {
        match self.kind() {
            Some(k) => k.label_cn(),
            None => &self.kind,
        }
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: JobKind,
    /// A JSON object.
    pub payload: Value,
    pub dedupe_key: Option<String>,
    pub run_at: DateTime<Utc>,
    /// Defaults to the kind's.
    pub max_attempts: Option<i64>,
}

impl NewJob {
    /// A job with an empty payload, due at `run_at`.
    pub fn new(kind: JobKind, run_at: DateTime<Utc>) -> NewJob {
        NewJob {
            kind,
            payload: Value::Object(Default::default()),
            dedupe_key: None,
            run_at,
            max_attempts: None,
        }
    }

    pub fn dedupe(mut self, key: impl Into<String>) -> NewJob {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn payload(mut self, payload: Value) -> NewJob {
        self.payload = payload;
        self
    }

    pub fn max_attempts(mut self, n: i64) -> NewJob {
        self.max_attempts = Some(n);
        self
    }
}

/// A job a worker holds: `attempt` fences its outcome.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub job: Job,
    pub attempt: i64,
}

/// Which jobs an administrator lists, newest first.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub kind: Option<JobKind>,
    pub limit: i64,
    pub offset: i64,
}

/// A page of jobs and how many match in all.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobPage {
    pub total: i64,
    pub jobs: Vec<Job>,
}

/// How `copy`, `backup` and `restore` carry the table (see `copy::TABLES`).
pub(crate) const JOBS_TABLE: crate::copy::TableSpec = {
    use crate::copy::Col::*;
    crate::copy::TableSpec {
        name: "jobs",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("kind", Text),
            ("dedupe_key", Text),
            ("payload", Json),
            ("state", Text),
            ("attempts", I64),
            ("max_attempts", I64),
            ("run_at", Ts),
            ("locked_until", Ts),
            ("last_error", Text),
            ("result", Json),
            ("created_at", Ts),
            ("updated_at", Ts),
            ("finished_at", Ts),
        ],
        order: "id",
        identity: Some("id"),
    }
};

/// Instants as both backends keep them alike (PostgreSQL has microseconds, SQLite text):
/// whole milliseconds.
pub(crate) fn to_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

macro_rules! on_backend {
    ($self:expr, $f:ident($($a:expr),*)) => {
        match &$self.backend {
            Backend::Sqlite(p) => crate::backend::sqlite::jobs::$f(p, $($a),*).await,
            Backend::Postgres(p) => crate::backend::postgres::jobs::$f(p, $($a),*).await,
        }
    };
}

impl Store {
    /// Adds a job to the actor's county, or — when a job of the same kind and dedupe key is
    /// already there — returns that one. The flag says whether this call added it. Any actor may
    /// enqueue (the capability that schedules the work has checked its own permission); an added
    /// job is audited under the actor's name.
    pub async fn enqueue_job(
        &self,
        actor: &crate::Actor,
        new: NewJob,
        now: DateTime<Utc>,
    ) -> StoreResult<(Job, bool)> {
        on_backend!(self, enqueue_job(actor, &new, to_ms(now)))
    }

    /// Claims the oldest due job of any county for a worker, holding it for `lease`.
    pub async fn claim_job(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<Option<ClaimedJob>> {
        on_backend!(self, claim(to_ms(now), to_ms(now + lease)))
    }

    /// Records a claimed job's success. `false` when the claim was lost (its lease expired and
    /// another worker took the job): the outcome of that later attempt stands.
    pub async fn complete_job(
        &self,
        claimed: &ClaimedJob,
        result: Value,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        on_backend!(self, complete(claimed, &result, to_ms(now)))
    }

    /// Records a claimed job's failure: it waits its back-off and runs again, or, after its last
    /// attempt, is dead. Returns the state it is left in (`None` when the claim was lost).
    pub async fn fail_job(
        &self,
        claimed: &ClaimedJob,
        error: &str,
        backoff: &Backoff,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<JobState>> {
        on_backend!(self, fail(claimed, error, backoff, to_ms(now)))
    }

    /// The actor's county's jobs, newest first (系统管理员 only).
    pub async fn jobs(&self, actor: &crate::Actor, filter: &JobFilter) -> StoreResult<JobPage> {
        on_backend!(self, list(actor, filter))
    }

    /// One job of the actor's county (系统管理员 only).
    pub async fn job(&self, actor: &crate::Actor, id: i64) -> StoreResult<Job> {
        on_backend!(self, get(actor, id))
    }

    /// Runs a dead job (or one waiting out its back-off) again now, with its attempts counted
    /// afresh; audited as `job.retry` (系统管理员 only).
    pub async fn retry_job(
        &self,
        actor: &crate::Actor,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Job> {
        on_backend!(self, retry(actor, id, to_ms(now)))
    }
}
