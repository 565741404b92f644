//! The county dashboard (数据大屏): its figures for the county and for a town, read against the
//! records themselves and the overdue list; the caller's scope; the page, its fragment and its
//! charts; and the village secretary's home listing what is still to record. Every test runs on
//! every backend.

use chrono::{Datelike, Duration};
use reqwest::StatusCode;
use serde_json::{json, Value};
use taizhang_store::today;
use taizhang_testkit::{each_backend, TestApp};

each_backend!(
    dashboard_of_the_county_counts_the_records_exactly,
    dashboard_of_a_far_day_counts_every_branch_overdue,
    dashboard_of_a_town_stays_in_it,
    dashboard_page_refreshes_from_its_fragment,
    secretary_home_lists_what_is_due_with_a_way_to_record_it,
);

const COUNTY: &str = "370828";
const JISHU: &str = "370828005";
const XUNZHUANG: &str = "370828005101";
/// A day in the platform's last year: no demo record reaches it, so every branch a rule names is
/// overdue for the closed period and due for the open one.
const FAR: &str = "2100-12-31";

async fn dashboard(app: &TestApp, token: &str, query: &str) -> Value {
    let (s, v) = app.get(&format!("/api/v1/dashboard?{query}"), token).await;
    assert_eq!(s, StatusCode::OK, "{query}: {v}");
    v
}

/// Records (not voided) dated from `from` to `to` under the organisation `root` (by id), of
/// one ledger type if given, read from the records themselves.
async fn records_under(
    app: &TestApp,
    root: i64,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    ledger_type: Option<&str>,
) -> i64 {
    let of_type = ledger_type.map_or(String::new(), |k| format!(" AND t.key = '{k}'"));
    app.count_raw(&format!(
        "SELECT COUNT(*) FROM ledger_records r JOIN ledger_types t ON t.id = r.ledger_type_id \
         WHERE r.voided_at IS NULL{of_type} AND r.occurred_on >= '{from}' AND r.occurred_on <= '{to}' \
         AND r.org_id IN (SELECT descendant_id FROM org_closure WHERE ancestor_id = {root} AND valid_to IS NULL)"
    ))
    .await
}

fn month_end(first: chrono::NaiveDate) -> chrono::NaiveDate {
    let next = if first.month() == 12 {
        first
            .with_year(first.year() + 1)
            .and_then(|d| d.with_month(1))
    } else {
        first.with_month(first.month() + 1)
    };
    next.expect("next month") - Duration::days(1)
}

/// The month's figures, the last month's, each of the 12 months' and each unit's, against the
/// records.
async fn check_records(app: &TestApp, d: &Value) {
    let root = d["org"]["id"].as_i64().expect("org id");
    let this = today().with_day(1).expect("first day");
    let end = month_end(this);
    let now = records_under(app, root, this, end, None).await;
    assert_eq!(d["records"], now, "{d}");
    let mut by_type = 0;
    for t in d["types"].as_array().expect("types") {
        let key = t["ledger_type"].as_str().expect("type key");
        let n = records_under(app, root, this, end, Some(key)).await;
        assert_eq!(t["records"], n, "{key}");
        by_type += n;
    }
    assert_eq!(by_type, now);
    let months = d["months"].as_array().expect("months");
    assert_eq!(months.len(), 12);
    let mut first = this;
    for m in months.iter().rev() {
        assert_eq!(m["month"], first.to_string());
        let n = records_under(app, root, first, month_end(first), None).await;
        assert_eq!(m["records"], n, "{first}");
        first = (first - Duration::days(1)).with_day(1).expect("first day");
    }
    assert_eq!(d["last_month_records"], months[10]["records"]);
    // Each unit of the ranking, with its records, most first.
    let mut last = i64::MAX;
    for u in d["ranking"].as_array().expect("ranking") {
        let id = u["org"]["id"].as_i64().expect("unit id");
        let n = records_under(app, id, this, end, None).await;
        assert_eq!(u["records"], n, "{u}");
        assert!(n <= last, "ranked most first");
        last = n;
    }
}

