//! Bounds on what one request may cost the server: how large a body it may send, and how many
//! heavy reports (the bulletin, the overdue list) run at once.
//!
//! Reports are admitted through a [`ReportGate`]: a few run at a time, a short queue waits, and
//! any request beyond the queue is answered at once with 503 `busy` and `Retry-After`, instead
//! of piling up work and memory until every answer is slow. Light requests (who am I, a list of
//! people, a record) never pass the gate, so they keep the read connections and the cores the
//! reports leave free.

use crate::error::WebError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The largest body of any call but the two that carry files: the JSON API and the forms. A
/// record, a person or a whole ledger type definition is a few kilobytes; 1 MiB is generous,
/// and a larger body is refused with 413 `too_large` while it is read.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;

/// The body of an attachment upload, and of the record form that carries its photos.
pub(crate) const FILE_BODY_LIMIT: usize = 20 * 1024 * 1024;

/// The most record-form parts read (fields, list items and files): a form with more is refused
/// with 413 while it is read, before its values are looked at.
pub(crate) const MAX_FORM_PARTS: usize = 4096;

/// What a 503 tells the client to wait before trying again, in seconds.
pub(crate) const RETRY_AFTER_SECS: u64 = 2;

/// How long an admitted report waits in the queue for its turn before it is answered `busy`.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// Heavy reports running at once, and waiting, unless configured.
///
/// Half the cores, from 1 to 4: the rest of the machine keeps serving everything else, and at
/// most 4 of the read connections (8 on SQLite, 16 shared on PostgreSQL) are ever taken by
/// reports. The queue holds four reports per running one.
pub(crate) fn default_report_limits() -> (usize, usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = (cores / 2).clamp(1, 4);
    (workers, 4 * workers)
}

/// Admits heavy reports: `workers` run at once, `queue` more wait, the rest are refused.
pub(crate) struct ReportGate {
    /// Permits for running and waiting together: a request that gets none is refused.
    admitted: Arc<Semaphore>,
    running: Arc<Semaphore>,
}

/// Held for as long as a report runs.
pub(crate) struct ReportPermit {
    _admitted: OwnedSemaphorePermit,
    _running: OwnedSemaphorePermit,
}

impl ReportGate {
    pub(crate) fn new(workers: usize, queue: usize) -> ReportGate {
        let workers = workers.max(1);
        ReportGate {
            admitted: Arc::new(Semaphore::new(workers + queue)),
            running: Arc::new(Semaphore::new(workers)),
        }
    }

    /// Waits for a report's turn, or answers `busy` when the queue is full or the wait too long.
    pub(crate) async fn enter(&self) -> Result<ReportPermit, WebError> {
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| WebError::Busy)?;
        let running = tokio::time::timeout(QUEUE_WAIT, self.running.clone().acquire_owned())
            .await
            .map_err(|_| WebError::Busy)?
            .map_err(|_| WebError::Busy)?;
        Ok(ReportPermit {
            _admitted: admitted,
            _running: running,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_queue_a_report_is_refused_at_once() {
        let gate = ReportGate::new(1, 2);
        let first = gate.enter().await.ok();
        assert!(first.is_some());
        // Two wait in the queue…
        let waiting: Vec<_> = (0..2)
            .map(|_| {
                let admitted = gate.admitted.clone().try_acquire_owned();
                assert!(admitted.is_ok());
                admitted
            })
            .collect();
        // …and the next is refused without waiting.
        let started = std::time::Instant::now();
        assert!(matches!(gate.enter().await, Err(WebError::Busy)));
        assert!(started.elapsed() < QUEUE_WAIT / 10);
        drop(waiting);
        drop(first);
        assert!(gate.enter().await.is_ok());
    }

    #[test]
    fn default_limits_leave_cores_and_connections() {
        let (workers, queue) = default_report_limits();
        assert!((1..=4).contains(&workers));
        assert_eq!(queue, 4 * workers);
    }
}
