//! The audit log as an auditor reads it, on every backend: filters that return exactly the
//! entries asked for, pages both ways, bad filters refused with their codes (and told beside the
//! field on the page), Chinese names and readable changes instead of JSON, and the log still for
//! the auditor only.

use chrono::{Days, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use taizhang_domain::clock::china_date;
use taizhang_testkit::{each_backend, field_codes, TestApp};

each_backend!(
    audit_filters_return_exactly_the_entries_asked_for,
    audit_pages_forward_then_back_are_the_same,
    bad_audit_filters_are_refused_with_their_codes,
    audit_page_reads_in_chinese_without_json,
    audit_log_stays_for_the_auditor,
);

/// What a fixed small data set wrote: a village created and renamed, a person and a record in
/// it, all by `admin`, whose one login comes first.
struct Written {
    org: i64,
    person: i64,
    record: i64,
}

async fn write_a_small_data_set(app: &TestApp) -> Written {
    let admin = app.token("admin").await;
    let (s, org) = app
        .post(
            "/api/v1/orgs/370828005/children",
            &admin,
            json!({"kind": "village", "name": "审计筛选村", "established_on": "2020-01-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{org}");
    let org_ref = org["ref"].as_str().expect("ref").to_string();
    let (s, _) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/orgs/{org_ref}"),
            Some(&admin),
            Some(json!({"name": "审计筛选二村"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, person) = app
        .post(
            "/api/v1/people",
            &admin,
            json!({"name": "筛选人", "org": org_ref}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{person}");
    let visit = json!({"ledger_type": "visit", "org": org_ref, "occurred_on": "2026-01-10",
        "fields": {"category": "脱贫户", "households": 7}});
    let (s, record) = app.post("/api/v1/records", &admin, visit).await;
    assert_eq!(s, StatusCode::CREATED, "{record}");
    let id = |v: &Value| v["id"].as_i64().expect("id");
    Written {
        org: id(&org),
        person: id(&person),
        record: id(&record),
    }
}

/// The (action, entity, entity_id) of each entry of a page.
fn rows(page: &Value) -> Vec<(String, String, String)> {
    page["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (text("action"), text("entity"), text("entity_id"))
        })
        .collect()
}

fn row(action: &str, entity: &str, id: i64) -> (String, String, String) {
    (action.into(), entity.into(), id.to_string())
}

async fn audit_filters_return_exactly_the_entries_asked_for(app: TestApp) {
    let w = write_a_small_data_set(&app).await;
    let auditor = app.token("auditor").await;
    let today = china_date(Utc::now());
    let (yesterday, tomorrow) = (
        today.checked_sub_days(Days::new(1)).expect("yesterday"),
        today.checked_add_days(Days::new(1)).expect("tomorrow"),
    );
    let ask = |query: String| {
        let auditor = auditor.clone();
        let app = &app;
        async move {
            let (s, page) = app.get(&format!("/api/v1/audit?{query}"), &auditor).await;
            assert_eq!(s, StatusCode::OK, "{query}: {page}");
            assert_eq!(
                page["total"].as_i64(),
                page["entries"].as_array().map(|a| a.len() as i64),
                "{query}"
            );
            rows(&page)
        }
    };
    let org = w.org;
    assert_eq!(
        ask(format!("entity=org&entity_id={org}")).await,
        vec![row("rename", "org", org), row("create", "org", org)]
    );
    assert_eq!(
        ask(format!("entity=org&entity_id={org}&action=rename")).await,
        vec![row("rename", "org", org)]
    );
    assert_eq!(
        ask(format!("entity=org&entity_id={org}&actor=jishu")).await,
        vec![]
    );
    assert_eq!(
        ask(format!("actor=admin&action=create&from={today}&to={today}")).await,
        vec![
            row("create", "record", w.record),
            row("create", "person", w.person),
            row("create", "org", org),
        ]
    );
    assert_eq!(
        ask(format!("actor=admin&from={tomorrow}")).await,
        vec![],
        "nothing is written tomorrow"
    );
    assert_eq!(
        ask(format!("actor=admin&to={yesterday}")).await,
        vec![],
        "nothing was written yesterday"
    );
    let (s, page) = app
        .get("/api/v1/audit?actor=admin&limit=100", &auditor)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        rows(&page).iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["create", "create", "rename", "create", "login"],
        "admin's entries, newest first"
    );
    assert!(page["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .all(|e| e["actor"] == "admin"));
}

async fn audit_pages_forward_then_back_are_the_same(app: TestApp) {
    write_a_small_data_set(&app).await;
    let auditor = app.token("auditor").await;
    let page = |query: String| {
        let auditor = auditor.clone();
        let app = &app;
        async move {
            let (s, v) = app.get(&format!("/api/v1/audit?{query}"), &auditor).await;
            assert_eq!(s, StatusCode::OK, "{query}: {v}");
            v
        }
    };
    // admin's five entries, two at a time: [record, person], [rename, org], [login].
    let first = page("actor=admin&limit=2".into()).await;
    assert_eq!(first["newer"], Value::Null, "the newest page");
    assert_eq!(first["total"], 5);
    let second = page(format!("actor=admin&limit=2&before={}", first["older"])).await;
    let third = page(format!("actor=admin&limit=2&before={}", second["older"])).await;
    assert_eq!(rows(&third).len(), 1);
    assert_eq!(rows(&third)[0].0, "login");
    assert_eq!(third["older"], Value::Null, "the oldest page");
    let back = page(format!("actor=admin&limit=2&after={}", third["newer"])).await;
    assert_eq!(back["entries"], second["entries"]);
    assert_eq!(
        (&back["newer"], &back["older"]),
        (&second["newer"], &second["older"])
    );
    let front = page(format!("actor=admin&limit=2&after={}", back["newer"])).await;
    assert_eq!(front["entries"], first["entries"]);
    assert_eq!(front["newer"], Value::Null);

    // The whole log, on the page: 下一页 then 上一页 lead back to the same entries.
    let cookie = app.browser_login("auditor").await;
    let (s, html) = app.page("/audit", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    let next = link(&html, "下一页").expect("a next page");
    assert!(
        link(&html, "上一页").is_none(),
        "the newest page has no newer one"
    );
    let (_, older) = app.page(&next, &cookie).await;
    let previous = link(&older, "上一页").expect("a previous page");
    let (_, again) = app.page(&previous, &cookie).await;
    assert_eq!(tbody(&again), tbody(&html));
}

/// The address of the link with this text.
fn link(html: &str, text: &str) -> Option<String> {
    let end = html.find(&format!("\">{text}</a>"))?;
    let start = html[..end].rfind("href=\"")? + 6;
    Some(html[start..end].replace("&#38;", "&"))
}

fn tbody(html: &str) -> &str {
    let start = html.find("<tbody>").expect("a table");
    let end = html.find("</tbody>").expect("its end");
    &html[start..end]
}

async fn bad_audit_filters_are_refused_with_their_codes(app: TestApp) {
    let auditor = app.token("auditor").await;
    let long = "a".repeat(41);
    for (query, field, code) in [
        (format!("actor={long}"), "actor", "too_long"),
        ("from=2026-13-01".into(), "from", "date.invalid"),
        ("to=1900-01-01".into(), "to", "date_out_of_range"),
        (
            "from=2026-03-02&to=2026-03-01".into(),
            "to",
            "period.reversed",
        ),
        ("before=5&after=3".into(), "after", "audit.both_cursors"),
        ("before=0".into(), "before", "audit.bad_cursor"),
    ] {
        let (s, v) = app.get(&format!("/api/v1/audit?{query}"), &auditor).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {v}");
        assert_eq!(
            field_codes(&v),
            vec![(field.into(), code.into())],
            "{query}"
        );
    }
    // On the page: the message beside its field, and what was typed kept.
    let cookie = app.browser_login("auditor").await;
    let (s, html) = app
        .page("/audit?actor=admin&from=abc&action=create", &cookie)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("<div class=\"field-error\" id=\"f-from-err\">日期格式应为 YYYY-MM-DD</div>"),
        "{html}"
    );
    assert!(html.contains("aria-describedby=\"f-from-err\""));
    assert!(html.contains("name=\"actor\" maxlength=\"40\" autocomplete=\"off\" value=\"admin\""));
    assert!(html.contains("value=\"abc\""));
    assert!(html.contains("<option value=\"create\" selected>新建</option>"));
    let (s, html) = app.page("/audit?before=x", &cookie).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("翻页位置应为正整数"), "{html}");
}

async fn audit_page_reads_in_chinese_without_json(app: TestApp) {
    let w = write_a_small_data_set(&app).await;
    let cookie = app.browser_login("auditor").await;
    let (s, html) = app
        .page(
            &format!("/audit?entity=record&entity_id={}", w.record),
            &cookie,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let body = tbody(&html);
    assert!(
        body.contains("<td>admin</td><td>新建</td><td>台账记录 "),
        "{body}"
    );
    assert!(body.contains("households</span>：7"), "{body}");
    assert!(body.contains("台账类型</span>：visit"), "{body}");
    assert!(
        !body.contains('{') && !body.contains('}'),
        "no JSON: {body}"
    );
    // The auditor reads no records: the object leads to its history in the log.
    let history = format!("href=\"/audit?entity=record&#38;entity_id={}\"", w.record);
    assert!(body.contains(&history), "{body}");
    // A rename reads as 名称：old → new.
    let (_, html) = app
        .page(
            &format!("/audit?entity=org&entity_id={}&action=rename", w.org),
            &cookie,
        )
        .await;
    assert!(
        tbody(&html).contains("名称</span>：审计筛选村 → 审计筛选二村"),
        "{html}"
    );
    // Refused access is in the log too, by its Chinese name.
    let (s, _) = app.page("/orgs/370828", &cookie).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, html) = app.page("/audit?action=refused", &cookie).await;
    let body = tbody(&html);
    assert!(
        body.contains("<td>拒绝访问</td><td>访问请求 GET /orgs/370828</td>"),
        "{body}"
    );
    assert!(body.contains("原因</span>：forbidden"), "{body}");
    // The form offers the actions and objects by their Chinese names; the table is in a
    // focusable, named box.
    assert!(html.contains("<option value=\"void\">作废</option>"));
    assert!(html.contains("<option value=\"person\">人员</option>"));
    assert!(html
        .contains("class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"审计日志条目\""));
}

async fn audit_log_stays_for_the_auditor(app: TestApp) {
    for user in ["admin", "jishu", "anquan"] {
        let token = app.token(user).await;
        let (s, _) = app
            .get("/api/v1/audit?actor=admin&action=create", &token)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{user} reads no audit log");
        let cookie = app.browser_login(user).await;
        let (s, html) = app.page("/audit?actor=admin", &cookie).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{user}");
        assert!(html.contains("无权访问"));
    }
    let auditor = app.token("auditor").await;
    let (s, _) = app.get("/api/v1/audit?actor=admin", &auditor).await;
    assert_eq!(s, StatusCode::OK);
}
