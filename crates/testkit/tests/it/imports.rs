//! Imports of ledger records from sheets, through the server: the upload answers at once, the
//! jobs worker runs the import, and its counts, its rejected rows (a workbook read back with
//! calamine) and the records it wrote are exact; importing the same file again writes nothing;
//! all or nothing writes nothing when one row is bad; an import is its uploader's alone and its
//! rows stay in the uploader's scope; the pages upload and follow it.

use super::pages::{multipart_body, Part, BOUNDARY};
use calamine::{Data, Reader, Xlsx};
use chrono::Utc;
use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use serde_json::Value;
use std::io::Cursor;
use taizhang_testkit::{each_backend, send, TestApp};
use taizhang_web::jobs::{Worker, WorkerOptions};

each_backend!(
    a_sheet_goes_in_and_importing_it_again_writes_nothing,
    one_bad_row_refuses_the_file_unless_the_valid_rows_are_asked_for,
    an_import_is_its_uploaders_and_its_rows_stay_in_scope,
    a_file_that_is_not_a_sheet_fails_with_a_clear_message,
    an_interrupted_import_writes_each_row_once,
    the_pages_upload_and_follow_an_import,
);

/// Days no demo record falls on (the demo writes the last complete months).
const DAY1: &str = "2024-03-04";
const DAY2: &str = "2024-03-05";

async fn upload(app: &TestApp, token: &str, mode: &str, name: &str, bytes: &[u8]) -> Value {
    upload_target(app, token, "ledger_type=visit", mode, name, bytes).await
}

/// Uploads a sheet for the target `what` names (`target=orgs`, `ledger_type=visit` …).
pub(super) async fn upload_target(
    app: &TestApp,
    token: &str,
    what: &str,
    mode: &str,
    name: &str,
    bytes: &[u8],
) -> Value {
    let r = app
        .client
        .post(app.url(&format!("/api/v1/imports?{what}&mode={mode}&name={name}")))
        .bearer_auth(token)
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .expect("upload");
    let status = r.status();
    let body: Value = r.json().await.expect("json");
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["state"], "queued");
    body
}

/// Runs the due jobs, as the server's worker does.
pub(super) async fn run_worker(app: &TestApp) {
    let worker = Worker::with_options(app.store.clone(), WorkerOptions::default());
    let report = worker.run_once(Utc::now()).await.expect("worker");
    assert_eq!(report.dead + report.failed, 0, "{report:?}");
}

