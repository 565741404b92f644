//! Ledger types (台账类型) defined as data, and the validation of records against them.
//!
//! A type has a stable key, a name and versioned field definitions. Records are validated
//! against the version current when they are written, and keep that version. Fields are never
//! deleted from a type, only retired, so old records stay readable.

use crate::org::{OrgKind, OrgRef, PersonId};
use crate::period::{check_date_field, parse_date, Cadence};
use crate::text::{self, TextRule};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// Bounds on what one definition or one record may hold, so that no input makes validation, the
/// store's checks or the bulletins' work grow without limit. The type editor offers 200 field
/// rows and 50 cadence rows; a definition sent to the API is held to the same.
pub const MAX_FIELDS: usize = 200;
pub const MAX_CADENCES: usize = 50;
/// Options of one choice field.
pub const MAX_OPTIONS: usize = 100;
/// People one people field may name, whatever its own `max` says (a type's `max` may only be lower).
pub const MAX_PEOPLE: u32 = 2000;
/// Attachments one attachment field may hold.
pub const MAX_ATTACHMENTS: u32 = 50;
/// The longest list a record's value may be as sent, duplicates included: longer lists are
/// refused by their length, before any item is read.
pub const MAX_LIST_ITEMS: usize = MAX_PEOPLE as usize;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerTypeDef {
    /// Stable key, `[a-z][a-z0-9_]*`: the API and URLs use it.
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The verb a bulletin uses for this work: 开展 (三会一课), 组织 (培训)…
    #[serde(default = "default_verb")]
    pub verb: String,
    /// The unit a record is counted in: 次, 期, 场.
    #[serde(default = "default_count_unit")]
    pub count_unit: String,
    pub fields: Vec<FieldDef>,
    #[serde(default)]
    pub cadences: Vec<CadenceRule>,
}

fn default_verb() -> String {
    "开展".into()
}
fn default_count_unit() -> String {
    "次".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    pub key: String,
    pub label: String,
    #[serde(flatten)]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// The unit numeric values are counted in (户, 人次, 处); bulletins sum fields that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// How a bulletin names the sum: "走访群众" → "走访群众1.4万余户".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phrase: Option<String>,
    /// A retired field stays readable on old records but is no longer asked for.
    #[serde(default)]
    pub retired: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    Text {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_len: Option<u32>,
    },
    LongText {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_len: Option<u32>,
    },
    Integer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    /// Stored exactly as an integer scaled by 10^scale.
    Decimal {
        scale: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<String>,
    },
    Date,
    Choice {
        options: Vec<String>,
        /// Bulletins break counts down by this field ("其中党课304次").
        #[serde(default)]
        breakdown: bool,
    },
    MultiChoice {
        options: Vec<String>,
    },
    People {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u32>,
    },
    Organisation,
    Attachment {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u32>,
    },
}

/// The widest range an integer field may take, and its range when its type states none: 0 to
/// 1,000,000,000 (10亿). A decimal field's values are held to the same number of whole units. So
/// no record carries a number a bulletin's sum could not add up (the store sums without
/// overflow anyway, for values stored before the bound).
pub const INTEGER_LIMIT: i64 = 1_000_000_000;

/// The longest `max_len` a text field may state, and a long-text field.
pub const TEXT_MAX_LEN: u32 = 2_000;
pub const LONG_TEXT_MAX_LEN: u32 = 20_000;

impl FieldKind {
    /// The range of a numeric field's (scaled) values: what its type states, within
    /// ±`INTEGER_LIMIT` whole units, and 0..=`INTEGER_LIMIT` where it states nothing.
    pub fn numeric_bounds(&self) -> Option<(i64, i64)> {
        let (scale, min, max) = match self {
            FieldKind::Integer { min, max } => (0, *min, *max),
            FieldKind::Decimal { scale, min, max } => {
                let parse = |m: &Option<String>| m.as_deref().and_then(|m| parse_scaled(m, *scale));
                (*scale, parse(min), parse(max))
            }
            _ => return None,
        };
        let limit = 10_i64
            .checked_pow(scale)
            .and_then(|p| p.checked_mul(INTEGER_LIMIT))
            .unwrap_or(i64::MAX);
        Some((
            min.unwrap_or(0).clamp(-limit, limit),
            max.unwrap_or(limit).clamp(-limit, limit),
        ))
    }

