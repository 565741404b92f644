//! The bulk write path (`Store::bulk_records`, `bulk_people`, `bulk_positions`) on both backends:
//! exact counts of what it writes, a bad row that refuses its whole batch by index and leaves
//! nothing behind, and the caller's scope holding for every row.

use super::scope::{FOREIGN_TOWN, OWN_TOWN, XUNZHUANG};
use serde_json::{json, Map, Value};
use taizhang_domain::org::PositionTitle;
use taizhang_domain::PersonId;
use taizhang_store::{NewPerson, NewPosition, NewRecord, RowKeys, StoreError};
use taizhang_testkit::{each_backend, TestApp};

each_backend!(
    a_batch_writes_exactly_its_rows,
    a_bad_row_refuses_the_batch_by_index,
    a_batch_sorted_row_by_row_keeps_every_error,
    rows_written_again_by_their_keys_are_unchanged,
    bulk_writes_stay_in_the_callers_scope,
    people_and_positions_in_bulk,
);

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn theme_day(org: &str, day: chrono::NaiveDate, people: &[i64]) -> NewRecord {
    NewRecord {
        ledger_type: "theme_day".into(),
        org: org.into(),
        occurred_on: day,
        fields: fields(json!({"theme": "批量写入", "attendees": people, "attendance": 12})),
    }
}

/// The `n`th person (by id) registered at the organisation with this code.
async fn person_at(app: &TestApp, code: &str, n: i64) -> i64 {
    app.count_raw(&format!(
        "SELECT p.id FROM people p JOIN orgs o ON o.id = p.org_id WHERE o.code = '{code}' ORDER BY p.id LIMIT 1 OFFSET {n}"
    ))
    .await
}

struct Counts {
    records: i64,
    people: i64,
    facts: i64,
    imports: i64,
}

async fn counts(app: &TestApp) -> Counts {
    Counts {
        records: app.count_raw("SELECT COUNT(*) FROM ledger_records").await,
        people: app.count_raw("SELECT COUNT(*) FROM record_people").await,
        facts: app.count_raw("SELECT COUNT(*) FROM record_facts").await,
        imports: app
            .count_raw("SELECT COUNT(*) FROM audit_log WHERE action = 'import'")
            .await,
    }
}

fn day(n: i64) -> chrono::NaiveDate {
    taizhang_store::today() - chrono::Duration::days(n)
}

async fn a_batch_writes_exactly_its_rows(app: TestApp) {
    let admin = app.actor("admin").await;
    let a = person_at(&app, XUNZHUANG, 0).await;
    let b = person_at(&app, XUNZHUANG, 1).await;
    let before = counts(&app).await;
    // 12,000 records: more than one multi-row statement of each table.
    let mut batch = Vec::new();
    for i in 0..6000 {
        batch.push(theme_day(XUNZHUANG, day(i % 300), &[a, b]));
        batch.push(NewRecord {
            ledger_type: "hazard_check".into(),
            org: OWN_TOWN.into(),
            occurred_on: day(i % 200),
            fields: fields(json!({"area": "冬季取暖", "hazards_found": 3, "hazards_fixed": 1, "inspectors": [a]})),
        });
    }
    let r = app
        .store
        .bulk_records(&admin, &batch, taizhang_store::today())
        .await
        .expect("bulk write");
    assert_eq!(r.records, 12_000);
    // theme_day names two people and has one number; hazard_check one person, two numbers and
    // one option.
    assert_eq!(r.people, 6000 * 2 + 6000);
    assert_eq!(r.facts, 6000 + 6000 * 3);
    assert_eq!(r.last_id - r.first_id + 1, 12_000);
    let after = counts(&app).await;
    assert_eq!(after.records - before.records, 12_000);
    assert_eq!(after.people - before.people, 18_000);
    assert_eq!(after.facts - before.facts, 24_000);
    assert_eq!(
        after.imports - before.imports,
        1,
        "one audit entry per batch"
    );
    // The rows hold what was given: 6,000 winter-heating checks with 3 hazards each.
    let hazards = app
        .count_raw(&format!(
            "SELECT CAST(COALESCE(SUM(f.num_value), 0) AS BIGINT) FROM record_facts f WHERE f.field_key = 'hazards_found' AND f.record_id >= {}",
            r.first_id
        ))
        .await;
    assert_eq!(hazards, 6000 * 3);
    let named_b = app
        .count_raw(&format!(
            "SELECT COUNT(*) FROM record_people WHERE person_id = {b} AND record_id >= {}",
            r.first_id
        ))
        .await;
    assert_eq!(named_b, 6000);
    // An empty batch writes nothing, not even an audit entry.
    let r = app
        .store
        .bulk_records(&admin, &[], taizhang_store::today())
        .await
        .expect("empty batch");
    assert_eq!(r.records, 0);
    assert_eq!(counts(&app).await.imports, after.imports);
}

