//! Background jobs inside the server process: the worker that runs due jobs with a handler per
//! kind, the nightly scheduler, and the 系统管理员's page (`/jobs`) and API (`/api/v1/jobs`).
//!
//! `taizhang serve` and `taizhang demo` start one worker ([`spawn_worker`]); nothing needs a
//! second process. Each poll the worker claims due jobs one at a time with a lease, runs the
//! kind's handler in its own task (so a panic fails the attempt instead of the worker) under a
//! timeout shorter than the lease, and records the outcome; a failure waits its back-off. The
//! store guarantees that two workers never hold one job at once, and that a job whose worker
//! died runs again after its lease — so handlers must be idempotent: a job may run twice.
//!
//! A new kind of work adds a `JobKind` variant, a handler registered in
//! [`Worker::with_options`], and enqueues its jobs with `Store::enqueue_job` (a dedupe key makes
//! enqueuing twice harmless).

mod api;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use pages::page_routes;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use taizhang_domain::jobs::{daily_key, nightly_slot, Backoff, JobKind, JobState};
use taizhang_store::jobs::{ClaimedJob, Job, NewJob};
use taizhang_store::{Actor, ChainCheck, Store, StoreResult};

/// What a handler's future yields: a JSON report kept on the job, or a Chinese error message.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;
/// Runs one job. It may run more than once for the same job, so it must be idempotent.
pub type Handler = Arc<dyn Fn(Store, Job) -> HandlerFuture + Send + Sync>;

/// How the worker polls and retries.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How often it looks for due jobs.
    pub poll: std::time::Duration,
    /// How long a claimed job is held; a handler that runs longer is stopped and its attempt
    /// failed, and a job whose worker died is claimed again after it.
    pub lease: chrono::Duration,
    /// At most this many jobs per poll, so one poll does not run for ever.
    pub batch: usize,
    pub backoff: Backoff,
    /// The hour (China Standard Time) nightly jobs are due.
    pub nightly_hour: u32,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            poll: std::time::Duration::from_secs(5),
            lease: chrono::Duration::minutes(10),
            batch: 50,
            backoff: Backoff::default(),
            nightly_hour: 2,
        }
    }
}

impl WorkerOptions {
    /// The defaults, with the poll interval from `TAIZHANG_JOBS_POLL_SECS` when set.
    pub fn from_env() -> Self {
        let mut opts = WorkerOptions::default();
        if let Some(secs) = std::env::var("TAIZHANG_JOBS_POLL_SECS")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|s| *s > 0)
        {
            opts.poll = std::time::Duration::from_secs(secs);
        }
        opts
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    pub succeeded: usize,
    /// Failed and will be retried after a back-off.
    pub failed: usize,
    /// Failed on their last attempt.
    pub dead: usize,
    /// Finished after another worker had taken the job over (their outcome was not recorded).
    pub lost: usize,
}

impl RunReport {
    pub fn ran(&self) -> usize {
        self.succeeded + self.failed + self.dead + self.lost
    }
}

/// Runs due jobs with a handler per kind.
#[derive(Clone)]
pub struct Worker {
    store: Store,
    handlers: HashMap<JobKind, Handler>,
    opts: WorkerOptions,
}

impl Worker {
    pub fn new(store: Store) -> Worker {
        Worker::with_options(store, WorkerOptions::default())
    }

    /// A worker with the built-in handlers.
    pub fn with_options(store: Store, opts: WorkerOptions) -> Worker {
        Worker {
            store,
            handlers: HashMap::new(),
            opts,
        }
        .handle(JobKind::AuditVerify, verify_audit_chain)
        .handle(JobKind::Import, crate::imports::run_job)
    }

