//! Property tests of the personal-number parsers (security checklist item 9). cargo-fuzz needs a
//! nightly toolchain, which the development machine cannot fetch, so the parsers are fuzzed here
//! with proptest: arbitrary input never panics, every valid number is accepted, every single
//! changed character is caught, and masks show only what they document.

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use taizhang_domain::id_number::{check_char, IdNumber, IdNumberError};
use taizhang_domain::phone::Phone;

/// Characters that stress the parsers: digits, X in both cases, separators, whitespace, and
/// multi-byte UTF-8 (full-width digits, Chinese, an emoji, a combining mark).
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('0', '9'),
        1 => prop::sample::select(vec!['X', 'x', '-', ' ', '\t', '\n', '+', '.', '\u{3000}']),
        1 => prop::sample::select(vec!['０', '９', 'Ｘ', '身', '号', 'é', '😀', '\u{301}', '\u{feff}']),
        1 => any::<char>(),
    ]
}

fn tricky_string(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), len).prop_map(|v| v.into_iter().collect())
}

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap()
}

/// The day numbers are checked on: fixed, so that a run does not depend on the system clock.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

/// A valid number's parts: a region-like prefix (not starting 00), a birth date from 1900-01-01
/// to yesterday, and a sequence number.
fn valid_parts() -> impl Strategy<Value = (String, NaiveDate, u16)> {
    let days = (today() - first_day()).num_days() - 1;
    (1u32..=8, 0u32..=99_999, 0..days, 0u16..1000).prop_map(|(province, rest, day, seq)| {
        (
            format!("{province}{rest:05}"),
            first_day() + chrono::Duration::days(day),
            seq,
        )
    })
}

/// A valid number written out by hand (not through `from_parts`), its check character computed
/// per GB 11643, an `X` sometimes in lower case.
fn valid_number() -> impl Strategy<Value = String> {
    (valid_parts(), any::<bool>()).prop_map(|((region, birth, seq), lower)| {
        let first17 = format!("{region}{}{seq:03}", birth.format("%Y%m%d"));
        let check = check_char(first17.as_bytes());
        let check = if lower {
            check.to_ascii_lowercase()
        } else {
            check
        };
        format!("{first17}{check}")
    })
}

