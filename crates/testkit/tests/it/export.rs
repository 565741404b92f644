//! Exports of the lists as .xlsx, read back with calamine: the header row, as many rows as the
//! list has, typed cells (dates are dates, money is 元 with two decimals), personal data masked
//! for a viewer and whole for a role that may see it, refusals outside the scope (audited), and
//! the `export` audit entry with its row count.

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::Cursor;
use taizhang_testkit::{each_backend, TestApp};

each_backend!(
    organisations_are_the_callers_subtree,
    people_are_masked_unless_asked_whole_by_an_allowed_role,
    records_have_a_column_of_its_type_per_field,
    money_is_written_in_yuan_with_two_decimals,
    positions_links_and_overdue_match_their_lists,
    the_audit_log_is_the_auditors_and_counts_its_rows,
    a_caller_outside_the_scope_is_refused_and_audited,
    the_pages_link_to_their_exports,
    the_exports_are_in_the_openapi_document,
);

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// GETs an export with a bearer token: the status and the body's bytes.
pub(super) async fn fetch(app: &TestApp, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
    let r = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = r.status();
    if status == StatusCode::OK {
        let ctype = r.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap();
        assert_eq!(ctype, XLSX);
        let disp = r.headers()[reqwest::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .to_string();
        assert!(disp.starts_with("attachment; "), "{disp}");
    }
    (status, r.bytes().await.expect("body").to_vec())
}

/// The export's only sheet, read back: its name and its rows (the header first).
pub(super) async fn sheet(app: &TestApp, path: &str, token: &str) -> (String, Vec<Vec<Data>>) {
    let (status, bytes) = fetch(app, path, token).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{path}: {}",
        String::from_utf8_lossy(&bytes)
    );
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an xlsx");
    let names = book.sheet_names();
    assert_eq!(names.len(), 1);
    let range = book.worksheet_range(&names[0]).expect("the sheet");
    (names[0].clone(), range.rows().map(|r| r.to_vec()).collect())
}

fn header(rows: &[Vec<Data>]) -> Vec<String> {
    rows[0].iter().map(|c| c.to_string()).collect()
}

fn text(c: &Data) -> &str {
    match c {
        Data::String(s) => s,
        other => panic!("a text cell, not {other:?}"),
    }
}

