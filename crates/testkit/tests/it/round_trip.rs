//! The move a county makes to a new installation: its organisations, its members and every
//! ledger exported from one server as .xlsx and imported, in that order, into a fresh county of
//! the same code on another server (as `taizhang init` leaves it) give the same organisations,
//! the same people, the same records of every type and the same bulletin, figure by figure.

use super::export::{fetch, sheet};
use super::imports::rejected_errors;
use super::imports_people::imported;
use calamine::Data;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::Value;
use taizhang_testkit::{each_backend, spawn_fresh_county, TestApp};

each_backend!(a_county_exported_and_imported_into_a_fresh_one_is_the_same_county);

/// A sheet's data rows as text, sorted, leaving out the columns named in `skip` (what differs
/// by nature between two installations: who entered a record, and when).
fn rows_without(rows: &[Vec<Data>], skip: &[&str]) -> Vec<Vec<String>> {
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|i| !skip.contains(&header[*i].as_str()))
        .collect();
    let mut out: Vec<Vec<String>> = rows[1..]
        .iter()
        .map(|r| keep.iter().map(|i| r[*i].to_string()).collect())
        .collect();
    out.sort();
    out
}

/// Exports `list` from `from` and imports it into `to` as `target`; every row must go in.
async fn carry(from: (&TestApp, &str), to: (&TestApp, &str), list: &str, target: &str) -> Value {
    let (status, bytes) = fetch(from.0, list, from.1).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let done = imported(to.0, to.1, target, "all", "export.xlsx", &bytes).await;
    if done["state"] != "done" {
        if done["has_rejected_file"] != true {
            panic!("{list}: {done}");
        }
        let errors = rejected_errors(to.0, to.1, &done["id"]).await;
        let first: Vec<&String> = errors.iter().take(5).collect();
        panic!("{list}: {done}\n{first:#?}");
    }
    assert_eq!(done["rejected"], 0, "{list}: {done}");
    done
}

/// The bulletin's figures with the ids of its organisations and ledger types left out (the two
/// installations number them differently); names, codes and every count stay.
fn without_ids(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "id" | "org_id" | "ledger_type_id"))
                .map(|(k, v)| (k.clone(), without_ids(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_ids).collect()),
        other => other.clone(),
    }
}

async fn a_county_exported_and_imported_into_a_fresh_one_is_the_same_county(app: TestApp) {
    let from_token = app.token("admin").await;
    let (s, root) = app.get("/api/v1/orgs/370828", &from_token).await;
    assert_eq!(s, StatusCode::OK, "{root}");
    let founded: NaiveDate = root["established_on"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("the 县委's date");
    let fresh = spawn_fresh_county(app.backend, "370828", "金乡县", founded)
        .await
        .expect("a fresh county");
    let to_token = fresh.token("admin").await;
    let from = (&app, from_token.as_str());
    let to = (&fresh, to_token.as_str());

    // The tree first, then the members in their branches, then each ledger.
    let orgs = carry(from, to, "/api/v1/orgs/export.xlsx", "target=orgs").await;
    let (_, before) = sheet(&app, "/api/v1/orgs/export.xlsx", &from_token).await;
    let (_, after) = sheet(&fresh, "/api/v1/orgs/export.xlsx", &to_token).await;
    // The 县委 is there already; every other organisation is written.
    assert_eq!(orgs["written"], before.len() as i64 - 2, "{orgs}");
    assert_eq!(rows_without(&before, &[]), rows_without(&after, &[]));

    let people_list = "/api/v1/people/export.xlsx?whole=true";
    let people = carry(from, to, people_list, "target=people").await;
    let (_, before) = sheet(&app, people_list, &from_token).await;
    let (_, after) = sheet(&fresh, people_list, &to_token).await;
    assert_eq!(people["written"], before.len() as i64 - 1, "{people}");
    assert_eq!(rows_without(&before, &[]), rows_without(&after, &[]));

    let (s, types) = app.get("/api/v1/ledger-types", &from_token).await;
    assert_eq!(s, StatusCode::OK, "{types}");
    let keys: Vec<String> = types
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|t| t["key"].as_str().map(str::to_string))
        .collect();
    assert!(keys.len() >= 8, "{keys:?}");
    let mut records = 0;
    for key in &keys {
        let list = format!("/api/v1/records/export.xlsx?ledger_type={key}");
        let (_, before) = sheet(&app, &list, &from_token).await;
        if before.len() == 1 {
            // A type the demo holds no records of: nothing to carry, and nothing there after.
            let (_, after) = sheet(&fresh, &list, &to_token).await;
            assert_eq!(after.len(), 1, "{key}");
            continue;
        }
        let done = carry(from, to, &list, &format!("ledger_type={key}")).await;
        let (_, after) = sheet(&fresh, &list, &to_token).await;
        assert_eq!(done["written"], before.len() as i64 - 1, "{key}: {done}");
        let entered = ["录入人", "录入时间（北京时间）"];
        assert_eq!(
            rows_without(&before, &entered),
            rows_without(&after, &entered),
            "{key}"
        );
        records += before.len() - 1;
    }
    // Every ledger the demo fills, thousands of records in all.
    assert!(records > 4_000, "{records}");

    // The bulletin of the demo's year, by town, figure by figure.
    let query = "/api/v1/bulletin?org=370828&from=2026-01-01&to=2026-12-31";
    let (s, before) = app.get(query, &from_token).await;
    assert_eq!(s, StatusCode::OK, "{before}");
    let (s, after) = fresh.get(query, &to_token).await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(without_ids(&before), without_ids(&after));
}
