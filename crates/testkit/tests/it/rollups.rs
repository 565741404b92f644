//! Rollups: kept with every write and void, equal to the records figure by figure for every
//! bulletin shape, unchanged by moves and dissolutions, and reproduced by a rebuild.

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::json;
use taizhang_domain::bulletin::{Figures, Grouping};
use taizhang_domain::org::LinkKind;
use taizhang_domain::period::DateRange;
use taizhang_store::{Actor, FigureSource, RecordQuery, Store};
use taizhang_testkit::{each_backend, TestApp};

each_backend!(
    rollups_equal_the_records_for_every_bulletin_shape,
    a_move_changes_only_the_subtree_rows_it_must,
    writes_and_voids_keep_rollups_equal_to_a_rebuild,
);

fn range(from: NaiveDate, to: NaiveDate) -> DateRange {
    DateRange::new(from, to).unwrap()
}

/// The periods a bulletin is asked for: a rolling year (partial months at both ends), whole
/// calendar months, one part of a month, and a quarter.
fn periods() -> Vec<DateRange> {
    let today = taizhang_store::today();
    let first = today.with_day(1).unwrap();
    let last_year = NaiveDate::from_ymd_opt(today.year() - 1, 1, 1).unwrap();
    vec![
        range(today - Duration::days(364), today),
        range(
            last_year,
            NaiveDate::from_ymd_opt(today.year() - 1, 12, 31).unwrap(),
        ),
        range(first - Duration::days(40), first - Duration::days(25)),
        range(
            NaiveDate::from_ymd_opt(today.year() - 1, 4, 1).unwrap(),
            NaiveDate::from_ymd_opt(today.year() - 1, 6, 30).unwrap(),
        ),
    ]
}

async fn both(store: &Store, actor: &Actor, org: &str, r: DateRange, g: Grouping) -> Figures {
    let (b1, from_rollups) = store
        .bulletin_figures(actor, org, r, g, FigureSource::Rollups)
        .await
        .unwrap();
    let (b2, from_records) = store
        .bulletin_figures(actor, org, r, g, FigureSource::Records)
        .await
        .unwrap();
    assert_eq!(
        from_rollups, from_records,
        "figures of {org} {r:?} {g:?} differ"
    );
    assert_eq!(b1, b2);
    from_rollups
}

fn records_of(f: &Figures) -> i64 {
    f.totals.values().map(|t| t.0).sum()
}

/// A subtree's records list — its total and pages — as `records` gives it (from the rollups
/// where they give it exactly) and as the records alone give it: over the whole time, over
/// `[a, b]` (ragged ends), of one ledger type, at the first and at a deep page.
async fn pages_agree(store: &Store, actor: &Actor, org: &str, a: NaiveDate, b: NaiveDate) {
    for (from, to) in [(None, None), (Some(a), Some(b)), (Some(a), None)] {
        for ledger_type in [None, Some("visit".to_string())] {
            for offset in [0, 37] {
                let rq = RecordQuery {
                    org: Some(org.into()),
                    ledger_type: ledger_type.clone(),
                    from,
                    to,
                    limit: Some(20),
                    offset: Some(offset),
                    ..Default::default()
                };
                let ids = |p: taizhang_store::RecordPage| {
                    (p.total, p.records.iter().map(|r| r.id).collect::<Vec<_>>())
                };
                if actor.scope.roots().is_none() {
                    let by_rollups = store.records_by_rollups(actor, &rq).await.unwrap();
                    assert!(
                        by_rollups.is_some(),
                        "the county's {rq:?} is from the rollups"
                    );
                }
                let fast = store.records(actor, &rq).await.map(ids);
                let slow = store.records_scanned(actor, &rq).await.map(ids);
                match (fast, slow) {
                    (Ok(f), Ok(s)) => {
                        assert_eq!(f, s, "{} lists {rq:?} differently", actor.username)
                    }
                    (Err(f), Err(s)) => assert_eq!(f.to_string(), s.to_string()),
                    (f, s) => panic!("{} lists {rq:?}: {f:?} against {s:?}", actor.username),
                }
            }
        }
    }
}

async fn county_actor(app: &TestApp) -> Actor {
    let county = app.store.county_by_code("370828").await.unwrap();
    Actor::system(county.id, "test")
}

