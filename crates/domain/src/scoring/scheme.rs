//! A scheme as data: who is rated, over which period, by which indicators, and what follows —
//! the total, a grade (stars), a colour flag and a rank. Written in TOML (`docs/scoring.md`),
//! edited by an admin and read by `taizhang scheme import`; checked here, against what the county
//! has recorded (its ledger types and other schemes), before it is saved.

use super::bands::{BandSpec, Bands};
use super::formula::Formula;
use super::rank::Order;
use super::score::Score;
use crate::org::{OrgKind, PositionTitle};
use crate::period::Cadence;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The largest scheme text, in bytes.
pub const MAX_TEXT: usize = 256 * 1024;
/// The most indicators (评星定级 has 38) and dimensions a scheme may have.
pub const MAX_INDICATORS: usize = 200;
pub const MAX_DIMENSIONS: usize = 50;
/// The most items of a checklist, raters of a rating, or entry kinds of an indicator.
pub const MAX_ITEMS: usize = 100;

/// What a scheme says, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeSpec {
    pub key: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub subject: Subject,
    pub period: Cadence,
    #[serde(default, rename = "dimension", skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimension>,
    #[serde(rename = "indicator")]
    pub indicators: Vec<Indicator>,
    /// The total over the indicators' points; the sum of every indicator that `counts` when
    /// left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<Scale>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<Scale>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<RankRule>,
}

/// Who a scheme rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Subject {
    /// Organisations of these kinds (评星定级 of branches, the towns' 创建率).
    Org { org_kinds: Vec<OrgKind> },
    /// People holding one of these positions (党员积分, 全员绩效, 执行力档案).
    Person { positions: Vec<PositionTitle> },
    /// Households (美丽庭院).
    Household,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    pub key: String,
    pub name: String,
}

/// Where an indicator's measure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    /// A count of records, or a sum of one of their numeric fields.
    Records,
    /// The share (0 to 1) of the period's months (or quarters) with a record.
    Cadence,
    /// Raters' scores combined with declared weights.
    Rating,
    /// The points of the checklist items found met.
    Checklist,
    /// Approved positive and negative entries with evidence.
    Entries,
    /// Another scheme's total for the same subject and period.
    Scheme,
    /// A formula over the indicators before it.
    Formula,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    #[default]
    Count,
    Sum,
}

/// Who rates a subject, relative to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The subject itself (自评).
    #[serde(rename = "self")]
    Own,
    /// Others in the same organisation (互评).
    Peer,
    /// The organisation's leaders (鉴评).
    Leader,
    /// Inspectors named for the run (督查组).
    Inspector,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rater {
    pub relation: Relation,
    pub weight: Score,
}

/// A checklist requirement or a kind of positive/negative entry, with its points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub key: String,
    pub text: String,
    pub points: Score,
}

/// One indicator. The fields a kind does not use must be left out (a check says which).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub key: String,
    pub name: String,
    pub kind: IndicatorKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    /// Whether the default total adds this indicator (a formula's inputs may not count alone).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub counts: bool,

    // records, cadence
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_type: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub measure: Measure,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Only records whose choice fields have these values.
    #[serde(default, rename = "where", skip_serializing_if = "BTreeMap::is_empty")]
    pub filter: BTreeMap<String, String>,

    // rating
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raters: Vec<Rater>,
    /// What the raters' weights add up to (100 for 20/30/50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_total: Option<Score>,
    /// The range of one rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[Score; 2]>,

    // checklist, entries
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positive: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub negative: Vec<Item>,
    /// An entry or a met item must point at a record or an attachment.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub evidence: bool,

    // scheme, formula
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,

    // points from the measure
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points_per: Option<Score>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<Score>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<Score>,
}

fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}
fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

/// Stars, grades or colours by bands of the total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub min: Score,
    pub max: Score,
    #[serde(rename = "band")]
    pub bands: Vec<BandSpec>,
}

/// Where subjects are ranked against each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankWithin {
    /// The organisation a person belongs to (a branch's members).
    Branch,
    /// The township.
    Town,
    County,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankRule {
    pub within: RankWithin,
    pub order: Order,
    /// How many are listed at each end (季度之星 / 后进提升榜).
    #[serde(default)]
    pub ends: u32,
}

/// One problem with a scheme: a stable code, where it is (line from 1 when known, and the key
/// path), and what is wrong, in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}{path}：{message}", line.map(|l| format!("第{l}行 ")).unwrap_or_default())]
pub struct SchemeError {
    pub code: &'static str,
    pub line: Option<usize>,
    pub path: String,
    pub message: String,
}

