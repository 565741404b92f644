//! Amounts of money in whole 分 (fen, 1/100 yuan), never in floating point: dues and project
//! funds add up exactly. Arithmetic is checked; overflow is an error, never a wrap or a panic.
//!
//! Written form: `Display` gives plain yuan with two decimals ("12.34", "-0.50"), as amounts
//! appear in tables and exports; `label_cn` adds the unit ("12.34元"). `parse_yuan` reads
//! "12", "12.3", "12.34" or "-0.5". JSON carries the integer number of fen.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = i64)]
pub struct Money(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("金额超出范围")]
    Overflow,
    #[error("金额格式应为 12、12.3 或 12.34（单位：元）")]
    BadFormat,
    #[error("金额最多保留两位小数")]
    TooManyDecimals,
}

impl MoneyError {
    pub fn code(&self) -> &'static str {
        match self {
            MoneyError::Overflow => "money.overflow",
            MoneyError::BadFormat => "money.bad_format",
            MoneyError::TooManyDecimals => "money.too_many_decimals",
        }
    }
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_fen(fen: i64) -> Money {
        Money(fen)
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Money)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Money)
            .ok_or(MoneyError::Overflow)
    }

    /// `count` times this amount (a monthly due over several months, say).
    pub fn checked_mul(self, count: i64) -> Result<Money, MoneyError> {
        self.0
            .checked_mul(count)
            .map(Money)
            .ok_or(MoneyError::Overflow)
    }

    /// The total of `amounts`; an error as soon as a partial sum overflows.
    pub fn sum<I: IntoIterator<Item = Money>>(amounts: I) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::ZERO, |total, m| total.checked_add(m))
    }

    /// Reads yuan written as digits with an optional minus sign and at most two decimals:
    /// "12", "12.3", "12.34", "-0.5". Thousands separators, units and spaces inside are refused.
    pub fn parse_yuan(input: &str) -> Result<Money, MoneyError> {
        let s = input.trim();
        let (negative, unsigned) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, decimals) = match unsigned.split_once('.') {
            Some((w, d)) => (w, Some(d)),
            None => (unsigned, None),
        };
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) {
            return Err(MoneyError::BadFormat);
        }
        let fraction_fen: i128 = match decimals {
            None => 0,
            Some(d) if !all_digits(d) => return Err(MoneyError::BadFormat),
            Some(d) if d.len() > 2 => return Err(MoneyError::TooManyDecimals),
            Some(d) => digits_value(d)? * if d.len() == 1 { 10 } else { 1 },
        };
        let magnitude = digits_value(whole)?
            .checked_mul(100)
            .and_then(|f| f.checked_add(fraction_fen))
            .ok_or(MoneyError::Overflow)?;
        let fen = if negative { -magnitude } else { magnitude };
        i64::try_from(fen)
            .map(Money)
            .map_err(|_| MoneyError::Overflow)
    }

    /// "12.34元".
    pub fn label_cn(self) -> String {
        format!("{self}元")
    }
}

/// The value of a string of ASCII digits, with overflow reported rather than wrapped.
fn digits_value(digits: &str) -> Result<i128, MoneyError> {
    digits.bytes().try_fold(0i128, |value, b| {
        value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .ok_or(MoneyError::Overflow)
    })
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse_yuan(s)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `unsigned_abs` so that i64::MIN prints too.
        let magnitude = self.0.unsigned_abs();
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yuan(s: &str) -> Result<i64, MoneyError> {
        Money::parse_yuan(s).map(Money::fen)
    }

    #[test]
    fn parses_yuan_exactly() {
        assert_eq!(yuan("12.34"), Ok(1234));
        assert_eq!(yuan("12"), Ok(1200));
        assert_eq!(yuan("12.3"), Ok(1230));
        assert_eq!(yuan("-0.5"), Ok(-50));
        assert_eq!(yuan("0.05"), Ok(5));
        assert_eq!(yuan("0.1"), Ok(10));
        assert_eq!(yuan(" 7.00 "), Ok(700));
        assert_eq!(yuan("-0"), Ok(0));
        assert_eq!(yuan("007"), Ok(700));
    }

    #[test]
    fn refuses_everything_else_with_a_reason() {
        for bad in [
            "", "-", ".5", "12.", "1,234.5", "5300万", "12元", "1 2", "+3", "--1", "1.2.3", "1e3",
            "١٢", "１２",
        ] {
            assert_eq!(yuan(bad), Err(MoneyError::BadFormat), "{bad:?}");
        }
        assert_eq!(yuan("12.345"), Err(MoneyError::TooManyDecimals));
        assert_eq!(yuan("0.001"), Err(MoneyError::TooManyDecimals));
        assert_eq!(yuan("92233720368547758.08"), Err(MoneyError::Overflow));
        assert_eq!(yuan(&"9".repeat(60)), Err(MoneyError::Overflow));
        assert_eq!(
            MoneyError::TooManyDecimals.code(),
            "money.too_many_decimals"
        );
    }

    #[test]
    fn the_extremes_parse_and_print() {
        assert_eq!(yuan("92233720368547758.07"), Ok(i64::MAX));
        assert_eq!(yuan("-92233720368547758.08"), Ok(i64::MIN));
        for fen in [i64::MIN, i64::MAX, 0, 1, -1, 99, -100, 123_456] {
            let m = Money::from_fen(fen);
            assert_eq!(Money::parse_yuan(&m.to_string()), Ok(m), "{fen}");
        }
    }

    #[test]
    fn displays_two_decimals() {
        assert_eq!(Money::from_fen(1234).to_string(), "12.34");
        assert_eq!(Money::from_fen(-50).to_string(), "-0.50");
        assert_eq!(Money::from_fen(5).to_string(), "0.05");
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert_eq!(Money::from_fen(530_000_000).label_cn(), "5300000.00元");
    }

    #[test]
    fn arithmetic_is_checked() {
        let a = Money::from_fen(1234);
        assert_eq!(
            a.checked_add(Money::from_fen(66)),
            Ok(Money::from_fen(1300))
        );
        assert_eq!(
            a.checked_sub(Money::from_fen(1300)),
            Ok(Money::from_fen(-66))
        );
        assert_eq!(a.checked_mul(3), Ok(Money::from_fen(3702)));
        assert_eq!(
            Money::from_fen(i64::MAX).checked_add(Money::from_fen(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::from_fen(i64::MIN).checked_sub(Money::from_fen(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::from_fen(i64::MAX).checked_mul(2),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::sum([a, a, Money::from_fen(-68)]),
            Ok(Money::from_fen(2400))
        );
        assert_eq!(Money::sum([]), Ok(Money::ZERO));
        assert_eq!(
            Money::sum([Money::from_fen(i64::MAX), Money::from_fen(1)]),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn serde_is_the_integer_number_of_fen() {
        let m = Money::from_fen(1234);
        assert_eq!(serde_json::to_string(&m).unwrap(), "1234");
        assert_eq!(
            serde_json::from_str::<Money>("-50").unwrap(),
            Money::from_fen(-50)
        );
        assert!(serde_json::from_str::<Money>("12.34").is_err());
        assert!(serde_json::from_str::<Money>("\"12.34\"").is_err());
    }
}
