//! Work that runs later — audit-chain checks today; deadlines, reminders, webhooks and
//! escalations next — as durable jobs: their kinds, their states, how long a failed job waits
//! before its next attempt, and the keys that make enqueuing the same logical job twice a no-op.
//! The store keeps the rows and the web layer's worker runs them; the rules are here.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a job does. The key is stored in the database and must never change; a new capability
/// adds a variant (and a handler in the worker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum JobKind {
    /// Walks a county's audit chain and records whether it is intact (nightly, per county).
    #[serde(rename = "audit.verify")]
    AuditVerify,
    /// Reads an uploaded sheet, checks its rows and writes those that pass (one per import).
    #[serde(rename = "import.run")]
    Import,
}

impl JobKind {
    pub const ALL: &'static [JobKind] = &[JobKind::AuditVerify, JobKind::Import];

    pub fn key(self) -> &'static str {
        match self {
            JobKind::AuditVerify => "audit.verify",
            JobKind::Import => "import.run",
        }
    }

    pub fn label_cn(self) -> &'static str {
        match self {
            JobKind::AuditVerify => "审计链校验",
            JobKind::Import => "表格导入",
        }
    }

    /// How many attempts a job of this kind gets before it is given up.
    pub fn default_max_attempts(self) -> i64 {
        match self {
            // A broken chain stays broken: a few attempts rule out a passing database error.
            JobKind::AuditVerify => 3,
            // A crash or a timeout mid-way: the next attempt finds the rows already written by
            // their keys and goes on from there.
            JobKind::Import => 5,
        }
    }
}

impl FromStr for JobKind {
    type Err = crate::org::UnknownKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobKind::ALL
            .iter()
            .copied()
            .find(|k| k.key() == s)
            .ok_or_else(|| crate::org::UnknownKey(s.to_string()))
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Where a job is in its life:
///
/// ```text
/// queued ──claim──▶ running ──ok──▶ succeeded
///   ▲                  │
///   │                  └─error─▶ failed (waits its back-off) ──claim──▶ running …
///   │                  └─error, last attempt─▶ dead ──retry by an administrator──▶ queued
///   └── a running job whose lease expired (its worker crashed) is claimed again
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    /// Failed at least once and waits for its next attempt.
    Failed,
    /// Failed on its last attempt; runs again only when an administrator retries it.
    Dead,
}

impl JobState {
    pub const ALL: &'static [JobState] = &[
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Dead,
    ];

    pub fn key(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Dead => "dead",
        }
    }

    pub fn label_cn(self) -> &'static str {
        match self {
            JobState::Queued => "排队",
            JobState::Running => "运行中",
            JobState::Succeeded => "成功",
            JobState::Failed => "失败",
            JobState::Dead => "已放弃",
        }
    }

    /// Whether the job will not run again by itself.
    pub fn is_finished(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Dead)
    }

    /// Whether an administrator may run it again now: given up, or waiting out a back-off.
    pub fn can_retry(self) -> bool {
        matches!(self, JobState::Dead | JobState::Failed)
    }
}

impl FromStr for JobState {
    type Err = crate::org::UnknownKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .iter()
            .copied()
            .find(|k| k.key() == s)
            .ok_or_else(|| crate::org::UnknownKey(s.to_string()))
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Exponential back-off with a cap and a jitter that depends only on the job and the attempt,
/// so many jobs failing together (a database restart) do not all come back in the same second,
/// and a test can predict the delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub base_secs: i64,
    /// No wait is longer than this (before jitter).
    pub cap_secs: i64,
    /// Up to this many thousandths of the wait are added as jitter.
    pub jitter_permille: i64,
}

impl Default for Backoff {
    /// 30 s, 1 min, 2 min … up to 6 h, plus up to a quarter more.
    fn default() -> Self {
        Backoff {
            base_secs: 30,
            cap_secs: 6 * 3600,
            jitter_permille: 250,
        }
    }
}

