//! The overdue list as work to do: counted per town, filtered by town, ledger type and status,
//! overdue first, a page at a time, each row leading recorders to the entry form. Every test runs
//! on every backend.

use reqwest::StatusCode;
use serde_json::{json, Value};
use taizhang_testkit::{each_backend, TestApp};

each_backend!(
    overdue_counts_per_town_are_exact,
    overdue_filters_keep_exactly_their_rows,
    overdue_pages_cover_every_row_once,
    overdue_rows_lead_recorders_to_the_entry_form,
    overdue_of_a_township_stays_in_it,
);

/// A day in the platform's last year: no demo record reaches it, so every organisation a rule
/// names is overdue for the closed period and due for the open one, whatever today is.
const AS_OF: &str = "2100-12-31";
const JISHU: &str = "370828005";

/// The list and the length of the whole filtered list (`X-Total-Count`).
async fn list(app: &TestApp, token: &str, query: &str) -> (StatusCode, i64, Vec<Value>) {
    let r = app
        .client
        .get(app.url(&format!("/api/v1/overdue?as_of={AS_OF}&{query}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("overdue request");
    let status = r.status();
    let total = total_of(&r);
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let items = body.as_array().cloned().unwrap_or_default();
    (status, total, items)
}

/// The length of the whole filtered list, from its header; -1 without one.
fn total_of(r: &reqwest::Response) -> i64 {
    r.headers()
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

/// What tells one item from another.
fn key(i: &Value) -> String {
    format!(
        "{}|{}|{}|{}",
        i["org"]["ref"], i["ledger_type"], i["rule"], i["period"]
    )
}

fn keys(items: &[Value]) -> Vec<String> {
    items.iter().map(key).collect()
}

/// (town name, overdue, due) as `/api/v1/overdue/towns` answers.
async fn town_counts(app: &TestApp, token: &str, query: &str) -> Vec<(String, i64, i64)> {
    let (s, v) = app
        .get(
            &format!("/api/v1/overdue/towns?as_of={AS_OF}&{query}"),
            token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array()
        .expect("an array")
        .iter()
        .map(|c| {
            (
                c["town"]["name"].as_str().unwrap_or("县委本级").to_string(),
                c["overdue"].as_i64().unwrap_or(-1),
                c["due"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// The units directly below the county, in the order they were set up: the towns of the list.
async fn towns(app: &TestApp, token: &str) -> Vec<String> {
    let (s, v) = app.get("/api/v1/orgs/370828/children", token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut names: Vec<String> = v
        .as_array()
        .expect("an array")
        .iter()
        // Covering teams and alliances sit there too, and no cadence rule names them.
        .filter(|o| o["kind"] == "township" || o["kind"] == "organ_work_committee")
        .filter_map(|o| o["name"].as_str().map(String::from))
        .collect();
    assert_eq!(names.len(), 14, "13 towns and the organs' work committee");
    // The list orders its towns by when they were set up; this answer orders them its own way.
    names.sort();
    names
}

/// The counts in the order of their towns' names, to compare with `towns`.
async fn counts_by_name(app: &TestApp, token: &str, query: &str) -> Vec<(String, i64, i64)> {
    let mut counts = town_counts(app, token, query).await;
    counts.sort();
    counts
}

async fn overdue_counts_per_town_are_exact(app: TestApp) {
    let t = app.token("admin").await;
    let towns = towns(&app, &t).await;
    let expected: Vec<(String, i64, i64)> = towns.iter().map(|n| (n.clone(), 24, 24)).collect();
    assert_eq!(counts_by_name(&app, &t, "").await, expected);
    let (s, total, items) = list(&app, &t, "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((total, items.len()), (672, 672));
    // The counts are of the whole filtered list, not of a page of it.
    assert_eq!(counts_by_name(&app, &t, "limit=5").await, expected);
    let theme: Vec<(String, i64, i64)> = towns.iter().map(|n| (n.clone(), 4, 4)).collect();
    assert_eq!(
        counts_by_name(&app, &t, "ledger_type=theme_day").await,
        theme
    );
    let overdue_only: Vec<(String, i64, i64)> = towns.iter().map(|n| (n.clone(), 24, 0)).collect();
    assert_eq!(
        counts_by_name(&app, &t, "status=overdue").await,
        overdue_only
    );
    assert_eq!(
        town_counts(&app, &t, &format!("town={JISHU}&ledger_type=theme_day")).await,
        [("鸡黍镇".to_string(), 4, 4)]
    );
}

/// Which items of the whole list a filter keeps.
type Keep = Box<dyn Fn(&Value) -> bool>;

async fn overdue_filters_keep_exactly_their_rows(app: TestApp) {
    let t = app.token("admin").await;
    let (_, _, all) = list(&app, &t, "").await;
    let in_jishu = |i: &Value| i["town"]["ref"] == JISHU;
    let theme = |i: &Value| i["ledger_type"] == "theme_day";
    let overdue = |i: &Value| i["status"] == "overdue";
    let cases: [(String, Keep); 6] = [
        (format!("town={JISHU}"), Box::new(in_jishu)),
        (
            "town=%E9%B8%A1%E9%BB%8D%E9%95%87".into(),
            Box::new(in_jishu),
        ),
        ("ledger_type=theme_day".into(), Box::new(theme)),
        (
            "status=due".into(),
            Box::new(|i: &Value| i["status"] == "due"),
        ),
        (
            format!("town={JISHU}&ledger_type=theme_day&status=overdue"),
            Box::new(move |i: &Value| in_jishu(i) && theme(i) && overdue(i)),
        ),
        (
            "ledger_type=theme_day&status=overdue".into(),
            Box::new(move |i: &Value| theme(i) && overdue(i)),
        ),
    ];
    for (query, keep) in &cases {
        let (s, total, got) = list(&app, &t, query).await;
        assert_eq!(s, StatusCode::OK, "{query}");
        let expected: Vec<Value> = all.iter().filter(|i| keep(i)).cloned().collect();
        assert!(!expected.is_empty(), "{query}");
        assert_eq!(keys(&got), keys(&expected), "{query}");
        assert_eq!(total, expected.len() as i64, "{query}");
    }
    let (_, _, four) = list(&app, &t, &cases[4].0).await;
    assert_eq!(four.len(), 4);

    // Overdue before due, then by town, then by deadline.
    let order: Vec<(bool, i64, String)> = all
        .iter()
        .map(|i| {
            (
                i["status"] != "overdue",
                i["town"]["id"].as_i64().unwrap_or(0),
                i["due_on"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "sorted");
    assert!(order.first().is_some_and(|o| !o.0) && order.last().is_some_and(|o| o.0));

    // An unknown status or a town out of reach is refused, not ignored.
    let (s, _, _) = list(&app, &t, "status=late").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = list(&app, &t, "town=999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn overdue_pages_cover_every_row_once(app: TestApp) {
    let t = app.token("admin").await;
    let (_, _, all) = list(&app, &t, "").await;
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let (s, total, page) = list(&app, &t, &format!("limit=50&offset={offset}")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            total,
            all.len() as i64,
            "the total of every page is the whole list's"
        );
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 50);
        offset += page.len();
        seen.extend(keys(&page));
    }
    assert_eq!(seen, keys(&all), "every row once, in the list's order");
    let (_, _, one) = list(&app, &t, "limit=0").await;
    assert_eq!(one.len(), 1, "a page holds one item at least");
    let (_, _, most) = list(&app, &t, "limit=100000").await;
    assert_eq!(most.len(), 500, "and 500 at most");
}

async fn overdue_rows_lead_recorders_to_the_entry_form(app: TestApp) {
    let t = app.token("jishu").await;
    let (s, v) = app
        .post(
            &format!("/api/v1/orgs/{JISHU}/children"),
            &t,
            json!({"kind": "village", "name": "待登记村", "established_on": "2020-01-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let village = v["ref"].as_str().expect("a ref").to_string();

    // A manager may record: every row of the new village leads to its entry form.
    let manager = app.browser_login("jishu").await;
    let (s, html) = app
        .page(&format!("/overdue?town={village}"), &manager)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("待登记村") && html.contains("去登记"),
        "{html}"
    );
    let entry = format!("/records/new?type=theme_day&#38;org={village}");
    assert!(html.contains(&entry), "{html}");
    assert!(
        html.contains(&format!("value=\"{village}\"")),
        "the town typed is kept"
    );
    let (s, form) = app.page(&entry.replace("&#38;", "&"), &manager).await;
    assert_eq!(s, StatusCode::OK);
    assert!(form.contains("action=\"/records/new?type=theme_day\""));
    assert!(form.contains(&format!("<option value=\"{village}\" selected>")));

    // The filters are kept, and each count of the summary opens its part of the list.
    let (_, html) = app
        .page(
            "/overdue?town=%E9%B8%A1%E9%BB%8D%E9%95%87&ledger_type=theme_day&status=due",
            &manager,
        )
        .await;
    assert!(html.contains("value=\"鸡黍镇\""));
    assert!(html.contains("<option value=\"theme_day\" selected>"));
    assert!(html.contains("<option value=\"due\" selected>"));
    assert!(html.contains(&format!(
        "&#38;town={JISHU}&#38;ledger_type=theme_day&#38;status=due"
    )));

    // A viewer sees the same rows and no way to record.
    let viewer = app.browser_login("viewer").await;
    let (s, html) = app
        .page(&format!("/overdue?org={JISHU}&town={village}"), &viewer)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("待登记村"));
    assert!(!html.contains("去登记") && !html.contains("/records/new?type="));

    // 下一页 and 上一页 walk the county's list, 50 rows a page.
    let admin = app.browser_login("admin").await;
    let t = app.token("admin").await;
    let r = app
        .client
        .get(app.url("/api/v1/overdue?limit=1"))
        .bearer_auth(&t)
        .send()
        .await
        .expect("overdue request");
    let total = total_of(&r);
    let (_, first) = app.page("/overdue", &admin).await;
    assert!(first.contains(&format!("共{total}条")), "{first}");
    assert_eq!(first.contains("下一页"), total > 50);
    assert!(!first.contains("上一页"));
    if total > 50 {
        let (_, second) = app.page("/overdue?page=1", &admin).await;
        assert!(second.contains("上一页"));
    }
}

async fn overdue_of_a_township_stays_in_it(app: TestApp) {
    let t = app.token("jishu").await;
    assert_eq!(
        town_counts(&app, &t, "").await,
        [("鸡黍镇".to_string(), 24, 24)]
    );
    let (s, total, items) = list(&app, &t, "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(total, 48);
    assert!(items.iter().all(|i| i["town"]["ref"] == JISHU));
    for query in ["town=370828001", "org=370828"] {
        let (s, _, _) = list(&app, &t, query).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{query}");
    }
    let cookie = app.browser_login("jishu").await;
    let (s, _) = app.page("/overdue?town=370828001", &cookie).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
