//! Property tests of the calendar and money types: no constructor and no arithmetic panics for
//! any input, and whatever is built stays in the platform's date window.

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use taizhang_domain::money::Money;
use taizhang_domain::period::{check_date, month_key, Cadence, DateRange, Period};
use taizhang_domain::{check_date_field, MAX_DATE, MIN_DATE};

/// Years across i32, with the window's edges and chrono's limits sampled often.
fn any_year() -> impl Strategy<Value = i32> {
    prop_oneof![
        2 => any::<i32>(),
        2 => 1940i32..=2110,
        1 => prop::sample::select(vec![
            i32::MIN, i32::MAX, -262_145, -262_144, -262_143, 262_142, 262_143, 262_144, 0, -1,
        ]),
    ]
}

/// Month or quarter numbers across u32, small values often.
fn any_number() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 0u32..=14, 1 => any::<u32>()]
}

/// Any date chrono can represent, the extremes included.
fn any_date() -> impl Strategy<Value = NaiveDate> {
    let span = NaiveDate::MAX
        .signed_duration_since(NaiveDate::MIN)
        .num_days();
    prop_oneof![
        3 => (0..=span).prop_map(|n| NaiveDate::MIN + chrono::Duration::days(n)),
        1 => prop::sample::select(vec![NaiveDate::MIN, NaiveDate::MAX, MIN_DATE, MAX_DATE]),
        2 => (0i64..60_000).prop_map(|n| NaiveDate::from_ymd_opt(1940, 1, 1).unwrap() + chrono::Duration::days(n)),
    ]
}

/// Everything a period offers, which must hold for each one that could be built.
fn check_period(p: Period) -> Result<(), TestCaseError> {
    let r = p.range();
    prop_assert!(r.from <= r.to);
    prop_assert!(
        MIN_DATE <= r.from && r.to <= MAX_DATE,
        "{} outside the window",
        p
    );
    prop_assert!(p.contains(r.from) && p.contains(r.to));
    prop_assert_eq!(p.cadence().period_containing(r.from), Ok(p));
    prop_assert_eq!(Period::parse(&p.to_string()), Ok(p));
    prop_assert_eq!(Period::exact(r), Some(p));
    prop_assert!(!p.label_cn().is_empty());
    prop_assert_eq!(p.calendar_year(), r.from.year());
    if let Some(before) = p.previous() {
        prop_assert_eq!(before.range().to.succ_opt(), Some(r.from));
        prop_assert_eq!(before.next(), Some(p));
    }
    if let Some(after) = p.next() {
        prop_assert_eq!(r.to.succ_opt(), Some(after.range().from));
        prop_assert_eq!(after.previous(), Some(p));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn period_constructors_never_panic(y in any_year(), n in any_number()) {
        for p in [Period::month(y, n), Period::quarter(y, n), Period::year(y)].into_iter().flatten() {
            check_period(p)?;
        }
        let in_window = (MIN_DATE.year()..=MAX_DATE.year()).contains(&y);
        prop_assert_eq!(Period::year(y).is_ok(), in_window && y != 1949);
        if !in_window {
            prop_assert!(Period::month(y, n).is_err());
            prop_assert!(Period::quarter(y, n).is_err());
        }
        if !(1..=12).contains(&n) {
            prop_assert!(Period::month(y, n).is_err());
        }
        if !(1..=4).contains(&n) {
            prop_assert!(Period::quarter(y, n).is_err());
        }
    }

    #[test]
    fn periods_containing_any_date_never_panic(d in any_date()) {
        for cadence in [Cadence::Monthly, Cadence::Quarterly, Cadence::Yearly] {
            match cadence.period_containing(d) {
                Ok(p) => {
                    prop_assert!(p.contains(d));
                    check_period(p)?;
                }
                Err(_) => prop_assert!(check_date(d).is_err() || cadence == Cadence::Yearly),
            }
        }
        let _ = month_key(d);
    }

    #[test]
    fn dates_are_held_to_the_window(d in any_date()) {
        let r = check_date_field("on", d);
        prop_assert_eq!(r.is_ok(), (MIN_DATE..=MAX_DATE).contains(&d));
        if let Err(e) = r {
            prop_assert_eq!(e.code.as_str(), "date_out_of_range");
        }
    }

    #[test]
    fn date_ranges_never_panic(a in any_date(), b in any_date(), c in any_date()) {
        match DateRange::new(a, b) {
            Ok(r) => {
                prop_assert!(r.days() >= 1);
                prop_assert_eq!(r.contains(c), a <= c && c <= b);
                prop_assert!(!r.label_cn().is_empty());
            }
            Err(_) => prop_assert!(a > b),
        }
    }

    #[test]
    fn period_parser_never_panics(s in any::<String>()) {
        if let Ok(p) = Period::parse(&s) {
            check_period(p)?;
        }
    }

    #[test]
    fn period_parser_never_panics_on_near_misses(s in "[-+0-9Qq ]{0,12}") {
        if let Ok(p) = Period::parse(&s) {
            check_period(p)?;
        }
    }

    #[test]
    fn money_parses_what_it_prints(fen in any::<i64>()) {
        let m = Money::from_fen(fen);
        prop_assert_eq!(Money::parse_yuan(&m.to_string()), Ok(m));
    }

    #[test]
    fn money_parser_never_panics(s in any::<String>(), t in "-?[0-9]{0,22}(\\.[0-9]{0,4})?") {
        let _ = Money::parse_yuan(&s);
        if let Ok(m) = Money::parse_yuan(&t) {
            let decimals = t.split_once('.').map_or(0, |(_, d)| d.len());
            prop_assert!(decimals <= 2);
            prop_assert_eq!(m.fen() < 0, t.starts_with('-') && m.fen() != 0);
        }
    }

    #[test]
    fn money_arithmetic_never_panics(a in any::<i64>(), b in any::<i64>(), k in any::<i64>()) {
        let (x, y) = (Money::from_fen(a), Money::from_fen(b));
        prop_assert_eq!(x.checked_add(y).ok().map(Money::fen), a.checked_add(b));
        prop_assert_eq!(x.checked_sub(y).ok().map(Money::fen), a.checked_sub(b));
        prop_assert_eq!(x.checked_mul(k).ok().map(Money::fen), a.checked_mul(k));
        prop_assert_eq!(Money::sum([x, y]).ok().map(Money::fen), a.checked_add(b));
    }
}
