//! Schemes read, checked and scored against the built-in ledger types.

use super::eval::cadence_share;
use super::scheme::{Relation, Scheme, SchemeContext, SchemeError};
use super::score::Score;
use crate::builtin::builtin_types;
use crate::ledger::LedgerTypeDef;
use std::collections::HashMap;

struct County {
    types: Vec<LedgerTypeDef>,
    schemes: HashMap<String, Vec<String>>,
}

impl SchemeContext for County {
    fn ledger_type(&self, key: &str) -> Option<&LedgerTypeDef> {
        self.types.iter().find(|t| t.key == key)
    }
    fn scheme_reads(&self, key: &str) -> Option<Vec<String>> {
        self.schemes.get(key).cloned()
    }
}

fn county() -> County {
    County {
        types: builtin_types(),
        schemes: HashMap::from([
            ("standard".to_string(), vec![]),
            ("loop_a".to_string(), vec!["member_points".to_string()]),
        ]),
    }
}

fn s(t: &str) -> Score {
    Score::parse(t).expect(t)
}

/// 党员量化积分, small: organisation life counted from 三会一课 records, 主题党日 on schedule,
/// a rating by self, peers and the leader, positive and negative entries, and a formula.
const MEMBER_POINTS: &str = r#"
key = "member_points"
name = "党员量化积分"
period = "quarterly"
subject = { kind = "person", positions = ["member"] }

[[dimension]]
key = "life"
name = "组织生活"

[[dimension]]
key = "conduct"
name = "作用发挥"

[[indicator]]
key = "meetings"
name = "参加三会一课"
kind = "records"
dimension = "life"
ledger_type = "three_meetings"
points_per = 2
cap = 20

[[indicator]]
key = "lectures"
name = "参加党课"
kind = "records"
dimension = "life"
ledger_type = "three_meetings"
where = { meeting_kind = "党课" }
points_per = 3

[[indicator]]
key = "theme_days"
name = "主题党日按月开展"
kind = "cadence"
dimension = "life"
ledger_type = "theme_day"
points_per = 10

[[indicator]]
key = "review"
name = "民主评议"
kind = "rating"
dimension = "conduct"
raters = [
  { relation = "self", weight = 20 },
  { relation = "peer", weight = 30 },
  { relation = "leader", weight = 50 },
]
weights_total = 100
range = [0, 100]
points_per = 0.2

[[indicator]]
key = "deeds"
name = "正负向记实"
kind = "entries"
dimension = "conduct"
evidence = true
positive = [{ key = "volunteer", text = "志愿服务", points = 2 }]
negative = [{ key = "absent", text = "无故缺席组织生活", points = 5 }]

[[indicator]]
key = "bonus"
name = "组织生活满分奖励"
kind = "formula"
formula = "if(meetings + lectures >= 26, 5, 0)"
"#;

fn scheme(text: &str) -> Scheme {
    Scheme::parse(text, &county()).unwrap_or_else(|e| panic!("{e:#?}"))
}

fn refused(text: &str) -> Vec<SchemeError> {
    Scheme::parse(text, &county()).expect_err("refused")
}

fn codes(errors: &[SchemeError]) -> Vec<(&'static str, Option<usize>, String)> {
    errors
        .iter()
        .map(|e| (e.code, e.line, e.path.clone()))
        .collect()
}

