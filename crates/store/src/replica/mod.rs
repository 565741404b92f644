//! A PostgreSQL streaming replica that answers the reports: bulletins, the overdue list, the home
//! page's figures and the lists of records, organisations and people (see `report_snapshot` and
//! `report_conn` in `backend/common.rs`). Every write, and every read that must see the caller's
//! own writes (sessions, login, a record just written, the audit log), stays on the primary.
//!
//! A background task checks the replica every `check_every` (1 s by default) and keeps one flag:
//! the replica is used only while it answers, is a standby (`pg_is_in_recovery()`), and its lag is
//! within `max_lag` (5 s by default). The lag is measured, not guessed:
//!
//! - each check first reads the primary's `pg_current_wal_lsn()` (noting the instant before it
//!   asked), then the replica's `pg_last_wal_replay_lsn()` and `pg_last_xact_replay_timestamp()`;
//! - a replica that has replayed up to the primary's position has no lag, however long both have
//!   been idle;
//! - otherwise the lag is the smaller of two upper bounds on how old the replica's view is: the
//!   time since the latest check whose primary position the replica has replayed (it holds all
//!   the primary held then), and the time since the last transaction it replayed was committed
//!   (`now() - pg_last_xact_replay_timestamp()`). Neither known: the lag is unknown, and the
//!   replica is not used.
//!
//! Fit means within the bound, not caught up: a report may miss what was written less than the
//! bound ago. The primary's position is its write position, so with `synchronous_commit = off`
//! a commit the WAL writer has not yet written out is not counted.
//!
//! When a check fails (either server unreachable within the check's timeout) or the lag passes
//! the bound, reads go to the primary until a later check finds the replica fit again; each
//! switch is logged once (a `warn`), not each request. A report that finds the replica refusing
//! to start a transaction falls back to the primary at once and marks it down.

use crate::{StoreError, StoreResult};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How the replica is checked and how far behind it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaOptions {
    /// The most the replica may lag behind the primary and still answer reports.
    pub max_lag: Duration,
    /// How often the background task checks the replica.
    pub check_every: Duration,
}

/// The default bound on the replica's lag.
pub const DEFAULT_MAX_LAG: Duration = Duration::from_secs(5);
/// The default interval between two checks of the replica.
pub const DEFAULT_CHECK_EVERY: Duration = Duration::from_secs(1);
/// How long one check waits for each server before it counts as unreachable.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

impl Default for ReplicaOptions {
    fn default() -> Self {
        ReplicaOptions {
            max_lag: DEFAULT_MAX_LAG,
            check_every: DEFAULT_CHECK_EVERY,
        }
    }
}

/// Which server the reports read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadTarget {
    Primary,
    Replica,
}

/// What the store knows of its replica, for the operator and for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaStatus {
    /// Where the next report goes.
    pub target: ReadTarget,
    /// The lag the last check measured; `None` when it could not be measured.
    pub lag: Option<Duration>,
    /// Why the last check found the replica unfit; empty when it is used.
    pub reason: String,
    /// Reports answered by the replica since the store opened.
    pub replica_reads: u64,
    /// Reports that went to the primary because the replica was unfit.
    pub primary_reads: u64,
    /// Checks run since the store opened.
    pub checks: u64,
}

#[derive(Debug, Default)]
struct LastCheck {
    lag: Option<Duration>,
    reason: String,
}

/// The replica's pool and the flag the health task keeps.
pub(crate) struct Replica<DB: sqlx::Database> {
    pub(crate) pool: sqlx::Pool<DB>,
    opts: ReplicaOptions,
    fit: AtomicBool,
    replica_reads: AtomicU64,
    primary_reads: AtomicU64,
    checks: AtomicU64,
    last: Mutex<LastCheck>,
}

impl<DB: sqlx::Database> Replica<DB> {
    fn new(pool: sqlx::Pool<DB>, opts: ReplicaOptions) -> Replica<DB> {
        Replica {
            pool,
            opts,
            // Unfit until the first check says otherwise.
            fit: AtomicBool::new(false),
            replica_reads: AtomicU64::new(0),
            primary_reads: AtomicU64::new(0),
            checks: AtomicU64::new(0),
            last: Mutex::new(LastCheck {
                lag: None,
                reason: "尚未检查".into(),
            }),
        }
    }

    /// Whether reports should read from the replica now.
    pub(crate) fn fit(&self) -> bool {
        self.fit.load(Ordering::Acquire)
    }

    /// Counts one report answered by `target`.
    pub(crate) fn served(&self, target: ReadTarget) {
        let n = match target {
            ReadTarget::Replica => &self.replica_reads,
            ReadTarget::Primary => &self.primary_reads,
        };
        n.fetch_add(1, Ordering::Relaxed);
    }

    /// The replica failed a report: reports go to the primary until a check finds it fit again.
    pub(crate) fn mark_down(&self, why: &str) {
        self.record(false, None, format!("副本连接失败：{why}"));
    }

