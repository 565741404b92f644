//! Levels above the county: a city (市委) or a province (省委) over its counties, and the region
//! bulletin that ranks them. A region only groups counties for reading — each county keeps its
//! tree, its key and its audit chain — so its figures are the counties' own bulletins added up
//! (an organisation and a person belong to one county, so nothing is counted twice).

use crate::bulletin::Bulletin;
use crate::ledger::FieldError;
use crate::period::DateRange;
use crate::phrasing::percent;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// A region (city or province) row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RegionId(i64);

impl RegionId {
    pub const fn new(id: i64) -> Self {
        RegionId(id)
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for RegionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// How high a region stands: a city (地级市, 市委) or a province (省委).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    City,
    Province,
}

impl RegionLevel {
    pub const ALL: &'static [RegionLevel] = &[RegionLevel::City, RegionLevel::Province];

    pub fn key(self) -> &'static str {
        match self {
            RegionLevel::City => "city",
            RegionLevel::Province => "province",
        }
    }

    /// "市" or "省", as in 全市 / 全省.
    pub fn label_cn(self) -> &'static str {
        match self {
            RegionLevel::City => "市",
            RegionLevel::Province => "省",
        }
    }

    /// The level a region of this level may sit under: a city under a province, a province
    /// under nothing.
    pub fn parent_level(self) -> Option<RegionLevel> {
        match self {
            RegionLevel::City => Some(RegionLevel::Province),
            RegionLevel::Province => None,
        }
    }

    /// The level from its key, or the field error `region.bad_level`.
    pub fn parse_field(s: &str) -> Result<RegionLevel, FieldError> {
        s.parse().map_err(|_| {
            FieldError::new(
                "level",
                "region.bad_level",
                format!("层级应为 city（市）或 province（省），而不是“{s}”"),
            )
        })
    }
}

impl FromStr for RegionLevel {
    type Err = crate::org::UnknownKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RegionLevel::ALL
            .iter()
            .copied()
            .find(|l| l.key() == s)
            .ok_or_else(|| crate::org::UnknownKey(s.to_string()))
    }
}

impl fmt::Display for RegionLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A region's division code (GB/T 2260): six digits; a city's ends in `00` (not `0000`), a
/// province's in `0000`. Refused with `region.bad_code`.
pub fn validate_code(code: &str, level: RegionLevel) -> Result<String, FieldError> {
    let code = code.trim();
    let digits = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    let fits = match level {
        RegionLevel::City => code.ends_with("00") && !code.ends_with("0000"),
        RegionLevel::Province => code.ends_with("0000") && !code.starts_with("00"),
    };
    if !digits || !fits {
        let msg = match level {
            RegionLevel::City => "市级行政区划代码应为6位数字，以00结尾（如370800）",
            RegionLevel::Province => "省级行政区划代码应为6位数字，以0000结尾（如370000）",
        };
        return Err(FieldError::new("code", "region.bad_code", msg));
    }
    Ok(code.to_string())
}

/// A region's name (中共济宁市委员会): as an organisation's name, refused with `region.bad_name`.
pub fn validate_name(name: &str) -> Result<String, FieldError> {
    crate::org::validate_name(name, "region.bad_name")
}

/// A region in a bulletin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RegionBrief {
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
}

/// One county's row of the region bulletin.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CountyRow {
    /// 1 for the county with the most records; ties share the order of their codes.
    pub rank: usize,
    pub code: String,
    pub name: String,
    pub records: i64,
    /// This county's share of the region's records ("占比").
    pub share: Option<String>,
    /// Records per ledger type, in the order of `RegionBulletin::type_columns`.
    pub counts: Vec<i64>,
}

/// A county's place in the ranking of one ledger type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CountyRank {
    pub rank: usize,
    pub code: String,
    pub name: String,
    pub records: i64,
}

/// One ledger type over the region: the counties' figures added up, and the counties ranked.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RegionSection {
    pub type_key: String,
    pub type_name: String,
    pub records: i64,
    pub organisations: i64,
    pub people: i64,
    pub ranking: Vec<CountyRank>,
    pub sentence: String,
}

/// The bulletin of a city or province (市/省统计通报): its counties ranked, overall and per
/// ledger type.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RegionBulletin {
    pub title: String,
    pub region: RegionBrief,
    pub range: DateRange,
    pub period_label: String,
    pub total_records: i64,
    pub counties: Vec<CountyRow>,
    /// Ledger type keys in the column order of `CountyRow::counts`.
    pub type_columns: Vec<String>,
    /// The same types' names, in the same order.
    pub type_names: Vec<String>,
    pub sections: Vec<RegionSection>,
    pub sentences: Vec<String>,
}