    pub fn key(&self) -> &'static str {
        match self {
            FieldKind::Text { .. } => "text",
            FieldKind::LongText { .. } => "long_text",
            FieldKind::Integer { .. } => "integer",
            FieldKind::Decimal { .. } => "decimal",
            FieldKind::Date => "date",
            FieldKind::Choice { .. } => "choice",
            FieldKind::MultiChoice { .. } => "multi_choice",
            FieldKind::People { .. } => "people",
            FieldKind::Organisation => "organisation",
            FieldKind::Attachment { .. } => "attachment",
        }
    }

    pub fn label_cn(&self) -> &'static str {
        match self {
            FieldKind::Text { .. } => "文本",
            FieldKind::LongText { .. } => "长文本",
            FieldKind::Integer { .. } => "整数",
            FieldKind::Decimal { .. } => "小数",
            FieldKind::Date => "日期",
            FieldKind::Choice { .. } => "单选",
            FieldKind::MultiChoice { .. } => "多选",
            FieldKind::People { .. } => "人员",
            FieldKind::Organisation => "组织",
            FieldKind::Attachment { .. } => "附件",
        }
    }

    pub const KEYS: &'static [(&'static str, &'static str)] = &[
        ("text", "文本"),
        ("long_text", "长文本"),
        ("integer", "整数"),
        ("decimal", "小数"),
        ("date", "日期"),
        ("choice", "单选"),
        ("multi_choice", "多选"),
        ("people", "人员"),
        ("organisation", "组织"),
        ("attachment", "附件"),
    ];

    /// Numeric values (scale) that bulletins can sum.
    pub fn numeric_scale(&self) -> Option<u32> {
        match self {
            FieldKind::Integer { .. } => Some(0),
            FieldKind::Decimal { scale, .. } => Some(*scale),
            _ => None,
        }
    }

    pub fn options(&self) -> &[String] {
        match self {
            FieldKind::Choice { options, .. } | FieldKind::MultiChoice { options } => options,
            _ => &[],
        }
    }
}

/// "Organisations of these kinds must record this every month/quarter/year", optionally only
/// records whose choice field has a given value (三会一课 → 党课 quarterly).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CadenceRule {
    pub label: String,
    pub cadence: Cadence,
    pub org_kinds: Vec<OrgKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<FieldEquals>,
    /// Days after the period's end before a missing record counts as overdue.
    #[serde(default)]
    pub grace_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldEquals {
    pub field: String,
    pub value: String,
}

/// One problem with one field, in a form a cadre understands and a program can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// A record's values after validation: canonical JSON plus what the store must index or check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValidatedRecord {
    pub values: Map<String, Value>,
    /// People referenced by people fields: the store checks they exist and are in scope.
    pub people: Vec<PersonId>,
    /// Organisations referenced by organisation fields.
    pub orgs: Vec<(String, OrgRef)>,
    /// Attachment ids (content hashes) referenced by attachment fields.
    pub attachments: Vec<String>,
    /// Facts bulletins aggregate: numeric values (scaled) and chosen options.
    pub facts: Vec<Fact>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    Number { field: String, value: i64 },
    Choice { field: String, option: String },
}

/// The longest key of a ledger type or field.
pub const MAX_KEY: usize = 40;

fn is_key(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some('a'..='z'))
        && s.len() <= MAX_KEY
        && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
}

/// Parses "123.45" into 12345 at scale 2; refuses more decimals than the scale allows.
pub fn parse_scaled(s: &str, scale: u32) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if frac.len() > scale as usize {
        return None;
    }
    let int: i64 = int.parse().ok()?;
    let frac_val: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let v = int
        .checked_mul(10_i64.checked_pow(scale)?)?
        .checked_add(frac_val * 10_i64.pow(scale - frac.len() as u32))?;
    Some(if neg { -v } else { v })
}