/// What a scheme is checked against: the county's ledger types and its other schemes.
pub trait SchemeContext {
    fn ledger_type(&self, key: &str) -> Option<&crate::ledger::LedgerTypeDef>;
    /// The schemes a saved scheme reads (`None` when there is no such scheme).
    fn scheme_reads(&self, key: &str) -> Option<Vec<String>>;
}

/// A checked scheme: its spec, parsed formulas and bands, and its indicators in the order they
/// are computed (each after what it reads).
#[derive(Debug, Clone)]
pub struct Scheme {
    pub spec: SchemeSpec,
    pub(crate) formulas: HashMap<String, Formula>,
    pub(crate) total: Option<Formula>,
    pub(crate) grade: Option<Bands>,
    pub(crate) flag: Option<Bands>,
    pub(crate) order: Vec<usize>,
}

impl Scheme {
    /// Parses and checks a scheme's text; every problem found is listed.
    pub fn parse(text: &str, ctx: &dyn SchemeContext) -> Result<Scheme, Vec<SchemeError>> {
        if text.len() > MAX_TEXT {
            return Err(vec![SchemeError {
                code: "scheme.too_large",
                line: None,
                path: String::new(),
                message: format!("方案文本不超过{}KB", MAX_TEXT / 1024),
            }]);
        }
        let spec: SchemeSpec = toml::from_str(text).map_err(|e| {
            vec![SchemeError {
                code: "scheme.syntax",
                line: e.span().map(|s| line_of(text, s.start)),
                path: String::new(),
                message: e.message().trim().to_string(),
            }]
        })?;
        let blocks = indicator_blocks(text);
        super::check::check(spec, ctx, &Source { text, blocks })
    }

    /// The scheme written back as TOML, in the same layout `parse` reads.
    pub fn to_toml(&self) -> String {
        to_toml(&self.spec)
    }

    /// The schemes this one reads.
    pub fn reads(&self) -> Vec<String> {
        reads(&self.spec)
    }
}

pub fn to_toml(spec: &SchemeSpec) -> String {
    toml::to_string(spec).unwrap_or_default()
}

pub(crate) fn reads(spec: &SchemeSpec) -> Vec<String> {
    let mut out: Vec<String> = spec
        .indicators
        .iter()
        .filter_map(|i| i.scheme.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

pub(crate) fn line_of(text: &str, byte: usize) -> usize {
    let at = byte.min(text.len());
    text.as_bytes()[..at]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Where each indicator is written: the lines from its `[[indicator]]` header to the next
/// table header, so a problem names the line of the key it is about.
pub(crate) struct Source<'a> {
    pub text: &'a str,
    /// 1-based, the header's line and the line after the block.
    pub blocks: Vec<(usize, usize)>,
}

impl Source<'_> {
    /// The line of `key` (the first segment of a path such as `.where.meeting_kind`) in the
    /// n-th indicator, else the indicator's header.
    pub fn line(&self, n: usize, sub: &str) -> Option<usize> {
        let (from, to) = *self.blocks.get(n)?;
        let key: String = sub
            .trim_start_matches('.')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if key.is_empty() {
            return Some(from);
        }
        let found = self
            .text
            .lines()
            .enumerate()
            .skip(from)
            .take(to.saturating_sub(from + 1))
            .find(|(_, l)| {
                l.trim_start()
                    .strip_prefix(key.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            });
        Some(found.map_or(from, |(i, _)| i + 1))
    }
}

fn indicator_blocks(text: &str) -> Vec<(usize, usize)> {
    let mut blocks = Vec::new();
    let mut open: Option<usize> = None;
    let mut last = 0;
    for (i, l) in text.lines().enumerate() {
        last = i + 1;
        let t = l.trim_start();
        if t.starts_with('[') && !t.starts_with("[ ") && !t.starts_with("[\"") {
            let header: String = t.chars().filter(|c| !c.is_whitespace()).collect();
            // Only table headers, not arrays continued on their own lines.
            if header.starts_with("[[") || header.ends_with(']') && !header.contains(',') {
                if let Some(start) = open.take() {
                    blocks.push((start, i + 1));
                }
                if header.starts_with("[[indicator]]") {
                    open = Some(i + 1);
                }
            }
        }
    }
    if let Some(start) = open {
        blocks.push((start, last + 1));
    }
    blocks
}

/// Keys of schemes, indicators, dimensions and items: `[a-z][a-z0-9_]*`, at most 40.
pub(crate) fn is_key(k: &str) -> bool {
    let mut c = k.chars();
    matches!(c.next(), Some('a'..='z'))
        && k.len() <= 40
        && c.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub(crate) fn distinct<'a>(keys: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = HashSet::new();
    keys.into_iter().find(|&k| !seen.insert(k))
}