async fn a_bad_row_refuses_the_batch_by_index(app: TestApp) {
    let admin = app.actor("admin").await;
    let a = person_at(&app, XUNZHUANG, 0).await;
    let before = counts(&app).await;
    let good: Vec<NewRecord> = (0..1000)
        .map(|i| theme_day(XUNZHUANG, day(i % 100), &[a]))
        .collect();
    let cases: Vec<(usize, NewRecord, &str, &str)> = vec![
        (
            500,
            theme_day(
                XUNZHUANG,
                taizhang_store::today() + chrono::Duration::days(1),
                &[a],
            ),
            "[500].occurred_on",
            "record.future_date",
        ),
        (
            999,
            NewRecord {
                fields: fields(json!({"attendees": [a]})),
                ..theme_day(XUNZHUANG, day(3), &[a])
            },
            "[999].theme",
            "field.required",
        ),
        (
            0,
            theme_day(XUNZHUANG, day(3), &[a, 99_999_999]),
            "[0].people",
            "record.unknown_person",
        ),
        (
            731,
            theme_day("370828999999", day(3), &[a]),
            "[731].org",
            "record.unknown_org",
        ),
    ];
    for (at, bad, field, code) in cases {
        let mut batch = good.clone();
        batch[at] = bad;
        let err = app
            .store
            .bulk_records(&admin, &batch, taizhang_store::today())
            .await
            .expect_err("a bad row refuses the batch");
        let StoreError::Invalid(errs) = err else {
            panic!("expected a validation error, got {err:?}")
        };
        assert_eq!(
            errs.iter()
                .map(|e| (e.field.as_str(), e.code.as_str()))
                .collect::<Vec<_>>(),
            vec![(field, code)],
            "{errs:?}"
        );
        let after = counts(&app).await;
        assert_eq!(
            after.records, before.records,
            "no record of a refused batch"
        );
        assert_eq!(after.people, before.people);
        assert_eq!(after.facts, before.facts);
        assert_eq!(after.imports, before.imports);
    }
    // The same batch without the bad row goes in whole.
    let r = app
        .store
        .bulk_records(&admin, &good, taizhang_store::today())
        .await
        .expect("good batch");
    assert_eq!(r.records, 1000);
    assert_eq!(counts(&app).await.records, before.records + 1000);
}

