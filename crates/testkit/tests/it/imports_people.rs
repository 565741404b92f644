//! Imports of organisations and Party members from sheets, through the server and its jobs
//! worker: an organisation sheet whose children come before their parents goes in with exact
//! counts and the tree it names, and again creates nothing; a missing parent or a cycle is a
//! row's error and, all or nothing, nothing is written; a member sheet with a bad check digit,
//! a 身份证号 stored as a number and a branch outside the importer's scope is refused row by row;
//! importing it again changes nothing, and a changed phone updates the person on file (same
//! id, no second person, audited `update`); a role that may not create organisations or people
//! may not import them (403, audited); a county's saved column mapping reads a sheet whose
//! headers the matching does not know, and an unknown mapping's name is a clear error.

use super::imports::{import, rejected_errors, run_worker, sheet_rows, upload_target};
use super::pages::{multipart_body, Part, BOUNDARY};
use reqwest::header::CONTENT_TYPE;
use taizhang_testkit::send;

use reqwest::StatusCode;
use serde_json::Value;
use taizhang_testkit::{each_backend, TestApp};

each_backend!(
    an_org_sheet_out_of_order_goes_in_once,
    a_bad_parent_refuses_the_org_sheet_unless_the_valid_rows_are_asked_for,
    a_member_sheet_creates_refuses_and_updates_by_blind_index,
    who_may_not_create_may_not_import,
    a_saved_mapping_reads_a_sheet_of_its_own_headers,
    the_page_imports_members_with_a_mapping_it_saves,
);

const ORG_HEADER: &str = "组织名称,组织代码,上级组织,所在路径,组织类别,成立日期";

