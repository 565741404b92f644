//! Phone numbers: mainland mobile numbers (11 digits, 1[3-9]…) and landlines with an area code.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("手机号应为11位数字（以13–19开头），固定电话应为区号-号码，如0537-8765432")]
pub struct PhoneError;

impl PhoneError {
    pub fn code(&self) -> &'static str {
        "phone.invalid"
    }
}

impl Phone {
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let s: String = input.trim().chars().filter(|c| *c != ' ').collect();
        let b = s.as_bytes();
        let mobile = b.len() == 11
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1])
            && b.iter().all(u8::is_ascii_digit);
        let landline = match s.split_once('-') {
            Some((area, local)) => {
                area.len() >= 3
                    && area.len() <= 4
                    && area.starts_with('0')
                    && area.bytes().all(|c| c.is_ascii_digit())
                    && (7..=8).contains(&local.len())
                    && local.bytes().all(|c| c.is_ascii_digit())
            }
            None => false,
        };
        if mobile || landline {
            Ok(Phone(s))
        } else {
            Err(PhoneError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// 138****5678 for mobiles; the local part hidden but its last 2 digits for landlines.
    pub fn masked(&self) -> String {
        match self.0.split_once('-') {
            Some((area, local)) => format!(
                "{area}-{}{}",
                "*".repeat(local.len() - 2),
                &local[local.len() - 2..]
            ),
            None => format!("{}****{}", &self.0[..3], &self.0[7..]),
        }
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Phone::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles() {
        assert_eq!(
            Phone::parse("138 0537 5678").unwrap().masked(),
            "138****5678"
        );
        assert!(Phone::parse("12812345678").is_err());
        assert!(Phone::parse("1381234567").is_err());
        assert!(Phone::parse("1381234567a").is_err());
    }

    #[test]
    fn landlines() {
        let p = Phone::parse("0537-8765432").unwrap();
        assert_eq!(p.masked(), "0537-*****32");
        assert!(Phone::parse("537-8765432").is_err());
        assert!(Phone::parse("0537-12").is_err());
    }
}
