//! A Party member's profile as the national member information system keeps it — 民族, 学历,
//! 人员类别, 入党日期, 转正日期 — and the rules it obeys before it is stored: each value one of
//! the system's own (typed as the sheets counties hold write them: "汉" for 汉族, "大专" for
//! 大学专科), dates not after today, 入党 at eighteen or older (党章 第一条), 转正 not before
//! 入党, no 转正日期 for a 预备党员, and no Party particulars for someone who is not a member.

use crate::ledger::FieldError;
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// The 56 民族 in the order of GB/T 3304, then the standard's two further entries.
const ETHNICITIES: [&str; 58] = [
    "汉族",
    "蒙古族",
    "回族",
    "藏族",
    "维吾尔族",
    "苗族",
    "彝族",
    "壮族",
    "布依族",
    "朝鲜族",
    "满族",
    "侗族",
    "瑶族",
    "白族",
    "土家族",
    "哈尼族",
    "哈萨克族",
    "傣族",
    "黎族",
    "傈僳族",
    "佤族",
    "畲族",
    "高山族",
    "拉祜族",
    "水族",
    "东乡族",
    "纳西族",
    "景颇族",
    "柯尔克孜族",
    "土族",
    "达斡尔族",
    "仫佬族",
    "羌族",
    "布朗族",
    "撒拉族",
    "毛南族",
    "仡佬族",
    "锡伯族",
    "阿昌族",
    "普米族",
    "塔吉克族",
    "怒族",
    "乌孜别克族",
    "俄罗斯族",
    "鄂温克族",
    "德昂族",
    "保安族",
    "裕固族",
    "京族",
    "塔塔尔族",
    "独龙族",
    "鄂伦春族",
    "赫哲族",
    "门巴族",
    "珞巴族",
    "基诺族",
    "其他",
    "外国血统中国籍人士",
];

/// One of the 民族 of GB/T 3304 (or its 其他 / 外国血统中国籍人士), by its full name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ethnicity(&'static str);

impl Ethnicity {
    /// Reads a 民族 by its full name or without its final 族 ("汉", "蒙古").
    pub fn parse(s: &str) -> Option<Ethnicity> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        ETHNICITIES
            .iter()
            .find(|name| **name == s || name.strip_suffix('族') == Some(s))
            .map(|name| Ethnicity(name))
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// Every entry of the standard, in its order.
    pub fn all() -> impl Iterator<Item = Ethnicity> {
        ETHNICITIES.iter().map(|name| Ethnicity(name))
    }
}

impl fmt::Display for Ethnicity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Ethnicity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

macro_rules! labelled_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $key:literal, $label:literal, [$($alias:literal),*];)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The key it is stored and sent under.
            pub fn key(self) -> &'static str {
                match self { $($name::$variant => $key),* }
            }

            /// The name the national system and the sheets use.
            pub fn label_cn(self) -> &'static str {
                match self { $($name::$variant => $label),* }
            }

            /// Reads a key, the name, or one of the names sheets commonly use for it.
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                $(if s == $key || s == $label $(|| s == $alias)* {
                    return Some($name::$variant);
                })*
                None
            }
        }
    };
}

labelled_enum! {
    /// 学历, the highest completed.
    Education {
        Doctorate = "doctorate", "博士研究生", ["博士"];
        Master = "master", "硕士研究生", ["硕士"];
        Graduate = "graduate", "研究生", [];
        Bachelor = "bachelor", "大学本科", ["本科", "大学"];
        College = "college", "大学专科", ["大专", "专科"];
        Vocational = "vocational", "中等专科", ["中专", "中技", "技工学校", "职高", "中等职业教育"];
        HighSchool = "high_school", "高中", ["普通高中", "高级中学"];
        Middle = "middle", "初中", ["初级中学"];
        Primary = "primary", "小学", ["小学及以下"];
        Unschooled = "unschooled", "未上过学", ["文盲"];
    }
}

