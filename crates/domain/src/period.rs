//! Periods: months, quarters and years, with the arithmetic that cadences, overdue lists and
//! bulletins need. A `DateRange` is inclusive at both ends.
//!
//! A `Period` is only built through its checked constructors, and every day of it lies in the
//! platform's date window (`MIN_DATE`..=`MAX_DATE`), so `range`, `previous`, `next` and the labels
//! are total: no input, however extreme, makes them panic.

use crate::ledger::FieldError;
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The first date the platform records: the founding of the People's Republic.
pub const MIN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1949, 10, 1) {
    Some(d) => d,
    None => panic!("1949-10-01 is a calendar date"),
};

/// The last date the platform records.
pub const MAX_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2100, 12, 31) {
    Some(d) => d,
    None => panic!("2100-12-31 is a calendar date"),
};

/// `d` when it lies in the platform's date window, else `PeriodError::OutOfWindow`.
pub fn check_date(d: NaiveDate) -> Result<NaiveDate, PeriodError> {
    if (MIN_DATE..=MAX_DATE).contains(&d) {
        Ok(d)
    } else {
        Err(PeriodError::OutOfWindow)
    }
}

/// `check_date` for a date that arrives in the field `field` of an input: refused with the code
/// `date_out_of_range` and the window named in Chinese. Every date a caller gives (a query
/// parameter, a body, a form, the command line) passes here before it is used or stored.
pub fn check_date_field(field: &str, d: NaiveDate) -> Result<NaiveDate, FieldError> {
    check_date(d).map_err(|e| FieldError::new(field, e.code(), e.to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
    #[error("日期须在1949年10月1日至2100年12月31日之间")]
    OutOfWindow,
}

impl PeriodError {
    pub fn code(&self) -> &'static str {
        match self {
            PeriodError::BadDate => "period.bad_date",
            PeriodError::Reversed => "period.reversed",
            PeriodError::BadPeriod => "period.bad_period",
            PeriodError::OutOfWindow => "date_out_of_range",
        }
    }
}

pub fn parse_date(s: &str) -> Result<NaiveDate, PeriodError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| PeriodError::BadDate)
}

/// Reads a date as people type it into sheets and forms: "2024-05-01", "2024-5-1", "2024/5/1",
/// "2024.5.1", "2024年5月1日" (the 日 may be left off), "20240501", in half- or full-width digits
/// and separators, with a time of day after a space ignored ("2024/5/1 0:00:00"). Only real
/// calendar days are read; whether the day lies in the platform's window is `check_date`'s
/// question. `parse_date` stays the strict form of the API.
pub fn parse_written_date(input: &str) -> Option<NaiveDate> {
    let folded: String = input
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' | '．' | '／' | '－' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            other => other,
        })
        .collect();
    // A time of day after the date ("2024-05-01 08:30:00", "2024/5/1 0:00") is ignored.
    let date = match folded.split_once(' ') {
        Some((d, time)) if is_time_of_day(time.trim()) => d,
        Some(_) => return None,
        None => folded.as_str(),
    };
    let date = date.strip_suffix('日').unwrap_or(date);
    let (y, m, d) = if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) {
        (&date[..4], &date[4..6], &date[6..])
    } else {
        let mut parts = date.split(['-', '/', '.', '年', '月']);
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        // One kind of separator throughout ("2024-5/1" is refused), or 年 then 月.
        let seps: Vec<char> = date.chars().filter(|c| !c.is_ascii_digit()).collect();
        let consistent = matches!(seps.as_slice(), ['年', '月'])
            || (seps.len() == 2 && seps[0] == seps[1] && seps[0] != '年' && seps[0] != '月');
        if !consistent {
            return None;
        }
        (y, m, d)
    };
    let digits = |s: &str, most: usize| {
        !s.is_empty() && s.len() <= most && s.bytes().all(|b| b.is_ascii_digit())
    };
    if y.len() != 4 || !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// "8:30", "08:30:00", "0:00:00.000".