/// GB 11643's check: the weighted sum of all 18 characters, X counting 10, is 1 modulo 11.
fn satisfies_mod_11_2(s: &str) -> bool {
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2, 1];
    let sum: u32 = s
        .chars()
        .zip(weights)
        .map(|(c, w)| match c {
            'X' | 'x' => 10 * w,
            d => d.to_digit(10).unwrap() * w,
        })
        .sum();
    sum % 11 == 1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn id_parser_never_panics_on_any_string(s in any::<String>()) {
        let _ = IdNumber::parse(&s, today());
    }

    #[test]
    fn id_parser_never_panics_on_near_misses(s in tricky_string(15..=21)) {
        if let Ok(id) = IdNumber::parse(&s, today()) {
            // Whatever it accepts is a well-formed number.
            prop_assert_eq!(id.as_str().len(), 18);
            prop_assert!(satisfies_mod_11_2(id.as_str()));
            let _ = (id.birth_date(), id.is_male(), id.region(), id.masked());
        }
    }

    #[test]
    fn id_parser_never_panics_around_a_valid_number(
        n in valid_number(),
        prefix in tricky_string(0..=2),
        suffix in tricky_string(0..=2),
    ) {
        let s = format!("{prefix}{n}{suffix}");
        if let Ok(id) = IdNumber::parse(&s, today()) {
            prop_assert_eq!(id.as_str(), n.to_ascii_uppercase());
        }
    }

    #[test]
    fn every_valid_number_is_accepted(n in valid_number(), pad in prop::sample::select(vec!["", " ", "\t", "  \n"])) {
        let id = IdNumber::parse(&format!("{pad}{n}{pad}"), today());
        prop_assert!(id.is_ok(), "{} refused: {:?}", n, id);
        let id = id.unwrap();
        prop_assert_eq!(id.as_str(), n.to_ascii_uppercase());
        prop_assert!(satisfies_mod_11_2(id.as_str()));
        let birth = NaiveDate::parse_from_str(&n[6..14], "%Y%m%d").unwrap();
        prop_assert_eq!(id.birth_date(), birth);
        prop_assert_eq!(id.is_male(), (n.as_bytes()[16] - b'0') % 2 == 1);
        prop_assert_eq!(id.region(), &n[..6]);
    }

    #[test]
    fn from_parts_builds_what_parse_accepts((region, birth, seq) in valid_parts()) {
        let id = IdNumber::from_parts(&region, birth, seq, today()).unwrap();
        prop_assert_eq!(IdNumber::parse(id.as_str(), today()), Ok(id.clone()));
        prop_assert_eq!(id.birth_date(), birth);
        prop_assert_eq!(id.is_male(), seq % 2 == 1);
    }

    #[test]
    fn from_parts_refuses_regions_that_are_not_six_digits(region in tricky_string(0..=8), birth_year in 1950i32..2000) {
        let birth = NaiveDate::from_ymd_opt(birth_year, 1, 1).unwrap();
        let six_digits = region.len() == 6 && region.bytes().all(|b| b.is_ascii_digit());
        if let Ok(id) = IdNumber::from_parts(&region, birth, 1, today()) {
            prop_assert!(six_digits, "{:?} gave {}", region, id.as_str());
            prop_assert_eq!(id.region(), region.as_str());
        }
    }

    /// The check character catches every single substituted character: a digit for another digit
    /// anywhere (each weight is non-zero modulo 11), any other character for a digit, and any
    /// other character for the check character.
    #[test]
    fn every_single_character_change_is_refused(n in valid_number(), at in 0usize..18, c in tricky_char()) {
        let chars: Vec<char> = n.chars().collect();
        prop_assume!(!c.eq_ignore_ascii_case(&chars[at]));
        let mut changed = chars.clone();
        changed[at] = c;
        let changed: String = changed.into_iter().collect();
        prop_assert!(IdNumber::parse(&changed, today()).is_err(), "{} (from {}) accepted", changed, n);
    }

    /// Two neighbouring digits swapped are caught too (neighbouring weights differ modulo 11).
    #[test]
    fn every_swap_of_neighbouring_digits_is_refused(n in valid_number(), at in 0usize..17) {
        let mut b = n.clone().into_bytes();
        prop_assume!(b[at] != b[at + 1]);
        b.swap(at, at + 1);
        let swapped = String::from_utf8(b).unwrap();
        prop_assert!(IdNumber::parse(&swapped, today()).is_err(), "{} (from {}) accepted", swapped, n);
    }

    /// Masks show the first 4 and the last 4 characters, never the birth date; `Debug` shows only
    /// the mask.
    #[test]
    fn id_masks_show_only_the_documented_characters(n in valid_number()) {
        let id = IdNumber::parse(&n, today()).unwrap();
        let whole = id.as_str();
        let masked = id.masked();
        prop_assert_eq!(masked.chars().count(), 18);
        prop_assert_eq!(&masked[..4], &whole[..4]);
        prop_assert_eq!(&masked[4..14], "**********");
        prop_assert_eq!(&masked[14..], &whole[14..]);
        let debug = format!("{id:?}");
        prop_assert_eq!(&debug, &format!("IdNumber({masked})"));
    }

    #[test]
    fn phone_parser_never_panics_on_any_string(s in any::<String>()) {
        if let Ok(p) = Phone::parse(&s) {
            let _ = p.masked();
        }
    }

    #[test]
    fn phone_parser_never_panics_on_near_misses(s in tricky_string(0..=16)) {
        if let Ok(p) = Phone::parse(&s) {
            prop_assert!(p.as_str().bytes().all(|b| b.is_ascii_digit() || b == b'-'));
            let _ = p.masked();
        }
    }

    #[test]
    fn every_valid_mobile_is_accepted(second in b'3'..=b'9', rest in "[0-9]{9}", spaces in prop::collection::vec(any::<bool>(), 11)) {
        let digits = format!("1{}{rest}", second as char);
        // Spaces anywhere between digits are ignored, as people write "138 0537 5678".
        let written: String = digits.chars().zip(&spaces).flat_map(|(d, s)| {
            if *s { vec![d, ' '] } else { vec![d] }
        }).collect();
        let p = Phone::parse(&written);
        prop_assert!(p.is_ok(), "{:?} refused", written);
        let p = p.unwrap();
        prop_assert_eq!(p.as_str(), digits.as_str());
    }

    #[test]
    fn every_valid_landline_is_accepted(area in "0[0-9]{2,3}", local in "[0-9]{7,8}") {
        let n = format!("{area}-{local}");
        let p = Phone::parse(&n);
        prop_assert!(p.is_ok(), "{} refused", n);
        let p = p.unwrap();
        prop_assert_eq!(p.as_str(), n.as_str());
    }

    /// Phone numbers have no check digit, so a changed digit stays a phone number; a character
    /// that is neither a digit nor whitespace (spaces are ignored, and whitespace at either end is
    /// trimmed), a missing or an extra digit, and a mobile's second digit below 3 are refused.
    #[test]
    fn mobiles_of_the_wrong_shape_are_refused(second in b'3'..=b'9', rest in "[0-9]{9}", at in 0usize..11, c in tricky_char(), low in b'0'..=b'2') {
        let digits = format!("1{}{rest}", second as char);
        let mut chars: Vec<char> = digits.chars().collect();
        if !c.is_ascii_digit() && !c.is_whitespace() {
            chars[at] = c;
            let changed: String = chars.iter().collect();
            prop_assert!(Phone::parse(&changed).is_err(), "{:?} accepted", changed);
        }
        prop_assert!(Phone::parse(&digits[..10]).is_err());
        let longer = format!("{digits}{}", at % 10);
        prop_assert!(Phone::parse(&longer).is_err(), "{} accepted", longer);
        let mut low_second = digits.clone().into_bytes();
        low_second[1] = low;
        prop_assert!(Phone::parse(std::str::from_utf8(&low_second).unwrap()).is_err());
    }

    #[test]
    fn landlines_of_the_wrong_shape_are_refused(area in "0[0-9]{2,3}", local in "[0-9]{7,8}", c in tricky_char(), at in 0usize..13) {
        let n = format!("{area}-{local}");
        let mut chars: Vec<char> = n.chars().collect();
        let at = at % chars.len();
        if !c.is_ascii_digit() && !c.is_whitespace() && chars[at] != c {
            chars[at] = c;
            let changed: String = chars.iter().collect();
            prop_assert!(Phone::parse(&changed).is_err(), "{:?} accepted", changed);
        }
        prop_assert!(Phone::parse(&format!("{area}-{}", &local[..6])).is_err(), "a local part too short");
        prop_assert!(Phone::parse(&format!("{area}-{local}12")).is_err(), "a local part too long");
        prop_assert!(Phone::parse(&format!("1{}-{local}", &area[1..])).is_err(), "an area code without 0");
    }

    /// A mobile's mask shows its first 3 and last 4 digits; a landline's its area code and the
    /// last 2 digits of the local part; everything else is `*`, and `Debug` shows only the mask.
    #[test]
    fn phone_masks_show_only_the_documented_digits(
        mobile in "1[3-9][0-9]{9}",
        area in "0[0-9]{2,3}",
        local in "[0-9]{7,8}",
    ) {
        let p = Phone::parse(&mobile).unwrap();
        let m = p.masked();
        prop_assert_eq!(m.chars().count(), 11);
        prop_assert_eq!(&m[..3], &mobile[..3]);
        prop_assert_eq!(&m[3..7], "****");
        prop_assert_eq!(&m[7..], &mobile[7..]);
        prop_assert_eq!(format!("{p:?}"), format!("Phone({m})"));

        let landline = format!("{area}-{local}");
        let p = Phone::parse(&landline).unwrap();
        let m = p.masked();
        let (shown_area, shown_local) = m.split_once('-').unwrap();
        prop_assert_eq!(shown_area, area.as_str());
        prop_assert_eq!(shown_local.len(), local.len());
        prop_assert!(shown_local[..local.len() - 2].bytes().all(|b| b == b'*'));
        prop_assert_eq!(&shown_local[local.len() - 2..], &local[local.len() - 2..]);
        prop_assert_eq!(format!("{p:?}"), format!("Phone({m})"));
    }
}