/// Excel's serial of a day.
fn serial(d: &str) -> f64 {
    let d: NaiveDate = d.parse().expect("a date");
    (d - NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days() as f64
}

fn date_cell(c: &Data) -> f64 {
    match c {
        Data::DateTime(t) => t.as_f64(),
        other => panic!("a date cell, not {other:?}"),
    }
}

/// The newest `export` entry of the county's audit log, read by the auditor.
async fn last_export(app: &TestApp) -> Value {
    let auditor = app.token("auditor").await;
    let (s, v) = app
        .get("/api/v1/audit?entity=export&limit=1", &auditor)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["entries"][0].clone()
}

async fn organisations_are_the_callers_subtree(app: TestApp) {
    let t = app.token("jishu").await;
    let (name, rows) = sheet(&app, "/api/v1/orgs/export.xlsx", &t).await;
    assert_eq!(name, "组织");
    assert_eq!(
        header(&rows),
        [
            "组织编码",
            "组织名称",
            "组织类型",
            "上级组织",
            "成立日期",
            "撤销日期"
        ]
    );
    let town = app
        .count_raw("SELECT id FROM orgs WHERE code = '370828005'")
        .await;
    let expected = app
        .count_raw(&format!(
            "SELECT COUNT(*) FROM org_closure WHERE valid_to IS NULL AND ancestor_id = {town}"
        ))
        .await;
    assert!(expected > 10, "鸡黍镇 has its villages: {expected}");
    assert_eq!(rows.len() as i64 - 1, expected);
    // 鸡黍镇 itself: its code, its parent, its founding day as a date.
    let row = rows
        .iter()
        .find(|r| r[0] == Data::String("370828005".into()))
        .expect("the town's row");
    assert_eq!(text(&row[1]), "鸡黍镇");
    assert_eq!(text(&row[2]), "镇街党(工)委");
    let (s, org) = app.get("/api/v1/orgs/370828005", &t).await;
    assert_eq!(s, StatusCode::OK);
    let parent = app
        .count_raw(&format!(
            "SELECT parent_id FROM org_edges WHERE child_id = {} AND valid_to IS NULL",
            org["id"]
        ))
        .await;
    let admin = app.token("admin").await;
    let (_, p) = app.get(&format!("/api/v1/orgs/o{parent}"), &admin).await;
    assert_eq!(text(&row[3]), p["name"].as_str().unwrap());
    assert_eq!(
        date_cell(&row[4]),
        serial(org["established_on"].as_str().unwrap())
    );
    assert_eq!(row[5], Data::Empty);
    // Every other row names its parent by its path from the town down, which imports back.
    for r in rows[1..].iter().filter(|r| *r != row) {
        let parent = text(&r[3]);
        assert!(parent == "鸡黍镇" || parent.starts_with("鸡黍镇/"), "{r:?}");
    }
    // Nothing outside the town: no other town's code.
    assert!(rows
        .iter()
        .all(|r| r[0] != Data::String("370828001".into())));
    let e = last_export(&app).await;
    assert_eq!(e["action"], "export");
    assert_eq!(e["actor"], "jishu");
    assert_eq!(e["entity_id"], "orgs");
    assert_eq!(e["after"]["rows"], json!(expected));
}

async fn people_are_masked_unless_asked_whole_by_an_allowed_role(app: TestApp) {
    let jishu = app.token("jishu").await;
    let (s, list) = app.get("/api/v1/people?limit=1", &jishu).await;
    assert_eq!(s, StatusCode::OK);
    let total = list["total"].as_i64().unwrap();
    let (_, masked) = sheet(&app, "/api/v1/people/export.xlsx", &jishu).await;
    assert_eq!(
        header(&masked),
        [
            "姓名",
            "性别",
            "所在组织",
            "组织编码",
            "公民身份号码",
            "联系电话",
            "出生日期",
            "党员",
            "退休",
            "民族",
            "学历",
            "人员类别",
            "入党日期",
            "转正日期"
        ]
    );
    assert_eq!(masked.len() as i64 - 1, total);
    let (_, whole) = sheet(&app, "/api/v1/people/export.xlsx?whole=true", &jishu).await;
    assert_eq!(whole.len() as i64 - 1, total);
    // The first person with a number, as the API shows them masked and whole.
    let i = (1..whole.len())
        .find(|&i| whole[i][4] != Data::Empty)
        .expect("someone with a 身份证号");
    let (s, shown) = app.get("/api/v1/people?limit=500", &jishu).await;
    assert_eq!(s, StatusCode::OK);
    let p = &shown["people"][i - 1];
    assert_eq!(text(&masked[i][0]), p["name"].as_str().unwrap());
    assert_eq!(text(&masked[i][4]), p["id_number"].as_str().unwrap());
    assert_eq!(text(&masked[i][5]), p["phone"].as_str().unwrap());
    let (s, revealed) = app
        .get(&format!("/api/v1/people/{}?reveal=true", p["id"]), &jishu)
        .await;
    assert_eq!(s, StatusCode::OK);
    let id_number = revealed["id_number"].as_str().unwrap();
    assert_eq!(id_number.len(), 18);
    assert_eq!(text(&whole[i][4]), id_number);
    assert_eq!(text(&whole[i][5]), revealed["phone"].as_str().unwrap());
    assert_eq!(
        text(&masked[i][4]),
        format!("{}**********{}", &id_number[..4], &id_number[14..])
    );
    // The birth date is a date cell.
    if let Some(b) = revealed["birth_date"].as_str() {
        assert_eq!(date_cell(&whole[i][6]), serial(b));
    }
    // The member profile in the national system's words, its dates as date cells.
    let member = (1..whole.len())
        .find(|&i| whole[i][12] != Data::Empty)
        .expect("a member with a 入党日期");
    let m = &shown["people"][member - 1];
    assert_eq!(text(&whole[member][9]), m["ethnicity"].as_str().unwrap());
    let label = |k: &str, labels: &[(&str, &str)]| {
        let key = m[k].as_str().unwrap_or("");
        labels
            .iter()
            .find(|(a, _)| *a == key)
            .map(|(_, b)| b.to_string())
    };
    assert_eq!(
        Some(text(&whole[member][11]).to_string()),
        label(
            "member_category",
            &[("full", "正式党员"), ("probationary", "预备党员")]
        ),
        "{m}"
    );
    assert_eq!(
        date_cell(&whole[member][12]),
        serial(m["joined_on"].as_str().unwrap())
    );
    // No whole number anywhere in the masked sheet.
    assert!(masked[1..]
        .iter()
        .all(|r| r[4] == Data::Empty || text(&r[4]).contains("**********")));
    // A viewer reads people masked; asked whole, refused, and the refusal audited.
    let viewer = app.token("viewer").await;
    let (_, v) = sheet(&app, "/api/v1/people/export.xlsx", &viewer).await;
    assert!(v[1..]
        .iter()
        .all(|r| r[4] == Data::Empty || text(&r[4]).contains("**********")));
    let (s, body) = fetch(&app, "/api/v1/people/export.xlsx?whole=true", &viewer).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let refused = app
        .count_raw("SELECT COUNT(*) FROM audit_log WHERE action = 'refused' AND actor = 'viewer' AND entity_id = 'GET /api/v1/people/export.xlsx'")
        .await;
    assert_eq!(refused, 1);
    let e = last_export(&app).await;
    assert_eq!(e["actor"], "viewer");
    assert_eq!(e["entity_id"], "people");
    assert_eq!(e["after"]["filters"]["whole"], false);
}

async fn records_have_a_column_of_its_type_per_field(app: TestApp) {
    let t = app.token("jishu").await;
    // The demo's records end with the last complete months: the quarter up to the newest one.
    let (_, newest) = app
        .get("/api/v1/records?ledger_type=three_meetings&limit=1", &t)
        .await;
    let to: NaiveDate = newest["records"][0]["occurred_on"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let from = to - chrono::Duration::days(90);
    let q = format!("ledger_type=three_meetings&from={from}&to={to}");
    let (s, list) = app.get(&format!("/api/v1/records?{q}&limit=5"), &t).await;
    assert_eq!(s, StatusCode::OK);
    let total = list["total"].as_i64().unwrap();
    assert!(total > 10, "{total}");
    let (name, rows) = sheet(&app, &format!("/api/v1/records/export.xlsx?{q}"), &t).await;
    assert_eq!(name, "三会一课");
    assert_eq!(
        header(&rows),
        [
            "日期",
            "组织",
            "组织编码",
            "会议类型",
            "主题",
            "参会人员",
            "实到人数（人次）",
            "会议记录",
            "照片/附件（个数）",
            "录入人",
            "录入时间（北京时间）"
        ]
    );
    assert_eq!(rows.len() as i64 - 1, total);
    // The list's order, newest first: the export's first rows are the list's first page.
    for (k, r) in list["records"].as_array().unwrap().iter().enumerate() {
        let row = &rows[k + 1];
        assert_eq!(
            date_cell(&row[0]),
            serial(r["occurred_on"].as_str().unwrap())
        );
        // The organisation by its path, which ends with its name.
        let path: Vec<&str> = text(&row[1]).split('/').collect();
        assert_eq!(path.last().copied(), r["org"]["name"].as_str());
        assert_eq!(text(&row[3]), r["fields"]["meeting_kind"].as_str().unwrap());
        match r["fields"].get("attendance").and_then(Value::as_i64) {
            Some(n) => assert_eq!(row[6], Data::Float(n as f64)),
            None => assert_eq!(row[6], Data::Empty),
        }
        // The one people field names everyone the record names.
        let named: Vec<&str> = r["people"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for n in &named {
            assert!(text(&row[5]).contains(n), "{n} in {:?}", row[5]);
        }
        assert!(matches!(row[10], Data::DateTime(_)), "{:?}", row[10]);
    }
    // Every row in the period.
    let (lo, hi) = (serial(&from.to_string()), serial(&to.to_string()));
    assert!(rows[1..]
        .iter()
        .all(|r| (lo..=hi).contains(&date_cell(&r[0]))));
    let e = last_export(&app).await;
    assert_eq!(e["entity_id"], "records:three_meetings");
    assert_eq!(e["after"]["rows"], json!(total));
    assert_eq!(e["after"]["filters"]["from"], json!(from));
    // An unknown type is not found.
    let (s, _) = fetch(
        &app,
        "/api/v1/records/export.xlsx?ledger_type=nothing_such",
        &t,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn money_is_written_in_yuan_with_two_decimals(app: TestApp) {
    let admin = app.token("admin").await;
    let def = json!({
        "key": "dues", "name": "党费收缴", "verb": "收缴", "count_unit": "笔",
        "fields": [
            {"key": "payer", "label": "缴纳人", "kind": "text", "required": true},
            {"key": "amount", "label": "金额", "kind": "decimal", "scale": 2, "min": "0", "max": "100000", "unit": "元"},
            {"key": "paid_on", "label": "缴纳日期", "kind": "date"}
        ]
    });
    let (s, v) = app.post("/api/v1/ledger-types", &admin, def).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    for (amount, day) in [("1234.5", "2025-03-02"), ("0.05", "2025-03-01")] {
        let (s, v) = app
            .post(
                "/api/v1/records",
                &admin,
                json!({"ledger_type": "dues", "org": "370828005", "occurred_on": day,
                       "fields": {"payer": "张三", "amount": amount, "paid_on": day}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (_, rows) = sheet(&app, "/api/v1/records/export.xlsx?ledger_type=dues", &admin).await;
    assert_eq!(
        header(&rows),
        [
            "日期",
            "组织",
            "组织编码",
            "缴纳人",
            "金额（元）",
            "缴纳日期",
            "录入人",
            "录入时间（北京时间）"
        ]
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][4], Data::Float(1234.5));
    assert_eq!(rows[2][4], Data::Float(0.05));
    assert_eq!(date_cell(&rows[1][5]), serial("2025-03-02"));
    assert_eq!(text(&rows[1][6]), "admin");
    // The money format: two decimals with a thousands separator.
    let (_, bytes) = fetch(&app, "/api/v1/records/export.xlsx?ledger_type=dues", &admin).await;
    assert!(taizhang_testkit::contains_bytes(
        &unzip(&bytes, "xl/styles.xml"),
        b"formatCode=\"#,##0.00\""
    ));
}

/// One part of an .xlsx package.
fn unzip(bytes: &[u8], part: &str) -> Vec<u8> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    let mut f = z.by_name(part).expect("the part");
    let mut out = Vec::new();
    f.read_to_end(&mut out).expect("read");
    out
}

async fn positions_links_and_overdue_match_their_lists(app: TestApp) {
    let t = app.token("jishu").await;
    let (_, rows) = sheet(&app, "/api/v1/positions/export.xlsx", &t).await;
    assert_eq!(
        header(&rows),
        ["姓名", "组织", "组织编码", "职务", "任职日期", "离任日期"]
    );
    let town = app
        .count_raw("SELECT id FROM orgs WHERE code = '370828005'")
        .await;
    let expected = app
        .count_raw(&format!("SELECT COUNT(*) FROM positions WHERE org_id IN (SELECT descendant_id FROM org_closure WHERE valid_to IS NULL AND ancestor_id = {town})"))
        .await;
    assert!(expected > 0);
    assert_eq!(rows.len() as i64 - 1, expected);
    assert!(rows[1..].iter().all(|r| date_cell(&r[4]) > 0.0));

    // The API refuses an empty typed filter, as the lists' own endpoints do.
    for path in [
        "/api/v1/links/export.xlsx?kind=",
        "/api/v1/overdue/export.xlsx?as_of=",
    ] {
        let (s, _) = fetch(&app, path, &t).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
    }

    let (s, links) = app.get("/api/v1/links", &t).await;
    assert_eq!(s, StatusCode::OK);
    let links = links.as_array().unwrap();
    assert!(!links.is_empty());
    let (_, rows) = sheet(&app, "/api/v1/links/export.xlsx", &t).await;
    assert_eq!(rows.len() - 1, links.len());
    assert_eq!(text(&rows[1][0]), links[0]["kind_label"].as_str().unwrap());
    assert_eq!(
        text(&rows[1][3]),
        links[0]["to_org"]["name"].as_str().unwrap()
    );
    assert_eq!(
        date_cell(&rows[1][8]),
        serial(links[0]["valid_from"].as_str().unwrap())
    );

    let (s, items) = app.get("/api/v1/overdue?as_of=2025-12-31", &t).await;
    assert_eq!(s, StatusCode::OK);
    let items = items.as_array().unwrap();
    let (_, rows) = sheet(&app, "/api/v1/overdue/export.xlsx?as_of=2025-12-31", &t).await;
    assert_eq!(
        header(&rows),
        [
            "组织",
            "组织编码",
            "台账类型",
            "要求",
            "周期",
            "截止日期",
            "状态"
        ]
    );
    assert_eq!(rows.len() - 1, items.len());
    if let Some(first) = items.first() {
        assert_eq!(text(&rows[1][0]), first["org"]["name"].as_str().unwrap());
        assert_eq!(
            date_cell(&rows[1][5]),
            serial(first["due_on"].as_str().unwrap())
        );
    }
    let e = last_export(&app).await;
    assert_eq!(e["entity_id"], "overdue");
    assert_eq!(e["after"]["rows"], json!(items.len()));
}

async fn the_audit_log_is_the_auditors_and_counts_its_rows(app: TestApp) {
    let auditor = app.token("auditor").await;
    let before = app.count_raw("SELECT COUNT(*) FROM audit_log").await;
    let (name, rows) = sheet(&app, "/api/v1/audit/export.xlsx", &auditor).await;
    assert_eq!(name, "审计日志");
    assert_eq!(
        header(&rows),
        [
            "序号",
            "时间（北京时间）",
            "操作人",
            "操作",
            "对象类型",
            "对象",
            "变更前",
            "变更后",
            "哈希"
        ]
    );
    assert_eq!(rows.len() as i64 - 1, before);
    // Newest first, the sequence as numbers.
    assert_eq!(rows[1][0], Data::Float(before as f64));
    assert_eq!(rows[before as usize][0], Data::Float(1.0));
    assert!(matches!(rows[1][1], Data::DateTime(_)));
    // One entry more: the export's.
    assert_eq!(
        app.count_raw("SELECT COUNT(*) FROM audit_log").await,
        before + 1
    );
    let e = last_export(&app).await;
    assert_eq!(e["actor"], "auditor");
    assert_eq!(e["entity_id"], "audit");
    assert_eq!(e["after"]["rows"], json!(before));
    // An administrator may not read the audit log, nor export it.
    let admin = app.token("admin").await;
    let (s, _) = fetch(&app, "/api/v1/audit/export.xlsx", &admin).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn a_caller_outside_the_scope_is_refused_and_audited(app: TestApp) {
    let village = app.token("xunzhuang").await;
    let exports_before = app
        .count_raw("SELECT COUNT(*) FROM audit_log WHERE action = 'export'")
        .await;
    for path in [
        "/api/v1/records/export.xlsx?ledger_type=three_meetings&org=370828005",
        "/api/v1/people/export.xlsx?org=370828005",
        "/api/v1/overdue/export.xlsx?org=370828005",
        "/api/v1/links/export.xlsx?org=370828005",
    ] {
        let (s, body) = fetch(&app, path, &village).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        let v: Value = serde_json::from_slice(&body).expect("json error");
        assert_eq!(v["code"], "not_found");
    }
    let refused = app
        .count_raw("SELECT COUNT(*) FROM audit_log WHERE action = 'refused' AND actor = 'xunzhuang' AND entity_id LIKE 'GET /api/v1/%/export.xlsx'")
        .await;
    assert_eq!(refused, 4);
    // Nothing was exported.
    assert_eq!(
        app.count_raw("SELECT COUNT(*) FROM audit_log WHERE action = 'export'")
            .await,
        exports_before
    );
    // Without a token, nothing at all.
    let r = app
        .client
        .get(app.url("/api/v1/orgs/export.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn the_pages_link_to_their_exports(app: TestApp) {
    let cookie = app.browser_login("jishu").await;
    for (page, link) in [
        ("/people", "/people/export.xlsx?org="),
        (
            "/records?ledger_type=three_meetings",
            "/records/export.xlsx?ledger_type=three_meetings&amp;org=&amp;from=&amp;to=",
        ),
        ("/overdue", "/overdue/export.xlsx?org=370828005"),
        ("/links", "/links/export.xlsx"),
        ("/orgs/370828005", "/orgs/export.xlsx"),
    ] {
        let (s, html) = app.page(page, &cookie).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert!(
            html.contains(link) && html.contains("Excel</a>"),
            "{page}: {link}"
        );
    }
    // The link as the page writes it (empty filters) answers the workbook.
    let r =
        app.client
            .get(app.url(
                "/records/export.xlsx?ledger_type=three_meetings&org=&from=&to=&field=&option=",
            ))
            .header(reqwest::header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an xlsx");
    let rows = book.worksheet_range("三会一课").expect("sheet").height();
    let t = app.token("jishu").await;
    let (_, list) = app
        .get("/api/v1/records?ledger_type=three_meetings&limit=1", &t)
        .await;
    assert_eq!(rows as i64 - 1, list["total"].as_i64().unwrap());
}

async fn the_exports_are_in_the_openapi_document(app: TestApp) {
    let t = app.token("viewer").await;
    let (s, doc) = app.get("/api/v1/openapi.json", &t).await;
    assert_eq!(s, StatusCode::OK);
    for list in [
        "orgs",
        "people",
        "positions",
        "links",
        "records",
        "overdue",
        "audit",
    ] {
        let path = format!("/api/v1/{list}/export.xlsx");
        let op = &doc["paths"][&path]["get"];
        assert!(
            op["responses"]["200"]["content"][XLSX].is_object(),
            "{path}: {op}"
        );
    }
    let params: Vec<&str> = doc["paths"]["/api/v1/records/export.xlsx"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        params,
        [
            "ledger_type",
            "org",
            "from",
            "to",
            "field",
            "option",
            "person"
        ]
    );
}