pub(super) async fn import(app: &TestApp, token: &str, id: &Value) -> Value {
    let (s, v) = app.get(&format!("/api/v1/imports/{id}"), token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // No row is ever dropped: rows in = written or already there + rejected (all or nothing,
    // refused: the rows that passed were not written).
    let n = |k: &str| v[k].as_i64().unwrap_or(-1);
    match v["state"].as_str() {
        Some("done") => assert_eq!(
            n("rows_read"),
            n("written") + n("updated") + n("unchanged") + n("rejected"),
            "{v}"
        ),
        Some("refused") => assert_eq!(
            n("rows_read"),
            n("accepted") + n("unchanged") + n("rejected"),
            "{v}"
        ),
        _ => {}
    }
    v
}

/// Visits recorded on the test days in the caller's scope.
async fn visits(app: &TestApp, token: &str) -> i64 {
    let (s, v) = app
        .get(
            &format!("/api/v1/records?ledger_type=visit&from={DAY1}&to={DAY2}&limit=1"),
            token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["total"].as_i64().expect("total")
}

/// A member of 寻庄村 as the API names them.
async fn xunzhuang_member(app: &TestApp, token: &str) -> String {
    let (s, v) = app
        .get(
            &format!("/api/v1/people?org={}&limit=50", super::pages::XUNZHUANG),
            token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A name nobody else in the township has, so that the name alone finds them.
    let people = v["people"].as_array().expect("people");
    for p in people {
        let name = p["name"].as_str().unwrap();
        let (_, same) = app
            .get(&format!("/api/v1/people?q={name}&limit=5"), token)
            .await;
        if same["total"] == 1 {
            return name.to_string();
        }
    }
    panic!("no member of 寻庄村 with a unique name");
}

const HEADER: &str = "组织,日期,走访对象（五必访）,走访户数,走访人员,收集问题,走访情况";

fn csv(rows: &[String]) -> Vec<u8> {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

/// Three good rows: the village by name, by path and by code.
fn good_rows(member: &str) -> Vec<String> {
    vec![
        format!("寻庄村,{DAY1},党员干部,3,{member},2,入户走访"),
        format!("金乡县/鸡黍镇/李集村,{DAY1},脱贫户,5,,0,"),
        format!("{},{DAY2},信访人,1,,1,回访", super::pages::XUNZHUANG),
    ]
}

pub(super) fn sheet_rows(bytes: Vec<u8>) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an xlsx");
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).expect("the sheet");
    range.rows().map(|r| r.to_vec()).collect()
}

async fn a_sheet_goes_in_and_importing_it_again_writes_nothing(app: TestApp) {
    let t = app.token("jishu").await;
    let member = xunzhuang_member(&app, &t).await;
    let before = visits(&app, &t).await;
    let file = csv(&good_rows(&member));
    let created = upload(&app, &t, "all", "visits.csv", &file).await;
    run_worker(&app).await;
    let done = import(&app, &t, &created["id"]).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(
        (
            done["rows_read"].as_i64(),
            done["written"].as_i64(),
            done["rejected"].as_i64(),
            done["unchanged"].as_i64()
        ),
        (Some(3), Some(3), Some(0), Some(0))
    );
    assert_eq!(done["has_rejected_file"], false);
    assert_eq!(visits(&app, &t).await, before + 3);
    // The visitor named by name is the record's person; the path found 李集村.
    let (_, listed) = app
        .get(
            &format!("/api/v1/records?ledger_type=visit&from={DAY1}&to={DAY1}&limit=10"),
            &t,
        )
        .await;
    let recs = listed["records"].as_array().unwrap();
    let first = recs
        .iter()
        .find(|r| r["fields"]["category"] == "党员干部")
        .expect("the first row's record");
    assert_eq!(first["fields"]["households"], 3);
    assert_eq!(
        first["fields"]["visitors"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(
        recs.iter().any(|r| r["org"]["name"] == "李集村"),
        "{listed}"
    );
    // Again: every row is found by its content and nothing is written twice.
    let again = upload(&app, &t, "all", "visits.csv", &file).await;
    run_worker(&app).await;
    let second = import(&app, &t, &again["id"]).await;
    assert_eq!(second["state"], "done");
    assert_eq!(second["written"], 0);
    assert_eq!(second["unchanged"], 3);
    assert_eq!(visits(&app, &t).await, before + 3);
    // A visitor named by 身份证号 (found through its blind index), and a name two people
    // share: the number finds its person, the shared name asks for the number.
    let (_, people) = app
        .get(
            &format!("/api/v1/people?org={}&limit=50", super::pages::XUNZHUANG),
            &t,
        )
        .await;
    let someone = people["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| !p["id_number"].is_null())
        .expect("a member with a 身份证号")
        .clone();
    let (_, whole) = app
        .get(&format!("/api/v1/people/{}?reveal=true", someone["id"]), &t)
        .await;
    let number = whole["id_number"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(
            "/api/v1/people",
            &t,
            serde_json::json!({"name": member, "org": super::pages::XUNZHUANG}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let file = format!(
        "{HEADER}\n寻庄村,{DAY2},致富能手,4,{number},0,\n李集村,{DAY2},致富能手,4,{member},0,\n"
    );
    let by_number = upload(&app, &t, "valid", "numbers.csv", file.as_bytes()).await;
    run_worker(&app).await;
    let r = import(&app, &t, &by_number["id"]).await;
    assert_eq!(
        (r["written"].as_i64(), r["rejected"].as_i64()),
        (Some(1), Some(1)),
        "{r}"
    );
    let (_, listed) = app
        .get(
            &format!("/api/v1/records?ledger_type=visit&from={DAY2}&to={DAY2}&limit=10"),
            &t,
        )
        .await;
    let rich = listed["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["fields"]["category"] == "致富能手")
        .expect("the record of the row naming a 身份证号");
    assert_eq!(
        rich["fields"]["visitors"],
        serde_json::json!([someone["id"]])
    );
    let (_, b) = download(
        &app,
        &format!("/api/v1/imports/{}/rejected.xlsx", by_number["id"]),
        &t,
    )
    .await;
    let rejected = sheet_rows(b);
    assert!(
        rejected[1][7]
            .to_string()
            .contains("有重名，请改填身份证号"),
        "{rejected:?}"
    );
    // Audited: the upload and the outcome, with the counts.
    let auditor = app.token("auditor").await;
    let (_, log) = app
        .get("/api/v1/audit?entity=import&limit=10", &auditor)
        .await;
    let entries = log["entries"].as_array().expect("entries");
    let finish = entries
        .iter()
        .find(|e| {
            e["action"] == "import.finish"
                && e["entity_id"].as_str() == Some(created["id"].to_string().as_str())
        })
        .expect("the first import's outcome");
    assert_eq!(finish["actor"], "jishu");
    assert_eq!(finish["after"]["written"], 3);
    assert_eq!(finish["after"]["rows"], 3);
    let uploads = entries
        .iter()
        .filter(|e| e["action"] == "import.upload")
        .count();
    assert_eq!(uploads, 3);
}

async fn one_bad_row_refuses_the_file_unless_the_valid_rows_are_asked_for(app: TestApp) {
    let t = app.token("jishu").await;
    let member = xunzhuang_member(&app, &t).await;
    let before = visits(&app, &t).await;
    let mut rows = good_rows(&member);
    rows.insert(1, format!("不存在村,{DAY1},党员干部,0,,1,"));
    let file = csv(&rows);
    let refused = upload(&app, &t, "all", "visits.csv", &file).await;
    run_worker(&app).await;
    let r = import(&app, &t, &refused["id"]).await;
    assert_eq!(r["state"], "refused", "{r}");
    assert_eq!(
        (
            r["rows_read"].as_i64(),
            r["written"].as_i64(),
            r["rejected"].as_i64()
        ),
        (Some(4), Some(0), Some(1))
    );
    assert_eq!(visits(&app, &t).await, before, "nothing written");
    // The rejected rows: the original header with 错误, and the bad row as it was.
    let (s, bytes) = download(
        &app,
        &format!("/api/v1/imports/{}/rejected.xlsx", refused["id"]),
        &t,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let sheet = sheet_rows(bytes);
    let header: Vec<String> = sheet[0].iter().map(|c| c.to_string()).collect();
    let mut expected: Vec<&str> = HEADER.split(',').collect();
    expected.push("错误");
    assert_eq!(header, expected);
    assert_eq!(sheet.len(), 2, "one rejected row");
    assert_eq!(sheet[1][0], Data::String("不存在村".into()));
    assert_eq!(sheet[1][3], Data::String("0".into()));
    let errors = sheet[1][7].to_string();
    assert!(
        errors.contains("不存在村") && errors.contains("不是您可管理的组织"),
        "{errors}"
    );
    assert!(errors.contains("走访户数"), "{errors}");
    // Only the valid rows: three written, the bad one back again.
    let valid = upload(&app, &t, "valid", "visits.csv", &file).await;
    run_worker(&app).await;
    let v = import(&app, &t, &valid["id"]).await;
    assert_eq!(v["state"], "done");
    assert_eq!(
        (v["written"].as_i64(), v["rejected"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(v["has_rejected_file"], true);
    assert_eq!(visits(&app, &t).await, before + 3);
    // The corrected rejected file goes in, and the rest is not written twice.
    let fixed = csv(&[format!("寻庄村,{DAY2},党员干部,2,,1,")]);
    let last = upload(&app, &t, "all", "fixed.csv", &fixed).await;
    run_worker(&app).await;
    assert_eq!(import(&app, &t, &last["id"]).await["written"], 1);
    assert_eq!(visits(&app, &t).await, before + 4);
}

/// The 错误 column of an import's rejected rows, in the sheet's order.
pub(super) async fn rejected_errors(app: &TestApp, token: &str, id: &Value) -> Vec<String> {
    let (s, bytes) = download(app, &format!("/api/v1/imports/{id}/rejected.xlsx"), token).await;
    assert_eq!(s, StatusCode::OK);
    let rows = sheet_rows(bytes);
    assert_eq!(
        rows[0].last().map(|c| c.to_string()).as_deref(),
        Some("错误")
    );
    rows[1..]
        .iter()
        .map(|r| r.last().map(|c| c.to_string()).unwrap_or_default())
        .collect()
}

async fn download(app: &TestApp, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
    let r = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("download");
    (r.status(), r.bytes().await.expect("body").to_vec())
}

async fn an_import_is_its_uploaders_and_its_rows_stay_in_scope(app: TestApp) {
    let jishu = app.token("jishu").await;
    let gaohe = app.token("gaohe").await;
    let member = xunzhuang_member(&app, &jishu).await;
    let file = csv(&good_rows(&member));
    let mine = upload(&app, &jishu, "all", "visits.csv", &file).await;
    // Another township's cadre does not see it, nor its rejected rows.
    let (s, _) = app
        .get(&format!("/api/v1/imports/{}", mine["id"]), &gaohe)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Their own import of 鸡黍镇's villages: every row refused, nothing written.
    let before = visits(&app, &jishu).await;
    let theirs = upload(&app, &gaohe, "valid", "visits.csv", &file).await;
    run_worker(&app).await;
    let r = import(&app, &gaohe, &theirs["id"]).await;
    assert_eq!(r["state"], "done", "{r}");
    assert_eq!(
        (r["written"].as_i64(), r["rejected"].as_i64()),
        (Some(0), Some(3))
    );
    assert_eq!(
        visits(&app, &jishu).await,
        before + 3,
        "only jishu's import wrote"
    );
    let (s, bytes) = download(
        &app,
        &format!("/api/v1/imports/{}/rejected.xlsx", theirs["id"]),
        &gaohe,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let sheet = sheet_rows(bytes);
    assert!(
        sheet[1..]
            .iter()
            .all(|r| r[7].to_string().contains("不是您可管理")),
        "{sheet:?}"
    );
    let (s, _) = download(
        &app,
        &format!("/api/v1/imports/{}/rejected.xlsx", theirs["id"]),
        &jishu,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A viewer records nothing, so imports nothing.
    let viewer = app.token("viewer").await;
    let r = app
        .client
        .post(app.url("/api/v1/imports?ledger_type=visit&name=v.csv"))
        .bearer_auth(&viewer)
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // An unknown ledger type, an empty file: refused at the upload, with their codes.
    for (query, body, code) in [
        ("ledger_type=nonsense&name=v.csv", file.clone(), None),
        (
            "ledger_type=visit&name=v.csv",
            Vec::new(),
            Some("import.empty_file"),
        ),
    ] {
        let r = app
            .client
            .post(app.url(&format!("/api/v1/imports?{query}")))
            .bearer_auth(&jishu)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        match code {
            None => assert_eq!(status, StatusCode::NOT_FOUND, "{v}"),
            Some(c) => {
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
                assert_eq!(taizhang_testkit::field_codes(&v)[0].1, c);
            }
        }
    }
}

async fn a_file_that_is_not_a_sheet_fails_with_a_clear_message(app: TestApp) {
    let t = app.token("jishu").await;
    let created = upload(&app, &t, "all", "photo.xlsx", super::pages::PNG).await;
    run_worker(&app).await;
    let r = import(&app, &t, &created["id"]).await;
    assert_eq!(r["state"], "failed", "{r}");
    assert!(r["error"].as_str().unwrap().contains("不是电子表格"), "{r}");
    // A sheet without the required columns says which are missing.
    let created = upload(
        &app,
        &t,
        "all",
        "wrong.csv",
        "姓名,电话\n张三,1\n".as_bytes(),
    )
    .await;
    run_worker(&app).await;
    let r = import(&app, &t, &created["id"]).await;
    assert_eq!(r["state"], "failed", "{r}");
    let e = r["error"].as_str().unwrap();
    assert!(e.contains("组织") && e.contains("日期"), "{e}");
}

async fn an_interrupted_import_writes_each_row_once(app: TestApp) {
    let t = app.token("jishu").await;
    let member = xunzhuang_member(&app, &t).await;
    let before = visits(&app, &t).await;
    let created = upload(&app, &t, "valid", "visits.csv", &csv(&good_rows(&member))).await;
    run_worker(&app).await;
    // As if the worker had died after writing, before recording the outcome: the import and
    // its job are due again.
    let id = created["id"].as_i64().unwrap();
    app.execute_raw(&format!(
        "UPDATE imports SET state = 'writing', finished_at = NULL WHERE id = {id}"
    ))
    .await;
    app.execute_raw(&format!(
        "UPDATE jobs SET state = 'queued', finished_at = NULL WHERE kind = 'import.run' AND dedupe_key = 'import:{id}'"
    ))
    .await;
    run_worker(&app).await;
    let r = import(&app, &t, &created["id"]).await;
    assert_eq!(r["state"], "done");
    assert_eq!(
        (r["written"].as_i64(), r["unchanged"].as_i64()),
        (Some(0), Some(3))
    );
    assert_eq!(visits(&app, &t).await, before + 3);
}

async fn the_pages_upload_and_follow_an_import(app: TestApp) {
    let cookie = app.browser_login("jishu").await;
    let (s, form) = app.page("/imports", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        form.contains("从表格导入")
            && form.contains("导入组织")
            && form.contains("enctype=\"multipart/form-data\"")
    );
    assert!(
        form.contains("<option value=\"visit\">走访</option>"),
        "{form}"
    );
    let csrf = TestApp::csrf_of(&form);
    let post = |parts: Vec<u8>| {
        send(
            app.client
                .post(app.url("/imports"))
                .header("cookie", &cookie)
                .header(
                    CONTENT_TYPE,
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(parts),
        )
    };
    // No file: the form again, the type still chosen, the message beside it.
    let r = post(multipart_body(&[
        Part::Text("_csrf", &csrf),
        Part::Text("ledger_type", "visit"),
        Part::Text("mode", "valid"),
    ]))
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("请选择要导入的文件"), "{}", r.body);
    assert!(r.body.contains("<option value=\"visit\" selected>"));
    assert!(r.body.contains("value=\"valid\" checked"));
    let member = {
        let t = app.token("jishu").await;
        xunzhuang_member(&app, &t).await
    };
    let file = csv(&good_rows(&member));
    let r = post(multipart_body(&[
        Part::Text("_csrf", &csrf),
        Part::Text("ledger_type", "visit"),
        Part::Text("mode", "all"),
        Part::File {
            name: "file",
            file_name: "走访.csv",
            content_type: "text/csv",
            bytes: &file,
        },
    ]))
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let at = r.location.expect("the import's page");
    let (_, waiting) = app.page(&at, &cookie).await;
    assert!(
        waiting.contains("排队中") && waiting.contains("http-equiv=\"refresh\""),
        "{waiting}"
    );
    run_worker(&app).await;
    let (_, done) = app.page(&at, &cookie).await;
    assert!(
        done.contains("已完成") && !done.contains("http-equiv=\"refresh\""),
        "{done}"
    );
    assert!(done.contains("<dd id=\"rows-written\">3</dd>"), "{done}");
    assert!(
        done.contains("共3行：写入3行，已存在0行，错误0行"),
        "{done}"
    );
    let (_, list) = app.page("/imports", &cookie).await;
    assert!(list.contains("走访.csv"));
    // The blank template of a type: its header is what the import reads.
    assert!(form.contains("/imports/template.xlsx?ledger_type=visit"));
    let r = app
        .client
        .get(app.url("/imports/template.xlsx?ledger_type=visit"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let template = sheet_rows(r.bytes().await.unwrap().to_vec());
    let header: Vec<String> = template[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(
        header,
        [
            "*组织",
            "*日期",
            "编号",
            "*走访对象（五必访）",
            "问询内容（五必问）",
            "*走访户数",
            "走访人员",
            "收集问题",
            "解决困难",
            "走访情况"
        ]
    );
    // Without the form's token the upload is refused.
    let r = post(multipart_body(&[Part::Text("ledger_type", "visit")])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
