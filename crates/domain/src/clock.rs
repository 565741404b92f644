//! Where the domain's rules get the time from. The domain does no I/O, so it never reads the
//! system clock: callers pass a `Clock` (the store's `SystemClock` in the running service, a
//! `FixedClock` in tests) or the date it gives.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// China Standard Time, UTC+8 all year: the calendar cadres work by.
pub const CHINA_STANDARD_TIME: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

pub trait Clock {
    fn now(&self) -> DateTime<Utc>;

    /// Today's date in China Standard Time.
    fn today(&self) -> NaiveDate {
        china_date(self.now())
    }
}

/// The date in China Standard Time at the instant `at`. In chrono's last eight hours, where the
/// local time would leave its range, it is the UTC date (rather than a panic).
pub fn china_date(at: DateTime<Utc>) -> NaiveDate {
    let utc = at.naive_utc();
    utc.checked_add_offset(CHINA_STANDARD_TIME)
        .unwrap_or(utc)
        .date()
}

/// A clock that always shows the same instant, for tests and reproducible runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub DateTime<Utc>);

impl FixedClock {
    /// Noon of `date` in China Standard Time, so that `today()` is `date`.
    pub fn on(date: NaiveDate) -> FixedClock {
        let noon_utc = date.and_hms_opt(4, 0, 0).unwrap_or_default().and_utc();
        FixedClock(noon_utc)
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn today_is_the_date_in_beijing() {
        // 16:00 UTC is already midnight in Beijing.
        assert_eq!(
            FixedClock(utc("2026-03-31T15:59:59Z")).today(),
            NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
        );
        assert_eq!(
            FixedClock(utc("2026-03-31T16:00:00Z")).today(),
            NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
        );
    }

    #[test]
    fn a_fixed_clock_on_a_date_shows_that_date() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(FixedClock::on(d).today(), d);
    }

    #[test]
    fn the_extreme_instants_have_a_date() {
        assert_eq!(china_date(DateTime::<Utc>::MAX_UTC), NaiveDate::MAX);
        assert_eq!(china_date(DateTime::<Utc>::MIN_UTC), NaiveDate::MIN);
    }
}