    fn record(&self, fit: bool, lag: Option<Duration>, reason: String) {
        let was = self.fit.swap(fit, Ordering::AcqRel);
        let first = self.checks.load(Ordering::Relaxed) <= 1 && !was;
        if first && fit {
            tracing::info!(?lag, "read replica fit: reports read from the replica");
        } else if was != fit || first {
            if fit {
                tracing::warn!(
                    ?lag,
                    "read replica fit again: reports read from the replica"
                );
            } else {
                tracing::warn!(?lag, %reason, "read replica unfit: reports read from the primary");
            }
        }
        if let Ok(mut last) = self.last.lock() {
            *last = LastCheck { lag, reason };
        }
    }

    pub(crate) fn status(&self) -> ReplicaStatus {
        let (lag, reason) = match self.last.lock() {
            Ok(last) => (last.lag, last.reason.clone()),
            Err(_) => (None, "状态不可读".into()),
        };
        ReplicaStatus {
            target: if self.fit() {
                ReadTarget::Replica
            } else {
                ReadTarget::Primary
            },
            lag,
            reason,
            replica_reads: self.replica_reads.load(Ordering::Relaxed),
            primary_reads: self.primary_reads.load(Ordering::Relaxed),
            checks: self.checks.load(Ordering::Relaxed),
        }
    }
}

/// Opens the replica's pool (lazily: a replica that is down at start is only unfit) and starts
/// its health task, after one first check so that the flag is right from the first request.
pub(crate) async fn open(
    primary: sqlx::PgPool,
    url: &str,
    opts: ReplicaOptions,
) -> StoreResult<Arc<Replica<sqlx::Postgres>>> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(StoreError::Config(format!(
            "只读副本必须是 PostgreSQL 地址（postgres://…）：{url}"
        )));
    }
    if opts.max_lag.is_zero() || opts.check_every.is_zero() {
        return Err(StoreError::Config(
            "副本的最大延迟和检查间隔必须大于零".into(),
        ));
    }
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(CHECK_TIMEOUT)
        .connect_lazy(url)?;
    let replica = Arc::new(Replica::new(pool, opts));
    let mut samples = Samples::default();
    check(&primary, &replica, &mut samples).await;
    let weak = Arc::downgrade(&replica);
    tokio::spawn(health_loop(primary, weak, samples, opts.check_every));
    Ok(replica)
}

async fn health_loop(
    primary: sqlx::PgPool,
    replica: Weak<Replica<sqlx::Postgres>>,
    mut samples: Samples,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        // The store is gone: so is the task.
        let Some(r) = replica.upgrade() else { break };
        if primary.is_closed() {
            break;
        }
        check(&primary, &r, &mut samples).await;
    }
}

/// The primary's WAL positions seen by recent checks, with the instant before each was asked.
#[derive(Default)]
struct Samples(VecDeque<(i64, Instant)>);

impl Samples {
    /// The most samples kept: enough to cover the lag bound at any sane check interval.
    const MAX: usize = 256;

    fn push(&mut self, lsn: i64, at: Instant, keep: Duration) {
        self.0.push_back((lsn, at));
        while self.0.len() > Self::MAX
            || self
                .0
                .front()
                .is_some_and(|(_, t)| at.duration_since(*t) > keep)
        {
            self.0.pop_front();
        }
    }

    /// When the primary last stood at or before `replayed`: the replica holds all it held then.
    fn replayed_since(&self, replayed: i64) -> Option<Instant> {
        self.0
            .iter()
            .rev()
            .find(|(lsn, _)| *lsn <= replayed)
            .map(|(_, t)| *t)
    }
}

/// What one check read from the replica.
struct Standby {
    in_recovery: bool,
    replayed: Option<i64>,
    since_replayed_commit: Option<f64>,
}

async fn check(primary: &sqlx::PgPool, r: &Replica<sqlx::Postgres>, samples: &mut Samples) {
    r.checks.fetch_add(1, Ordering::Relaxed);
    let asked = Instant::now();
    let head = tokio::time::timeout(
        CHECK_TIMEOUT,
        sqlx::query_as::<_, (i64,)>("SELECT CAST(pg_current_wal_lsn() - '0/0'::pg_lsn AS BIGINT)")
            .fetch_one(primary),
    )
    .await;
    let head = match head {
        Ok(Ok((lsn,))) => lsn,
        Ok(Err(e)) => return r.record(false, None, format!("主库不可达，无法测量延迟：{e}")),
        Err(_) => return r.record(false, None, "主库检查超时，无法测量延迟".into()),
    };
    let keep = r.opts.max_lag + 2 * r.opts.check_every;
    samples.push(head, asked, keep);
    let standby = tokio::time::timeout(
        CHECK_TIMEOUT,
        sqlx::query_as::<_, (bool, Option<i64>, Option<f64>)>(
            "SELECT pg_is_in_recovery(), CAST(pg_last_wal_replay_lsn() - '0/0'::pg_lsn AS BIGINT), \
             CAST(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) AS DOUBLE PRECISION)",
        )
        .fetch_one(&r.pool),
    )
    .await;
    let standby = match standby {
        Ok(Ok((in_recovery, replayed, since_replayed_commit))) => Standby {
            in_recovery,
            replayed,
            since_replayed_commit,
        },
        Ok(Err(e)) => return r.record(false, None, format!("副本不可达：{e}")),
        Err(_) => return r.record(false, None, "副本检查超时".into()),
    };
    let (fit, lag, reason) = judge(&standby, head, samples, Instant::now(), r.opts.max_lag);
    r.record(fit, lag, reason);
}

