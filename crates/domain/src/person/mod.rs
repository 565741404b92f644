//! The rules a person's particulars obey before they are stored: a name of 1 to 30 characters
//! without control or bidirectional characters (`text::PERSON_NAME`), a well-formed 身份证号 and phone number when given, and a gender (男 or 女) that agrees with the
//! 身份证号, from which it is taken when not given.

pub mod profile;

pub use profile::{
    check_profile, check_rules, Education, Ethnicity, MemberCategory, PartyProfile, ProfileInput,
};

use crate::ledger::FieldError;
use crate::text::PERSON_NAME;
use crate::{IdNumber, Phone};
use chrono::NaiveDate;

/// The longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = PERSON_NAME.max;

/// The most versions a person's particulars may have (the first as registered, then each edit).
pub const MAX_PERSON_VERSIONS: i64 = 100;

/// A person's particulars as typed; empty or blank optional fields count as not given.
#[derive(Debug, Clone, Copy, Default)]
pub struct PersonInput<'a> {
    pub name: &'a str,
    pub gender: Option<&'a str>,
    pub id_number: Option<&'a str>,
    pub phone: Option<&'a str>,
}

/// Particulars that passed every rule, trimmed and parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPerson {
    pub name: String,
    /// "男" or "女", or none when neither the gender nor the 身份证号 was given.
    pub gender: Option<String>,
    pub id_number: Option<IdNumber>,
    pub phone: Option<Phone>,
}

/// Checks a person's particulars; every broken rule is reported, field by field.
/// `today` is the day a 身份证号's birth date is checked against (it may not lie after it).
pub fn check_person(
    input: PersonInput<'_>,
    today: NaiveDate,
) -> Result<CheckedPerson, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = match PERSON_NAME.check(input.name) {
        Ok(name) if name.is_empty() => {
            errors.push(FieldError::new("name", "person.bad_name", "请填写姓名"));
            name
        }
        Ok(name) => name,
        Err(e) => {
            errors.push(e);
            String::new()
        }
    };
    let id_number = match given(input.id_number) {
        None => None,
        Some(s) => match IdNumber::parse(s, today) {
            Ok(id) => Some(id),
            Err(e) => {
                errors.push(FieldError::new("id_number", e.code(), e.to_string()));
                None
            }
        },
    };
    let phone = match given(input.phone) {
        None => None,
        Some(s) => match Phone::parse(s) {
            Ok(phone) => Some(phone),
            Err(e) => {
                errors.push(FieldError::new("phone", e.code(), e.to_string()));
                None
            }
        },
    };
    let gender = match (given(input.gender), &id_number) {
        (Some(g @ ("男" | "女")), _) => Some(g.to_string()),
        (Some(_), _) => {
            errors.push(FieldError::new(
                "gender",
                "person.bad_gender",
                "性别应为“男”或“女”",
            ));
            None
        }
        (None, Some(id)) => Some(if id.is_male() { "男" } else { "女" }.to_string()),
        (None, None) => None,
    };
    if let (Some(g), Some(id)) = (&gender, &id_number) {
        if (g == "男") != id.is_male() {
            errors.push(FieldError::new(
                "gender",
                "person.gender_mismatch",
                "性别与身份证号不一致",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CheckedPerson {
        name,
        gender,
        id_number,
        phone,
    })
}

/// A field's trimmed text, or none when it is missing or blank.
fn given(field: Option<&str>) -> Option<&str> {
    field.map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The day the tests' ID numbers are checked against.
    fn check(input: PersonInput<'_>) -> Result<CheckedPerson, Vec<FieldError>> {
        check_person(input, NaiveDate::from_ymd_opt(2026, 6, 1).expect("a date"))
    }

    /// A valid 身份证号 of a woman (sequence 002 is even).
    const WOMAN: &str = "11010519491231002X";

    fn codes(input: PersonInput<'_>) -> Vec<(String, String)> {
        check(input)
            .expect_err("should be refused")
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    fn pair(field: &str, code: &str) -> (String, String) {
        (field.to_string(), code.to_string())
    }

    #[test]
    fn a_name_alone_is_enough_and_is_trimmed() {
        let p = check(PersonInput {
            name: "  张三 ",
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(p.name, "张三");
        assert_eq!(p.gender, None);
        assert!(p.id_number.is_none() && p.phone.is_none());
    }

    #[test]
    fn the_name_must_be_between_one_and_thirty_characters() {
        let blank = PersonInput {
            name: "  ",
            ..Default::default()
        };
        assert_eq!(codes(blank), vec![pair("name", "person.bad_name")]);
        let long = "张".repeat(MAX_NAME_CHARS + 1);
        let too_long = PersonInput {
            name: &long,
            ..Default::default()
        };
        assert_eq!(codes(too_long), vec![pair("name", "too_long")]);
        let spoofed = PersonInput {
            name: "\u{202E}三张",
            ..Default::default()
        };
        assert_eq!(codes(spoofed), vec![pair("name", "bad_chars")]);
        let longest = "张".repeat(MAX_NAME_CHARS);
        assert!(check(PersonInput {
            name: &longest,
            ..Default::default()
        })
        .is_ok());
    }

    #[test]
    fn the_gender_comes_from_the_id_number_when_not_given() {
        let p = check(PersonInput {
            name: "李四",
            gender: Some(" "),
            id_number: Some(WOMAN),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(p.gender.as_deref(), Some("女"));
        assert_eq!(
            p.id_number.map(|i| i.as_str().to_string()),
            Some(WOMAN.into())
        );
    }

    #[test]
    fn the_gender_is_male_or_female_and_agrees_with_the_id_number() {
        let odd = PersonInput {
            name: "李四",
            gender: Some("M"),
            ..Default::default()
        };
        assert_eq!(codes(odd), vec![pair("gender", "person.bad_gender")]);
        let mismatch = PersonInput {
            name: "李四",
            gender: Some("男"),
            id_number: Some(WOMAN),
            ..Default::default()
        };
        assert_eq!(
            codes(mismatch),
            vec![pair("gender", "person.gender_mismatch")]
        );
        let message = check(mismatch).unwrap_err().remove(0).message;
        assert_eq!(message, "性别与身份证号不一致");
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let all_wrong = PersonInput {
            name: "",
            gender: Some("未知"),
            id_number: Some("12345"),
            phone: Some("12"),
        };
        assert_eq!(
            codes(all_wrong),
            vec![
                pair("name", "person.bad_name"),
                pair("id_number", "id_number.length"),
                pair("phone", "phone.invalid"),
                pair("gender", "person.bad_gender"),
            ]
        );
    }

    #[test]
    fn a_valid_phone_is_kept() {
        let p = check(PersonInput {
            name: "王五",
            phone: Some("13800138000"),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(
            p.phone.map(|x| x.as_str().to_string()),
            Some("13800138000".into())
        );
    }
}
