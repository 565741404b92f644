//! A bulk write that fails inside its transaction, after its checks passed and rows were
//! written: the database refuses one row of `record_facts` in the middle of the batch, or the
//! batch's closing audit entry (written after every record, fact, person and rollup row). Either
//! way nothing of the batch is left — no record, fact, named person, rollup row or audit entry —
//! and the same batch, once the fault is gone, goes in whole. On both backends.

use super::scope::XUNZHUANG;
use serde_json::{json, Map, Value};
use taizhang_store::{NewRecord, RollupDump};
use taizhang_testkit::{each_backend, Backend, TestApp};

each_backend!(a_failure_inside_the_write_leaves_nothing_behind,);

fn day(n: i64) -> chrono::NaiveDate {
    taizhang_store::today() - chrono::Duration::days(n)
}

/// 2,000 records: theme days (one number, two people) and hazard checks (two numbers, one
/// option, one person) — rows in every table a record writes and in both rollup tables.
fn batch(a: i64, b: i64) -> Vec<NewRecord> {
    let mut out = Vec::new();
    for i in 0..1000 {
        let attendance = if i == 500 { 777 } else { 12 };
        out.push(NewRecord {
            ledger_type: "theme_day".into(),
            org: XUNZHUANG.into(),
            occurred_on: day(i % 300),
            fields: object(
                json!({"theme": "原子写入", "attendees": [a, b], "attendance": attendance}),
            ),
        });
        out.push(NewRecord {
            ledger_type: "hazard_check".into(),
            org: XUNZHUANG.into(),
            occurred_on: day(i % 200),
            fields: object(json!({"area": "冬季取暖", "hazards_found": 3, "hazards_fixed": 1, "inspectors": [a]})),
        });
    }
    out
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Row counts of every table a bulk write touches, and the county's rollups.
async fn state(app: &TestApp, county: i64) -> (Vec<i64>, RollupDump) {
    let mut counts = Vec::new();
    for t in [
        "ledger_records",
        "record_facts",
        "record_people",
        "audit_log",
    ] {
        counts.push(app.count_raw(&format!("SELECT COUNT(*) FROM {t}")).await);
    }
    let dump = app.store.rollup_dump(county).await.expect("rollup dump");
    (counts, dump)
}

/// A trigger that refuses the rows `when` selects, with the message `injected failure`.
async fn install_fault(app: &TestApp, table: &str, when: &str) {
    if app.backend == Backend::Postgres {
        app.execute_raw(
            "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
        )
        .await;
        app.execute_raw(&format!(
            "CREATE TRIGGER injected_failure BEFORE INSERT ON {table} FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION injected_failure()"
        ))
        .await;
    } else {
        app.execute_raw(&format!(
            "CREATE TRIGGER injected_failure BEFORE INSERT ON {table} FOR EACH ROW WHEN {when} BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        ))
        .await;
    }
}

async fn remove_fault(app: &TestApp, table: &str) {
    if app.backend == Backend::Postgres {
        app.execute_raw(&format!("DROP TRIGGER injected_failure ON {table}"))
            .await;
    } else {
        app.execute_raw("DROP TRIGGER injected_failure").await;
    }
}

async fn a_failure_inside_the_write_leaves_nothing_behind(app: TestApp) {
    let admin = app.actor("admin").await;
    let county = admin.county_id.get();
    let person = |n: i64| {
        format!(
            "SELECT p.id FROM people p JOIN orgs o ON o.id = p.org_id WHERE o.code = '{XUNZHUANG}' ORDER BY p.id LIMIT 1 OFFSET {n}"
        )
    };
    let a = app.count_raw(&person(0)).await;
    let b = app.count_raw(&person(1)).await;
    let records = batch(a, b);
    let before = state(&app, county).await;
    assert!(!before.1.cells.is_empty(), "the demo county has rollups");

    let faults = [
        // The 1,001st record's attendance fact, in the middle of the batch.
        ("record_facts", "NEW.num_value = 777"),
        // The batch's audit entry, the transaction's last row.
        ("audit_log", "NEW.action = 'import'"),
    ];
    for (table, when) in faults {
        install_fault(&app, table, when).await;
        let err = app
            .store
            .bulk_records(&admin, &records, taizhang_store::today())
            .await
            .expect_err("the injected failure refuses the batch");
        assert!(
            format!("{err:?}").contains("injected failure"),
            "{table}: {err:?}"
        );
        let after = state(&app, county).await;
        assert_eq!(after.0, before.0, "{table}: row counts after the failure");
        assert!(
            after.1 == before.1,
            "{table}: the rollups changed after the failed batch"
        );
        remove_fault(&app, table).await;
    }

    // Without the fault the same batch goes in whole, and its rollups equal a rebuild.
    let r = app
        .store
        .bulk_records(&admin, &records, taizhang_store::today())
        .await
        .expect("the batch without a fault");
    assert_eq!((r.records, r.people, r.facts), (2000, 3000, 4000));
    let after = state(&app, county).await;
    assert_eq!(
        after.0,
        vec![
            before.0[0] + 2000,
            before.0[1] + 4000,
            before.0[2] + 3000,
            before.0[3] + 1
        ]
    );
    let records_counted = |d: &RollupDump| d.cells.iter().map(|c| c.records).sum::<i64>();
    assert_eq!(records_counted(&after.1) - records_counted(&before.1), 2000);
    app.store
        .rebuild_rollups(Some("370828"))
        .await
        .expect("rebuild");
    let rebuilt = app.store.rollup_dump(county).await.expect("dump");
    assert!(rebuilt == after.1, "the rollups equal a rebuild");
}
