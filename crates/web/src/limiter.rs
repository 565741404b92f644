//! A per-address limit on login attempts, on top of the per-account lockout: one address may try
//! at most `MAX_ATTEMPTS` logins in `WINDOW`.

use crate::error::WebError;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_ATTEMPTS: u32 = 30;
pub const WINDOW: Duration = Duration::from_secs(5 * 60);

#[derive(Default)]
pub struct LoginLimiter {
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl LoginLimiter {
    pub fn check(&self, ip: IpAddr) -> Result<(), WebError> {
        self.check_at(ip, Instant::now())
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), WebError> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 10_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > MAX_ATTEMPTS {
            Err(WebError::RateLimited)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_window() {
        let l = LoginLimiter::default();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..MAX_ATTEMPTS {
            assert!(l.check_at(a, t0).is_ok());
        }
        assert!(matches!(l.check_at(a, t0), Err(WebError::RateLimited)));
        assert!(
            l.check_at(b, t0).is_ok(),
            "other addresses are not affected"
        );
        assert!(
            l.check_at(a, t0 + WINDOW).is_ok(),
            "a new window starts afresh"
        );
    }
}
