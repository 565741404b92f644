//! The ledger type editor: a definition shown as rows of fields and cadences, and those rows read
//! back into a definition.

use crate::shared::prelude::*;

#[derive(Default)]
pub(super) struct FieldRow {
    key: String,
    label: String,
    kind: String,
    required: bool,
    options: String,
    min: String,
    max: String,
    unit: String,
    phrase: String,
    retired: bool,
}

#[derive(Default)]
pub(super) struct CadenceRow {
    label: String,
    cadence: String,
    /// Every organisation kind as (key, 中文名, ticked); none ticked means every kind.
    kinds: Vec<(&'static str, &'static str, bool)>,
    field: String,
    value: String,
    grace: String,
}

impl CadenceRow {
    /// What the closed kind list says: the ticked kinds, or that none narrows it.
    pub(super) fn kinds_summary(&self) -> String {
        let ticked: Vec<&str> = self.kinds.iter().filter(|k| k.2).map(|k| k.1).collect();
        if ticked.is_empty() {
            "不限（全部类型）".into()
        } else {
            ticked.join("、")
        }
    }
}

#[derive(Template)]
#[template(path = "ledgers/ledger_type_form.html")]
pub(super) struct TypeForm {
    nav: Option<Nav>,
    is_new: bool,
    action: String,
    key: String,
    name: String,
    verb: String,
    count_unit: String,
    description: String,
    fields: Vec<FieldRow>,
    cadences: Vec<CadenceRow>,
    field_kinds: Vec<(&'static str, &'static str)>,
    /// The type's fields (key, label), offered for a cadence's condition.
    field_choices: Vec<(String, String)>,
    /// The bound of a numeric field that states none (`ledger::INTEGER_LIMIT`), said beside the
    /// minimum and maximum boxes.
    integer_limit: i64,
    errors: Vec<String>,
    csrf: String,
}

const EXTRA_ROWS: usize = 4;