impl Backoff {
    /// How long to wait after failed attempt number `attempt` (1 for the first) of job `job_id`.
    pub fn delay(&self, attempt: i64, job_id: i64) -> Duration {
        let doublings = (attempt.max(1) - 1).min(40) as u32;
        let base = self.base_secs.max(0);
        let plain = base
            .checked_mul(1_i64 << doublings)
            .unwrap_or(i64::MAX)
            .min(self.cap_secs.max(base));
        let spread = plain.saturating_mul(self.jitter_permille.clamp(0, 1000)) / 1000;
        let jitter = if spread > 0 {
            (mix(job_id as u64 ^ ((attempt as u64) << 48)) % (spread as u64 + 1)) as i64
        } else {
            0
        };
        Duration::seconds(plain.saturating_add(jitter))
    }
}

/// SplitMix64's finaliser: a well-spread hash of a number, without a dependency.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What happens to a job whose attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Tries again at this instant.
    RetryAt(DateTime<Utc>),
    /// That was the last attempt.
    Dead,
}

/// The fate of a job after failed attempt number `attempt` of `max_attempts`.
pub fn after_failure(
    backoff: &Backoff,
    job_id: i64,
    attempt: i64,
    max_attempts: i64,
    now: DateTime<Utc>,
) -> AfterFailure {
    if attempt >= max_attempts {
        AfterFailure::Dead
    } else {
        AfterFailure::RetryAt(now + backoff.delay(attempt, job_id))
    }
}

/// The longest dedupe key the store accepts.
pub const MAX_DEDUPE_KEY: usize = 200;

/// A dedupe key names one logical job of a kind in a county: enqueuing a job whose county, kind
/// and key are already taken returns the existing job instead of adding another. Keys are short
/// printable text, e.g. `daily:2026-05-01` or `case:17:deadline`.
pub fn check_dedupe_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() {
        return Err("去重键不能为空");
    }
    if key.len() > MAX_DEDUPE_KEY {
        return Err("去重键过长");
    }
    if key.chars().any(char::is_control) {
        return Err("去重键不能含控制字符");
    }
    Ok(())
}

/// The dedupe key of a job that runs once a day.
pub fn daily_key(day: NaiveDate) -> String {
    format!("daily:{day}")
}

/// China Standard Time, the clock cadres (and nightly jobs) keep.
fn cst_offset() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("a valid offset")
}