/// Every birth date from 1900 to the end of 2030 that a valid number can carry, and an `X` check
/// character in both cases, for one region: not sampled, exhaustive.
#[test]
fn every_date_and_both_cases_of_x() {
    let checked_on = today();
    let mut d = first_day();
    let mut x_seen = 0;
    while d.year() <= 2030 {
        let id = IdNumber::from_parts("370828", d, 1, today());
        if d <= checked_on {
            let id = id.expect("a past date is valid");
            assert_eq!(id.birth_date(), d);
        } else {
            assert_eq!(id, Err(IdNumberError::BirthDate), "{d} is in the future");
        }
        if d.day() == 1 && d <= checked_on {
            // One sequence number per month whose check character is X.
            let seq = (0..1000u16)
                .find(|s| {
                    check_char(format!("370828{}{s:03}", d.format("%Y%m%d")).as_bytes()) == 'X'
                })
                .expect("some sequence gives X");
            let upper = IdNumber::from_parts("370828", d, seq, today()).unwrap();
            assert!(upper.as_str().ends_with('X'));
            let lower = upper.as_str().to_ascii_lowercase();
            assert_eq!(IdNumber::parse(&lower, today()), Ok(upper));
            x_seen += 1;
        }
        d = d.succ_opt().unwrap();
    }
    assert!(x_seen > 1000);
}
