//! Property tests of the input bounds: no number or text makes a rule or a phrase panic,
//! and whatever a rule accepts lies within its bound.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use taizhang_domain::ledger::{FieldDef, FieldKind, LedgerTypeDef, INTEGER_LIMIT};
use taizhang_domain::phrasing::{approx, scaled};
use taizhang_domain::text::{self, is_forbidden, Lines};

/// A type with one numeric field of the given kind, summed in bulletins.
fn numeric_type(kind: FieldKind) -> LedgerTypeDef {
    serde_json::from_value(json!({"key": "probe", "name": "测试", "fields": []}))
        .map(|mut t: LedgerTypeDef| {
            t.fields.push(FieldDef {
                key: "n".into(),
                label: "数".into(),
                kind,
                required: true,
                unit: Some("人".into()),
                phrase: None,
                retired: false,
            });
            t
        })
        .expect("a type")
}

fn record(v: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("n".into(), v);
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn phrases_never_panic(n in any::<i64>(), scale in 0u32..40) {
        prop_assert!(!approx(n, "人").is_empty());
        prop_assert!(!scaled(n, scale).is_empty());
        prop_assert_eq!(scaled(n, 0), n.to_string());
    }

    #[test]
    fn integer_values_stay_within_the_limit(n in any::<i64>(), min in proptest::option::of(any::<i64>()), max in proptest::option::of(any::<i64>())) {
        let t = numeric_type(FieldKind::Integer { min, max });
        if let Ok(v) = t.validate_record(&record(json!(n))) {
            prop_assert!(n.unsigned_abs() <= INTEGER_LIMIT as u64);
            prop_assert!(min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m));
            prop_assert!(min.is_some() || n >= 0);
            prop_assert_eq!(v.facts.len(), 1);
        }
        // A type that states a bound past the limit is refused.
        let wide = min.is_some_and(|m| m.unsigned_abs() > INTEGER_LIMIT as u64)
            || max.is_some_and(|m| m.unsigned_abs() > INTEGER_LIMIT as u64);
        if wide {
            prop_assert!(t.validate().is_err());
        }
    }

    #[test]
    fn decimal_values_stay_within_the_limit(n in any::<i64>(), scale in 0u32..=6) {
        let t = numeric_type(FieldKind::Decimal { scale, min: None, max: None });
        let text = scaled(n, scale);
        if t.validate_record(&record(json!(text))).is_ok() {
            prop_assert!(n >= 0);
            prop_assert!(n.unsigned_abs() <= INTEGER_LIMIT as u64 * 10_u64.pow(scale));
        }
    }

    #[test]
    fn text_rules_never_panic_and_accept_only_clean_bounded_text(s in any::<String>(), c in any::<char>()) {
        for rule in [text::PERSON_NAME, text::LINK_NOTE, text::SEARCH] {
            for input in [s.clone(), format!("张{c}三")] {
                if let Ok(out) = rule.check(&input) {
                    prop_assert!(input.chars().count() <= rule.max);
                    prop_assert!(!input.chars().any(|ch| is_forbidden(ch, rule.lines)));
                    prop_assert_eq!(out.as_str(), input.trim());
                }
            }
        }
        let bidi = ('\u{202A}'..='\u{202E}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c);
        if c.is_control() || bidi {
            prop_assert!(is_forbidden(c, Lines::Single));
        }
    }
}