async fn dashboard_of_the_county_counts_the_records_exactly(app: TestApp) {
    let t = app.token("admin").await;
    let d = dashboard(&app, &t, "").await;
    assert_eq!(d["org"]["ref"], COUNTY);
    assert_eq!(d["as_of"], today().to_string());
    assert!(
        d["records"].as_i64().unwrap_or(0) > 0,
        "the demo records reach this month"
    );
    check_records(&app, &d).await;
    // 13 towns and the organs' work committee.
    assert_eq!(d["ranking"].as_array().map(Vec::len), Some(14));
    // The overdue figures are the overdue list's on the same day.
    let (_, towns) = app
        .get(&format!("/api/v1/overdue/towns?as_of={}", today()), &t)
        .await;
    let sum = |k: &str| {
        towns
            .as_array()
            .expect("towns")
            .iter()
            .map(|c| c[k].as_i64().unwrap_or(0))
            .sum::<i64>()
    };
    assert_eq!(
        (d["overdue"].as_i64(), d["due"].as_i64()),
        (Some(sum("overdue")), Some(sum("due")))
    );
    let by_name = |v: &Value| {
        let mut x: Vec<(String, i64, i64)> = v
            .as_array()
            .expect("counts")
            .iter()
            .map(|c| {
                (
                    c["town"]["name"].as_str().unwrap_or("本级").to_string(),
                    c["overdue"].as_i64().unwrap_or(-1),
                    c["due"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        x.sort();
        x
    };
    assert_eq!(by_name(&d["overdue_by_unit"]), by_name(&towns));
    assert_eq!(d["branches"], 56);
}

async fn dashboard_of_a_far_day_counts_every_branch_overdue(app: TestApp) {
    let t = app.token("admin").await;
    let d = dashboard(&app, &t, &format!("as_of={FAR}")).await;
    assert_eq!(d["month_label"], "2100年12月");
    assert_eq!(
        (d["records"].as_i64(), d["last_month_records"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(
        (d["branches"].as_i64(), d["branches_on_schedule"].as_i64()),
        (Some(56), Some(0))
    );
    assert_eq!(
        (d["overdue"].as_i64(), d["due"].as_i64()),
        (Some(336), Some(336))
    );
    let units = d["overdue_by_unit"].as_array().expect("units");
    assert_eq!(units.len(), 14);
    assert!(
        units.iter().all(|u| u["overdue"] == 24 && u["due"] == 24),
        "{units:?}"
    );
    assert!(d["months"]
        .as_array()
        .expect("months")
        .iter()
        .all(|m| m["records"] == 0));
    assert_eq!(d["months"][0]["month"], "2100-01-01");
    // The town's: its 4 branches, 6 rules each.
    let town = dashboard(&app, &t, &format!("org={JISHU}&as_of={FAR}")).await;
    assert_eq!(town["org"]["name"], "鸡黍镇");
    assert_eq!(
        (
            town["branches"].as_i64(),
            town["overdue"].as_i64(),
            town["due"].as_i64()
        ),
        (Some(4), Some(24), Some(24))
    );
    let villages = town["overdue_by_unit"].as_array().expect("villages");
    // Its branches sit in two units directly below it; 6 rules for each branch.
    assert_eq!(villages.len(), 2, "{villages:?}");
    let sum = |k: &str| {
        villages
            .iter()
            .map(|u| u[k].as_i64().unwrap_or(0))
            .sum::<i64>()
    };
    assert_eq!((sum("overdue"), sum("due")), (24, 24));
    assert!(
        villages
            .iter()
            .all(|u| u["overdue"] == u["due"] && u["overdue"].as_i64().unwrap_or(1) % 6 == 0),
        "{villages:?}"
    );
}

/// The `refused` entries of the audit log, as (actor, `METHOD path`).
async fn refusals(app: &TestApp) -> Vec<(String, String)> {
    let auditor = app.token("auditor").await;
    let (s, log) = app
        .get("/api/v1/audit?entity=request&limit=500", &auditor)
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let mut out: Vec<(String, String)> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "refused")
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or("").to_string(),
                e["entity_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn dashboard_of_a_town_stays_in_it(app: TestApp) {
    let t = app.token("jishu").await;
    let own = dashboard(&app, &t, "").await;
    assert_eq!(own["org"]["ref"], JISHU);
    check_records(&app, &own).await;
    // The county's administrator picking the town sees the same figures.
    let admin = app.token("admin").await;
    assert_eq!(dashboard(&app, &admin, &format!("org={JISHU}")).await, own);
    // Another town, or the county, is out of the town's scope: not found, and audited.
    for path in [
        "/api/v1/dashboard?org=370828001",
        "/api/v1/dashboard?org=370828",
    ] {
        let (s, _) = app.get(path, &t).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let cookie = app.browser_login("jishu").await;
    for path in [
        "/dashboard?org=370828001",
        "/dashboard/fragment?org=370828001",
    ] {
        let (s, _) = app.page(path, &cookie).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    // Roles with no place in the tree's work are refused by role.
    for who in ["auditor", "anquan"] {
        let tok = app.token(who).await;
        let (s, _) = app.get("/api/v1/dashboard", &tok).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
    }
    let got = refusals(&app).await;
    let want: Vec<(String, String)> = vec![
        ("anquan".into(), "GET /api/v1/dashboard".into()),
        ("auditor".into(), "GET /api/v1/dashboard".into()),
        ("jishu".into(), "GET /api/v1/dashboard".into()),
        ("jishu".into(), "GET /api/v1/dashboard".into()),
        ("jishu".into(), "GET /dashboard".into()),
        ("jishu".into(), "GET /dashboard/fragment".into()),
    ];
    assert_eq!(got, want);
}

/// Checks that every tag of `svg` closes in order and that no text between tags holds a raw
/// `<`, `>` or `"`; returns the names of the elements opened.
fn well_formed(svg: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut opened = Vec::new();
    let mut rest = svg;
    while let Some(at) = rest.find('<') {
        let end = rest[at..].find('>').expect("an unclosed tag") + at;
        let tag = &rest[at + 1..end];
        assert!(!tag.contains('<'), "a raw < inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "{svg}");
        } else {
            let name: String = tag.chars().take_while(|c| c.is_alphanumeric()).collect();
            opened.push(name.clone());
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        let text = &rest[end + 1..];
        let next = text.find('<').unwrap_or(text.len());
        assert!(
            !text[..next].contains('>') && !text[..next].contains('"'),
            "{svg}"
        );
        rest = text;
    }
    assert!(stack.is_empty(), "{svg}");
    opened
}

/// Every `<svg …</svg>` of a page.
fn charts(html: &str) -> Vec<&str> {
    html.match_indices("<svg ")
        .map(|(at, _)| {
            let end = html[at..].find("</svg>").expect("a closed chart") + at + "</svg>".len();
            &html[at..end]
        })
        .collect()
}

async fn dashboard_page_refreshes_from_its_fragment(app: TestApp) {
    // A village whose name needs escaping, in the town's ranking.
    let t = app.token("jishu").await;
    let (s, v) = app
        .post(
            &format!("/api/v1/orgs/{JISHU}/children"),
            &t,
            json!({"kind": "village", "name": "A&B<村>\"", "code": "370828005998", "established_on": "2020-01-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let cookie = app.browser_login("jishu").await;
    let (s, page) = app.page("/dashboard", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("<h1>数据大屏</h1>"));
    assert!(page.contains(r#"<script src="/assets/dashboard.js" defer></script>"#));
    assert!(
        page.contains(&format!(
            r#"id="dash" data-src="/dashboard/fragment?org={JISHU}" data-every="60""#
        )),
        "{page}"
    );
    assert!(
        page.contains(r#"<a href="/dashboard">数据大屏</a>"#),
        "the menu leads here"
    );
    let (s, frag) = app
        .page(&format!("/dashboard/fragment?org={JISHU}"), &cookie)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!frag.contains("<html") && !frag.contains("<header"));
    // The page holds the fragment as served (the date line aside, the same day).
    assert!(page.contains(frag.trim()), "the page holds its fragment");
    let d = dashboard(&app, &t, "").await;
    assert!(frag.contains(&format!(r#"<div class="big">{}</div>"#, d["records"])));
    assert!(frag.contains(&format!("上月 {}", d["last_month_records"])));
    // Two charts: a bar per unit of the ranking, a column per month.
    let svgs = charts(&frag);
    assert_eq!(svgs.len(), 2);
    let units = d["ranking"].as_array().expect("ranking").len();
    assert!(
        d["ranking"]
            .as_array()
            .expect("ranking")
            .iter()
            .any(|u| u["org"]["ref"] == "370828005998"),
        "{d}"
    );
    for (svg, rects) in svgs.iter().zip([units, 12]) {
        let tags = well_formed(svg);
        assert_eq!(tags.iter().filter(|t| *t == "rect").count(), rects);
        assert!(svg.contains(r#"width="100%""#) && svg.contains("viewBox=\"0 0 360 "));
    }
    assert!(svgs[0].contains("A&amp;B&lt;村&gt;&quot;"), "{}", svgs[0]);
    assert!(!frag.contains("B<村>"));
    // The script is served by the binary.
    let r = app
        .client
        .get(app.url("/assets/dashboard.js"))
        .send()
        .await
        .expect("script");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let js = r.text().await.expect("script text");
    assert!(js.contains("setInterval") && js.contains("data-src"));
    // The JSON is in the OpenAPI document.
    let (_, doc) = app.get("/api/v1/openapi.json", &t).await;
    assert!(doc["paths"].get("/api/v1/dashboard").is_some());
    // A role without the dashboard has no menu entry for it.
    let auditor = app.browser_login("auditor").await;
    let (_, audit) = app.page("/audit", &auditor).await;
    assert!(!audit.contains(r#"href="/dashboard""#));
}

/// The home page's 去登记 links, in order, as (type key, organisation).
fn record_links(html: &str) -> Vec<(String, String)> {
    html.match_indices(r#"<a class="button" href="/records/new?type="#)
        .map(|(at, m)| {
            let rest = &html[at + m.len()..];
            let end = rest.find('"').expect("end of the link");
            let (ty, org) = rest[..end]
                .split_once("&#38;org=")
                .expect("an organisation");
            assert!(rest[end..].starts_with("\">去登记</a>"));
            (ty.to_string(), org.to_string())
        })
        .collect()
}

async fn secretary_home_lists_what_is_due_with_a_way_to_record_it(app: TestApp) {
    let t = app.token("xunzhuang").await;
    let (s, items) = app
        .get(&format!("/api/v1/overdue?as_of={}", today()), &t)
        .await;
    assert_eq!(s, StatusCode::OK);
    let expected: Vec<(String, String)> = items
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["ledger_type"].as_str().unwrap_or("").to_string(),
                i["org"]["ref"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let cookie = app.browser_login("xunzhuang").await;
    let (s, home) = app.page("/", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(record_links(&home), expected);
    assert!(expected.iter().all(|(_, o)| o == XUNZHUANG));
    // This month's 主题党日 is due unless it is recorded; recording it takes it off the list.
    let theme_due = items
        .as_array()
        .expect("items")
        .iter()
        .any(|i| i["ledger_type"] == "theme_day" && i["status"] == "due");
    let day = today().to_string();
    let before = record_links(&home)
        .iter()
        .filter(|(k, _)| k == "theme_day")
        .count();
    let (s, v) = app
        .post(
            "/api/v1/records",
            &t,
            json!({"ledger_type": "theme_day", "org": XUNZHUANG, "occurred_on": day, "fields": {"theme": "学习党章"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, home) = app.page("/", &cookie).await;
    let after: Vec<(String, String)> = record_links(&home);
    let due_left = after.iter().filter(|(k, _)| k == "theme_day").count();
    assert_eq!(due_left, before - usize::from(theme_due));
    assert!(home.contains("<h2>待登记事项</h2>") || after.is_empty());
    // A town's manager records for no branch of their own: no such list.
    let town = app.browser_login("jishu").await;
    let (_, home) = app.page("/", &town).await;
    assert!(!home.contains("待登记事项"));
    assert!(record_links(&home).is_empty());
}