/// What an import does with a sheet: every row checked, each bad row with all of its errors, the
/// good rows written, and rows in = rows written + rows refused.
async fn a_batch_sorted_row_by_row_keeps_every_error(app: TestApp) {
    let admin = app.actor("admin").await;
    let a = person_at(&app, XUNZHUANG, 0).await;
    let before = counts(&app).await;
    let mut batch: Vec<NewRecord> = (0..200)
        .map(|i| theme_day(XUNZHUANG, day(i % 50), &[a]))
        .collect();
    // Two errors in one row: both are kept.
    batch[3] = NewRecord {
        fields: fields(json!({"attendees": [a, 99_999_999]})),
        ..theme_day(
            XUNZHUANG,
            taizhang_store::today() + chrono::Duration::days(2),
            &[a],
        )
    };
    batch[77] = theme_day("370828999999", day(1), &[a]);
    batch[150] = NewRecord {
        ledger_type: "no_such_type".into(),
        ..theme_day(XUNZHUANG, day(1), &[a])
    };
    batch[199] = theme_day(XUNZHUANG, day(1), &[a, 99_999_999]);
    let sorted = app
        .store
        .sort_records(&admin, &batch, RowKeys::None, taizhang_store::today())
        .await
        .expect("sorted");
    let rejected: Vec<(usize, Vec<(&str, &str)>)> = sorted
        .rejected
        .iter()
        .map(|r| {
            (
                r.index,
                r.errors
                    .iter()
                    .map(|e| (e.field.as_str(), e.code.as_str()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (
                3,
                vec![
                    ("theme", "field.required"),
                    ("occurred_on", "record.future_date")
                ]
            ),
            (77, vec![("org", "record.unknown_org")]),
            (150, vec![("ledger_type", "record.unknown_type")]),
            (199, vec![("people", "record.unknown_person")]),
        ]
    );
    assert_eq!(sorted.accepted.len(), 196);
    assert!(sorted.unchanged.is_empty());
    assert_eq!(sorted.prepared.len(), 196);
    assert!(!sorted.accepted.contains(&3) && !sorted.accepted.contains(&199));
    // Nothing was written by sorting; writing the good rows writes exactly them.
    assert_eq!(counts(&app).await.records, before.records);
    let r = app
        .store
        .write_records(&admin, &sorted.prepared)
        .await
        .expect("the good rows");
    assert_eq!(r.records, 196);
    assert_eq!(r.people, 196);
    let after = counts(&app).await;
    assert_eq!(after.records - before.records, 196);
    assert_eq!(after.imports - before.imports, 1);
    // The same rows by `bulk_records`: refused at the first bad row, by index.
    let err = app
        .store
        .bulk_records(&admin, &batch, taizhang_store::today())
        .await
        .expect_err("strict");
    let StoreError::Invalid(errs) = err else {
        panic!("expected a validation error, got {err:?}")
    };
    assert_eq!(errs[0].field, "[3].theme");
}

/// Sort a batch with keys, write what it accepts, and say how the rows fell.
async fn import_once(
    app: &TestApp,
    batch: &[NewRecord],
    keys: RowKeys<'_>,
) -> (usize, usize, Vec<usize>) {
    let admin = app.actor("admin").await;
    let sorted = app
        .store
        .sort_records(&admin, batch, keys, taizhang_store::today())
        .await
        .expect("sorted");
    let written = app
        .store
        .write_records(&admin, &sorted.prepared)
        .await
        .expect("written");
    assert_eq!(written.records, sorted.accepted.len());
    (
        sorted.accepted.len(),
        sorted.rejected.len(),
        sorted.unchanged,
    )
}

/// Importing the same rows again, or rows that overlap them, writes no record twice: by the
/// records' content (the same record typed differently is the same row) or by a declared key.
async fn rows_written_again_by_their_keys_are_unchanged(app: TestApp) {
    let a = person_at(&app, XUNZHUANG, 0).await;
    let before = counts(&app).await.records;
    let rows: Vec<NewRecord> = (0..30)
        .map(|i| NewRecord {
            fields: fields(
                json!({"theme": format!("主题{i}"), "attendees": [a], "attendance": 12}),
            ),
            ..theme_day(XUNZHUANG, day(i), &[a])
        })
        .collect();
    // The first 20, with row 5 repeated at the end: the repeat is unchanged.
    let mut first: Vec<NewRecord> = rows[..20].to_vec();
    first.push(rows[5].clone());
    assert_eq!(
        import_once(&app, &first, RowKeys::Content).await,
        (20, 0, vec![20])
    );
    // Rows 10..30: the ten written already are unchanged, the ten new go in.
    assert_eq!(
        import_once(&app, &rows[10..], RowKeys::Content).await,
        (10, 0, (0..10).collect())
    );
    // The same content with its fields in another order is the same row.
    let mut reordered = rows[0].clone();
    let mut m = serde_json::Map::new();
    for (k, v) in reordered.fields.iter().rev() {
        m.insert(k.clone(), v.clone());
    }
    reordered.fields = m;
    assert_eq!(
        import_once(&app, &[reordered], RowKeys::Content).await,
        (0, 0, vec![0])
    );
    // Without keys, the same rows are new records (a one-off batch).
    assert_eq!(
        import_once(&app, &rows[..2], RowKeys::None).await,
        (2, 0, vec![])
    );
    assert_eq!(counts(&app).await.records - before, 32);

    // Declared keys: a changed row under a key already written is unchanged, not a duplicate;
    // a blank key refuses its row; the count of keys must match the rows.
    let keys: Vec<String> = (0..3).map(|i| format!("ZD-{i:03}")).collect();
    assert_eq!(
        import_once(&app, &rows[..3], RowKeys::Declared(&keys)).await,
        (3, 0, vec![])
    );
    let again = vec![" ZD-001 ".to_string(), "ZD-003".into(), "  ".into()];
    let admin = app.actor("admin").await;
    let sorted = app
        .store
        .sort_records(
            &admin,
            &rows[3..6],
            RowKeys::Declared(&again),
            taizhang_store::today(),
        )
        .await
        .expect("sorted");
    assert_eq!(sorted.accepted, vec![1]);
    assert_eq!(sorted.unchanged, vec![0]);
    assert_eq!(sorted.rejected.len(), 1);
    assert_eq!(sorted.rejected[0].index, 2);
    assert_eq!(sorted.rejected[0].errors[0].code, "import.row_key_missing");
    let Err(e) = app
        .store
        .sort_records(
            &admin,
            &rows[..2],
            RowKeys::Declared(&keys),
            taizhang_store::today(),
        )
        .await
    else {
        panic!("two rows, three keys: refused");
    };
    assert!(
        matches!(e, StoreError::Invalid(ref f) if f[0].code == "import.key_count"),
        "{e:?}"
    );
    // Two imports racing: the second write of a checked batch meets the key's unique index.
    let fresh = vec!["ZD-900".to_string()];
    let one = app
        .store
        .sort_records(
            &admin,
            &rows[..1],
            RowKeys::Declared(&fresh),
            taizhang_store::today(),
        )
        .await
        .expect("sorted");
    let two = app
        .store
        .sort_records(
            &admin,
            &rows[..1],
            RowKeys::Declared(&fresh),
            taizhang_store::today(),
        )
        .await
        .expect("sorted");
    app.store
        .write_records(&admin, &one.prepared)
        .await
        .expect("first");
    let e = app
        .store
        .write_records(&admin, &two.prepared)
        .await
        .expect_err("the same key twice");
    assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
    assert_eq!(
        app.count_raw("SELECT COUNT(*) FROM ledger_records WHERE import_key = 'k:ZD-900'")
            .await,
        1
    );
}

async fn bulk_writes_stay_in_the_callers_scope(app: TestApp) {
    // 鸡黍镇's manager.
    let jishu = app.actor("jishu").await;
    let own = person_at(&app, XUNZHUANG, 0).await;
    let foreign_person = app
        .count_raw(&format!(
            "SELECT p.id FROM people p JOIN org_closure c ON c.descendant_id = p.org_id JOIN orgs o ON o.id = c.ancestor_id
             WHERE o.code = '{FOREIGN_TOWN}' AND c.valid_to IS NULL ORDER BY p.id LIMIT 1"
        ))
        .await;
    let before = counts(&app).await;
    let refused = [
        (
            vec![
                theme_day(XUNZHUANG, day(2), &[own]),
                theme_day(FOREIGN_TOWN, day(2), &[own]),
            ],
            "[1].org",
            "record.unknown_org",
        ),
        (
            vec![
                theme_day(XUNZHUANG, day(2), &[foreign_person]),
                theme_day(XUNZHUANG, day(2), &[own]),
            ],
            "[0].people",
            "record.unknown_person",
        ),
    ];
    for (batch, field, code) in refused {
        let err = app
            .store
            .bulk_records(&jishu, &batch, taizhang_store::today())
            .await
            .expect_err("out of scope");
        let StoreError::Invalid(errs) = err else {
            panic!("expected a validation error, got {err:?}")
        };
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(
            (errs[0].field.as_str(), errs[0].code.as_str()),
            (field, code)
        );
        // Nothing of the foreign organisation or person is named.
        assert!(!errs[0].message.contains("高河"), "{}", errs[0].message);
        assert_eq!(counts(&app).await.records, before.records);
    }
    // The same actor writes into its own township.
    let r = app
        .store
        .bulk_records(
            &jishu,
            &[
                theme_day(XUNZHUANG, day(2), &[own]),
                theme_day(OWN_TOWN, day(3), &[]),
            ],
            taizhang_store::today(),
        )
        .await
        .expect("own township");
    assert_eq!(r.records, 2);
    assert_eq!(counts(&app).await.records, before.records + 2);
    // A people batch into another township is refused too, by row.
    let err = app
        .store
        .bulk_people(
            &jishu,
            &[NewPerson {
                name: "外镇人".into(),
                org: FOREIGN_TOWN.into(),
                gender: Some("女".into()),
                id_number: None,
                phone: None,
                party_member: true,
                retired: false,
                ..Default::default()
            }],
        )
        .await
        .expect_err("foreign town");
    let StoreError::Invalid(errs) = err else {
        panic!("expected a validation error")
    };
    assert_eq!(errs[0].field, "[0].org");
}

async fn people_and_positions_in_bulk(app: TestApp) {
    let admin = app.actor("admin").await;
    let people_before = app.count_raw("SELECT COUNT(*) FROM people").await;
    let today = taizhang_store::today();
    let new: Vec<NewPerson> = (0..3000u16)
        .map(|i| {
            let birth = chrono::NaiveDate::from_ymd_opt(
                1960 + i32::from(i % 40),
                1 + u32::from(i % 12),
                1 + u32::from(i % 28),
            )
            .expect("date");
            let id = taizhang_domain::IdNumber::from_parts("370828", birth, 100 + i / 480, today)
                .expect("id number");
            NewPerson {
                name: format!("批量{i}"),
                org: XUNZHUANG.into(),
                gender: None,
                id_number: Some(id.as_str().to_string()),
                phone: Some(format!("1390000{i:04}")),
                party_member: true,
                retired: false,
                // Every third one with a profile, kept as the domain reads it.
                ethnicity: (i % 3 == 0).then(|| "汉".to_string()),
                education: (i % 3 == 0).then(|| "大专".to_string()),
                member_category: (i % 3 == 0).then(|| "正式党员".to_string()),
                joined_on: (i % 3 == 0).then(|| birth + chrono::Days::new(365 * 25)),
                confirmed_on: None,
            }
        })
        .collect();
    let ids = app.store.bulk_people(&admin, &new).await.expect("people");
    assert_eq!(ids.len(), 3000);
    assert_eq!(
        app.count_raw("SELECT COUNT(*) FROM people WHERE name LIKE '批量%' AND ethnicity = '汉族' AND education = 'college' AND member_category = 'full' AND joined_on IS NOT NULL")
            .await,
        1000
    );
    assert_eq!(
        app.count_raw("SELECT COUNT(*) FROM people").await,
        people_before + 3000
    );
    // Encrypted as one person is: the stored number opens with the field key and is not plain.
    let p = app
        .store
        .person_revealed(&admin, ids[7])
        .await
        .expect("person");
    assert_eq!(p.id_number.as_deref(), new[7].id_number.as_deref());
    assert!(p.gender.is_some(), "derived from the number");
    assert!(!taizhang_testkit::contains_bytes(
        &app.raw_dump().await,
        new[7].id_number.as_deref().unwrap_or("x").as_bytes()
    ));
    // A 身份证号 already registered refuses its batch by row, and nothing is written.
    let again = vec![new[5].clone(), new[9].clone()];
    let Err(StoreError::Invalid(errs)) = app.store.bulk_people(&admin, &again).await else {
        panic!("a duplicate number is refused")
    };
    assert_eq!(errs[0].field, "[0].id_number");
    assert_eq!(errs[0].code, "person.duplicate_id_number");
    assert_eq!(
        app.count_raw("SELECT COUNT(*) FROM people").await,
        people_before + 3000
    );
    // Positions for all of them, in one call.
    let positions: Vec<NewPosition> = ids
        .iter()
        .map(|id| NewPosition {
            person_id: PersonId::new(id.get()),
            org: XUNZHUANG.into(),
            title: PositionTitle::Member,
            valid_from: chrono::NaiveDate::from_ymd_opt(2020, 7, 1).expect("date"),
            valid_to: None,
        })
        .collect();
    let before = app.count_raw("SELECT COUNT(*) FROM positions").await;
    assert_eq!(
        app.store
            .bulk_positions(&admin, &positions)
            .await
            .expect("positions"),
        3000
    );
    assert_eq!(
        app.count_raw("SELECT COUNT(*) FROM positions").await,
        before + 3000
    );
}
