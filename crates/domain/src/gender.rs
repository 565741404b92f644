//! 性别, written as the API and the people table write it: "男" or "女".

use crate::id_number::IdNumber;
use crate::org::UnknownKey;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Gender {
    #[serde(rename = "男")]
    Male,
    #[serde(rename = "女")]
    Female,
}

impl Gender {
    pub const ALL: &'static [Gender] = &[Gender::Male, Gender::Female];

    pub fn label_cn(self) -> &'static str {
        match self {
            Gender::Male => "男",
            Gender::Female => "女",
        }
    }

    /// The gender an ID number records (odd sequence numbers for men).
    pub fn of(id: &IdNumber) -> Gender {
        if id.is_male() {
            Gender::Male
        } else {
            Gender::Female
        }
    }
}

impl FromStr for Gender {
    type Err = UnknownKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "男" => Ok(Gender::Male),
            "女" => Ok(Gender::Female),
            other => Err(UnknownKey(other.to_string())),
        }
    }
}

impl fmt::Display for Gender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_cn())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn serde_and_text_are_the_chinese_words() {
        assert_eq!(serde_json::to_string(&Gender::Male).unwrap(), "\"男\"");
        assert_eq!(serde_json::to_string(&Gender::Female).unwrap(), "\"女\"");
        assert_eq!(
            serde_json::from_str::<Gender>("\"女\"").unwrap(),
            Gender::Female
        );
        assert!(serde_json::from_str::<Gender>("\"female\"").is_err());
        for g in Gender::ALL {
            assert_eq!(g.to_string().parse::<Gender>(), Ok(*g));
        }
        assert!("M".parse::<Gender>().is_err());
    }

    #[test]
    fn an_id_number_gives_the_gender() {
        let birth = NaiveDate::from_ymd_opt(1985, 7, 9).unwrap();
        let man = IdNumber::from_parts("370828", birth, 1, birth).unwrap();
        let woman = IdNumber::from_parts("370828", birth, 2, birth).unwrap();
        assert_eq!(Gender::of(&man), Gender::Male);
        assert_eq!(Gender::of(&woman), Gender::Female);
    }
}