async fn rollups_equal_the_records_for_every_bulletin_shape(app: TestApp) {
    let actor = county_actor(&app).await;
    let mut seen = 0;
    for r in periods() {
        for org in ["370828", "370828005", "370828002"] {
            let f = both(&app.store, &actor, org, r, Grouping::Children).await;
            seen += records_of(&f);
        }
        let f = both(
            &app.store,
            &actor,
            "370828",
            r,
            Grouping::Link(LinkKind::Dispatch),
        )
        .await;
        seen += records_of(&f);
    }
    // The demo county has records in every one of these periods; equality of empty figures
    // would prove nothing.
    assert!(seen > 1000, "only {seen} records seen");
    let year = both(
        &app.store,
        &actor,
        "370828",
        periods()[0],
        Grouping::Children,
    )
    .await;
    assert!(!year.option_sums.is_empty());
    assert!(!year.unit_counts.is_empty());
}

/// A village with records in the last year, and its township.
async fn a_village_with_records(app: &TestApp, actor: &Actor) -> (String, String) {
    let page = app
        .store
        .records(
            actor,
            &RecordQuery {
                org: Some("370828005".into()),
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for rec in page.records {
        let chain = app.store.ancestors(actor, rec.org.id).await.unwrap();
        if chain.len() >= 3 && rec.org.org_ref != "370828005" {
            let org = app.store.org(actor, &rec.org.org_ref).await.unwrap();
            if org.kind.key() == "village" {
                return (rec.org.org_ref, "370828005".into());
            }
        }
    }
    panic!("no village with records under 370828005");
}

async fn a_move_changes_only_the_subtree_rows_it_must(app: TestApp) {
    let actor = county_actor(&app).await;
    let county = app.store.county_by_code("370828").await.unwrap();
    let (village, town) = a_village_with_records(&app, &actor).await;
    let r = periods()[0];
    let before_town = both(&app.store, &actor, &town, r, Grouping::Children).await;
    let before_other = both(&app.store, &actor, "370828002", r, Grouping::Children).await;
    let before_county = both(&app.store, &actor, "370828", r, Grouping::Children).await;
    let village_alone = both(&app.store, &actor, &village, r, Grouping::Children).await;
    let dump = app.store.rollup_dump(county.id.get()).await.unwrap();
    assert!(!dump.cells.is_empty());

    // Moved in the middle of a month, back-dated, with records on both sides of the date.
    let today = taizhang_store::today();
    let on = (today - Duration::days(120)).with_day(15).unwrap();
    let org = app.store.org(&actor, &village).await.unwrap();
    app.store
        .move_org(&actor, org.id, "370828002", on)
        .await
        .unwrap();
    // No per-organisation row changes; the subtree rows of the two townships do, and equal
    // a rebuild from the records.
    let moved_dump = app.store.rollup_dump(county.id.get()).await.unwrap();
    assert_eq!(moved_dump.cells, dump.cells);
    assert_eq!(moved_dump.facts, dump.facts);
    assert_ne!(moved_dump.tree_cells, dump.tree_cells);
    app.store.rebuild_rollups(Some("370828")).await.unwrap();
    assert_eq!(
        app.store.rollup_dump(county.id.get()).await.unwrap(),
        moved_dump
    );
    let dump = moved_dump;
    let after_town = both(&app.store, &actor, &town, r, Grouping::Children).await;
    let after_other = both(&app.store, &actor, "370828002", r, Grouping::Children).await;
    let after_county = both(&app.store, &actor, "370828", r, Grouping::Children).await;
    // The county keeps every record; what the village did after the move left its old town
    // and reached its new one.
    assert_eq!(records_of(&after_county), records_of(&before_county));
    let since = both(
        &app.store,
        &actor,
        &village,
        range(on, r.to),
        Grouping::Children,
    )
    .await;
    let moved = records_of(&since);
    assert!(moved > 0, "the village has no records after the move date");
    assert!(moved < records_of(&village_alone));
    assert_eq!(
        records_of(&after_town),
        records_of(&before_town) - moved,
        "old township"
    );
    assert_eq!(
        records_of(&after_other),
        records_of(&before_other) + moved,
        "new township"
    );

    // A dissolution changes no rollup row either, and the bulletins stay equal to the records.
    let leaf = app.store.children(&actor, org.id, false).await.unwrap();
    assert!(!leaf.is_empty());
    app.store
        .dissolve_org(&actor, leaf[0].id, today - Duration::days(3))
        .await
        .unwrap();
    assert_eq!(app.store.rollup_dump(county.id.get()).await.unwrap(), dump);
    both(&app.store, &actor, "370828002", r, Grouping::Children).await;
    both(&app.store, &actor, "370828", r, Grouping::Children).await;
}

async fn writes_and_voids_keep_rollups_equal_to_a_rebuild(app: TestApp) {
    let actor = county_actor(&app).await;
    let county = app.store.county_by_code("370828").await.unwrap();
    let t = app.token("admin").await;
    let today = taizhang_store::today();
    // Two records of one cell naming the same person, then one voided: the person still counts.
    let people = app
        .store
        .records(
            &actor,
            &RecordQuery {
                org: Some("370828005".into()),
                ledger_type: Some("three_meetings".into()),
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rec = &people.records[0];
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut fields = rec.fields.as_object().unwrap().clone();
        fields.insert("topic".into(), json!("重复测试"));
        let (s, v) = app
            .post(
                "/api/v1/records",
                &t,
                json!({"ledger_type": "three_meetings", "org": rec.org.org_ref, "occurred_on": today, "fields": fields}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        ids.push(v["id"].as_i64().unwrap());
    }
    let r = range(today.with_day(1).unwrap(), today);
    let with_both = both(&app.store, &actor, &rec.org.org_ref, r, Grouping::Children).await;
    let (s, v) = app
        .post(
            &format!("/api/v1/records/{}/void", ids[0]),
            &t,
            json!({"reason": "重复录入"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let after_void = both(&app.store, &actor, &rec.org.org_ref, r, Grouping::Children).await;
    let type_id = *with_both
        .totals
        .iter()
        .find(|(_, v)| v.0 >= 2)
        .map(|(k, _)| k)
        .unwrap();
    assert_eq!(
        after_void.totals[&type_id].0,
        with_both.totals[&type_id].0 - 1
    );
    assert_eq!(after_void.totals[&type_id].2, with_both.totals[&type_id].2);

    let incremental = app.store.rollup_dump(county.id.get()).await.unwrap();
    let rebuilt = app.store.rebuild_rollups(Some("370828")).await.unwrap();
    assert_eq!(rebuilt.len(), 1);
    assert_eq!(
        app.store.rollup_dump(county.id.get()).await.unwrap(),
        incremental
    );
    let cells: i64 = incremental.cells.iter().map(|c| c.records).sum();
    let standing = app
        .store
        .records(
            &actor,
            &RecordQuery {
                org: Some("370828".into()),
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .total;
    assert_eq!(cells, standing);
    assert_eq!(rebuilt[0].1 as i64, standing);
}

mod random {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use taizhang_store::{NewRecord, StoreError};

    each_backend!(random_writes_voids_moves_and_dissolutions_keep_rollups_exact);

    /// Random sequences of record writes (single and batched), voids, moves and dissolutions;
    /// after each sequence every bulletin asked equals the records figure by figure, and the
    /// rollups equal a rebuild row by row. `ROLLUP_CASES` sequences (3 by default, as CI runs it)
    /// of `ROLLUP_STEPS` steps (30).
    async fn random_writes_voids_moves_and_dissolutions_keep_rollups_exact(app: TestApp) {
        let cases: u64 = std::env::var("ROLLUP_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3);
        let steps: usize = std::env::var("ROLLUP_STEPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30);
        let actor = county_actor(&app).await;
        let county = app.store.county_by_code("370828").await.unwrap();
        let today = taizhang_store::today();
        let towns = ["370828005", "370828002"];
        // Records to copy: real field values of every ledger type the two towns keep.
        let mut samples = Vec::new();
        for town in towns {
            let page = app
                .store
                .records(
                    &actor,
                    &RecordQuery {
                        org: Some(town.into()),
                        limit: Some(200),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            samples.extend(page.records);
        }
        assert!(samples.len() >= 100);
        let mut written: Vec<i64> = Vec::new();
        let mut moved_at: std::collections::HashMap<String, NaiveDate> = Default::default();
        let (mut writes, mut voids, mut moves, mut dissolutions) = (0, 0, 0, 0);
        for case in 0..cases {
            let mut rng = StdRng::seed_from_u64(0x7a11 + case);
            for _ in 0..steps {
                match rng.gen_range(0..10) {
                    0..=4 => {
                        let n = if rng.gen_bool(0.3) {
                            rng.gen_range(2..20)
                        } else {
                            1
                        };
                        let batch: Vec<NewRecord> = (0..n)
                            .map(|_| {
                                let s = &samples[rng.gen_range(0..samples.len())];
                                let mut fields = s.fields.as_object().cloned().unwrap_or_default();
                                for v in fields.values_mut() {
                                    if v.is_i64() {
                                        *v = json!(rng.gen_range(0..60));
                                    }
                                }
                                NewRecord {
                                    ledger_type: s.ledger_type.clone(),
                                    org: s.org.org_ref.clone(),
                                    occurred_on: today - Duration::days(rng.gen_range(0..420)),
                                    fields,
                                }
                            })
                            .collect();
                        let ok = if batch.len() == 1 {
                            app.store
                                .create_record(&actor, batch[0].clone())
                                .await
                                .map(|r| written.push(r.id.get()))
                        } else {
                            app.store.create_records(&actor, batch).await.map(|_| ())
                        };
                        match ok {
                            Ok(()) => writes += n,
                            // A copy dated before its organisation existed, or after it was
                            // dissolved by an earlier step.
                            Err(StoreError::Invalid(_)) => {}
                            Err(e) => panic!("write: {e:?}"),
                        }
                    }
                    5..=6 if !written.is_empty() => {
                        let id = written.swap_remove(rng.gen_range(0..written.len()));
                        app.store
                            .void_record(&actor, taizhang_domain::RecordId::new(id), "随机作废")
                            .await
                            .unwrap();
                        voids += 1;
                    }
                    7..=8 => {
                        let s = &samples[rng.gen_range(0..samples.len())];
                        let chain = app.store.ancestors(&actor, s.org.id).await.unwrap();
                        // Move the sample's village (depth 3: county, town, area, village).
                        let Some(village) = chain.get(3).or(chain.last()) else {
                            continue;
                        };
                        if village.org_ref == "370828" || chain.len() < 3 {
                            continue;
                        }
                        let since = moved_at.get(&village.org_ref).copied();
                        let earliest = since.unwrap_or(today - Duration::days(400));
                        let span = (today - earliest).num_days();
                        if span < 2 {
                            continue;
                        }
                        let on = earliest + Duration::days(rng.gen_range(1..span));
                        let to = chain
                            .get(2)
                            .map(|a| a.org_ref.clone())
                            .filter(|_| rng.gen_bool(0.5))
                            .unwrap_or_else(|| {
                                let t = towns[rng.gen_range(0..2)];
                                t.to_string()
                            });
                        match app.store.move_org(&actor, village.id, &to, on).await {
                            Ok(_) => {
                                moves += 1;
                                moved_at.insert(village.org_ref.clone(), on);
                            }
                            Err(StoreError::Invalid(_)) | Err(StoreError::Conflict { .. }) => {}
                            Err(e) => panic!("move: {e:?}"),
                        }
                    }
                    _ => {
                        let s = &samples[rng.gen_range(0..samples.len())];
                        let kids = app.store.children(&actor, s.org.id, false).await.unwrap();
                        if let Some(leaf) = kids.first() {
                            let on = today - Duration::days(rng.gen_range(0..200));
                            match app.store.dissolve_org(&actor, leaf.id, on).await {
                                Ok(_) => dissolutions += 1,
                                Err(StoreError::Invalid(_)) | Err(StoreError::Conflict { .. }) => {}
                                Err(e) => panic!("dissolve: {e:?}"),
                            }
                        }
                    }
                }
            }
            // Every bulletin asked equals the records, figure by figure.
            let a = today - Duration::days(rng.gen_range(30..400));
            let b = a + Duration::days(rng.gen_range(0..(today - a).num_days() + 1));
            for r in [periods()[0], range(a, b)] {
                for org in ["370828", towns[0], towns[1]] {
                    both(&app.store, &actor, org, r, Grouping::Children).await;
                }
                both(
                    &app.store,
                    &actor,
                    "370828",
                    r,
                    Grouping::Link(LinkKind::Dispatch),
                )
                .await;
            }
            // Every records list asked equals the one read from the records alone.
            let township = app.actor("jishu").await;
            let village = samples[rng.gen_range(0..samples.len())].org.org_ref.clone();
            for who in [&actor, &township] {
                for org in ["370828", towns[0], towns[1], village.as_str()] {
                    pages_agree(&app.store, who, org, a, b).await;
                }
            }
            let incremental = app.store.rollup_dump(county.id.get()).await.unwrap();
            app.store.rebuild_rollups(Some("370828")).await.unwrap();
            assert!(
                app.store.rollup_dump(county.id.get()).await.unwrap() == incremental,
                "case {case}: the rollups differ from a rebuild"
            );
        }
        // The sequences did what they are for.
        assert!(
            writes > 0 && voids > 0 && moves > 0,
            "{writes} writes, {voids} voids, {moves} moves, {dissolutions} dissolutions"
        );
    }
}