pub(super) fn type_form(
    nav: Option<Nav>,
    csrf: String,
    def: Option<&LedgerTypeDef>,
    errors: Vec<String>,
    is_new: bool,
) -> TypeForm {
    let mut fields: Vec<FieldRow> = def
        .map(|d| {
            d.fields
                .iter()
                .map(|f| {
                    let (min, max) = match &f.kind {
                        FieldKind::Integer { min, max } => (
                            min.map(|v| v.to_string()).unwrap_or_default(),
                            max.map(|v| v.to_string()).unwrap_or_default(),
                        ),
                        FieldKind::Decimal { min, max, .. } => (
                            min.clone().unwrap_or_default(),
                            max.clone().unwrap_or_default(),
                        ),
                        _ => (String::new(), String::new()),
                    };
                    FieldRow {
                        key: f.key.clone(),
                        label: f.label.clone(),
                        kind: f.kind.key().to_string(),
                        required: f.required,
                        options: f.kind.options().join("、"),
                        min,
                        max,
                        unit: f.unit.clone().unwrap_or_default(),
                        phrase: f.phrase.clone().unwrap_or_default(),
                        retired: f.retired,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    fields.extend((0..EXTRA_ROWS).map(|_| FieldRow {
        kind: "text".into(),
        ..Default::default()
    }));
    let mut cadences: Vec<CadenceRow> = def
        .map(|d| {
            d.cadences
                .iter()
                .map(|c| CadenceRow {
                    label: c.label.clone(),
                    cadence: serde_json::to_value(c.cadence)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    kinds: kind_ticks(&c.org_kinds),
                    field: c.when.as_ref().map(|w| w.field.clone()).unwrap_or_default(),
                    value: c.when.as_ref().map(|w| w.value.clone()).unwrap_or_default(),
                    grace: c.grace_days.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    cadences.extend((0..2).map(|_| CadenceRow {
        kinds: kind_ticks(&[]),
        ..Default::default()
    }));
    let field_choices = def
        .map(|d| {
            d.fields
                .iter()
                .filter(|f| !f.retired)
                .map(|f| (f.key.clone(), f.label.clone()))
                .collect()
        })
        .unwrap_or_default();
    TypeForm {
        nav,
        is_new,
        action: if is_new {
            "/ledger-types".into()
        } else {
            format!(
                "/ledger-types/{}",
                def.map(|d| d.key.as_str()).unwrap_or("")
            )
        },
        key: def.map(|d| d.key.clone()).unwrap_or_default(),
        name: def.map(|d| d.name.clone()).unwrap_or_default(),
        verb: def.map(|d| d.verb.clone()).unwrap_or_else(|| "开展".into()),
        count_unit: def
            .map(|d| d.count_unit.clone())
            .unwrap_or_else(|| "次".into()),
        description: def.map(|d| d.description.clone()).unwrap_or_default(),
        fields,
        cadences,
        field_kinds: FieldKind::KEYS.to_vec(),
        field_choices,
        integer_limit: taizhang_domain::ledger::INTEGER_LIMIT,
        errors,
        csrf,
    }
}

fn kind_ticks(ticked: &[OrgKind]) -> Vec<(&'static str, &'static str, bool)> {
    OrgKind::ALL
        .iter()
        .map(|k| (k.key(), k.label_cn(), ticked.contains(k)))
        .collect()
}

/// A key spelled from `name`'s pinyin that `taken` does not hold (`_2`, `_3` … added).
fn unused_ident(name: &str, taken: impl Fn(&str) -> bool) -> Option<String> {
    const MAX: usize = taizhang_domain::ledger::MAX_KEY;
    let base = taizhang_domain::search::pinyin_ident(name, MAX - 3)?;
    if !taken(&base) {
        return Some(base);
    }
    (2..100).map(|n| format!("{base}_{n}")).find(|k| !taken(k))
}

fn split_list(s: &str) -> Vec<String> {
    s.split(['、', ',', '，', ';', '；', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// Reads the type editor's rows into a definition; row-level mistakes become field errors.
/// Also returns what it could read when some rows are wrong, so the form can be shown again as typed.
pub(super) fn parse_type_form(form: &HashMap<String, String>) -> (LedgerTypeDef, Vec<FieldError>) {
    let get = |k: &str| {
        form.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let mut fields = Vec::new();
    for i in 0..200 {
        let key = get(&format!("f{i}_key"));
        let label = get(&format!("f{i}_label"));
        if !form.contains_key(&format!("f{i}_key")) {
            break;
        }
        if key.is_empty() && label.is_empty() {
            continue;
        }
        // A new field needs no invented key: it is spelled from the label's pinyin.
        let key = if key.is_empty() {
            unused_ident(&label, |k| {
                fields.iter().any(|f: &FieldDef| f.key == k)
                    || (0..200).any(|j| {
                        form.get(&format!("f{j}_key"))
                            .is_some_and(|v| v.trim() == k)
                    })
            })
            .unwrap_or_default()
        } else {
            key
        };
        let options = split_list(&get(&format!("f{i}_options")));
        let (min, max) = (get(&format!("f{i}_min")), get(&format!("f{i}_max")));
        let int = |s: &str, what: &str, errors: &mut Vec<FieldError>| -> Option<i64> {
            let what_cn = if what == "min" {
                "最小值"
            } else {
                "最大值"
            };
            if s.is_empty() {
                return None;
            }
            s.parse()
                .map_err(|_| {
                    errors.push(FieldError::new(
                        format!("fields[{i}].{what}"),
                        "field.bad_range",
                        format!("“{label}”的{what_cn}应为整数"),
                    ))
                })
                .ok()
        };
        let kind = match get(&format!("f{i}_kind")).as_str() {
            "text" => FieldKind::Text { max_len: None },
            "long_text" => FieldKind::LongText { max_len: None },
            "integer" => FieldKind::Integer {
                min: int(&min, "min", &mut errors),
                max: int(&max, "max", &mut errors),
            },
            "decimal" => FieldKind::Decimal {
                scale: 2,
                min: non_empty(&min),
                max: non_empty(&max),
            },
            "date" => FieldKind::Date,
            "choice" => FieldKind::Choice {
                options,
                breakdown: true,
            },
            "multi_choice" => FieldKind::MultiChoice { options },
            "people" => FieldKind::People { max: None },
            "organisation" => FieldKind::Organisation,
            "attachment" => FieldKind::Attachment { max: None },
            other => {
                errors.push(FieldError::new(
                    format!("fields[{i}].kind"),
                    "field.bad_kind",
                    format!("未知的字段类型“{other}”"),
                ));
                continue;
            }
        };
        fields.push(FieldDef {
            key,
            label: label.clone(),
            kind,
            required: form.contains_key(&format!("f{i}_required")),
            unit: non_empty(&get(&format!("f{i}_unit"))),
            phrase: non_empty(&get(&format!("f{i}_phrase"))),
            retired: form.contains_key(&format!("f{i}_retired")),
        });
    }
    let mut cadences = Vec::new();
    for i in 0..50 {
        if !form.contains_key(&format!("c{i}_label")) {
            break;
        }
        let cad = get(&format!("c{i}_cadence"));
        let label = get(&format!("c{i}_label"));
        if cad.is_empty() && label.is_empty() {
            continue;
        }
        let cadence = match cad.as_str() {
            "monthly" => Cadence::Monthly,
            "quarterly" => Cadence::Quarterly,
            "yearly" => Cadence::Yearly,
            _ => {
                errors.push(FieldError::new(
                    format!("cadences[{i}].cadence"),
                    "cadence.bad_cadence",
                    format!("周期要求“{label}”需选择周期"),
                ));
                continue;
            }
        };
        // The editor ticks kinds from the list (`c{i}_kind_village` …); a typed list of keys is
        // read too.
        let mut org_kinds: Vec<OrgKind> = OrgKind::ALL
            .iter()
            .copied()
            .filter(|k| form.contains_key(&format!("c{i}_kind_{}", k.key())))
            .collect();
        for k in split_list(&get(&format!("c{i}_kinds"))) {
            match k.parse::<OrgKind>() {
                Ok(kind) => org_kinds.push(kind),
                Err(_) => errors.push(FieldError::new(
                    format!("cadences[{i}].org_kinds"),
                    "cadence.bad_org_kind",
                    format!("未知的组织类型“{k}”"),
                )),
            }
        }
        let field = get(&format!("c{i}_field"));
        let grace = get(&format!("c{i}_grace"));
        cadences.push(CadenceRule {
            label,
            cadence,
            org_kinds,
            when: (!field.is_empty()).then(|| FieldEquals {
                field,
                value: get(&format!("c{i}_value")),
            }),
            grace_days: if grace.is_empty() {
                0
            } else {
                grace.parse().unwrap_or_else(|_| {
                    errors.push(FieldError::new(
                        format!("cadences[{i}].grace_days"),
                        "cadence.bad_grace",
                        "宽限天数应为非负整数",
                    ));
                    0
                })
            },
        });
    }
    let type_key = match get("key") {
        k if k.is_empty() => unused_ident(&get("name"), |_| false).unwrap_or_default(),
        k => k,
    };
    let def = LedgerTypeDef {
        key: type_key,
        name: get("name"),
        description: get("description"),
        verb: non_empty(&get("verb")).unwrap_or_else(|| "开展".into()),
        count_unit: non_empty(&get("count_unit")).unwrap_or_else(|| "次".into()),
        fields,
        cadences,
    };
    (def, errors)
}

/// The editor shows only some attributes of a field; the others (whether a choice is broken down
/// in bulletins, list and length limits, decimal places) are carried over from the saved version.
pub(super) fn keep_unshown(edited: &mut LedgerTypeDef, saved: &LedgerTypeDef) {
    let saved_fields = saved.field_index();
    for f in edited.fields.iter_mut() {
        let Some(old) = saved_fields.get(f.key.as_str()) else {
            continue;
        };
        match (&mut f.kind, &old.kind) {
            (FieldKind::Choice { breakdown, .. }, FieldKind::Choice { breakdown: b, .. }) => {
                *breakdown = *b
            }
            (FieldKind::People { max }, FieldKind::People { max: m }) => *max = *m,
            (FieldKind::Attachment { max }, FieldKind::Attachment { max: m }) => *max = *m,
            (FieldKind::Text { max_len }, FieldKind::Text { max_len: m }) => *max_len = *m,
            (FieldKind::LongText { max_len }, FieldKind::LongText { max_len: m }) => *max_len = *m,
            (FieldKind::Decimal { scale, .. }, FieldKind::Decimal { scale: sc, .. }) => {
                *scale = *sc
            }
            _ => {}
        }
    }
}
