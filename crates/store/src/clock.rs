//! The system clock, kept out of the domain (which does no I/O) and handed to its rules here.

use chrono::{DateTime, Utc};
use taizhang_domain::Clock;

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
