//! The bounds on definitions and records: oversized lists are refused by their length, and
//! what is validated is validated in time linear in its size.

use super::*;
use serde_json::json;

fn visit_type() -> LedgerTypeDef {
    crate::builtin::builtin_types()
        .into_iter()
        .find(|t| t.key == "visit")
        .expect("the built-in visit type")
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// A type whose people field takes any number of people, as the API allows one to be made.
fn unbounded_people_type() -> LedgerTypeDef {
    let mut t = visit_type();
    for f in t.fields.iter_mut() {
        if let FieldKind::People { max } = &mut f.kind {
            *max = None;
        }
    }
    t
}

#[test]
fn an_oversized_list_is_refused_at_once() {
    // 100,000 distinct ids took 1.6 s (optimised) and 142 s (debug) to refuse while duplicates
    // were looked for by scanning the list so far; its length alone now refuses it, unread.
    let t = unbounded_people_type();
    let ids: Vec<i64> = (1..=100_000).collect();
    let input = obj(json!({"category": "脱贫户", "households": 1, "visitors": ids}));
    let Err(errs) = t.validate_record(&input) else {
        panic!("a list of 100,000 people was accepted");
    };
    assert_eq!(
        errs,
        vec![FieldError::new(
            "visitors",
            "field.too_many",
            format!("“visitors”最多{MAX_LIST_ITEMS}项")
        )]
    );
}

#[test]
fn a_maximal_list_is_validated_in_linear_time() {
    // The longest list a record may hold, all distinct, plus the same again as duplicates:
    // validated item by item, each looked up once.
    let t = unbounded_people_type();
    let mut ids: Vec<i64> = (1..=MAX_LIST_ITEMS as i64 / 2).collect();
    ids.extend(ids.clone());
    let input = obj(json!({"category": "脱贫户", "households": 1, "visitors": ids}));
    let Ok(r) = t.validate_record(&input) else {
        panic!("a list of the longest length allowed was refused");
    };
    assert_eq!(r.people.len(), MAX_LIST_ITEMS / 2);
    assert_eq!(r.people[0], PersonId::new(1));
    // The items seen are counted: each id once per occurrence, never once per pair.
    let distinct = distinct_in_order((0..200_000).chain(0..200_000));
    assert_eq!(distinct.len(), 200_000);
    assert_eq!(distinct[..3], [0, 1, 2]);
}

#[test]
fn a_record_with_too_many_keys_gets_one_error() {
    let mut input = Map::new();
    for i in 0..50_000 {
        input.insert(format!("k{i}"), json!(1));
    }
    let Err(errs) = visit_type().validate_record(&input) else {
        panic!("50,000 unknown keys were accepted");
    };
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].code, "record.too_many_fields");
}

#[test]
fn oversized_definitions_are_refused_with_one_error_each() {
    let mut t = visit_type();
    let field = t.fields[0].clone();
    t.fields = (0..20_000)
        .map(|i| FieldDef {
            key: format!("f{i}"),
            ..field.clone()
        })
        .collect();
    let errs = t.validate().unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].code, "ledger_type.too_many_fields");

    let mut t = visit_type();
    t.fields[0].kind = FieldKind::Choice {
        options: (0..=MAX_OPTIONS).map(|i| format!("选项{i}")).collect(),
        breakdown: true,
    };
    if let Some(FieldDef {
        kind: FieldKind::People { max },
        ..
    }) = t
        .fields
        .iter_mut()
        .find(|f| matches!(f.kind, FieldKind::People { .. }))
    {
        *max = Some(MAX_PEOPLE + 1);
    }
    t.cadences.push(CadenceRule {
        label: "每月".into(),
        cadence: Cadence::Monthly,
        org_kinds: vec![OrgKind::Village; OrgKind::ALL.len() + 1],
        when: None,
        grace_days: 0,
    });
    let refused: HashSet<String> = t
        .validate()
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.code)
        .collect();
    let expected: HashSet<String> = [
        "field.too_many_options",
        "field.bad_max",
        "cadence.too_many_org_kinds",
    ]
    .map(String::from)
    .into();
    assert!(expected.is_subset(&refused), "{refused:?}");
}