/// The nightly slot for `now`: today's date in China Standard Time and the instant the job is
/// due — `hour` o'clock that day, or `now` when that hour has passed (a server started at noon
/// still checks today).
pub fn nightly_slot(now: DateTime<Utc>, hour: u32) -> (NaiveDate, DateTime<Utc>) {
    let offset = cst_offset();
    let day = now.with_timezone(&offset).date_naive();
    let time = NaiveTime::from_hms_opt(hour.min(23), 0, 0).unwrap_or(NaiveTime::MIN);
    let due = offset
        .from_local_datetime(&day.and_time(time))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    (day, due.max(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn keys_round_trip_and_stay_stable() {
        for k in JobKind::ALL {
            assert_eq!(k.key().parse::<JobKind>().ok(), Some(*k));
        }
        for s in JobState::ALL {
            assert_eq!(s.key().parse::<JobState>().ok(), Some(*s));
        }
        // Stored in databases: these strings are a contract.
        assert_eq!(JobKind::AuditVerify.key(), "audit.verify");
        assert_eq!(
            serde_json::to_value(JobKind::AuditVerify).ok(),
            Some(serde_json::json!("audit.verify"))
        );
        assert_eq!(
            serde_json::to_value(JobState::Dead).ok(),
            Some(serde_json::json!("dead"))
        );
        assert!("nonsense".parse::<JobKind>().is_err());
    }

    #[test]
    fn labels_are_chinese() {
        let labels: Vec<&str> = JobState::ALL.iter().map(|s| s.label_cn()).collect();
        assert_eq!(labels, ["排队", "运行中", "成功", "失败", "已放弃"]);
    }

    #[test]
    fn only_given_up_or_waiting_jobs_can_be_retried() {
        assert!(JobState::Dead.can_retry());
        assert!(JobState::Failed.can_retry());
        assert!(!JobState::Queued.can_retry());
        assert!(!JobState::Running.can_retry());
        assert!(!JobState::Succeeded.can_retry());
        assert!(JobState::Dead.is_finished() && JobState::Succeeded.is_finished());
        assert!(!JobState::Failed.is_finished());
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = Backoff {
            base_secs: 10,
            cap_secs: 100,
            jitter_permille: 0,
        };
        let secs: Vec<i64> = (1..=6).map(|a| b.delay(a, 7).num_seconds()).collect();
        assert_eq!(secs, [10, 20, 40, 80, 100, 100]);
        // Absurd attempt numbers neither overflow nor go below the base.
        assert_eq!(b.delay(10_000, 7).num_seconds(), 100);
        assert_eq!(b.delay(0, 7).num_seconds(), 10);
    }

    #[test]
    fn jitter_is_bounded_deterministic_and_spread() {
        let b = Backoff::default();
        for attempt in 1..8 {
            let plain = Backoff {
                jitter_permille: 0,
                ..b
            }
            .delay(attempt, 1);
            for id in 0..200 {
                let d = b.delay(attempt, id);
                assert_eq!(d, b.delay(attempt, id), "deterministic");
                assert!(d >= plain && d <= plain + plain / 4, "bounded");
            }
        }
        let distinct: std::collections::HashSet<i64> =
            (0..100).map(|id| b.delay(3, id).num_seconds()).collect();
        assert!(distinct.len() > 20, "jobs failing together spread out");
    }

    #[test]
    fn the_last_attempt_makes_a_job_dead() {
        let b = Backoff {
            base_secs: 60,
            cap_secs: 3600,
            jitter_permille: 0,
        };
        let now = at("2026-05-01T00:00:00Z");
        assert_eq!(
            after_failure(&b, 1, 1, 3, now),
            AfterFailure::RetryAt(at("2026-05-01T00:01:00Z"))
        );
        assert_eq!(
            after_failure(&b, 1, 2, 3, now),
            AfterFailure::RetryAt(at("2026-05-01T00:02:00Z"))
        );
        assert_eq!(after_failure(&b, 1, 3, 3, now), AfterFailure::Dead);
        assert_eq!(after_failure(&b, 1, 9, 3, now), AfterFailure::Dead);
    }

    #[test]
    fn dedupe_keys() {
        assert!(check_dedupe_key("daily:2026-05-01").is_ok());
        assert!(check_dedupe_key("").is_err());
        assert!(check_dedupe_key(&"k".repeat(MAX_DEDUPE_KEY + 1)).is_err());
        assert!(check_dedupe_key("a\nb").is_err());
        let day = NaiveDate::from_ymd_opt(2026, 5, 1).expect("date");
        assert_eq!(daily_key(day), "daily:2026-05-01");
    }

    #[test]
    fn nightly_slot_follows_china_time() {
        // 17:30 UTC on 30 April is 01:30 on 1 May in China: due at 02:00 CST = 18:00 UTC.
        let (day, due) = nightly_slot(at("2026-04-30T17:30:00Z"), 2);
        assert_eq!(day, NaiveDate::from_ymd_opt(2026, 5, 1).expect("date"));
        assert_eq!(due, at("2026-04-30T18:00:00Z"));
        // Past the hour: due now, still under today's key.
        let now = at("2026-05-01T04:00:00Z");
        let (day, due) = nightly_slot(now, 2);
        assert_eq!(day, NaiveDate::from_ymd_opt(2026, 5, 1).expect("date"));
        assert_eq!(due, now);
    }
}
