use super::*;
use serde_json::json;

fn visit_type() -> LedgerTypeDef {
    crate::builtin::builtin_types()
        .into_iter()
        .find(|t| t.key == "visit")
        .unwrap()
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn builtin_types_are_valid() {
    for t in crate::builtin::builtin_types() {
        t.validate().unwrap_or_else(|e| panic!("{}: {e:?}", t.key));
    }
}

#[test]
fn a_good_visit_passes_with_its_facts() {
    let r = visit_type()
        .validate_record(&obj(json!({
            "category": "脱贫户", "topics": ["群众疾苦", "发展路子"], "households": "12", "visitors": [3, 4, 3]
        })))
        .unwrap();
    assert_eq!(r.values["households"], json!(12));
    assert_eq!(r.people, vec![PersonId::new(3), PersonId::new(4)]);
    assert!(r.facts.contains(&Fact::Number {
        field: "households".into(),
        value: 12
    }));
    assert!(r.facts.contains(&Fact::Choice {
        field: "category".into(),
        option: "脱贫户".into()
    }));
}

#[test]
fn every_bad_field_is_reported() {
    let errs = visit_type()
        .validate_record(&obj(
            json!({"category": "路人", "households": -1, "bogus": 1, "topics": ["闲聊"]}),
        ))
        .unwrap_err();
    let codes: Vec<_> = errs
        .iter()
        .map(|e| (e.field.as_str(), e.code.as_str()))
        .collect();
    assert!(codes.contains(&("bogus", "field.unknown")));
    assert!(codes.contains(&("category", "field.not_choice")));
    assert!(codes.contains(&("households", "field.below_min")));
    assert!(codes.contains(&("topics", "field.not_choice")));
    assert!(errs.iter().all(|e| !e.message.is_empty()));
}

#[test]
fn required_fields_are_required() {
    let errs = visit_type().validate_record(&Map::new()).unwrap_err();
    assert!(errs
        .iter()
        .any(|e| e.field == "category" && e.code == "field.required"));
    assert!(errs
        .iter()
        .any(|e| e.field == "households" && e.code == "field.required"));
}

#[test]
fn decimals_are_exact() {
    assert_eq!(parse_scaled("123.45", 2), Some(12345));
    assert_eq!(parse_scaled("123.4", 2), Some(12340));
    assert_eq!(parse_scaled("-0.05", 2), Some(-5));
    assert_eq!(parse_scaled("1.234", 2), None);
    assert_eq!(parse_scaled("1e3", 2), None);
    assert_eq!(parse_scaled("", 2), None);
    let t = LedgerTypeDef {
        key: "t".into(),
        name: "t".into(),
        description: String::new(),
        verb: default_verb(),
        count_unit: default_count_unit(),
        fields: vec![FieldDef {
            key: "amount".into(),
            label: "金额".into(),
            kind: FieldKind::Decimal {
                scale: 2,
                min: Some("0".into()),
                max: Some("1000".into()),
            },
            required: true,
            unit: Some("万元".into()),
            phrase: None,
            retired: false,
        }],
        cadences: vec![],
    };
    t.validate().unwrap();
    let r = t.validate_record(&obj(json!({"amount": "10.8"}))).unwrap();
    assert_eq!(r.values["amount"], json!("10.8"));
    assert_eq!(
        r.facts,
        vec![Fact::Number {
            field: "amount".into(),
            value: 1080
        }]
    );
    let e = t
        .validate_record(&obj(json!({"amount": "1000.01"})))
        .unwrap_err();
    assert_eq!(e[0].code, "field.above_max");
}

#[test]
fn bad_definitions_are_refused() {
    let mut t = visit_type();
    t.key = "Visit".into();
    t.fields.push(t.fields[0].clone());
    t.cadences.push(CadenceRule {
        label: "x".into(),
        cadence: Cadence::Monthly,
        org_kinds: vec![],
        when: Some(FieldEquals {
            field: "category".into(),
            value: "路人".into(),
        }),
        grace_days: 0,
    });
    let codes: Vec<_> = t
        .validate()
        .unwrap_err()
        .into_iter()
        .map(|e| e.code)
        .collect();
    for c in [
        "ledger_type.bad_key",
        "field.duplicate_key",
        "cadence.no_org_kinds",
        "cadence.bad_condition",
    ] {
        assert!(codes.iter().any(|x| x == c), "missing {c} in {codes:?}");
    }
}

#[test]
fn fields_are_retired_not_removed() {
    let old = visit_type();
    let mut removed = old.clone();
    removed.fields.pop();
    assert_eq!(
        old.check_evolution(&removed).unwrap_err()[0].code,
        "field.removed"
    );
    let mut retired = old.clone();
    retired.fields.last_mut().unwrap().retired = true;
    old.check_evolution(&retired).unwrap();
    let mut retyped = old.clone();
    retyped.fields[0].kind = FieldKind::Date;
    assert_eq!(
        old.check_evolution(&retyped).unwrap_err()[0].code,
        "field.retyped"
    );
}
