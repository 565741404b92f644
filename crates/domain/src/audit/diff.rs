//! An entry's before and after objects as lines an auditor reads — 名称：旧 → 新 — instead of
//! JSON. Bounded: at most [`MAX_LINES`] lines of at most [`MAX_VALUE_CHARS`] characters a value,
//! the rest counted; the work is linear in the objects' size (sorted maps, no pairwise search).

use super::names::field_label;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// An object's fields by their labelled path.
type Leaves<'a> = BTreeMap<String, &'a Value>;

/// Lines shown of one entry; the others are counted in [`Diff::more`].
pub const MAX_LINES: usize = 40;
/// Characters shown of one value; a longer one ends in "…".
pub const MAX_VALUE_CHARS: usize = 120;
/// Objects nested this deep are opened into fields of their own (`内容.households`); deeper
/// ones are written inline.
const OPENED_DEPTH: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Changed,
    /// Only in the after object (every field of a creation).
    Added,
    /// Only in the before object.
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    /// The field's Chinese name, with its path for a nested one: `内容.households`.
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    pub lines: Vec<DiffLine>,
    /// Changed fields past [`MAX_LINES`], not shown.
    pub more: usize,
}

/// The fields that differ between `before` and `after`, in the order of their keys. A field in
/// both with the same value is left out.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Diff {
    let (old, new) = (leaves(before), leaves(after));
    let mut paths: Vec<&String> = old.keys().chain(new.keys()).collect();
    paths.sort_unstable();
    paths.dedup();
    let mut out = Diff::default();
    for path in paths {
        let (b, a) = (old.get(path).copied(), new.get(path).copied());
        let change = match (b, a) {
            (Some(b), Some(a)) if b == a => continue,
            (Some(_), Some(_)) => Change::Changed,
            (None, _) => Change::Added,
            (_, None) => Change::Removed,
        };
        if out.lines.len() == MAX_LINES {
            out.more += 1;
            continue;
        }
        out.lines.push(DiffLine {
            field: path.clone(),
            before: b.map(value_text),
            after: a.map(value_text),
            change,
        });
    }
    out
}

/// The object's fields by their labelled path; a value that is not an object is one field, 值.
fn leaves(v: Option<&Value>) -> Leaves<'_> {
    let mut out = BTreeMap::new();
    match v {
        None => {}
        Some(Value::Object(m)) => open(m, "", 0, &mut out),
        Some(other) => {
            out.insert("值".to_string(), other);
        }
    }
    out
}

fn open<'a>(m: &'a Map<String, Value>, path: &str, depth: usize, out: &mut Leaves<'a>) {
    for (k, val) in m {
        let label = field_label(k);
        let here = if path.is_empty() {
            label.to_string()
        } else {
            format!("{path}.{label}")
        };
        match val {
            Value::Object(inner) if depth + 1 < OPENED_DEPTH && !inner.is_empty() => {
                open(inner, &here, depth + 1, out)
            }
            _ => {
                out.insert(here, val);
            }
        }
    }
}

/// A value as text: strings without quotes, 是/否, lists joined by 、, objects as 名：值；….
pub fn value_text(v: &Value) -> String {
    let mut w = Bounded {
        out: String::new(),
        left: MAX_VALUE_CHARS,
        cut: false,
    };
    w.value(v);
    if w.cut {
        w.out.push('…');
    }
    w.out
}

/// Text that stops growing at its bound, so that a huge value costs no more than a short one.
struct Bounded {
    out: String,
    left: usize,
    cut: bool,
}

impl Bounded {
    fn push(&mut self, s: &str) {
        for c in s.chars() {
            if self.left == 0 {
                self.cut = true;
                return;
            }
            self.out.push(c);
            self.left -= 1;
        }
    }