labelled_enum! {
    /// 人员类别: a full member or one in the probationary year.
    MemberCategory {
        Full = "full", "正式党员", ["正式"];
        Probationary = "probationary", "预备党员", ["预备"];
    }
}

/// A profile as typed or read from a sheet; blank texts count as not given.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProfileInput<'a> {
    pub ethnicity: Option<&'a str>,
    pub education: Option<&'a str>,
    pub category: Option<&'a str>,
    pub joined_on: Option<NaiveDate>,
    pub confirmed_on: Option<NaiveDate>,
}

/// A profile that passed every rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct PartyProfile {
    /// 民族 by its full name (GB/T 3304), e.g. 汉族.
    #[schema(value_type = Option<String>)]
    pub ethnicity: Option<Ethnicity>,
    pub education: Option<Education>,
    /// Sent as `member_category`, the name a new person's form uses.
    #[serde(rename = "member_category")]
    pub category: Option<MemberCategory>,
    pub joined_on: Option<NaiveDate>,
    pub confirmed_on: Option<NaiveDate>,
}

impl PartyProfile {
    pub fn is_empty(&self) -> bool {
        *self == PartyProfile::default()
    }

    /// `other`'s values where it has them, this profile's elsewhere: a sheet's blank column
    /// leaves what is on file.
    pub fn updated_by(self, other: PartyProfile) -> PartyProfile {
        PartyProfile {
            ethnicity: other.ethnicity.or(self.ethnicity),
            education: other.education.or(self.education),
            category: other.category.or(self.category),
            joined_on: other.joined_on.or(self.joined_on),
            confirmed_on: other.confirmed_on.or(self.confirmed_on),
        }
    }
}

/// Checks a profile; every broken rule is reported with the field it belongs to. `birth_date`
/// (from the 身份证号 or as given) bounds 入党日期; `party_member` says whether the person is one.
pub fn check_profile(
    input: ProfileInput<'_>,
    birth_date: Option<NaiveDate>,
    party_member: bool,
    today: NaiveDate,
) -> Result<PartyProfile, Vec<FieldError>> {
    let mut errors = Vec::new();
    let ethnicity = given(input.ethnicity).and_then(|s| {
        let e = Ethnicity::parse(s);
        if e.is_none() {
            errors.push(FieldError::new(
                "ethnicity",
                "profile.bad_ethnicity",
                format!("“民族”应为56个民族之一，如“汉族”（“{s}”不是）"),
            ));
        }
        e
    });
    let education = given(input.education).and_then(|s| {
        let e = Education::parse(s);
        if e.is_none() {
            let names: Vec<&str> = Education::ALL.iter().map(|e| e.label_cn()).collect();
            errors.push(FieldError::new(
                "education",
                "profile.bad_education",
                format!("“学历”应为{}之一", names.join("、")),
            ));
        }
        e
    });
    let category = given(input.category).and_then(|s| {
        let c = MemberCategory::parse(s);
        if c.is_none() {
            errors.push(FieldError::new(
                "category",
                "profile.bad_category",
                "“人员类别”应为“正式党员”或“预备党员”",
            ));
        }
        c
    });
    let profile = PartyProfile {
        ethnicity,
        education,
        category,
        joined_on: input.joined_on,
        confirmed_on: input.confirmed_on,
    };
    errors.extend(check_rules(&profile, birth_date, party_member, today));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(profile)
}