impl LedgerTypeDef {
    pub fn field(&self, key: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// The fields by key, for looking many keys up (one pass over the fields, then one lookup
    /// each, where [`LedgerTypeDef::field`] would scan the fields for every key).
    pub fn field_index(&self) -> HashMap<&str, &FieldDef> {
        self.fields.iter().map(|f| (f.key.as_str(), f)).collect()
    }

    pub fn active_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(|f| !f.retired)
    }

    /// Checks the definition itself: keys, labels, options, ranges, cadence rules.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !is_key(&self.key) {
            errors.push(FieldError::new(
                "key",
                "ledger_type.bad_key",
                "类型标识应以小写字母开头，只含小写字母、数字和下划线，不超过40个字符",
            ));
        }
        match text::LEDGER_TYPE_NAME.check(&self.name) {
            Ok(name) if name.is_empty() => errors.push(FieldError::new(
                "name",
                "ledger_type.bad_name",
                "类型名称不能为空，且不超过40个字",
            )),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
        let mut text = |rule: TextRule, field: String, value: &str| {
            if let Err(e) = rule.check_at(field, value) {
                errors.push(e);
            }
        };
        text(
            text::LEDGER_TYPE_DESCRIPTION,
            "description".into(),
            &self.description,
        );
        text(text::VERB, "verb".into(), &self.verb);
        text(text::COUNT_UNIT, "count_unit".into(), &self.count_unit);
        for (i, f) in self.fields.iter().enumerate() {
            let at = format!("fields[{i}]");
            text(text::FIELD_LABEL, format!("{at}.label"), &f.label);
            for (rule, value) in [(text::FIELD_UNIT, &f.unit), (text::FIELD_PHRASE, &f.phrase)] {
                if let Some(v) = value {
                    text(rule, format!("{at}.{}", rule.field), v);
                }
            }
            for (j, o) in f.kind.options().iter().enumerate() {
                text(text::OPTION, format!("{at}.options[{j}]"), o);
            }
        }
        for (i, c) in self.cadences.iter().enumerate() {
            text(
                text::CADENCE_LABEL,
                format!("cadences[{i}].label"),
                &c.label,
            );
        }
        if self.fields.is_empty() {
            errors.push(FieldError::new(
                "fields",
                "ledger_type.no_fields",
                "至少需要一个字段",
            ));
        }
        // Oversized lists are refused by their length, before any item is looked at.
        if self.fields.len() > MAX_FIELDS {
            errors.push(FieldError::new(
                "fields",
                "ledger_type.too_many_fields",
                format!("字段不能超过{MAX_FIELDS}个"),
            ));
        }
        if self.cadences.len() > MAX_CADENCES {
            errors.push(FieldError::new(
                "cadences",
                "ledger_type.too_many_cadences",
                format!("周期要求不能超过{MAX_CADENCES}条"),
            ));
        }
        if self.fields.len() > MAX_FIELDS || self.cadences.len() > MAX_CADENCES {
            return Err(errors);
        }
        let index = self.field_index();
        let mut seen = HashSet::new();
        for (i, f) in self.fields.iter().enumerate() {
            let at = format!("fields[{i}]");
            if !is_key(&f.key) {
                errors.push(FieldError::new(
                    format!("{at}.key"),
                    "field.bad_key",
                    format!(
                        "字段标识“{}”无效：应以小写字母开头，只含小写字母、数字和下划线",
                        f.key
                    ),
                ));
            } else if !seen.insert(f.key.as_str()) {
                errors.push(FieldError::new(
                    format!("{at}.key"),
                    "field.duplicate_key",
                    format!("字段标识“{}”重复", f.key),
                ));
            }
            if f.label.trim().is_empty() && !errors.iter().any(|e| e.field == format!("{at}.label"))
            {
                errors.push(FieldError::new(
                    format!("{at}.label"),
                    "field.bad_label",
                    "字段名称不能为空",
                ));
            }
            match &f.kind {
                FieldKind::Choice { options, .. } | FieldKind::MultiChoice { options }
                    if options.len() > MAX_OPTIONS =>
                {
                    errors.push(FieldError::new(
                        format!("{at}.options"),
                        "field.too_many_options",
                        format!("“{}”的选项不能超过{MAX_OPTIONS}个", f.label),
                    ));
                }
                FieldKind::Choice { options, .. } | FieldKind::MultiChoice { options }
                    if errors
                        .iter()
                        .any(|e| e.field.starts_with(&format!("{at}.options["))) => {}
                FieldKind::Choice { options, .. } | FieldKind::MultiChoice { options } => {
                    let distinct: HashSet<_> = options.iter().map(|o| o.trim()).collect();
                    if options.is_empty() || options.iter().any(|o| o.trim().is_empty()) {
                        errors.push(FieldError::new(
                            format!("{at}.options"),
                            "field.no_options",
                            format!("“{}”需要至少一个非空选项", f.label),
                        ));
                    } else if distinct.len() != options.len() {
                        errors.push(FieldError::new(
                            format!("{at}.options"),
                            "field.duplicate_option",
                            format!("“{}”的选项有重复", f.label),
                        ));
                    }
                }
                FieldKind::People { max: Some(m) } if *m > MAX_PEOPLE => {
                    errors.push(FieldError::new(
                        format!("{at}.max"),
                        "field.bad_max",
                        format!("“{}”最多可设{MAX_PEOPLE}人", f.label),
                    ));
                }
                FieldKind::Attachment { max: Some(m) } if *m > MAX_ATTACHMENTS => {
                    errors.push(FieldError::new(
                        format!("{at}.max"),
                        "field.bad_max",
                        format!("“{}”最多可设{MAX_ATTACHMENTS}个附件", f.label),
                    ));
                }
                FieldKind::Integer { min, max } => {
                    let beyond = |m: &Option<i64>| {
                        m.is_some_and(|m| m.unsigned_abs() > INTEGER_LIMIT as u64)
                    };
                    for (end, m) in [("min", min), ("max", max)] {
                        if beyond(m) {
                            errors.push(out_of_limit(&at, end, &f.label));
                        }
                    }
                    if let (Some(a), Some(b)) = (min, max) {
                        if a > b {
                            errors.push(FieldError::new(
                                format!("{at}.min"),
                                "field.bad_range",
                                format!("“{}”的最小值大于最大值", f.label),
                            ));
                        }
                    }
                }
                FieldKind::Text { max_len } | FieldKind::LongText { max_len } => {
                    let most = if matches!(f.kind, FieldKind::Text { .. }) {
                        TEXT_MAX_LEN
                    } else {
                        LONG_TEXT_MAX_LEN
                    };
                    if max_len.is_some_and(|m| m == 0 || m > most) {
                        errors.push(FieldError::new(
                            format!("{at}.max_len"),
                            "field.bad_max_len",
                            format!("“{}”的最大字数应在1至{most}之间", f.label),
                        ));
                    }
                }
                FieldKind::Decimal { scale, min, max } => {
                    if *scale > 6 {
                        errors.push(FieldError::new(
                            format!("{at}.scale"),
                            "field.bad_scale",
                            "小数位数不能超过6位",
                        ));
                    } else {
                        let lo = min.as_deref().map(|m| parse_scaled(m, *scale));
                        let hi = max.as_deref().map(|m| parse_scaled(m, *scale));
                        if matches!(lo, Some(None)) || matches!(hi, Some(None)) {
                            errors.push(FieldError::new(
                                format!("{at}.min"),
                                "field.bad_range",
                                format!("“{}”的取值范围不是有效数字", f.label),
                            ));
                        } else if let Some((end, _)) =
                            [("min", lo), ("max", hi)].into_iter().find(|(_, m)| {
                                let limit = INTEGER_LIMIT as u64 * 10_u64.pow(*scale);
                                m.flatten().is_some_and(|m| m.unsigned_abs() > limit)
                            })
                        {
                            errors.push(out_of_limit(&at, end, &f.label));
                        } else if let (Some(Some(a)), Some(Some(b))) = (lo, hi) {
                            if a > b {
                                errors.push(FieldError::new(
                                    format!("{at}.min"),
                                    "field.bad_range",
                                    format!("“{}”的最小值大于最大值", f.label),
                                ));
                            }
                        }
                    }
                }
                _ => {}
            }
            if f.unit.is_some() && f.kind.numeric_scale().is_none() {
                errors.push(FieldError::new(
                    format!("{at}.unit"),
                    "field.unit_not_numeric",
                    format!("只有数字字段可以设置单位（“{}”不是数字）", f.label),
                ));
            }
        }
        for (i, c) in self.cadences.iter().enumerate() {
            let at = format!("cadences[{i}]");
            if c.org_kinds.is_empty() {
                errors.push(FieldError::new(
                    format!("{at}.org_kinds"),
                    "cadence.no_org_kinds",
                    "周期要求需指定适用的组织类型",
                ));
            } else if c.org_kinds.len() > OrgKind::ALL.len() {
                errors.push(FieldError::new(
                    format!("{at}.org_kinds"),
                    "cadence.too_many_org_kinds",
                    format!("周期要求的组织类型不能超过{}个", OrgKind::ALL.len()),
                ));
            }
            if c.label.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("{at}.label"),
                    "cadence.bad_label",
                    "周期要求需要名称",
                ));
            }
            if let Some(w) = &c.when {
                match index.get(w.field.as_str()) {
                    Some(FieldDef {
                        kind: FieldKind::Choice { options, .. },
                        ..
                    }) if options.contains(&w.value) => {}
                    _ => errors.push(FieldError::new(
                        format!("{at}.when"),
                        "cadence.bad_condition",
                        format!(
                            "周期要求的条件“{}={}”不对应任何单选字段的选项",
                            w.field, w.value
                        ),
                    )),
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// A new version may add and retire fields, never remove or retype one.
    pub fn check_evolution(&self, next: &LedgerTypeDef) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if next.key != self.key {
            errors.push(FieldError::new(
                "key",
                "ledger_type.key_changed",
                "类型标识创建后不能修改",
            ));
        }
        let next_fields = next.field_index();
        for old in &self.fields {
            match next_fields.get(old.key.as_str()) {
                None => errors.push(FieldError::new(
                    old.key.clone(),
                    "field.removed",
                    format!("字段“{}”已有记录使用，不能删除，只能停用", old.label),
                )),
                Some(new) if new.kind.key() != old.kind.key() => errors.push(FieldError::new(
                    old.key.clone(),
                    "field.retyped",
                    format!("字段“{}”的类型不能修改", old.label),
                )),
                Some(_) => {}
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Validates a record's values. Every problem is reported, not only the first.
    pub fn validate_record(
        &self,
        input: &Map<String, Value>,
    ) -> Result<ValidatedRecord, Vec<FieldError>> {
        check_record_bounds(input)?;
        let index = self.field_index();
        let mut out = ValidatedRecord::default();
        let mut errors = Vec::new();
        for key in input.keys() {
            match index.get(key.as_str()) {
                None => errors.push(FieldError::new(
                    key.clone(),
                    "field.unknown",
                    format!("未知字段“{key}”"),
                )),
                Some(f) if f.retired && !is_blank(&input[key]) => errors.push(FieldError::new(
                    key.clone(),
                    "field.retired",
                    format!("字段“{}”已停用", f.label),
                )),
                _ => {}
            }
        }
        for f in self.active_fields() {
            let v = input.get(&f.key).filter(|v| !is_blank(v));
            let Some(v) = v else {
                if f.required {
                    errors.push(FieldError::new(
                        f.key.clone(),
                        "field.required",
                        format!("请填写“{}”", f.label),
                    ));
                }
                continue;
            };
            match validate_value(f, v, &mut out) {
                Ok(canonical) => {
                    out.values.insert(f.key.clone(), canonical);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

/// A stated bound beyond ±`INTEGER_LIMIT`.
fn out_of_limit(at: &str, end: &str, label: &str) -> FieldError {
    FieldError::new(
        format!("{at}.{end}"),
        "field.bad_range",
        format!("“{label}”的取值范围不能超出正负{INTEGER_LIMIT}"),
    )
}

/// What a record may hold before its type is known: at most [`MAX_FIELDS`] values, and no list
/// longer than [`MAX_LIST_ITEMS`]. Cheap (no item is read), so it runs before any database work;
/// [`LedgerTypeDef::validate_record`] runs it first too.
pub fn check_record_bounds(input: &Map<String, Value>) -> Result<(), Vec<FieldError>> {
    if input.len() > MAX_FIELDS {
        return Err(vec![FieldError::new(
            "fields",
            "record.too_many_fields",
            format!("一条记录最多{MAX_FIELDS}个字段"),
        )]);
    }
    let errors: Vec<FieldError> = input
        .iter()
        .filter(|(_, v)| matches!(v, Value::Array(a) if a.len() > MAX_LIST_ITEMS))
        .map(|(k, _)| {
            FieldError::new(
                k.clone(),
                "field.too_many",
                format!("“{k}”最多{MAX_LIST_ITEMS}项"),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The items in their first-seen order without repeats, in one pass (a set remembers what was
/// seen, where scanning the list so far for each item took time growing with its square).
fn distinct_in_order<T: Eq + std::hash::Hash + Clone>(
    items: impl IntoIterator<Item = T>,
) -> Vec<T> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|x| seen.insert(x.clone()))
        .collect()
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Strings or single values where a list is expected are accepted as a one-item list.
fn as_list(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a,
        other => std::slice::from_ref(other),
    }
}

fn validate_value(f: &FieldDef, v: &Value, out: &mut ValidatedRecord) -> Result<Value, FieldError> {
    let label = &f.label;
    let err = |code: &str, msg: String| FieldError::new(f.key.clone(), code, msg);
    match &f.kind {
        FieldKind::Text { max_len } | FieldKind::LongText { max_len } => {
            let s =
                as_text(v).ok_or_else(|| err("field.not_text", format!("“{label}”应为文字")))?;
            let limit = max_len.unwrap_or(if matches!(f.kind, FieldKind::Text { .. }) {
                200
            } else {
                5000
            });
            if s.chars().count() > limit as usize {
                return Err(err(
                    "field.too_long",
                    format!("“{label}”不能超过{limit}个字"),
                ));
            }
            if s.chars().any(|c| text::is_forbidden(c, text::Lines::Multi)) {
                return Err(err("field.control_chars", format!("“{label}”包含无效字符")));
            }
            Ok(Value::String(s))
        }
        FieldKind::Integer { .. } => {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| err("field.not_integer", format!("“{label}”应为整数")))?;
            let (lo, hi) = f.kind.numeric_bounds().unwrap_or((0, INTEGER_LIMIT));
            if n < lo {
                return Err(err("field.below_min", format!("“{label}”不能小于{lo}")));
            }
            if n > hi {
                return Err(err("field.above_max", format!("“{label}”不能大于{hi}")));
            }
            out.facts.push(Fact::Number {
                field: f.key.clone(),
                value: n,
            });
            Ok(Value::from(n))
        }
        FieldKind::Decimal { scale, .. } => {
            let text = match v {
                Value::Number(n) => Some(n.to_string()),
                Value::String(s) => Some(s.trim().to_string()),
                _ => None,
            };
            let n = text
                .as_deref()
                .and_then(|t| parse_scaled(t, *scale))
                .ok_or_else(|| {
                    err(
                        "field.not_decimal",
                        format!("“{label}”应为数字，最多{scale}位小数"),
                    )
                })?;
            let limit = INTEGER_LIMIT.saturating_mul(10_i64.saturating_pow(*scale));
            let (lo, hi) = f.kind.numeric_bounds().unwrap_or((0, limit));
            if n < lo {
                return Err(err(
                    "field.below_min",
                    format!("“{label}”不能小于{}", crate::phrasing::scaled(lo, *scale)),
                ));
            }
            if n > hi {
                return Err(err(
                    "field.above_max",
                    format!("“{label}”不能大于{}", crate::phrasing::scaled(hi, *scale)),
                ));
            }
            out.facts.push(Fact::Number {
                field: f.key.clone(),
                value: n,
            });
            Ok(Value::String(crate::phrasing::scaled(n, *scale)))
        }
        FieldKind::Date => {
            let s =
                as_text(v).ok_or_else(|| err("field.not_date", format!("“{label}”应为日期")))?;
            let d: NaiveDate = parse_date(&s).map_err(|_| {
                err(
                    "field.not_date",
                    format!("“{label}”应为日期，格式如2026-03-31"),
                )
            })?;
            Ok(Value::String(check_date_field(&f.key, d)?.to_string()))
        }
        FieldKind::Choice { options, .. } => {
            let s = as_text(v)
                .ok_or_else(|| err("field.not_choice", format!("“{label}”应从选项中选择")))?;
            if !options.contains(&s) {
                return Err(err(
                    "field.not_choice",
                    format!("“{label}”应为以下之一：{}", options.join("、")),
                ));
            }
            out.facts.push(Fact::Choice {
                field: f.key.clone(),
                option: s.clone(),
            });
            Ok(Value::String(s))
        }
        FieldKind::MultiChoice { options } => {
            let offered: HashSet<&str> = options.iter().map(String::as_str).collect();
            let mut texts = Vec::new();
            for item in as_list(v) {
                let s = as_text(item)
                    .ok_or_else(|| err("field.not_choice", format!("“{label}”应从选项中选择")))?;
                if !offered.contains(s.as_str()) {
                    return Err(err(
                        "field.not_choice",
                        format!("“{label}”的“{s}”不在选项中：{}", options.join("、")),
                    ));
                }
                texts.push(s);
            }
            let chosen = distinct_in_order(texts);
            for s in &chosen {
                out.facts.push(Fact::Choice {
                    field: f.key.clone(),
                    option: s.clone(),
                });
            }
            Ok(Value::from(chosen))
        }
        FieldKind::People { max } => {
            let mut read = Vec::new();
            for item in as_list(v) {
                let id = match item {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                }
                .ok_or_else(|| err("field.not_people", format!("“{label}”应为人员编号列表")))?;
                read.push(id);
            }
            let ids = distinct_in_order(read);
            let m = max.unwrap_or(MAX_PEOPLE).min(MAX_PEOPLE);
            if ids.len() > m as usize {
                return Err(err("field.too_many", format!("“{label}”最多{m}人")));
            }
            out.people.extend(ids.iter().map(|&id| PersonId::new(id)));
            Ok(Value::from(ids))
        }
        FieldKind::Organisation => {
            let s =
                as_text(v).ok_or_else(|| err("field.not_org", format!("“{label}”应为组织编码")))?;
            let r: OrgRef = s
                .parse()
                .map_err(|_| err("field.not_org", format!("“{label}”不是有效的组织编码")))?;
            out.orgs.push((f.key.clone(), r));
            Ok(Value::String(s))
        }
        FieldKind::Attachment { max } => {
            let limit = max.unwrap_or(9).min(MAX_ATTACHMENTS);
            if as_list(v).len() > limit as usize {
                return Err(err("field.too_many", format!("“{label}”最多{limit}个附件")));
            }
            let mut ids = Vec::new();
            for item in as_list(v) {
                let s = as_text(item).unwrap_or_default();
                if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err(
                        "field.not_attachment",
                        format!("“{label}”的附件编号无效"),
                    ));
                }
                ids.push(s.to_ascii_lowercase());
            }
            out.attachments.extend(ids.iter().cloned());
            Ok(Value::from(ids))
        }
    }
}

#[cfg(test)]
mod bounds_tests;

#[cfg(test)]
mod tests;

mod changes;
pub use changes::{changed_fields, MAX_RECORD_VERSIONS};