#[test]
fn a_member_is_scored_line_by_line_and_the_lines_add_up() {
    let sc = scheme(MEMBER_POINTS);
    let review = sc.indicator("review").expect("review");
    let rating = review
        .combine_ratings(&[
            (Relation::Own, s("90")),
            (Relation::Peer, s("80")),
            (Relation::Peer, s("70")),
            (Relation::Leader, s("88")),
        ])
        .expect("ratings");
    // 90 × 20 + 75 × 30 + 88 × 50 over 100.
    assert_eq!(rating, s("84.5"));
    let deeds = sc.indicator("deeds").expect("deeds");
    let net = [("volunteer", 3), ("absent", 1)]
        .iter()
        .map(|(k, n)| {
            deeds
                .item_points(k)
                .expect(k)
                .checked_mul(Score::points(*n).unwrap())
                .unwrap()
        })
        .fold(Score::ZERO, |a, p| a.checked_add(p).unwrap());
    assert_eq!(net, s("1"));
    let measures = HashMap::from([
        ("meetings", s("11")),
        ("lectures", s("2")),
        ("theme_days", cadence_share(2, 3)),
        ("review", rating),
        ("deeds", net),
    ]);
    let out = sc.score(&|k| measures.get(k).copied()).expect("scored");
    let by_key: Vec<(&str, String, String)> = out
        .lines
        .iter()
        .map(|l| (l.key.as_str(), l.measure.to_string(), l.points.to_string()))
        .collect();
    assert_eq!(
        by_key,
        [
            ("meetings", "11".into(), "20".into()),
            ("lectures", "2".into(), "6".into()),
            ("theme_days", "0.6667".into(), "6.667".into()),
            ("review", "84.5".into(), "16.9".into()),
            ("deeds", "1".into(), "1".into()),
            ("bonus", "5".into(), "5".into()),
        ]
    );
    assert_eq!(out.total, s("55.567"));
    let sum = out
        .lines
        .iter()
        .filter(|l| l.counts)
        .fold(Score::ZERO, |a, l| a.checked_add(l.points).unwrap());
    assert_eq!(sum, out.total, "the breakdown adds up to the total");
    assert_eq!(out.lines[0].dimension.as_deref(), Some("life"));
}

#[test]
fn ratings_out_of_range_or_by_the_wrong_rater_are_refused() {
    let sc = scheme(MEMBER_POINTS);
    let review = sc.indicator("review").unwrap();
    assert_eq!(
        review
            .combine_ratings(&[(Relation::Own, s("101"))])
            .unwrap_err()
            .to_string(),
        "评分101超出范围（0至100）"
    );
    assert_eq!(
        review
            .check_rating(Relation::Inspector, s("50"))
            .unwrap_err()
            .to_string(),
        "本指标不接受督查组评分"
    );
    // A missing leader's rating counts as nothing, not as the others' mean.
    assert_eq!(
        review
            .combine_ratings(&[(Relation::Own, s("100"))])
            .unwrap(),
        s("20")
    );
    assert!(sc
        .indicator("meetings")
        .unwrap()
        .combine_ratings(&[])
        .is_err());
}

#[test]
fn a_scheme_is_written_back_and_read_the_same() {
    let sc = scheme(MEMBER_POINTS);
    let text = sc.to_toml();
    let again = scheme(&text);
    assert_eq!(again.spec, sc.spec);
    assert_eq!(again.to_toml(), text, "export is stable");
}