fn sheet(header: &str, rows: &[&str]) -> Vec<u8> {
    let mut s = format!("{header}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

/// Uploads a sheet, runs the worker and returns the finished import.
pub(super) async fn imported(
    app: &TestApp,
    token: &str,
    what: &str,
    mode: &str,
    name: &str,
    bytes: &[u8],
) -> Value {
    let created = upload_target(app, token, what, mode, name, bytes).await;
    run_worker(app).await;
    import(app, token, &created["id"]).await
}

/// The organisations of that name under a parent of that name.
async fn under(app: &TestApp, name: &str, parent: &str) -> i64 {
    app.count_raw(&format!(
        "SELECT COUNT(*) FROM orgs o JOIN org_edges e ON e.child_id = o.id AND e.valid_to IS NULL \
         JOIN orgs p ON p.id = e.parent_id WHERE o.name = '{name}' AND p.name = '{parent}'"
    ))
    .await
}

async fn named(app: &TestApp, name: &str) -> i64 {
    app.count_raw(&format!("SELECT COUNT(*) FROM orgs WHERE name = '{name}'"))
        .await
}

fn counts(v: &Value) -> (i64, i64, i64, i64) {
    let n = |k: &str| v[k].as_i64().unwrap_or(-1);
    (n("rows_read"), n("written"), n("unchanged"), n("rejected"))
}

async fn an_org_sheet_out_of_order_goes_in_once(app: TestApp) {
    let t = app.token("jishu").await;
    // Children first: a group under a village under a new 管区 under 鸡黍镇, named by name, by
    // path with and without the organisation itself, and by code.
    let file = sheet(
        ORG_HEADER,
        &[
            "测试二组,,测试村,,党小组,2024-01-01",
            "测试村,,,金乡县/鸡黍镇/测试管区,村党组织,2024-01-01",
            "测试一组,,,金乡县/鸡黍镇/测试管区/测试村/测试一组,党小组,",
            "测试管区,370828005988,鸡黍镇,,管区,2024-01-01",
            "测试网格,,370828005988,,网格,",
        ],
    );
    let done = imported(&app, &t, "target=orgs", "all", "orgs.csv", &file).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(counts(&done), (5, 5, 0, 0), "{done}");
    assert_eq!(under(&app, "测试管区", "鸡黍镇").await, 1);
    assert_eq!(under(&app, "测试村", "测试管区").await, 1);
    assert_eq!(under(&app, "测试一组", "测试村").await, 1);
    assert_eq!(under(&app, "测试二组", "测试村").await, 1);
    assert_eq!(under(&app, "测试网格", "测试管区").await, 1);
    // The closure knows the new village is under the county's root.
    let (s, v) = app.get("/api/v1/orgs/370828005988/children", &t).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Audited as created, one entry each.
    let creates = app
        .count_raw("SELECT COUNT(*) FROM audit_log WHERE action = 'create' AND entity = 'org' AND CAST(after_json AS TEXT) LIKE '%测试%'")
        .await;
    assert_eq!(creates, 5);
    // The same sheet again: everything is already there.
    let second = imported(&app, &t, "target=orgs", "all", "orgs.csv", &file).await;
    assert_eq!(second["state"], "done", "{second}");
    assert_eq!(counts(&second), (5, 0, 5, 0), "{second}");
    assert_eq!(named(&app, "测试村").await, 1);
    assert_eq!(named(&app, "测试二组").await, 1);
}

async fn a_bad_parent_refuses_the_org_sheet_unless_the_valid_rows_are_asked_for(app: TestApp) {
    let t = app.token("jishu").await;
    let file = sheet(
        ORG_HEADER,
        &[
            "好的村,,鸡黍镇,,村党组织,",
            "好的组,,好的村,,党小组,",
            "甲支部,,乙支部,,村党组织,",
            "乙支部,,甲支部,,村党组织,",
            "孤村,,金乡县/不存在镇,,村党组织,",
            "别人的村,,高河街道,,村党组织,",
            "错层镇,,鸡黍镇,,镇党委,",
        ],
    );
    let r = imported(&app, &t, "target=orgs", "all", "bad.csv", &file).await;
    assert_eq!(r["state"], "refused", "{r}");
    assert_eq!(
        (
            r["rows_read"].as_i64(),
            r["accepted"].as_i64(),
            r["rejected"].as_i64(),
            r["written"].as_i64()
        ),
        (Some(7), Some(2), Some(5), Some(0)),
        "{r}"
    );
    assert_eq!(named(&app, "好的村").await, 0, "all or nothing wrote a row");
    let errors = rejected_errors(&app, &t, &r["id"]).await;
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert!(errors[0].contains("循环"), "{errors:?}");
    assert!(errors[1].contains("循环"), "{errors:?}");
    assert!(
        errors[2].contains("不存在镇") && errors[2].contains("不存在"),
        "{errors:?}"
    );
    // 高河街道 is outside 鸡黍镇's cadre's scope: to them it does not exist.
    assert!(errors[3].contains("高河街道"), "{errors:?}");
    assert!(errors[4].contains("不能设立"), "{errors:?}");
    // Only the valid rows: the two good ones go in, parent before child.
    let v = imported(&app, &t, "target=orgs", "valid", "bad.csv", &file).await;
    assert_eq!(v["state"], "done", "{v}");
    assert_eq!(counts(&v), (7, 2, 0, 5), "{v}");
    assert_eq!(under(&app, "好的村", "鸡黍镇").await, 1);
    assert_eq!(under(&app, "好的组", "好的村").await, 1);
    assert_eq!(named(&app, "甲支部").await, 0);
}

/// A valid 身份证号 of a person born on `birth` (YYYYMMDD), male when `seq` is odd.
fn id_number(birth: &str, seq: u32) -> String {
    let first17 = format!("370828{birth}{seq:03}");
    let check = taizhang_domain::id_number::check_char(first17.as_bytes());
    format!("{first17}{check}")
}

const MEMBER_HEADER: &str =
    "姓名,性别,公民身份号码,民族,出生日期,学历,人员类别,入党日期,转正日期,所在党支部,联系电话";

async fn person_by_name(app: &TestApp, t: &str, name: &str) -> Value {
    let (s, v) = app
        .get(&format!("/api/v1/people?q={name}&limit=5"), t)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["total"], 1, "{name}: {v}");
    v["people"][0].clone()
}

async fn a_member_sheet_creates_refuses_and_updates_by_blind_index(app: TestApp) {
    let t = app.token("jishu").await;
    let one = id_number("19850715", 131);
    let two = id_number("19900302", 122);
    let mut bad = id_number("19870101", 111);
    // A wrong check digit.
    let last = bad.pop().unwrap();
    bad.push(if last == '1' { '2' } else { '1' });
    let rows = |phone: &str| {
        vec![
            format!("张测一,男,{one},汉族,1985-07-15,大学,正式党员,2010-07-01,2011-07-01,寻庄村,{phone}"),
            format!("李测二,女,{two},汉族,1990-03-02,高中,正式党员,2015-07-01,2016-07-01,鸡黍镇/李集村,13900002222"),
            format!("王测三,男,{bad},汉族,,,,,,寻庄村,"),
            "赵测四,男,3.70828E+17,汉族,,,,,,寻庄村,".to_string(),
            format!("钱测五,男,{},汉族,,,,,,高河街道,", id_number("19800101", 151)),
        ]
    };
    let file = |phone: &str| {
        let r = rows(phone);
        sheet(
            MEMBER_HEADER,
            &r.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };
    // All or nothing: three bad rows, nothing written.
    let r = imported(
        &app,
        &t,
        "target=people",
        "all",
        "members.csv",
        &file("13800001111"),
    )
    .await;
    assert_eq!(r["state"], "refused", "{r}");
    assert_eq!(
        (r["accepted"].as_i64(), r["rejected"].as_i64()),
        (Some(2), Some(3)),
        "{r}"
    );
    let (_, none) = app.get("/api/v1/people?q=张测一&limit=5", &t).await;
    assert_eq!(none["total"], 0, "{none}");
    let errors = rejected_errors(&app, &t, &r["id"]).await;
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("校验"), "{errors:?}");
    assert!(errors[1].contains("存成了数字"), "{errors:?}");
    assert!(
        errors[2].contains("高河街道") && errors[2].contains("不是您可管理的组织"),
        "{errors:?}"
    );
    // Only the valid rows.
    let v = imported(
        &app,
        &t,
        "target=people",
        "valid",
        "members.csv",
        &file("13800001111"),
    )
    .await;
    assert_eq!(v["state"], "done", "{v}");
    assert_eq!(counts(&v), (5, 2, 0, 3), "{v}");
    assert_eq!(v["updated"], 0);
    let zhang = person_by_name(&app, &t, "张测一").await;
    assert_eq!(zhang["gender"], "男");
    assert_eq!(zhang["org"]["ref"], super::pages::XUNZHUANG);
    assert_eq!(zhang["party_member"], true);
    // The national system's profile columns are kept as the sheet gives them.
    let profile = |p: &Value| {
        [
            "ethnicity",
            "education",
            "member_category",
            "joined_on",
            "confirmed_on",
        ]
        .map(|k| p[k].as_str().unwrap_or("").to_string())
    };
    assert_eq!(
        profile(&zhang),
        ["汉族", "bachelor", "full", "2010-07-01", "2011-07-01"],
        "{zhang}"
    );
    let li = person_by_name(&app, &t, "李测二").await;
    assert_eq!(li["org"]["name"], "李集村");
    assert_eq!(
        profile(&li),
        ["汉族", "high_school", "full", "2015-07-01", "2016-07-01"],
        "{li}"
    );
    // Encrypted as usual: neither the number nor the phone is stored in the clear.
    let clear = app
        .count_raw(&format!("SELECT COUNT(*) FROM people WHERE id_number_enc LIKE '%{one}%' OR phone_enc LIKE '%13800001111%'"))
        .await;
    assert_eq!(clear, 0);
    // Again: found by the blind index, nothing changed.
    let a = imported(
        &app,
        &t,
        "target=people",
        "valid",
        "members.csv",
        &file("13800001111"),
    )
    .await;
    assert_eq!(counts(&a), (5, 0, 2, 3), "{a}");
    assert_eq!(a["updated"], 0);
    // A changed phone: the person is updated, keeps their id, and is not duplicated.
    let c = imported(
        &app,
        &t,
        "target=people",
        "valid",
        "members.csv",
        &file("13700003333"),
    )
    .await;
    assert_eq!(counts(&c), (5, 0, 1, 3), "{c}");
    assert_eq!(c["updated"], 1, "{c}");
    let after = person_by_name(&app, &t, "张测一").await;
    assert_eq!(after["id"], zhang["id"]);
    let (_, whole) = app
        .get(&format!("/api/v1/people/{}?reveal=true", zhang["id"]), &t)
        .await;
    assert_eq!(whole["phone"], "13700003333", "{whole}");
    let updates = app
        .count_raw(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'update' AND entity = 'person' AND entity_id = '{}'",
            zhang["id"]
        ))
        .await;
    assert_eq!(updates, 1);
    // A sheet whose profile columns are blank keeps the profile on file; one that makes the
    // member 预备党员 after their 转正 is refused on its row and changes nothing.
    let blank = sheet(
        MEMBER_HEADER,
        &[&format!("张测一,男,{one},,,,,,,寻庄村,13700003333")],
    );
    let b = imported(&app, &t, "target=people", "valid", "blank.csv", &blank).await;
    assert_eq!(counts(&b), (1, 0, 1, 0), "{b}");
    assert_eq!(
        profile(&person_by_name(&app, &t, "张测一").await),
        ["汉族", "bachelor", "full", "2010-07-01", "2011-07-01"]
    );
    let back = sheet(
        MEMBER_HEADER,
        &[&format!(
            "张测一,男,{one},回族,,,预备党员,,,寻庄村,13700003333"
        )],
    );
    let r = imported(&app, &t, "target=people", "valid", "back.csv", &back).await;
    assert_eq!(counts(&r), (1, 0, 0, 1), "{r}");
    let errors = rejected_errors(&app, &t, &r["id"]).await;
    assert!(errors[0].contains("人员类别"), "{errors:?}");
    assert_eq!(
        profile(&person_by_name(&app, &t, "张测一").await)[0],
        "汉族",
        "a refused row wrote its 民族"
    );
    // A number registered outside the importer's scope: refused, saying neither who nor where.
    let gaohe = app.token("gaohe").await;
    let (_, me) = app.get("/api/v1/me", &gaohe).await;
    let gaohe_ref = format!("o{}", me["org_id"]);
    let elsewhere = id_number("19750505", 171);
    let (s, v) = app
        .post(
            "/api/v1/people",
            &gaohe,
            serde_json::json!({"name": "孙别处", "org": gaohe_ref, "id_number": elsewhere}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let file = sheet(
        MEMBER_HEADER,
        &[&format!("孙别处,男,{elsewhere},,,,,,,寻庄村,")],
    );
    let e = imported(&app, &t, "target=people", "valid", "elsewhere.csv", &file).await;
    assert_eq!(counts(&e), (1, 0, 0, 1), "{e}");
    let errors = rejected_errors(&app, &t, &e["id"]).await;
    assert!(errors[0].contains("已登记"), "{errors:?}");
    assert_eq!(
        app.count_raw("SELECT COUNT(*) FROM people WHERE name = '孙别处'")
            .await,
        1
    );
}

async fn who_may_not_create_may_not_import(app: TestApp) {
    // 寻庄村's secretary records ledgers but creates neither organisations nor people.
    let t = app.token("xunzhuang").await;
    let before = app
        .count_raw("SELECT COUNT(*) FROM audit_log WHERE action = 'refused'")
        .await;
    for target in ["orgs", "people"] {
        let r = app
            .client
            .post(app.url(&format!("/api/v1/imports?target={target}&name=x.csv")))
            .bearer_auth(&t)
            .body(sheet(ORG_HEADER, &["某村,,寻庄村,,村党组织,"]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{target}");
    }
    let after = app
        .count_raw("SELECT COUNT(*) FROM audit_log WHERE action = 'refused'")
        .await;
    assert_eq!(after, before + 2);
    // The same account still imports its ledger, and an unknown target is refused clearly.
    let r = app
        .client
        .post(app.url("/api/v1/imports?target=nonsense&name=x.csv"))
        .bearer_auth(&t)
        .body(b"a\n1\n".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = r.json().await.unwrap();
    assert_eq!(taizhang_testkit::field_codes(&v)[0].1, "import.bad_target");
}

async fn a_saved_mapping_reads_a_sheet_of_its_own_headers(app: TestApp) {
    let t = app.token("jishu").await;
    let actor = app.actor("jishu").await;
    // Headers no alias knows: "单位" for the parent and "类型" for the kind.
    let file = sheet("名称,单位,类型", &["映射村,鸡黍镇,村党组织"]);
    let r = imported(&app, &t, "target=orgs", "all", "m.csv", &file).await;
    assert_eq!(r["state"], "failed", "{r}");
    let mapping = serde_json::json!({"columns": {"单位": "parent", "类型": "kind"}});
    let saved = app
        .store
        .save_import_mapping(&actor, "orgs", "乡镇组织表", &mapping)
        .await
        .expect("saved");
    assert_eq!(saved.name, "乡镇组织表");
    let listed = app
        .store
        .import_mappings(&actor, Some("orgs"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let r = imported(
        &app,
        &t,
        "target=orgs&mapping=%E4%B9%A1%E9%95%87%E7%BB%84%E7%BB%87%E8%A1%A8",
        "all",
        "m.csv",
        &file,
    )
    .await;
    assert_eq!(r["state"], "done", "{r}");
    assert_eq!(counts(&r), (1, 1, 0, 0), "{r}");
    assert_eq!(under(&app, "映射村", "鸡黍镇").await, 1);
    // A mapping of another target, or of no such name: refused at the upload.
    let r = app
        .client
        .post(app.url("/api/v1/imports?target=people&mapping=%E4%B9%A1%E9%95%87%E7%BB%84%E7%BB%87%E8%A1%A8&name=m.csv"))
        .bearer_auth(&t)
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        taizhang_testkit::field_codes(&v)[0].1,
        "import.unknown_mapping"
    );
    // Audited.
    let audited = app
        .count_raw("SELECT COUNT(*) FROM audit_log WHERE action = 'import.mapping'")
        .await;
    assert_eq!(audited, 1);
}

async fn the_page_imports_members_with_a_mapping_it_saves(app: TestApp) {
    let cookie = app.browser_login("jishu").await;
    let (s, form) = app.page("/imports", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    for words in [
        "<option value=\"orgs\"",
        "导入组织",
        "导入党员",
        "导入台账",
        "保存列对应为",
    ] {
        assert!(form.contains(words), "{words}: {form}");
    }
    // The templates of the two sheets: the columns their imports read.
    for (target, first) in [("orgs", "*组织名称"), ("people", "*姓名")] {
        let r = app
            .client
            .get(app.url(&format!("/imports/template.xlsx?target={target}")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{target}");
        let rows = sheet_rows(r.bytes().await.unwrap().to_vec());
        assert_eq!(rows[0][0].to_string(), first, "{target}");
    }
    let csrf = TestApp::csrf_of(&form);
    let number = id_number("19920202", 141);
    // "证件" and "单位" are headers the matching does not know: the mapping written on the form
    // reads them, and is saved under a name for next time.
    let file = format!("姓名,证件,单位\n页面党员,{number},寻庄村\n");
    let r = send(
        app.client
            .post(app.url("/imports"))
            .header("cookie", &cookie)
            .header(
                CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(multipart_body(&[
                Part::Text("_csrf", &csrf),
                Part::Text("target", "people"),
                Part::Text("mode", "all"),
                Part::Text("columns", "证件=公民身份号码\n单位=所在党支部"),
                Part::Text("save_as", "村里的花名册"),
                Part::File {
                    name: "file",
                    file_name: "花名册.csv",
                    content_type: "text/csv",
                    bytes: file.as_bytes(),
                },
            ])),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let at = r.location.expect("the import's page");
    run_worker(&app).await;
    let (_, done) = app.page(&at, &cookie).await;
    assert!(done.contains("导入内容：党员"), "{done}");
    assert!(
        done.contains("共1行：写入1行，已存在0行，错误0行"),
        "{done}"
    );
    let t = app.token("jishu").await;
    let p = person_by_name(&app, &t, "页面党员").await;
    assert_eq!(p["org"]["ref"], super::pages::XUNZHUANG);
    let actor = app.actor("jishu").await;
    let saved = app
        .store
        .import_mappings(&actor, Some("people"))
        .await
        .unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].name, "村里的花名册");
    let (_, again) = app.page("/imports", &cookie).await;
    assert!(again.contains("党员 · 村里的花名册"), "{again}");
}
