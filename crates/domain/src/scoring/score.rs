//! A score in exact fixed point: ten-thousandths of a point in an `i64`, never a float, so a
//! breakdown adds up to its total exactly and a recomputation gives the same digits on every
//! machine and backend. Four decimals hold 0.5 points per entry, a 29.3 % rate and a 0.2 weight;
//! products and quotients are rounded half away from zero back to four decimals.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Units per point.
pub const SCALE: i64 = 10_000;

/// Written (in schemes and JSON) as a number of points — `2`, `0.2`, `-7.5` — or as a string of
/// one; read back exactly, since no score has more than four decimals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(i64);

impl Serialize for Score {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % SCALE == 0 {
            s.serialize_i64(self.0 / SCALE)
        } else {
            // The shortest form of an f64 with at most four decimals reads back to it.
            s.serialize_f64(self.0 as f64 / SCALE as f64)
        }
    }
}

impl<'de> Deserialize<'de> for Score {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Score, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Score;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of points with at most four decimals")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Score, E> {
                Score::points(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Score, E> {
                let v = i64::try_from(v).map_err(|_| E::custom(ScoreError::Overflow))?;
                Score::points(v).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Score, E> {
                if !v.is_finite() {
                    return Err(E::custom(ScoreError::BadFormat));
                }
                Score::parse(&format!("{v}")).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Score, E> {
                Score::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    #[error("分值超出范围")]
    Overflow,
    #[error("除数为零")]
    DivisionByZero,
    #[error("分值格式应为 12、12.5 或 -0.25，最多四位小数")]
    BadFormat,
}

impl Score {
    pub const ZERO: Score = Score(0);
    pub const ONE: Score = Score(SCALE);

    /// A whole number of points.
    pub fn points(n: i64) -> Result<Score, ScoreError> {
        n.checked_mul(SCALE).map(Score).ok_or(ScoreError::Overflow)
    }

    /// From ten-thousandths of a point, as stored.
    pub const fn from_units(units: i64) -> Score {
        Score(units)
    }

    pub const fn units(self) -> i64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// True for anything but zero: how a condition reads a score.
    pub fn truthy(self) -> bool {
        self.0 != 0
    }

    pub fn from_bool(b: bool) -> Score {
        if b {
            Score::ONE
        } else {
            Score::ZERO
        }
    }

    pub fn checked_add(self, o: Score) -> Result<Score, ScoreError> {
        self.0
            .checked_add(o.0)
            .map(Score)
            .ok_or(ScoreError::Overflow)
    }

    pub fn checked_sub(self, o: Score) -> Result<Score, ScoreError> {
        self.0
            .checked_sub(o.0)
            .map(Score)
            .ok_or(ScoreError::Overflow)
    }

    pub fn checked_neg(self) -> Result<Score, ScoreError> {
        self.0.checked_neg().map(Score).ok_or(ScoreError::Overflow)
    }

    pub fn checked_mul(self, o: Score) -> Result<Score, ScoreError> {
        let p = i128::from(self.0) * i128::from(o.0);
        narrow(div_round(p, i128::from(SCALE)))
    }

    pub fn checked_div(self, o: Score) -> Result<Score, ScoreError> {
        if o.0 == 0 {
            return Err(ScoreError::DivisionByZero);
        }
        let n = i128::from(self.0) * i128::from(SCALE);
        narrow(div_round(n, i128::from(o.0)))
    }

    /// Rounded half away from zero to `decimals` (0 to 4) places.
    pub fn round_to(self, decimals: u32) -> Score {
        let step = 10_i64.pow(4 - decimals.min(4));
        let q = div_round(i128::from(self.0), i128::from(step));
        // |q × step| ≤ |self| + step / 2, which fits unless self is within step of the edge.
        Score(i64::try_from(q * i128::from(step)).unwrap_or(self.0))
    }

    pub fn floor(self) -> Score {
        Score(self.0.div_euclid(SCALE) * SCALE)
    }

    pub fn ceil(self) -> Score {
        let f = self.0.div_euclid(SCALE) * SCALE;
        if f == self.0 {
            self
        } else {
            Score(f.saturating_add(SCALE))
        }
    }

    pub fn abs(self) -> Result<Score, ScoreError> {
        self.0.checked_abs().map(Score).ok_or(ScoreError::Overflow)
    }

    /// Reads "12", "12.5", "-0.25", up to four decimals.
    pub fn parse(text: &str) -> Result<Score, ScoreError> {
        let t = text.trim();
        let (neg, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(frac) || frac.len() > 4 {
            return Err(ScoreError::BadFormat);
        }
        if digits.ends_with('.') {
            return Err(ScoreError::BadFormat);
        }
        let w: i64 = whole.parse().map_err(|_| ScoreError::Overflow)?;
        let f: i64 = format!("{frac:0<4}")
            .parse()
            .map_err(|_| ScoreError::BadFormat)?;
        let units = w
            .checked_mul(SCALE)
            .and_then(|u| u.checked_add(f))
            .ok_or(ScoreError::Overflow)?;
        Ok(Score(if neg { -units } else { units }))
    }
}

/// n / d rounded half away from zero (d ≠ 0).
fn div_round(n: i128, d: i128) -> i128 {
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d.abs() {
        if (n < 0) != (d < 0) {
            q - 1
        } else {
            q + 1
        }
    } else {
        q
    }
}

fn narrow(v: i128) -> Result<Score, ScoreError> {
    i64::try_from(v)
        .map(Score)
        .map_err(|_| ScoreError::Overflow)
}

/// Plain decimal without trailing zeros: "12", "12.5", "-0.25".
impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let whole = a / SCALE as u64;
        let frac = a % SCALE as u64;
        if frac == 0 {
            write!(f, "{sign}{whole}")
        } else {
            let digits = format!("{frac:04}");
            write!(f, "{sign}{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Score {
        Score::parse(t).expect(t)
    }

    #[test]
    fn written_and_read_back() {
        for t in ["0", "12", "12.5", "-0.25", "29.3", "0.0001", "-7"] {
            assert_eq!(s(t).to_string(), t);
        }
        assert_eq!(s("12.50").to_string(), "12.5");
        for bad in ["", "-", "1.", ".5", "1.23456", "1e3", "一", "1,5", "--1"] {
            assert_eq!(Score::parse(bad), Err(ScoreError::BadFormat), "{bad}");
        }
        assert_eq!(
            Score::parse("99999999999999999999"),
            Err(ScoreError::Overflow)
        );
    }

    #[test]
    fn arithmetic_is_exact_and_rounds_half_away_from_zero() {
        assert_eq!(s("0.5").checked_mul(s("7")).unwrap(), s("3.5"));
        assert_eq!(s("1").checked_div(s("3")).unwrap(), s("0.3333"));
        assert_eq!(s("2").checked_div(s("3")).unwrap(), s("0.6667"));
        assert_eq!(s("-2").checked_div(s("3")).unwrap(), s("-0.6667"));
        assert_eq!(s("0.0001").checked_mul(s("0.5")).unwrap(), s("0.0001"));
        assert_eq!(s("-0.0001").checked_mul(s("0.5")).unwrap(), s("-0.0001"));
        assert_eq!(
            s("1").checked_div(Score::ZERO),
            Err(ScoreError::DivisionByZero)
        );
        assert_eq!(
            Score::from_units(i64::MAX).checked_add(Score::from_units(1)),
            Err(ScoreError::Overflow)
        );
        assert_eq!(
            Score::from_units(i64::MAX).checked_mul(s("2")),
            Err(ScoreError::Overflow)
        );
    }

    #[test]
    fn written_as_points_and_read_back_exactly() {
        let v = serde_json::to_string(&[s("2"), s("0.2"), s("-7.5"), s("6.667")]).unwrap();
        assert_eq!(v, "[2,0.2,-7.5,6.667]");
        let back: Vec<Score> = serde_json::from_str(&v).unwrap();
        assert_eq!(back, [s("2"), s("0.2"), s("-7.5"), s("6.667")]);
        let from_text: Score = serde_json::from_str("\"12.25\"").unwrap();
        assert_eq!(from_text, s("12.25"));
        assert!(serde_json::from_str::<Score>("0.00001").is_err());
        assert!(serde_json::from_str::<Score>("1e300").is_err());
    }

    #[test]
    fn rounding_floor_and_ceiling() {
        assert_eq!(s("2.5").round_to(0), s("3"));
        assert_eq!(s("-2.5").round_to(0), s("-3"));
        assert_eq!(s("29.2857").round_to(1), s("29.3"));
        assert_eq!(s("2.7").floor(), s("2"));
        assert_eq!(s("-2.3").floor(), s("-3"));
        assert_eq!(s("2.1").ceil(), s("3"));
        assert_eq!(s("-2.7").ceil(), s("-2"));
        assert_eq!(s("4").ceil(), s("4"));
    }
}