/// A text's trimmed value, or none when it is missing or blank.
fn given(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The rules between a profile's values and the person's birth date and membership: what
/// [`check_profile`] checks after reading the values, and what an update checks of the profile
/// it leaves on file.
pub fn check_rules(
    profile: &PartyProfile,
    birth_date: Option<NaiveDate>,
    party_member: bool,
    today: NaiveDate,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let category = profile.category;
    for (field, label, date) in [
        ("joined_on", "入党日期", profile.joined_on),
        ("confirmed_on", "转正日期", profile.confirmed_on),
    ] {
        if date.is_some_and(|d| d > today) {
            errors.push(FieldError::new(
                field,
                "profile.future_date",
                format!("“{label}”不能晚于今天"),
            ));
        }
    }
    if let (Some(j), Some(c)) = (profile.joined_on, profile.confirmed_on) {
        if c < j {
            errors.push(FieldError::new(
                "confirmed_on",
                "profile.confirmed_before_joined",
                "“转正日期”早于“入党日期”",
            ));
        }
    }
    if let (Some(j), Some(b)) = (profile.joined_on, birth_date) {
        if b.checked_add_months(Months::new(18 * 12))
            .is_some_and(|adult| j < adult)
        {
            errors.push(FieldError::new(
                "joined_on",
                "profile.joined_under_18",
                format!("入党时未满十八周岁（出生日期{}）", b.format("%Y-%m-%d")),
            ));
        }
    }
    if category == Some(MemberCategory::Probationary) && profile.confirmed_on.is_some() {
        errors.push(FieldError::new(
            "confirmed_on",
            "profile.probationary_confirmed",
            "预备党员还没有“转正日期”；已转正的请把“人员类别”改为正式党员",
        ));
    }
    if !party_member
        && (category.is_some() || profile.joined_on.is_some() || profile.confirmed_on.is_some())
    {
        errors.push(FieldError::new(
            "category",
            "profile.not_a_member",
            "不是党员的人员不填“人员类别”“入党日期”“转正日期”",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("a date")
    }

    const TODAY: NaiveDate = match NaiveDate::from_ymd_opt(2026, 6, 1) {
        Some(d) => d,
        None => panic!(),
    };

    fn codes(
        input: ProfileInput<'_>,
        birth: Option<NaiveDate>,
        member: bool,
    ) -> Vec<(String, String)> {
        check_profile(input, birth, member, TODAY)
            .expect_err("should be refused")
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    fn pair(f: &str, c: &str) -> (String, String) {
        (f.to_string(), c.to_string())
    }

    #[test]
    fn the_standard_lists_56_ethnicities_and_two_further_entries_each_once() {
        let mut names = ETHNICITIES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 58);
        assert_eq!(ETHNICITIES.iter().filter(|n| n.ends_with('族')).count(), 56);
    }

    #[test]
    fn an_ethnicity_is_read_with_or_without_its_final_character() {
        assert_eq!(Ethnicity::parse("汉").map(|e| e.as_str()), Some("汉族"));
        assert_eq!(
            Ethnicity::parse(" 蒙古 ").map(|e| e.as_str()),
            Some("蒙古族")
        );
        assert_eq!(
            Ethnicity::parse("维吾尔族").map(|e| e.as_str()),
            Some("维吾尔族")
        );
        assert_eq!(Ethnicity::parse("其他").map(|e| e.as_str()), Some("其他"));
        assert_eq!(Ethnicity::parse("族"), None);
        assert_eq!(Ethnicity::parse("汉人"), None);
        assert_eq!(Ethnicity::parse(""), None);
    }

    #[test]
    fn educations_and_categories_read_their_keys_names_and_common_aliases() {
        assert_eq!(Education::parse("大专"), Some(Education::College));
        assert_eq!(Education::parse("大学本科"), Some(Education::Bachelor));
        assert_eq!(Education::parse("high_school"), Some(Education::HighSchool));
        assert_eq!(Education::parse("中专"), Some(Education::Vocational));
        assert_eq!(Education::parse("幼儿园"), None);
        assert_eq!(
            MemberCategory::parse("预备"),
            Some(MemberCategory::Probationary)
        );
        assert_eq!(
            MemberCategory::parse("正式党员"),
            Some(MemberCategory::Full)
        );
        assert_eq!(MemberCategory::parse("党员"), None);
        for e in Education::ALL {
            assert_eq!(Education::parse(e.key()), Some(*e));
            assert_eq!(Education::parse(e.label_cn()), Some(*e));
        }
    }

    #[test]
    fn a_full_profile_passes_and_keeps_its_values() {
        let p = check_profile(
            ProfileInput {
                ethnicity: Some("回"),
                education: Some("本科"),
                category: Some("正式党员"),
                joined_on: Some(d(2010, 7, 1)),
                confirmed_on: Some(d(2011, 7, 1)),
            },
            Some(d(1985, 3, 2)),
            true,
            TODAY,
        )
        .expect("valid");
        assert_eq!(p.ethnicity.map(|e| e.as_str()), Some("回族"));
        assert_eq!(p.education, Some(Education::Bachelor));
        assert_eq!(p.category, Some(MemberCategory::Full));
        assert_eq!(p.confirmed_on, Some(d(2011, 7, 1)));
        let blank = check_profile(
            ProfileInput {
                ethnicity: Some("  "),
                ..Default::default()
            },
            None,
            false,
            TODAY,
        )
        .expect("blank is not given");
        assert!(blank.is_empty());
    }

    #[test]
    fn every_broken_rule_is_named_with_its_field() {
        assert_eq!(
            codes(
                ProfileInput {
                    ethnicity: Some("汉人"),
                    education: Some("幼儿园"),
                    category: Some("积极分子"),
                    joined_on: Some(d(2027, 1, 1)),
                    confirmed_on: Some(d(2026, 1, 1)),
                },
                None,
                true
            ),
            vec![
                pair("ethnicity", "profile.bad_ethnicity"),
                pair("education", "profile.bad_education"),
                pair("category", "profile.bad_category"),
                pair("joined_on", "profile.future_date"),
                pair("confirmed_on", "profile.confirmed_before_joined"),
            ]
        );
    }

    #[test]
    fn joining_before_eighteen_is_refused_and_on_the_birthday_accepted() {
        let input = |j| ProfileInput {
            joined_on: Some(j),
            ..Default::default()
        };
        let birth = Some(d(2000, 2, 29));
        assert_eq!(
            codes(input(d(2018, 2, 27)), birth, true),
            vec![pair("joined_on", "profile.joined_under_18")]
        );
        assert!(check_profile(input(d(2018, 2, 28)), birth, true, TODAY).is_ok());
        assert!(check_profile(input(d(2001, 1, 1)), None, true, TODAY).is_ok());
    }

    #[test]
    fn a_probationary_member_has_no_confirmation_and_a_non_member_no_party_dates() {
        assert_eq!(
            codes(
                ProfileInput {
                    category: Some("预备党员"),
                    joined_on: Some(d(2025, 7, 1)),
                    confirmed_on: Some(d(2026, 5, 1)),
                    ..Default::default()
                },
                None,
                true
            ),
            vec![pair("confirmed_on", "profile.probationary_confirmed")]
        );
        assert_eq!(
            codes(
                ProfileInput {
                    joined_on: Some(d(2025, 7, 1)),
                    ..Default::default()
                },
                None,
                false
            ),
            vec![pair("category", "profile.not_a_member")]
        );
        let non_member = check_profile(
            ProfileInput {
                ethnicity: Some("汉族"),
                education: Some("高中"),
                ..Default::default()
            },
            None,
            false,
            TODAY,
        );
        assert!(non_member.is_ok(), "民族 and 学历 are anyone's");
    }

    #[test]
    fn an_update_keeps_what_the_sheet_leaves_blank() {
        let on_file = PartyProfile {
            education: Some(Education::Middle),
            joined_on: Some(d(2000, 1, 1)),
            ..Default::default()
        };
        let sheet = PartyProfile {
            education: Some(Education::HighSchool),
            ..Default::default()
        };
        let merged = on_file.updated_by(sheet);
        assert_eq!(merged.education, Some(Education::HighSchool));
        assert_eq!(merged.joined_on, Some(d(2000, 1, 1)));
    }
}
