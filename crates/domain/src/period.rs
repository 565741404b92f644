//! Periods: months, quarters, years and custom ranges, with the arithmetic that cadences,
//! overdue lists and bulletins need. A `DateRange` is inclusive at both ends.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("日期格式应为 YYYY-MM-DD")]
    BadDate,
    #[error("开始日期不能晚于结束日期")]
    Reversed,
    #[error("期间格式应为 2026、2026Q3、2026-03 或 2026-01-01..2026-03-31")]
    BadPeriod,
}

impl PeriodError {
    pub fn code(&self) -> &'static str {
        match self {
            PeriodError::BadDate => "period.bad_date",
            PeriodError::Reversed => "period.reversed",
            PeriodError::BadPeriod => "period.bad_period",
        }
    }
}

pub fn parse_date(s: &str) -> Result<NaiveDate, PeriodError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| PeriodError::BadDate)
}

impl DateRange {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        if from > to {
            Err(PeriodError::Reversed)
        } else {
            Ok(DateRange { from, to })
        }
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// "2026年1月1日至2026年12月31日", or the shorter name when it is a whole month/quarter/year.
    pub fn label_cn(&self) -> String {
        if let Some(p) = Period::exact(*self) {
            return p.label_cn();
        }
        format!("{}至{}", date_cn(self.from), date_cn(self.to))
    }
}

pub fn date_cn(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// How often a periodic piece of work is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Monthly,
    Quarterly,
    Yearly,
}

impl Cadence {
    pub fn label_cn(self) -> &'static str {
        match self {
            Cadence::Monthly => "每月",
            Cadence::Quarterly => "每季度",
            Cadence::Yearly => "每年",
        }
    }

    /// The period of this cadence that contains `d`.
    pub fn period_containing(self, d: NaiveDate) -> Period {
        match self {
            Cadence::Monthly => Period::Month(d.year(), d.month()),
            Cadence::Quarterly => Period::Quarter(d.year(), (d.month() - 1) / 3 + 1),
            Cadence::Yearly => Period::Year(d.year()),
        }
    }
}

/// A calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Period {
    Month(i32, u32),
    Quarter(i32, u32),
    Year(i32),
}

impl Period {
    pub fn range(self) -> DateRange {
        let (from, months) = match self {
            Period::Month(y, m) => (ymd(y, m, 1), 1),
            Period::Quarter(y, q) => (ymd(y, (q - 1) * 3 + 1, 1), 3),
            Period::Year(y) => (ymd(y, 1, 1), 12),
        };
        let to = from
            .checked_add_months(Months::new(months))
            .and_then(|d| d.pred_opt())
            .expect("date in range");
        DateRange { from, to }
    }

    pub fn previous(self) -> Period {
        match self {
            Period::Month(y, 1) => Period::Month(y - 1, 12),
            Period::Month(y, m) => Period::Month(y, m - 1),
            Period::Quarter(y, 1) => Period::Quarter(y - 1, 4),
            Period::Quarter(y, q) => Period::Quarter(y, q - 1),
            Period::Year(y) => Period::Year(y - 1),
        }
    }

    /// The period whose range is exactly `r`, if there is one.
    pub fn exact(r: DateRange) -> Option<Period> {
        [Cadence::Monthly, Cadence::Quarterly, Cadence::Yearly]
            .into_iter()
            .map(|c| c.period_containing(r.from))
            .find(|p| p.range() == r)
    }

    /// Parses "2026", "2026Q3", "2026-03".
    pub fn parse(s: &str) -> Result<Period, PeriodError> {
        let s = s.trim();
        let bad = || PeriodError::BadPeriod;
        if let Some((y, q)) = s.split_once(['Q', 'q']) {
            let y: i32 = y.parse().map_err(|_| bad())?;
            let q: u32 = q.parse().map_err(|_| bad())?;
            if !(1..=4).contains(&q) || !(1900..=9999).contains(&y) {
                return Err(bad());
            }
            return Ok(Period::Quarter(y, q));
        }
        if let Some((y, m)) = s.split_once('-') {
            let y: i32 = y.parse().map_err(|_| bad())?;
            let m: u32 = m.parse().map_err(|_| bad())?;
            if !(1..=12).contains(&m) || !(1900..=9999).contains(&y) {
                return Err(bad());
            }
            return Ok(Period::Month(y, m));
        }
        let y: i32 = s.parse().map_err(|_| bad())?;
        if !(1900..=9999).contains(&y) {
            return Err(bad());
        }
        Ok(Period::Year(y))
    }

    pub fn label_cn(self) -> String {
        const Q: [&str; 4] = ["一", "二", "三", "四"];
        match self {
            Period::Month(y, m) => format!("{y}年{m}月"),
            Period::Quarter(y, q) => format!("{y}年第{}季度", Q[(q - 1) as usize]),
            Period::Year(y) => format!("{y}年"),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
            Period::Quarter(y, q) => write!(f, "{y}Q{q}"),
            Period::Year(y) => write!(f, "{y}"),
        }
    }
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid calendar date")
}

/// Month key used to bucket records: 202603.
pub fn month_key(d: NaiveDate) -> i32 {
    d.year() * 100 + d.month() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn ranges() {
        assert_eq!(
            Period::Month(2024, 2).range(),
            DateRange {
                from: d("2024-02-01"),
                to: d("2024-02-29")
            }
        );
        assert_eq!(Period::Month(2026, 12).range().to, d("2026-12-31"));
        assert_eq!(
            Period::Quarter(2026, 3).range(),
            DateRange {
                from: d("2026-07-01"),
                to: d("2026-09-30")
            }
        );
        assert_eq!(Period::Year(2026).range().days(), 365);
    }

    #[test]
    fn containing_and_previous() {
        assert_eq!(
            Cadence::Quarterly.period_containing(d("2026-11-22")),
            Period::Quarter(2026, 4)
        );
        assert_eq!(
            Cadence::Monthly
                .period_containing(d("2026-01-05"))
                .previous(),
            Period::Month(2025, 12)
        );
        assert_eq!(
            Period::Quarter(2026, 1).previous(),
            Period::Quarter(2025, 4)
        );
        assert_eq!(Period::Year(2026).previous(), Period::Year(2025));
    }

    #[test]
    fn parse_and_display_round_trip() {
        for s in ["2026", "2026Q3", "2026-03"] {
            assert_eq!(Period::parse(s).unwrap().to_string(), s);
        }
        assert!(Period::parse("2026Q5").is_err());
        assert!(Period::parse("2026-13").is_err());
        assert!(Period::parse("abc").is_err());
    }

    #[test]
    fn labels() {
        assert_eq!(Period::Quarter(2026, 3).label_cn(), "2026年第三季度");
        let r = DateRange::new(d("2026-01-01"), d("2026-12-31")).unwrap();
        assert_eq!(r.label_cn(), "2026年");
        let r = DateRange::new(d("2025-12-01"), d("2026-11-30")).unwrap();
        assert_eq!(r.label_cn(), "2025年12月1日至2026年11月30日");
    }

    #[test]
    fn reversed_range_is_refused() {
        assert_eq!(
            DateRange::new(d("2026-02-01"), d("2026-01-01")),
            Err(PeriodError::Reversed)
        );
    }

    #[test]
    fn month_keys() {
        assert_eq!(month_key(d("2026-03-31")), 202603);
    }
}
