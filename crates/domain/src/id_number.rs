//! 居民身份证号码 (GB 11643-1999): 6-digit region, 8-digit birth date, 3-digit sequence
//! (odd = male), and an ISO 7064 MOD 11-2 check character.
//!
//! A birth date may not lie after the day a number is checked on, which the caller passes (see
//! `crate::clock`): the domain never reads the system clock.

use chrono::NaiveDate;
use serde::{Serialize, Serializer};
use std::fmt;

/// A citizen ID number that is known to be well formed: an invalid one cannot be constructed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("身份证号应为18位")]
    Length,
    #[error("身份证号前17位应为数字，末位为数字或X")]
    Characters,
    #[error("身份证号中的出生日期无效")]
    BirthDate,
    #[error("身份证号校验位不正确")]
    CheckDigit,
    #[error("身份证号地区码无效")]
    Region,
}

impl IdNumberError {
    pub fn code(&self) -> &'static str {
        match self {
            IdNumberError::Length => "id_number.length",
            IdNumberError::Characters => "id_number.characters",
            IdNumberError::BirthDate => "id_number.birth_date",
            IdNumberError::CheckDigit => "id_number.check_digit",
            IdNumberError::Region => "id_number.region",
        }
    }
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character for the first 17 digits.
pub fn check_char(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

impl IdNumber {
    /// Checks `input` on the day `today` (China Standard Time): a birth date after it is refused.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, IdNumberError> {
        let s = input.trim().to_ascii_uppercase();
        if s.chars().count() != 18 {
            return Err(IdNumberError::Length);
        }
        let b = s.as_bytes();
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(IdNumberError::Characters);
        }
        if &s[..2] == "00" || &s[..6] == "000000" {
            return Err(IdNumberError::Region);
        }
        let birth = parse_birth(&s[6..14]).ok_or(IdNumberError::BirthDate)?;
        if birth < NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date") || birth > today {
            return Err(IdNumberError::BirthDate);
        }
        if check_char(&b[..17]) != b[17] as char {
            return Err(IdNumberError::CheckDigit);
        }
        Ok(IdNumber(s))
    }

    /// Builds a valid number from its parts (used by the synthetic demo generator), checked on
    /// the day `today`.
    pub fn from_parts(
        region: &str,
        birth: NaiveDate,
        sequence: u16,
        today: NaiveDate,
    ) -> Result<Self, IdNumberError> {
        let first17 = format!("{region}{}{:03}", birth.format("%Y%m%d"), sequence % 1000);
        if first17.len() != 17 {
            return Err(IdNumberError::Length);
        }
        // `check_char` takes digits only (a region like "-37082" would underflow it).
        if !first17.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdNumberError::Characters);
        }
        let check = check_char(first17.as_bytes());
        IdNumber::parse(&format!("{first17}{check}"), today)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        parse_birth(&self.0[6..14]).expect("validated at construction")
    }

    /// Odd sequence numbers are assigned to men.
    pub fn is_male(&self) -> bool {
        (self.0.as_bytes()[16] - b'0') % 2 == 1
    }

    pub fn region(&self) -> &str {
        &self.0[..6]
    }

    /// Shown to every role not allowed to see the whole number: 3708**********123X.
    pub fn masked(&self) -> String {
        format!("{}{}{}", &self.0[..4], "*".repeat(10), &self.0[14..])
    }
}

fn parse_birth(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

impl fmt::Debug for IdNumber {
    // Never print a whole ID number into logs or panics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl Serialize for IdNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

// No `Deserialize`: reading a number needs the day it is checked on, so callers use `parse`.

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    #[test]
    fn accepts_the_standard_example() {
        // The example number from GB 11643-1999's annex.
        let id = IdNumber::parse("11010519491231002X", today()).unwrap();
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert!(!id.is_male());
        assert_eq!(id.masked(), "1101**********002X");
    }

    #[test]
    fn lowercase_x_is_normalised() {
        assert_eq!(
            IdNumber::parse("11010519491231002x", today())
                .unwrap()
                .as_str(),
            "11010519491231002X"
        );
    }

    #[test]
    fn rejects_wrong_check_digit() {
        assert_eq!(
            IdNumber::parse("110105194912310021", today()),
            Err(IdNumberError::CheckDigit)
        );
    }

    #[test]
    fn rejects_impossible_birth_dates() {
        let mut first17 = b"37082819990230123".to_vec();
        let c = check_char(&first17) as u8;
        first17.push(c);
        let s = String::from_utf8(first17).unwrap();
        assert_eq!(IdNumber::parse(&s, today()), Err(IdNumberError::BirthDate));
        let future = IdNumber::from_parts(
            "370828",
            NaiveDate::from_ymd_opt(2999, 1, 1).unwrap(),
            1,
            today(),
        );
        assert_eq!(future, Err(IdNumberError::BirthDate));
    }

    #[test]
    fn a_birth_date_is_checked_against_the_given_day() {
        let birth = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let id = IdNumber::from_parts("370828", birth, 1, birth).unwrap();
        let day_before = birth.pred_opt().unwrap();
        assert_eq!(
            IdNumber::parse(id.as_str(), day_before),
            Err(IdNumberError::BirthDate)
        );
        assert_eq!(IdNumber::parse(id.as_str(), birth), Ok(id));
    }

    #[test]
    fn rejects_bad_shapes() {
        assert_eq!(
            IdNumber::parse("12345", today()),
            Err(IdNumberError::Length)
        );
        assert_eq!(
            IdNumber::parse("11010519491231002Y", today()),
            Err(IdNumberError::Characters)
        );
        assert_eq!(
            IdNumber::parse("1101051949123100ab", today()),
            Err(IdNumberError::Characters)
        );
        assert_eq!(
            IdNumber::parse("１１０１０５１９４９１２３１００２X", today()),
            Err(IdNumberError::Characters)
        );
    }

    #[test]
    fn generated_numbers_round_trip() {
        let birth = NaiveDate::from_ymd_opt(1985, 7, 9).unwrap();
        for seq in 0..200 {
            let id = IdNumber::from_parts("370828", birth, seq, today()).unwrap();
            assert_eq!(IdNumber::parse(id.as_str(), today()).unwrap(), id);
            assert_eq!(id.birth_date(), birth);
            assert_eq!(id.is_male(), seq % 2 == 1);
        }
    }

    #[test]
    fn debug_never_shows_the_whole_number() {
        let id = IdNumber::parse("11010519491231002X", today()).unwrap();
        assert!(!format!("{id:?}").contains("19491231"));
    }
}