#[test]
fn stars_and_flags_follow_the_total() {
    let text = format!(
        "{MEMBER_POINTS}
[grade]
min = 0
max = 100
band = [
  {{ from = 0, to = 60, label = \"未评星\" }},
  {{ from = 60, to = 80, label = \"三星\" }},
  {{ from = 80, to = 100, label = \"五星\" }},
]

[flag]
min = 0
max = 100
band = [
  {{ from = 0, to = 40, label = \"红牌\" }},
  {{ from = 40, to = 100, label = \"蓝牌\" }},
]
"
    );
    let sc = scheme(&text);
    let m = HashMap::from([("meetings", s("10")), ("deeds", s("-2"))]);
    let out = sc.score(&|k| m.get(k).copied()).unwrap();
    assert_eq!(out.total, s("18"));
    assert_eq!(out.grade.as_deref(), Some("未评星"));
    assert_eq!(out.flag.as_deref(), Some("红牌"));
}

#[test]
fn references_are_checked_against_the_county() {
    let bad = MEMBER_POINTS
        .replace(
            "where = { meeting_kind = \"党课\" }",
            "where = { meeting_kind = \"党史课\" }",
        )
        .replace(
            "ledger_type = \"theme_day\"",
            "ledger_type = \"theme_days\"",
        )
        .replace(
            "formula = \"if(meetings + lectures >= 26, 5, 0)\"",
            "formula = \"if(meetings + lecture >= 26, 5, 0)\"",
        )
        .replace("weights_total = 100", "weights_total = 90");
    let e = refused(&bad);
    assert_eq!(
        codes(&e),
        [
            (
                "scheme.unknown_option",
                Some(30),
                "indicator[2]（lectures）.where.meeting_kind".to_string()
            ),
            (
                "scheme.unknown_ledger_type",
                Some(38),
                "indicator[3]（theme_days）.ledger_type".to_string()
            ),
            (
                "scheme.weights",
                Some(46),
                "indicator[4]（review）.raters".to_string()
            ),
            (
                "formula.unknown_name",
                Some(68),
                "indicator[6]（bonus）.formula".to_string()
            ),
        ]
    );
    assert_eq!(
        e[0].to_string(),
        "第30行 indicator[2]（lectures）.where.meeting_kind：字段“会议类型”没有选项“党史课”（可选：支部党员大会、支部委员会、党小组会、党课）"
    );
    assert_eq!(e[2].message, "各评分人权重合计为100，与声明的合计90不符");
}

#[test]
fn fields_that_the_kind_does_not_use_and_unknown_keys_are_refused() {
    let bad = MEMBER_POINTS.replace(
        "kind = \"entries\"",
        "kind = \"entries\"\nledger_type = \"theme_day\"",
    );
    let e = refused(&bad);
    assert_eq!(e[0].code, "scheme.field_not_for_kind");
    assert_eq!(e[0].path, "indicator[5]（deeds）.ledger_type");
    let typo = MEMBER_POINTS.replace("points_per = 2\n", "points_pre = 2\n");
    let e = refused(&typo);
    assert_eq!(e[0].code, "scheme.syntax");
    assert_eq!(e[0].line, Some(21));
    assert!(e[0].message.contains("points_pre"), "{}", e[0].message);
    let e = refused("key = ");
    assert_eq!((e[0].code, e[0].line), ("scheme.syntax", Some(1)));
}

#[test]
fn cycles_between_formulas_and_between_schemes_are_refused() {
    let cyc = MEMBER_POINTS.replace(
        "formula = \"if(meetings + lectures >= 26, 5, 0)\"",
        "formula = \"again + 1\"\n\n[[indicator]]\nkey = \"again\"\nname = \"再次\"\nkind = \"formula\"\nformula = \"bonus * 2\"",
    );
    let e = refused(&cyc);
    assert_eq!(codes(&e)[0].0, "scheme.cycle");
    let selfref = MEMBER_POINTS.replace("meetings + lectures >= 26", "bonus >= 26");
    assert_eq!(refused(&selfref)[0].code, "scheme.cycle");
    let reads = format!(
        "{MEMBER_POINTS}
[[indicator]]
key = \"other\"
name = \"引用\"
kind = \"scheme\"
scheme = \"loop_a\"
"
    );
    assert_eq!(refused(&reads)[0].code, "scheme.cycle");
    let fine = reads.replace("loop_a", "standard");
    assert_eq!(scheme(&fine).reads(), ["standard"]);
    let missing = reads.replace("loop_a", "nowhere");
    assert_eq!(refused(&missing)[0].code, "scheme.unknown_scheme");
}

#[test]
fn overlapping_bands_are_refused_with_their_place() {
    let text = format!(
        "{MEMBER_POINTS}
[grade]
min = 0
max = 100
band = [
  {{ from = 0, to = 60, label = \"未评星\" }},
  {{ from = 50, to = 100, label = \"五星\" }},
]
"
    );
    let e = refused(&text);
    assert_eq!(
        (e[0].code, e[0].path.as_str()),
        ("bands.overlap", "grade.band[1]")
    );
}

#[test]
fn the_share_of_due_periods_is_exact() {
    assert_eq!(cadence_share(3, 3), Score::ONE);
    assert_eq!(cadence_share(0, 3), Score::ZERO);
    assert_eq!(cadence_share(5, 3), Score::ONE);
    assert_eq!(cadence_share(0, 0), Score::ZERO);
    assert_eq!(cadence_share(1, 3), s("0.3333"));
}