    /// Registers (or replaces) the handler of a kind.
    pub fn handle<F, Fut>(mut self, kind: JobKind, f: F) -> Worker
    where
        F: Fn(Store, Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, String>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |store, job| Box::pin(f(store, job)));
        self.handlers.insert(kind, handler);
        self
    }

    pub fn options(&self) -> &WorkerOptions {
        &self.opts
    }

    /// Claims and runs the jobs due at `now`, up to a batch. Outcomes are recorded at `now`, or
    /// at the wall clock when that is later (a long handler), so tests that move `now` ahead
    /// see exact back-offs.
    pub async fn run_once(&self, now: DateTime<Utc>) -> StoreResult<RunReport> {
        let mut report = RunReport::default();
        for _ in 0..self.opts.batch.max(1) {
            let Some(claimed) = self.store.claim_job(now, self.opts.lease).await? else {
                break;
            };
            let outcome = self.run_handler(&claimed).await;
            let at = now.max(Utc::now());
            match outcome {
                Ok(result) => {
                    if self.store.complete_job(&claimed, result, at).await? {
                        report.succeeded += 1;
                    } else {
                        report.lost += 1;
                    }
                }
                Err(error) => {
                    tracing::warn!(job = claimed.job.id, kind = %claimed.job.kind, attempt = claimed.attempt, %error, "job failed");
                    match self
                        .store
                        .fail_job(&claimed, &error, &self.opts.backoff, at)
                        .await?
                    {
                        Some(JobState::Dead) => report.dead += 1,
                        Some(_) => report.failed += 1,
                        None => report.lost += 1,
                    }
                }
            }
        }
        Ok(report)
    }

    /// The handler's outcome; a panic, a timeout or an unknown kind is a failed attempt.
    async fn run_handler(&self, claimed: &ClaimedJob) -> Result<Value, String> {
        let job = claimed.job.clone();
        let Some(handler) = job.kind().and_then(|k| self.handlers.get(&k)).cloned() else {
            return Err(format!("本程序不认识任务类型“{}”", job.kind));
        };
        // Stopped a little before the lease runs out, so its failure is recorded before another
        // worker may claim the job.
        let limit = (self.opts.lease * 9 / 10)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(540));
        let mut task = tokio::spawn(handler(self.store.clone(), job));
        match tokio::time::timeout(limit, &mut task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(join)) if join.is_panic() => Err("任务处理程序异常退出".into()),
            Ok(Err(_)) => Err("任务被取消".into()),
            Err(_) => {
                task.abort();
                Err(format!("任务运行超过{}秒，已中止", limit.as_secs()))
            }
        }
    }

    /// Enqueues the recurring jobs of the day `now` falls on (China Standard Time) for every
    /// county — today, the nightly audit-chain check. Each carries that day's dedupe key, so
    /// calling this again (every poll, or after a restart) adds nothing. Returns how many it added.
    pub async fn schedule_recurring(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        let (day, due) = nightly_slot(now, self.opts.nightly_hour);
        let mut added = 0;
        for county in self.store.counties().await? {
            let actor = Actor::system(county.id, "scheduler");
            let job = NewJob::new(JobKind::AuditVerify, due).dedupe(daily_key(day));
            if self.store.enqueue_job(&actor, job, now).await?.1 {
                added += 1;
            }
        }
        Ok(added)
    }

    /// Polls for ever: schedules each day's recurring jobs once, then runs what is due.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut scheduled: Option<NaiveDate> = None;
            let mut tick = tokio::time::interval(self.opts.poll);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let now = Utc::now();
                let (day, _) = nightly_slot(now, self.opts.nightly_hour);
                if scheduled != Some(day) {
                    match self.schedule_recurring(now).await {
                        Ok(_) => scheduled = Some(day),
                        Err(e) => tracing::warn!(error = %e, "could not schedule the day's jobs"),
                    }
                }
                // Refusal windows that closed get their one summary entry.
                if let Err(e) = self.store.flush_refusals(now).await {
                    tracing::warn!(error = %e, "could not write refusal summaries");
                }
                match self.run_once(now).await {
                    Ok(r) if r.ran() > 0 => tracing::info!(
                        succeeded = r.succeeded,
                        failed = r.failed,
                        dead = r.dead,
                        lost = r.lost,
                        "ran jobs"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "job worker poll failed"),
                }
            }
        })
    }
}

/// Starts the server's worker with the built-in handlers (`taizhang serve`, `taizhang demo`).
pub fn spawn_worker(store: Store) -> tokio::task::JoinHandle<()> {
    let opts = WorkerOptions::from_env();
    tracing::info!(poll_secs = opts.poll.as_secs(), "job worker started");
    Worker::with_options(store, opts).spawn()
}

/// `audit.verify`: walks the county's audit chain and holds it to its checkpoint; an intact
/// chain's head becomes the new checkpoint (and a log line). An intact chain is the job's result;
/// a broken or truncated one fails the job (and, after its attempts, leaves it dead on the
/// administrators' page), since it means someone changed the log. Run again, it finds the same.
async fn verify_audit_chain(store: Store, job: Job) -> Result<Value, String> {
    let county = store
        .counties()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|c| c.id == job.county_id)
        .ok_or_else(|| "县不存在".to_string())?;
    let check = store
        .check_audit_chain(&county, true)
        .await
        .map_err(|e| e.to_string())?;
    match check.problem() {
        None => match check {
            ChainCheck::Intact {
                entries, anchored, ..
            } => Ok(json!({ "intact": true, "entries": entries, "anchored": anchored })),
            _ => Ok(json!({ "intact": true })),
        },
        Some(problem) => {
            tracing::error!(
                county = job.county_id.get(),
                ?check,
                "the audit chain is broken"
            );
            Err(problem)
        }
    }
}
