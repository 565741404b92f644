//! Bulletins (统计通报): figures first, phrasing second. The store gathers counts and sums for an
//! organisation subtree (or a set of cross-linked organisations) and a period; `compose` turns
//! them into sections, a ranked table of units and the sentences the newspapers print.

use crate::ledger::{FieldKind, LedgerTypeDef};
use crate::org::{LinkKind, OrgKind};
use crate::period::DateRange;
use crate::phrasing::{approx, percent, scaled};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OrgBrief {
    pub id: i64,
    /// Official code, or `o{id}`.
    #[serde(rename = "ref")]
    pub org_ref: String,
    pub name: String,
    pub kind: OrgKind,
}

/// Which units the bulletin ranks: the root's children, or organisations reached by a cross-link
/// kind ("各第一书记村": villages with a 派驻 first secretary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "link_kind")]
pub enum Grouping {
    Children,
    Link(LinkKind),
}

/// A unit of the ranked table, with the part of the period it is counted for.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Unit {
    pub org: OrgBrief,
    pub range: DateRange,
    /// For cross-link units: who or what the link comes from (the first secretary and unit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// Raw figures gathered by the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// type id → (records, distinct organisations, distinct people)
    pub totals: HashMap<i64, (i64, i64, i64)>,
    /// (type id, field key) → sum of the scaled values
    pub sums: HashMap<(i64, String), i64>,
    /// (type id, field key, option) → records
    pub choices: HashMap<(i64, String, String), i64>,
    /// (unit index, type id) → records
    pub unit_counts: HashMap<(usize, i64), i64>,
    /// (type id, choice field, option, numeric field) → sum of the scaled values over the
    /// records that chose the option
    pub option_sums: HashMap<(i64, String, String, String), i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Bulletin {
    pub title: String,
    pub org: OrgBrief,
    pub range: DateRange,
    pub period_label: String,
    #[schema(value_type = Object)]
    pub grouping: Grouping,
    pub sentences: Vec<String>,
    pub sections: Vec<Section>,
    pub units: Vec<UnitRow>,
    /// Ledger type keys in the column order of `UnitRow::counts`.
    pub unit_columns: Vec<String>,
    pub total_records: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Section {
    pub type_key: String,
    pub type_name: String,
    pub records: i64,
    pub organisations: i64,
    pub people: i64,
    pub sums: Vec<SumFigure>,
    pub breakdown: Vec<OptionFigure>,
    pub sentence: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SumFigure {
    pub field: String,
    pub label: String,
    pub unit: String,
    /// Exact total as text ("14230", "10.8").
    pub total: String,
    pub phrased: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OptionFigure {
    pub field: String,
    pub option: String,
    pub records: i64,
    pub share: Option<String>,
    /// The type's numeric fields with a unit, summed over the records that chose this option
    /// ("冬季取暖隐患涉及金额…"); empty when the type has none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sums: Vec<SumFigure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct UnitRow {
    pub rank: usize,
    pub org: OrgBrief,
    pub range: DateRange,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub records: i64,
    pub share: Option<String>,
    /// Records per ledger type, in the order of `Bulletin::unit_columns`.
    pub counts: Vec<i64>,
}

pub struct TypeRef<'a> {
    pub id: i64,
    pub def: &'a LedgerTypeDef,
}

fn sum_figure(field: String, label: String, unit: &str, scale: u32, total: i64) -> SumFigure {
    let phrased = if scale == 0 {
        approx(total, unit)
    } else {
        format!("{}{unit}", scaled(total, scale))
    };
    SumFigure {
        field,
        label,
        unit: unit.to_string(),
        total: scaled(total, scale),
        phrased,
    }
}

pub fn compose(
    org: OrgBrief,
    range: DateRange,
    grouping: Grouping,
    types: &[TypeRef<'_>],
    units: Vec<Unit>,
    figures: &Figures,
) -> Bulletin {
    let period_label = range.label_cn();
    let mut sections = Vec::new();
    for t in types {
        let (records, orgs, people) = figures.totals.get(&t.id).copied().unwrap_or_default();
        let mut sums = Vec::new();
        let mut breakdown = Vec::new();
        for f in t.def.fields.iter() {
            if let (Some(unit), Some(scale)) = (&f.unit, f.kind.numeric_scale()) {
                let total = figures
                    .sums
                    .get(&(t.id, f.key.clone()))
                    .copied()
                    .unwrap_or(0);
                sums.push(sum_figure(
                    f.key.clone(),
                    f.label.clone(),
                    unit,
                    scale,
                    total,
                ));
            }
            if let FieldKind::Choice {
                options,
                breakdown: true,
            } = &f.kind
            {
                for o in options {
                    let n = figures
                        .choices
                        .get(&(t.id, f.key.clone(), o.clone()))
                        .copied()
                        .unwrap_or(0);
                    let option_sums = t
                        .def
                        .fields
                        .iter()
                        .filter_map(|nf| {
                            let (unit, scale) = (nf.unit.as_ref()?, nf.kind.numeric_scale()?);
                            let total = figures
                                .option_sums
                                .get(&(t.id, f.key.clone(), o.clone(), nf.key.clone()))
                                .copied()
                                .unwrap_or(0);
                            Some(sum_figure(
                                nf.key.clone(),
                                nf.label.clone(),
                                unit,
                                scale,
                                total,
                            ))
                        })
                        .collect();
                    breakdown.push(OptionFigure {
                        field: f.key.clone(),
                        option: o.clone(),
                        records: n,
                        share: percent(n, records),
                        sums: if n == 0 { Vec::new() } else { option_sums },
                    });
                }
            }
        }
        let sentence = section_sentence(t.def, records, orgs, people, &sums, &breakdown);
        sections.push(Section {
            type_key: t.def.key.clone(),
            type_name: t.def.name.clone(),
            records,
            organisations: orgs,
            people,
            sums,
            breakdown,
            sentence,
        });
    }
    let total_records: i64 = sections.iter().map(|s| s.records).sum();

    let mut rows: Vec<UnitRow> = units
        .into_iter()
        .enumerate()
        .map(|(i, u)| {
            let counts: Vec<i64> = types
                .iter()
                .map(|t| figures.unit_counts.get(&(i, t.id)).copied().unwrap_or(0))
                .collect();
            let records = counts.iter().sum();
            UnitRow {
                rank: 0,
                org: u.org,
                range: u.range,
                via: u.via,
                records,
                share: percent(records, total_records),
                counts,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.records
            .cmp(&a.records)
            .then_with(|| a.org.name.cmp(&b.org.name))
    });
    // Equal totals share a rank ("并列").
    for i in 0..rows.len() {
        rows[i].rank = if i > 0 && rows[i].records == rows[i - 1].records {
            rows[i - 1].rank
        } else {
            i + 1
        };
    }

    let mut sentences = Vec::new();
    let scope_word = match grouping {
        Grouping::Children => org.name.clone(),
        Grouping::Link(k) => format!("{}{}对象", org.name, k.label_cn()),
    };
    if total_records == 0 {
        sentences.push(format!("{period_label}，{scope_word}暂无台账记录。"));
    } else {
        sentences.push(format!(
            "{period_label}，{scope_word}共记录各类台账{}。",
            approx(total_records, "条")
        ));
        sentences.extend(
            sections
                .iter()
                .filter(|s| s.records > 0)
                .map(|s| s.sentence.clone()),
        );
    }
    if let Some(s) = ranking_sentence(&rows) {
        sentences.push(s);
    }
    let title = format!("{}{}台账工作统计通报", org.name, period_label);
    Bulletin {
        title,
        org,
        range,
        period_label,
        grouping,
        sentences,
        sections,
        units: rows,
        unit_columns: types.iter().map(|t| t.def.key.clone()).collect(),
        total_records,
    }
}

fn section_sentence(
    def: &LedgerTypeDef,
    records: i64,
    orgs: i64,
    people: i64,
    sums: &[SumFigure],
    breakdown: &[OptionFigure],
) -> String {
    let mut s = format!(
        "{}{}{}",
        def.verb,
        def.name,
        approx(records, &def.count_unit)
    );
    let parts: Vec<String> = breakdown
        .iter()
        .filter(|b| b.records > 0)
        .map(|b| match &b.share {
            Some(share) => format!(
                "{}{}、占比{share}",
                b.option,
                approx(b.records, &def.count_unit)
            ),
            None => format!("{}{}", b.option, approx(b.records, &def.count_unit)),
        })
        .collect();
    if parts.len() > 1 {
        s.push_str(&format!("，其中{}", parts.join("，")));
    }
    for sum in sums.iter().filter(|x| x.total != "0") {
        let phrase = def
            .field(&sum.field)
            .and_then(|f| f.phrase.clone())
            .unwrap_or_else(|| sum.label.clone());
        s.push_str(&format!("，{phrase}{}", sum.phrased));
    }
    if orgs > 0 {
        s.push_str(&format!("，涉及{}", approx(orgs, "个组织")));
    }
    if people > 0 {
        s.push_str(&format!("、{}", approx(people, "人")));
    }
    s.push('。');
    s
}

/// Rankings publish both ends: the three with most records and the three with fewest.
fn ranking_sentence(rows: &[UnitRow]) -> Option<String> {
    if rows.len() < 4 {
        return None;
    }
    let names = |it: &mut dyn Iterator<Item = &UnitRow>| {
        it.map(|r| r.org.name.clone())
            .collect::<Vec<_>>()
            .join("、")
    };
    let top = names(&mut rows.iter().take(3));
    let bottom = names(
        &mut rows
            .iter()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev(),
    );
    let zero = rows.iter().filter(|r| r.records == 0).count();
    let mut s =
        format!("从各单位看，{top}记录数量位居前列；{bottom}记录数量相对较少，需进一步加强");
    if zero > 0 {
        s.push_str(&format!(
            "，其中{}单位本期无记录",
            approx(zero as i64, "个")
        ));
    }
    s.push('。');
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::builtin_types;
    use chrono::NaiveDate;

    fn brief(id: i64, name: &str) -> OrgBrief {
        OrgBrief {
            id,
            org_ref: format!("o{id}"),
            name: name.into(),
            kind: OrgKind::Township,
        }
    }

    fn range() -> DateRange {
        DateRange::new(
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn phrased_like_the_papers() {
        let defs = builtin_types();
        let visit = defs.iter().find(|t| t.key == "visit").unwrap();
        let meetings = defs.iter().find(|t| t.key == "three_meetings").unwrap();
        let types = [
            TypeRef {
                id: 1,
                def: meetings,
            },
            TypeRef { id: 2, def: visit },
        ];
        let mut f = Figures::default();
        f.totals.insert(1, (2_000, 300, 5_000));
        f.choices
            .insert((1, "meeting_kind".into(), "党课".into()), 226);
        f.choices
            .insert((1, "meeting_kind".into(), "支部委员会".into()), 1_774);
        f.totals.insert(2, (1_200, 250, 0));
        f.sums.insert((2, "households".into()), 14_230);
        f.sums.insert((2, "problems_solved".into()), 416);
        let units: Vec<Unit> = (0..5)
            .map(|i| Unit {
                org: brief(10 + i, &format!("镇{i}")),
                range: range(),
                via: None,
            })
            .collect();
        for i in 0..4 {
            f.unit_counts.insert((i, 2), 100 * (i as i64 + 1));
        }
        let b = compose(
            brief(1, "金乡县"),
            range(),
            Grouping::Children,
            &types,
            units,
            &f,
        );
        assert_eq!(b.total_records, 3_200);
        assert_eq!(b.sentences[0], "2026年，金乡县共记录各类台账3200条。");
        assert_eq!(
            b.sentences[1],
            "召开三会一课2000次，其中支部委员会1700余次、占比88.7%，党课226次、占比11.3%，涉及300个组织、5000人。"
        );
        assert_eq!(
            b.sentences[2],
            "开展走访1200次，走访群众1.4万余户，解决实际困难416个，涉及250个组织。"
        );
        assert!(
            b.sentences[3].starts_with("从各单位看，镇3、镇2、镇1记录数量位居前列；"),
            "{}",
            b.sentences[3]
        );
        assert!(b.sentences[3].contains("其中1个单位本期无记录"));
        assert_eq!(b.units[0].org.name, "镇3");
        assert_eq!(b.units[0].share.as_deref(), Some("12.5%"));
        assert_eq!(b.units[4].records, 0);
        assert_eq!(b.units[4].rank, 5);
    }

    #[test]
    fn ties_share_a_rank() {
        let defs = builtin_types();
        let types = [TypeRef {
            id: 1,
            def: &defs[0],
        }];
        let mut f = Figures::default();
        f.totals.insert(1, (10, 2, 0));
        f.unit_counts.insert((0, 1), 5);
        f.unit_counts.insert((1, 1), 5);
        let units = vec![
            Unit {
                org: brief(2, "乙"),
                range: range(),
                via: None,
            },
            Unit {
                org: brief(3, "甲"),
                range: range(),
                via: None,
            },
        ];
        let b = compose(
            brief(1, "县"),
            range(),
            Grouping::Children,
            &types,
            units,
            &f,
        );
        assert_eq!((b.units[0].rank, b.units[1].rank), (1, 1));
    }

    #[test]
    fn empty_period_says_so() {
        let defs = builtin_types();
        let types = [TypeRef {
            id: 1,
            def: &defs[0],
        }];
        let b = compose(
            brief(1, "鸡黍镇"),
            range(),
            Grouping::Children,
            &types,
            vec![],
            &Figures::default(),
        );
        assert_eq!(
            b.sentences,
            vec!["2026年，鸡黍镇暂无台账记录。".to_string()]
        );
    }
}