fn is_time_of_day(s: &str) -> bool {
    let mut parts = s.split(':');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let (h, m, rest) = (parts.next(), parts.next(), parts.next());
    let seconds = match rest {
        None => true,
        Some(sec) => {
            let whole = sec.split_once('.').map_or(sec, |(w, frac)| {
                if frac.bytes().all(|b| b.is_ascii_digit()) {
                    w
                } else {
                    "x"
                }
            });
            ok(Some(whole))
        }
    };
    ok(h) && ok(m) && seconds && parts.next().is_none()
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

    /// The number of days, both ends counted (0 or less only for a range built reversed by hand).
    pub fn days(&self) -> i64 {
        // Any two `NaiveDate`s are at most ~190 million days apart: neither step overflows.
        self.to.signed_duration_since(self.from).num_days() + 1
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

    /// The period of this cadence that contains `d`; an error when that period reaches outside
    /// the platform's date window (the year 1949, say, begins before `MIN_DATE`).
    pub fn period_containing(self, d: NaiveDate) -> Result<Period, PeriodError> {
        match self {
            Cadence::Monthly => Period::month(d.year(), d.month()),
            Cadence::Quarterly => Period::quarter(d.year(), d.month0() / 3 + 1),
            Cadence::Yearly => Period::year(d.year()),
        }
    }
}

/// A calendar month, quarter or year that lies wholly in the platform's date window. Its fields
/// are private: it is built only by `month`, `quarter`, `year`, `parse` or
/// `Cadence::period_containing`, which check it, and it carries its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    kind: PeriodKind,
    range: DateRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum PeriodKind {
    Month(i32, u32),
    Quarter(i32, u32),
    Year(i32),
}

impl Period {
    /// Month `month` (1–12) of `year`.
    pub fn month(year: i32, month: u32) -> Result<Period, PeriodError> {
        if !(1..=12).contains(&month) {
            return Err(PeriodError::BadPeriod);
        }
        Period::spanning(PeriodKind::Month(year, month), year, month, 1)
    }

    /// Quarter `quarter` (1–4) of `year`.
    pub fn quarter(year: i32, quarter: u32) -> Result<Period, PeriodError> {
        if !(1..=4).contains(&quarter) {
            return Err(PeriodError::BadPeriod);
        }
        Period::spanning(PeriodKind::Quarter(year, quarter), year, quarter * 3 - 2, 3)
    }

    pub fn year(year: i32) -> Result<Period, PeriodError> {
        Period::spanning(PeriodKind::Year(year), year, 1, 12)
    }

    /// `months` months from the first of `first_month`, every day checked against the window.
    fn spanning(
        kind: PeriodKind,
        year: i32,
        first_month: u32,
        months: u32,
    ) -> Result<Period, PeriodError> {
        let from = NaiveDate::from_ymd_opt(year, first_month, 1).ok_or(PeriodError::OutOfWindow)?;
        let to = from
            .checked_add_months(Months::new(months))
            .and_then(|d| d.pred_opt())
            .ok_or(PeriodError::OutOfWindow)?;
        let range = DateRange {
            from: check_date(from)?,
            to: check_date(to)?,
        };
        Ok(Period { kind, range })
    }

    pub fn range(self) -> DateRange {
        self.range
    }

    pub fn contains(self, d: NaiveDate) -> bool {
        self.range.contains(d)
    }

    pub fn cadence(self) -> Cadence {
        match self.kind {
            PeriodKind::Month(..) => Cadence::Monthly,
            PeriodKind::Quarter(..) => Cadence::Quarterly,
            PeriodKind::Year(_) => Cadence::Yearly,
        }
    }

    pub fn calendar_year(self) -> i32 {
        match self.kind {
            PeriodKind::Month(y, _) | PeriodKind::Quarter(y, _) | PeriodKind::Year(y) => y,
        }
    }

    /// The period of the same cadence just before this one; `None` before the window's start.
    pub fn previous(self) -> Option<Period> {
        let day_before = self.range.from.pred_opt()?;
        self.cadence().period_containing(day_before).ok()
    }

    /// The period of the same cadence just after this one; `None` after the window's end.
    pub fn next(self) -> Option<Period> {
        let day_after = self.range.to.succ_opt()?;
        self.cadence().period_containing(day_after).ok()
    }

    /// The period whose range is exactly `r`, if there is one.
    pub fn exact(r: DateRange) -> Option<Period> {
        [Cadence::Monthly, Cadence::Quarterly, Cadence::Yearly]
            .into_iter()
            .filter_map(|c| c.period_containing(r.from).ok())
            .find(|p| p.range == r)
    }

    /// Parses "2026", "2026Q3", "2026-03".
    pub fn parse(s: &str) -> Result<Period, PeriodError> {
        let s = s.trim();
        let bad = |_| PeriodError::BadPeriod;
        if let Some((y, q)) = s.split_once(['Q', 'q']) {
            return Period::quarter(y.parse().map_err(bad)?, q.parse().map_err(bad)?);
        }
        if let Some((y, m)) = s.split_once('-') {
            return Period::month(y.parse().map_err(bad)?, m.parse().map_err(bad)?);
        }
        Period::year(s.parse().map_err(bad)?)
    }

    pub fn label_cn(self) -> String {
        const QUARTERS: [&str; 4] = ["一", "二", "三", "四"];
        match self.kind {
            PeriodKind::Month(y, m) => format!("{y}年{m}月"),
            PeriodKind::Quarter(y, q) => {
                let name = usize::try_from(q - 1).ok().and_then(|i| QUARTERS.get(i));
                format!("{y}年第{}季度", name.copied().unwrap_or_default())
            }
            PeriodKind::Year(y) => format!("{y}年"),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PeriodKind::Month(y, m) => write!(f, "{y}-{m:02}"),
            PeriodKind::Quarter(y, q) => write!(f, "{y}Q{q}"),
            PeriodKind::Year(y) => write!(f, "{y}"),
        }
    }
}

/// A period travels as its short name ("2026Q3"), and is checked again when read back.
impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Period::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Month key used to bucket records: 202603.
pub fn month_key(d: NaiveDate) -> i32 {
    // chrono's years stay within ±262,143, so the key fits an i32 for every date.
    d.year() * 100 + d.month() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn month(y: i32, m: u32) -> Period {
        Period::month(y, m).unwrap()
    }

    fn quarter(y: i32, q: u32) -> Period {
        Period::quarter(y, q).unwrap()
    }

    fn year(y: i32) -> Period {
        Period::year(y).unwrap()
    }

    #[test]
    fn ranges() {
        assert_eq!(
            month(2024, 2).range(),
            DateRange {
                from: d("2024-02-01"),
                to: d("2024-02-29")
            }
        );
        assert_eq!(month(2026, 12).range().to, d("2026-12-31"));
        assert_eq!(
            quarter(2026, 3).range(),
            DateRange {
                from: d("2026-07-01"),
                to: d("2026-09-30")
            }
        );
        assert_eq!(year(2026).range().days(), 365);
        assert!(quarter(2026, 3).contains(d("2026-09-30")));
        assert!(!quarter(2026, 3).contains(d("2026-10-01")));
    }

    #[test]
    fn invalid_months_and_quarters_are_refused() {
        assert_eq!(Period::quarter(2026, 5), Err(PeriodError::BadPeriod));
        assert_eq!(Period::quarter(2026, 0), Err(PeriodError::BadPeriod));
        assert_eq!(Period::month(2026, 13), Err(PeriodError::BadPeriod));
        assert_eq!(Period::month(2026, 0), Err(PeriodError::BadPeriod));
    }

    #[test]
    fn periods_lie_in_the_date_window() {
        assert_eq!(month(1949, 10).range().from, MIN_DATE);
        assert_eq!(quarter(1949, 4).range().from, MIN_DATE);
        assert_eq!(year(2100).range().to, MAX_DATE);
        assert_eq!(Period::month(1949, 9), Err(PeriodError::OutOfWindow));
        assert_eq!(Period::year(1949), Err(PeriodError::OutOfWindow));
        assert_eq!(Period::month(2101, 1), Err(PeriodError::OutOfWindow));
        assert_eq!(Period::year(i32::MAX), Err(PeriodError::OutOfWindow));
        assert_eq!(Period::year(i32::MIN), Err(PeriodError::OutOfWindow));
        assert_eq!(
            Cadence::Monthly.period_containing(NaiveDate::MAX),
            Err(PeriodError::OutOfWindow)
        );
        assert_eq!(month(1949, 10).previous(), None);
        assert_eq!(year(1950).previous(), None);
        assert_eq!(year(2100).next(), None);
        assert_eq!(month(2100, 12).next(), None);
    }

    #[test]
    fn written_dates_in_the_forms_people_type() {
        let may_day = Some(d("2024-05-01"));
        for s in [
            "2024-05-01",
            "2024-5-1",
            "2024/05/01",
            "2024/5/1",
            "2024.5.1",
            "2024年5月1日",
            "2024年5月1",
            "20240501",
            " 2024-05-01 ",
            "２０２４．５．１",
            "２０２４年５月１日",
            "2024-05-01 00:00:00",
            "2024/5/1 8:30",
            "2024-05-01 00:00:00.000",
            "2024\u{3000}-05-01"
                .split('\u{3000}')
                .collect::<String>()
                .as_str(),
        ] {
            assert_eq!(parse_written_date(s), may_day, "{s:?}");
        }
        for bad in [
            "",
            "2024",
            "2024-5",
            "2024年5月",
            "2024-02-30",
            "2024-13-01",
            "2024-5/1",
            "2024..5.1",
            "24-5-1",
            "2024-005-01",
            "202451",
            "2024050",
            "May 1, 2024",
            "2024-05-01 noon",
            "2024-05-01 25",
            "2024月5年1日",
            "-2024-5-1",
            "2024-05-01T00:00:00",
            "45413",
        ] {
            assert_eq!(parse_written_date(bad), None, "{bad:?}");
        }
        // A real day outside the window is read; `check_date` refuses it.
        assert_eq!(parse_written_date("1900.1.1"), Some(d("1900-01-01")));
        assert_eq!(parse_written_date("2024/2/29"), Some(d("2024-02-29")));
    }

    #[test]
    fn the_window_checks_dates() {
        assert_eq!(check_date(MIN_DATE), Ok(MIN_DATE));
        assert_eq!(check_date(MAX_DATE), Ok(MAX_DATE));
        assert_eq!(check_date(d("1949-09-30")), Err(PeriodError::OutOfWindow));
        assert_eq!(check_date(d("2101-01-01")), Err(PeriodError::OutOfWindow));
        assert_eq!(check_date(NaiveDate::MIN), Err(PeriodError::OutOfWindow));
        let e = check_date_field("on", NaiveDate::MAX).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("on", "date_out_of_range")
        );
        assert_eq!(e.message, "日期须在1949年10月1日至2100年12月31日之间");
        assert_eq!(check_date_field("on", MIN_DATE), Ok(MIN_DATE));
    }

    #[test]
    fn containing_previous_and_next() {
        assert_eq!(
            Cadence::Quarterly.period_containing(d("2026-11-22")),
            Ok(quarter(2026, 4))
        );
        assert_eq!(
            Cadence::Monthly
                .period_containing(d("2026-01-05"))
                .unwrap()
                .previous(),
            Some(month(2025, 12))
        );
        assert_eq!(quarter(2026, 1).previous(), Some(quarter(2025, 4)));
        assert_eq!(year(2026).previous(), Some(year(2025)));
        assert_eq!(month(2025, 12).next(), Some(month(2026, 1)));
        assert_eq!(quarter(2025, 4).next(), Some(quarter(2026, 1)));
        assert_eq!(year(2025).next(), Some(year(2026)));
        assert_eq!(quarter(2026, 2).cadence(), Cadence::Quarterly);
        assert_eq!(quarter(2026, 2).calendar_year(), 2026);
    }

    #[test]
    fn parse_and_display_round_trip() {
        for s in ["2026", "2026Q3", "2026-03"] {
            assert_eq!(Period::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Period::parse("2026q3"), Ok(quarter(2026, 3)));
        assert!(Period::parse("2026Q5").is_err());
        assert!(Period::parse("2026-13").is_err());
        assert!(Period::parse("abc").is_err());
        assert_eq!(Period::parse("1900"), Err(PeriodError::OutOfWindow));
    }

    #[test]
    fn serde_uses_the_short_name() {
        let p = quarter(2026, 3);
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"2026Q3\"");
        assert_eq!(serde_json::from_str::<Period>("\"2026Q3\"").unwrap(), p);
        assert!(serde_json::from_str::<Period>("\"2026Q5\"").is_err());
    }

    #[test]
    fn labels() {
        assert_eq!(quarter(2026, 3).label_cn(), "2026年第三季度");
        assert_eq!(month(2026, 3).label_cn(), "2026年3月");
        assert_eq!(year(2026).label_cn(), "2026年");
        let r = DateRange::new(d("2026-01-01"), d("2026-12-31")).unwrap();
        assert_eq!(r.label_cn(), "2026年");
        let r = DateRange::new(d("2025-12-01"), d("2026-11-30")).unwrap();
        assert_eq!(r.label_cn(), "2025年12月1日至2026年11月30日");
        let r = DateRange::new(NaiveDate::MIN, NaiveDate::MAX).unwrap();
        assert!(r.label_cn().contains('至'));
        assert!(r.days() > 190_000_000);
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
        assert_eq!(month_key(NaiveDate::MAX) / 100, NaiveDate::MAX.year());
    }
}