/// A county below a region with its own bulletin over its root organisation.
pub struct CountyBulletin<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub bulletin: &'a Bulletin,
}

/// Ranks `(records, code)` pairs: most records first, ties in the order of their codes.
fn ranked<T>(mut items: Vec<(i64, String, T)>) -> Vec<(usize, i64, String, T)> {
    items.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    items
        .into_iter()
        .enumerate()
        .map(|(i, (n, code, t))| (i + 1, n, code, t))
        .collect()
}

/// Adds up the counties' bulletins and ranks the counties, overall and per ledger type. Ledger
/// types are matched by key (each county has its own copy of the built-in types) and listed in
/// the order they first appear.
pub fn compose(
    region: RegionBrief,
    range: DateRange,
    counties: &[CountyBulletin<'_>],
) -> RegionBulletin {
    let period_label = range.label_cn();
    let mut type_columns: Vec<String> = Vec::new();
    let mut type_names: Vec<String> = Vec::new();
    for c in counties {
        for s in &c.bulletin.sections {
            if !type_columns.contains(&s.type_key) {
                type_columns.push(s.type_key.clone());
                type_names.push(s.type_name.clone());
            }
        }
    }
    let per_county: Vec<Vec<(i64, i64, i64)>> = counties
        .iter()
        .map(|c| {
            type_columns
                .iter()
                .map(|k| {
                    c.bulletin
                        .sections
                        .iter()
                        .filter(|s| &s.type_key == k)
                        .fold((0, 0, 0), |acc, s| {
                            (acc.0 + s.records, acc.1 + s.organisations, acc.2 + s.people)
                        })
                })
                .collect()
        })
        .collect();
    let total_records: i64 = counties.iter().map(|c| c.bulletin.total_records).sum();
    let overall = ranked(
        counties
            .iter()
            .zip(&per_county)
            .map(|(c, figs)| {
                (
                    c.bulletin.total_records,
                    c.code.to_string(),
                    (
                        c.name.to_string(),
                        figs.iter().map(|f| f.0).collect::<Vec<i64>>(),
                    ),
                )
            })
            .collect(),
    );
    let county_rows: Vec<CountyRow> = overall
        .into_iter()
        .map(|(rank, records, code, (name, counts))| CountyRow {
            rank,
            code,
            name,
            records,
            share: percent(records, total_records),
            counts,
        })
        .collect();
    let all = region.level.label_cn();
    let mut sections = Vec::new();
    for (i, (key, type_name)) in type_columns.iter().zip(&type_names).enumerate() {
        let (mut records, mut organisations, mut people) = (0, 0, 0);
        for figs in &per_county {
            records += figs[i].0;
            organisations += figs[i].1;
            people += figs[i].2;
        }
        let ranking: Vec<CountyRank> = ranked(
            counties
                .iter()
                .zip(&per_county)
                .map(|(c, figs)| (figs[i].0, c.code.to_string(), c.name.to_string()))
                .collect(),
        )
        .into_iter()
        .map(|(rank, records, code, name)| CountyRank {
            rank,
            code,
            name,
            records,
        })
        .collect();
        let sentence = match (ranking.first(), ranking.last()) {
            (Some(top), Some(bottom)) if ranking.len() > 1 && records > 0 => format!(
                "全{all}{type_name}共{records}条，涉及{organisations}个党组织、{people}人；{}最多（{}条），{}最少（{}条）。",
                top.name, top.records, bottom.name, bottom.records
            ),
            _ => format!(
                "全{all}{type_name}共{records}条，涉及{organisations}个党组织、{people}人。"
            ),
        };
        sections.push(RegionSection {
            type_key: key.clone(),
            type_name: type_name.clone(),
            records,
            organisations,
            people,
            ranking,
            sentence,
        });
    }
    let mut sentences = vec![format!(
        "{period_label}，全{all}{}个县（市、区）共记录台账{total_records}条。",
        counties.len()
    )];
    if let (Some(top), Some(bottom)) = (county_rows.first(), county_rows.last()) {
        if county_rows.len() > 1 {
            sentences.push(format!(
                "{}最多（{}条，占比{}），{}最少（{}条）。",
                top.name,
                top.records,
                top.share.clone().unwrap_or_else(|| "0%".into()),
                bottom.name,
                bottom.records
            ));
        }
    }
    RegionBulletin {
        title: format!("{}{}台账工作统计通报", region.name, period_label),
        region,
        range,
        period_label,
        total_records,
        counties: county_rows,
        type_columns,
        type_names,
        sections,
        sentences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulletin::{Grouping, OrgBrief, Section};
    use crate::org::OrgKind;
    use chrono::NaiveDate;

    #[test]
    fn levels_parse_and_nest() {
        assert_eq!(RegionLevel::parse_field("city"), Ok(RegionLevel::City));
        assert_eq!(
            RegionLevel::parse_field("province"),
            Ok(RegionLevel::Province)
        );
        let e = RegionLevel::parse_field("county").unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("level", "region.bad_level")
        );
        assert_eq!(
            RegionLevel::City.parent_level(),
            Some(RegionLevel::Province)
        );
        assert_eq!(RegionLevel::Province.parent_level(), None);
    }

    #[test]
    fn codes_follow_gb_t_2260() {
        assert_eq!(
            validate_code("370800", RegionLevel::City),
            Ok("370800".into())
        );
        assert_eq!(
            validate_code(" 370000 ", RegionLevel::Province),
            Ok("370000".into())
        );
        for (code, level) in [
            ("370000", RegionLevel::City),
            ("370800", RegionLevel::Province),
            ("370828", RegionLevel::City),
            ("37080", RegionLevel::City),
            ("37a800", RegionLevel::City),
            ("000000", RegionLevel::Province),
        ] {
            let e = validate_code(code, level).unwrap_err();
            assert_eq!(e.code, "region.bad_code", "{code} {level}");
        }
        assert_eq!(validate_name("  ").unwrap_err().code, "region.bad_name");
        assert_eq!(
            validate_name("中共济宁市委员会"),
            Ok("中共济宁市委员会".into())
        );
    }

    fn section(key: &str, records: i64, orgs: i64, people: i64) -> Section {
        Section {
            type_key: key.into(),
            type_name: format!("{key}名"),
            records,
            organisations: orgs,
            people,
            sums: vec![],
            breakdown: vec![],
            sentence: String::new(),
        }
    }

    fn bulletin(sections: Vec<Section>) -> Bulletin {
        let range = DateRange::new(
            NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(),
        )
        .unwrap();
        Bulletin {
            title: String::new(),
            org: OrgBrief {
                id: 1,
                org_ref: "370828".into(),
                name: "x".into(),
                kind: OrgKind::County,
            },
            range,
            period_label: range.label_cn(),
            grouping: Grouping::Children,
            sentences: vec![],
            total_records: sections.iter().map(|s| s.records).sum(),
            sections,
            units: vec![],
            unit_columns: vec![],
        }
    }

    #[test]
    fn compose_adds_up_and_ranks() {
        let a = bulletin(vec![section("visit", 5, 2, 4), section("lecture", 1, 1, 1)]);
        let b = bulletin(vec![section("visit", 7, 3, 6), section("hazard", 2, 1, 0)]);
        let c = bulletin(vec![section("visit", 5, 1, 1)]);
        let range = a.range;
        let r = compose(
            RegionBrief {
                code: "370800".into(),
                name: "中共济宁市委员会".into(),
                level: RegionLevel::City,
            },
            range,
            &[
                CountyBulletin {
                    code: "370828",
                    name: "金乡县",
                    bulletin: &a,
                },
                CountyBulletin {
                    code: "370811",
                    name: "任城区",
                    bulletin: &b,
                },
                CountyBulletin {
                    code: "370826",
                    name: "微山县",
                    bulletin: &c,
                },
            ],
        );
        assert_eq!(r.total_records, 20);
        assert_eq!(r.type_columns, ["visit", "lecture", "hazard"]);
        let rows: Vec<(usize, &str, i64, Vec<i64>)> = r
            .counties
            .iter()
            .map(|c| (c.rank, c.code.as_str(), c.records, c.counts.clone()))
            .collect();
        assert_eq!(
            rows,
            [
                (1, "370811", 9, vec![7, 0, 2]),
                (2, "370828", 6, vec![5, 1, 0]),
                (3, "370826", 5, vec![5, 0, 0]),
            ]
        );
        let visit = &r.sections[0];
        assert_eq!(
            (visit.records, visit.organisations, visit.people),
            (17, 6, 11)
        );
        let order: Vec<(usize, &str)> = visit
            .ranking
            .iter()
            .map(|c| (c.rank, c.code.as_str()))
            .collect();
        // 金乡县 and 微山县 tie at 5: the lower code first.
        assert_eq!(order, [(1, "370811"), (2, "370826"), (3, "370828")]);
        assert_eq!(
            visit.sentence,
            "全市visit名共17条，涉及6个党组织、11人；任城区最多（7条），金乡县最少（5条）。"
        );
        assert_eq!(
            r.sentences[0],
            "2025年，全市3个县（市、区）共记录台账20条。"
        );
    }
}