    fn value(&mut self, v: &Value) {
        if self.cut {
            return;
        }
        match v {
            Value::Null => self.push("（空）"),
            Value::Bool(true) => self.push("是"),
            Value::Bool(false) => self.push("否"),
            Value::Number(n) => self.push(&n.to_string()),
            Value::String(s) if s.is_empty() => self.push("（空）"),
            Value::String(s) => self.push(s),
            Value::Array(items) if items.is_empty() => self.push("（无）"),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if self.cut {
                        return;
                    }
                    if i > 0 {
                        self.push("、");
                    }
                    self.value(item);
                }
            }
            Value::Object(m) if m.is_empty() => self.push("（无）"),
            Value::Object(m) => {
                for (i, (k, item)) in m.iter().enumerate() {
                    if self.cut {
                        return;
                    }
                    if i > 0 {
                        self.push("；");
                    }
                    self.push(field_label(k));
                    self.push("：");
                    self.value(item);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(field: &str, before: Option<&str>, after: Option<&str>, change: Change) -> DiffLine {
        DiffLine {
            field: field.into(),
            before: before.map(String::from),
            after: after.map(String::from),
            change,
        }
    }

    #[test]
    fn a_rename_shows_only_the_changed_field() {
        let before = json!({"name": "审计村", "kind": "village", "parent_id": 5});
        let after = json!({"name": "审计村二", "kind": "village", "parent_id": 5});
        assert_eq!(
            diff(Some(&before), Some(&after)),
            Diff {
                lines: vec![line(
                    "名称",
                    Some("审计村"),
                    Some("审计村二"),
                    Change::Changed
                )],
                more: 0
            }
        );
    }

    #[test]
    fn a_created_record_reads_field_by_field() {
        let after = json!({
            "ledger_type": "visit",
            "org_id": 42,
            "occurred_on": "2026-01-10",
            "fields": {"category": "脱贫户", "households": 7, "topics": ["就业", "医疗"]},
        });
        let d = diff(None, Some(&after));
        assert_eq!(
            d.lines,
            vec![
                line("内容.category", None, Some("脱贫户"), Change::Added),
                line("内容.households", None, Some("7"), Change::Added),
                line("内容.topics", None, Some("就业、医疗"), Change::Added),
                line("发生日期", None, Some("2026-01-10"), Change::Added),
                line("台账类型", None, Some("visit"), Change::Added),
                line("组织", None, Some("42"), Change::Added),
            ]
        );
        assert!(d
            .lines
            .iter()
            .all(|l| !l.after.as_deref().unwrap_or("").contains('{')));
    }

    #[test]
    fn removed_fields_deep_objects_and_plain_values() {
        let before = json!({"fields": {"topic": "学习"}});
        let after = json!({"void_reason": "重复登记", "deep": {"a": {"b": [1, true, null]}}});
        assert_eq!(
            diff(Some(&before), Some(&after)).lines,
            vec![
                line("deep.a", None, Some("b：1、是、（空）"), Change::Added),
                line("作废原因", None, Some("重复登记"), Change::Added),
                line("内容.topic", Some("学习"), None, Change::Removed),
            ]
        );
        assert_eq!(
            diff(Some(&json!(1)), Some(&json!("x"))).lines,
            vec![line("值", Some("1"), Some("x"), Change::Changed)]
        );
        assert_eq!(diff(None, None), Diff::default());
        assert_eq!(diff(Some(&json!({})), Some(&json!({}))), Diff::default());
    }

    #[test]
    fn lines_and_values_are_bounded() {
        let many: serde_json::Map<String, Value> =
            (0..1000).map(|i| (format!("k{i:04}"), json!(i))).collect();
        let d = diff(None, Some(&Value::Object(many)));
        assert_eq!((d.lines.len(), d.more), (MAX_LINES, 1000 - MAX_LINES));
        assert_eq!(d.lines[0].field, "k0000");
        let long = json!({"note": "长".repeat(10_000), "ids": (0..100_000).collect::<Vec<_>>()});
        let d = diff(None, Some(&long));
        for l in &d.lines {
            let text = l.after.as_deref().unwrap_or("");
            assert_eq!(text.chars().count(), MAX_VALUE_CHARS + 1, "{}", l.field);
            assert!(text.ends_with('…'));
        }
        assert_eq!(value_text(&json!("短")), "短");
    }
}