/// The lag rule (see the module's documentation): whether the replica is fit, the lag measured,
/// and why it is unfit.
fn judge(
    s: &Standby,
    head: i64,
    samples: &Samples,
    now: Instant,
    max_lag: Duration,
) -> (bool, Option<Duration>, String) {
    if !s.in_recovery {
        return (false, None, "该服务器不是只读副本（未处于恢复状态）".into());
    }
    let Some(replayed) = s.replayed else {
        return (false, None, "副本尚未回放任何日志".into());
    };
    let lag = if replayed >= head {
        Some(Duration::ZERO)
    } else {
        let by_samples = samples
            .replayed_since(replayed)
            .map(|t| now.duration_since(t));
        let by_commit = s
            .since_replayed_commit
            .filter(|secs| secs.is_finite())
            .map(|secs| Duration::from_secs_f64(secs.max(0.0)));
        match (by_samples, by_commit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    match lag {
        None => (false, None, "副本延迟无法测量".into()),
        Some(l) if l > max_lag => (
            false,
            lag,
            format!(
                "副本延迟{:.1}秒，超过上限{:.1}秒",
                l.as_secs_f64(),
                max_lag.as_secs_f64()
            ),
        ),
        Some(_) => (true, lag, String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standby(replayed: Option<i64>, since: Option<f64>) -> Standby {
        Standby {
            in_recovery: true,
            replayed,
            since_replayed_commit: since,
        }
    }

    const BOUND: Duration = Duration::from_secs(5);

    #[test]
    fn caught_up_is_no_lag_even_after_a_long_idle() {
        let now = Instant::now();
        let s = Samples::default();
        let (fit, lag, why) = judge(&standby(Some(100), Some(3600.0)), 100, &s, now, BOUND);
        assert_eq!((fit, lag, why.as_str()), (true, Some(Duration::ZERO), ""));
    }

    #[test]
    fn a_write_after_idle_counts_from_the_last_check_not_the_last_commit() {
        let t0 = Instant::now();
        let mut s = Samples::default();
        s.push(100, t0, Duration::from_secs(60));
        s.push(120, t0 + Duration::from_secs(1), Duration::from_secs(60));
        let now = t0 + Duration::from_millis(1200);
        // Replayed up to the first check's position; its last commit is an hour old.
        let (fit, lag, _) = judge(&standby(Some(100), Some(3600.0)), 120, &s, now, BOUND);
        assert_eq!((fit, lag), (true, Some(Duration::from_millis(1200))));
    }

    #[test]
    fn paused_replay_passes_the_bound() {
        let t0 = Instant::now();
        let mut s = Samples::default();
        for i in 0..8u64 {
            s.push(
                100 + i as i64 * 10,
                t0 + Duration::from_secs(i),
                Duration::from_secs(60),
            );
        }
        let now = t0 + Duration::from_secs(7);
        // Stuck at the second check's position; the last replayed commit was 6.5 s ago.
        let (fit, lag, why) = judge(&standby(Some(110), Some(6.5)), 170, &s, now, BOUND);
        assert!(!fit);
        assert_eq!(lag, Some(Duration::from_millis(6000)));
        assert_eq!(why, "副本延迟6.0秒，超过上限5.0秒");
    }

    #[test]
    fn unknown_lag_and_a_primary_are_unfit() {
        let now = Instant::now();
        let s = Samples::default();
        let (fit, lag, why) = judge(&standby(Some(90), None), 100, &s, now, BOUND);
        assert_eq!((fit, lag, why.as_str()), (false, None, "副本延迟无法测量"));
        let primary = Standby {
            in_recovery: false,
            replayed: None,
            since_replayed_commit: None,
        };
        let (fit, _, why) = judge(&primary, 100, &s, now, BOUND);
        assert_eq!(
            (fit, why.as_str()),
            (false, "该服务器不是只读副本（未处于恢复状态）")
        );
    }

    #[test]
    fn samples_older_than_the_window_are_dropped() {
        let t0 = Instant::now();
        let mut s = Samples::default();
        s.push(100, t0, Duration::from_secs(2));
        s.push(200, t0 + Duration::from_secs(3), Duration::from_secs(2));
        assert_eq!(s.replayed_since(150), None);
        assert_eq!(s.replayed_since(200), Some(t0 + Duration::from_secs(3)));
    }
}
