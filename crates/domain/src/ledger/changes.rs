//! What a correction of a record changed: the fields whose values differ between two versions,
//! in the order the ledger type lists them, for the record's history and the audit log.

use super::{FieldDef, LedgerTypeDef};
use serde_json::{Map, Value};

/// How many versions a record may have: its history is one page, and a record corrected more
/// often than this is a sign of a wrong process rather than of a typo.
pub const MAX_RECORD_VERSIONS: i64 = 100;

/// The fields of `def` whose values differ between `before` and `after`, in the definition's
/// order (retired fields included, since an old version may hold them). A field absent on one
/// side and empty on the other is unchanged; lists (people, choices, photos) compare as sets.
pub fn changed_fields<'a>(
    def: &'a LedgerTypeDef,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<&'a FieldDef> {
    def.fields
        .iter()
        .filter(|f| !same(before.get(&f.key), after.get(&f.key)))
        .collect()
}

fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    let empty = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    };
    match (empty(a), empty(b)) {
        (true, true) => true,
        (false, false) => match (a, b) {
            (Some(Value::Array(x)), Some(Value::Array(y))) => as_set(x) == as_set(y),
            _ => a == b,
        },
        _ => false,
    }
}

fn as_set(items: &[Value]) -> Vec<String> {
    let mut s: Vec<String> = items.iter().map(Value::to_string).collect();
    s.sort_unstable();
    s.dedup();
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def() -> LedgerTypeDef {
        serde_json::from_value(json!({
            "key": "visit", "name": "走访",
            "fields": [
                {"key": "topic", "label": "主题", "kind": "text"},
                {"key": "households", "label": "户数", "kind": "integer"},
                {"key": "old", "label": "旧字段", "kind": "text", "retired": true},
                {"key": "people", "label": "参加人员", "kind": "people"}
            ]
        }))
        .expect("definition")
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn lists_changed_fields_in_definition_order() {
        let d = def();
        let before =
            obj(json!({"topic": "冬季走访", "households": 12, "old": "x", "people": [1, 2]}));
        let after = obj(json!({"topic": "冬季走访", "households": 15, "people": [2, 3]}));
        let keys: Vec<&str> = changed_fields(&d, &before, &after)
            .iter()
            .map(|f| f.key.as_str())
            .collect();
        assert_eq!(keys, ["households", "old", "people"]);
    }

    #[test]
    fn empty_and_absent_are_the_same() {
        let d = def();
        let before = obj(json!({"topic": "", "people": []}));
        let after = obj(json!({}));
        assert!(changed_fields(&d, &before, &after).is_empty());
        let listed = obj(json!({"people": [1, 2]}));
        let reordered = obj(json!({"people": [2, 1, 2]}));
        assert!(changed_fields(&d, &listed, &reordered).is_empty());
        assert!(changed_fields(&d, &after, &after).is_empty());
    }
}
