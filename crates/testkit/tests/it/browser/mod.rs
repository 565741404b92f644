//! End to end in a real headless Chromium (Debian's, through chromedriver): the pages at a
//! phone's 375 px and a desk's 1366 px, for each kind of user, and the organisation picker;
//! the offline queue in `offline`, the bulletin's and the dashboard's figures in `figures`.

mod figures;
mod offline;

use super::pages::XUNZHUANG;
use serde_json::json;
use taizhang_testkit::browser::{Browser, Screen};
use taizhang_testkit::{spawn_app, Backend};

/// The pages each demo user opens most, and that must fit a phone.
const PAGES: &[(&str, &[&str])] = &[
    (
        "xunzhuang",
        &[
            "/",
            "/records/new",
            "/records",
            "/overdue",
            "/bulletin",
            "/people",
        ],
    ),
    (
        "jishu",
        &[
            "/",
            "/records",
            "/people",
            "/overdue",
            "/bulletin",
            "/links",
            "/pick/orgs?q=jsz",
            "/dashboard",
        ],
    ),
    (
        "admin",
        &[
            "/",
            "/ledger-types",
            "/jobs",
            "/records",
            "/imports",
            "/dashboard",
        ],
    ),
    ("anquan", &["/", "/users", "/security"]),
    ("auditor", &["/", "/audit"]),
];

/// Checks that the page does not scroll sideways and that axe finds no serious or critical
/// violation on it, and keeps its screenshot under `name`.
pub(super) async fn check_page(b: &Browser, name: &str) {
    let over = b.sideways_overflow().await.expect("overflow");
    b.screenshot(name).await.expect("screenshot");
    assert_eq!(over, 0, "{name}: wider than the screen by {over} px");
    let axe = b.axe_violations().await.expect("axe");
    assert!(axe.is_empty(), "{name}: {axe:#?}");
}

/// The height of the top bar, in CSS pixels.
const BAR: &str =
    "return Math.round(document.querySelector('header').getBoundingClientRect().height);";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_s_pages_fit_a_phone_without_sideways_scrolling() {
    let app = spawn_app(Backend::Sqlite).await;
    for (user, pages) in PAGES {
        let b = Browser::start(Screen::Phone).await.expect("browser");
        b.login(&app.base, user).await.expect("login");
        for path in *pages {
            b.goto(&format!("{}{path}", app.base)).await.expect("goto");
            b.find("main").await.expect("page");
            check_page(&b, &format!("{user}{}", path.replace(['/', '?', '='], "_"))).await;
            let bar = b.script(BAR, json!([])).await.expect("bar");
            assert!(
                bar.as_i64().unwrap_or(999) <= 56,
                "{user} {path}: top bar {bar} px high"
            );
        }
        // The bar's menu link leads to every function at the foot of the page.
        b.goto(&format!("{}/", app.base)).await.expect("home");
        b.click("header .menu-link").await.expect("menu");
        let shown = b
            .wait_for("const m = document.querySelector('nav#menu'); const r = m.getBoundingClientRect(); return r.top < window.innerHeight && r.bottom > 0;")
            .await;
        assert!(shown.is_ok(), "{user}: the menu is not scrolled into view");
        b.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_is_picked_by_pinyin_initials_on_a_phone() {
    let app = spawn_app(Backend::Sqlite).await;
    let b = Browser::start(Screen::Phone).await.expect("browser");
    b.login(&app.base, "admin").await.expect("login");
    b.goto(&format!("{}/records", app.base))
        .await
        .expect("records");
    b.clear("#rorg").await.expect("clear");
    b.type_into("#rorg", "jsz").await.expect("type");
    // picker.js fills the field's datalist with the server's matches.
    let first = b
        .wait_for("const o = document.querySelector('#rorg').list?.options[0]; return o ? o.value : null;")
        .await
        .expect("suggestions for jsz");
    let first = first.as_str().unwrap_or_default().to_string();
    assert!(first.starts_with("鸡黍镇（"), "first suggestion {first}");
    let detail = b
        .script(
            "return document.querySelector('#rorg').list.options[0].textContent;",
            json!([]),
        )
        .await
        .expect("detail");
    assert_eq!(detail, json!("金乡县 · 镇街党(工)委"));
    b.screenshot("picker-jsz").await.expect("screenshot");
    // Choosing it and filtering shows the town's records: as many as the API counts under the
    // code inside the brackets.
    let code = first
        .trim_end_matches('）')
        .rsplit_once('（')
        .map(|(_, c)| c.to_string())
        .expect("code in the suggestion");
    let token = app.token("admin").await;
    let (status, api) = app
        .get(&format!("/api/v1/records?org={code}&limit=1"), &token)
        .await;
    assert_eq!(status, 200, "{api}");
    let total = api["total"].as_i64().expect("total");
    assert!(total > 0);
    b.clear("#rorg").await.expect("clear");
    b.type_into("#rorg", &first).await.expect("pick");
    b.click("form.card button").await.expect("filter");
    b.wait_for("return location.search.includes('org=')")
        .await
        .expect("filtered");
    let body = b.text("main").await.expect("main");
    assert!(
        body.contains(&format!("共{total}条")),
        "expected 共{total}条 in {body}"
    );
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_page_finds_by_pinyin_without_javascript_and_desk_pages_fit() {
    let app = spawn_app(Backend::Sqlite).await;
    let b = Browser::start(Screen::Desk).await.expect("browser");
    b.login(&app.base, "jishu").await.expect("login");
    b.goto(&format!("{}/pick/orgs?q=xzc", app.base))
        .await
        .expect("pick");
    let list = b.text("ul.picks").await.expect("picks");
    assert!(list.contains("寻庄村"), "{list}");
    // The accessibility check can fail: an image without a text alternative is critical.
    b.script("const i = document.createElement('img'); i.src = '/assets/icon.svg'; document.querySelector('main').append(i);", json!([]))
        .await
        .expect("add image");
    let axe = b.axe_violations().await.expect("axe");
    assert_eq!(axe.len(), 1, "{axe:?}");
    assert!(axe[0].starts_with("image-alt:"), "{axe:?}");
    b.goto(&format!("{}/pick/people?q=jishu", app.base))
        .await
        .expect("pick people");
    b.find("main").await.expect("page");
    // The bulletin page's JSON link answers a logged-in browser (with its session, no token).
    b.goto(&format!("{}/bulletin", app.base))
        .await
        .expect("bulletin");
    b.click("a[href^='/bulletin.json']")
        .await
        .expect("JSON link");
    let org = b
        .wait_for("try { return JSON.parse(document.body.innerText).org.name; } catch (e) { return null; }")
        .await
        .expect("the bulletin as JSON");
    assert_eq!(org, json!("鸡黍镇"));
    for path in ["/", "/records", "/bulletin", "/overdue", "/people"] {
        b.goto(&format!("{}{path}", app.base)).await.expect("goto");
        b.find("main").await.expect("page");
        assert_eq!(
            b.sideways_overflow().await.expect("overflow"),
            0,
            "{path} at 1366 px"
        );
        let axe = b.axe_violations().await.expect("axe");
        assert!(axe.is_empty(), "{path} at 1366 px: {axe:#?}");
        b.screenshot(&format!("jishu{}", path.replace('/', "_")))
            .await
            .expect("shot");
    }
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_village_secretary_records_a_theme_day_with_a_photo_corrects_an_error_and_saves_once() {
    let app = spawn_app(Backend::Sqlite).await;
    let token = app.token("xunzhuang").await;
    let count = |v: &serde_json::Value| v["total"].as_i64().expect("total");
    let (_, before) = app
        .get("/api/v1/records?ledger_type=theme_day&limit=1", &token)
        .await;
    let b = Browser::start(Screen::Phone).await.expect("browser");
    b.login(&app.base, "xunzhuang").await.expect("login");
    // A photo the phone holds: a PNG the browser itself made.
    b.goto(&format!("{}/", app.base)).await.expect("home");
    let photo = b.screenshot("photo-for-upload").await.expect("photo");
    b.goto(&format!("{}/records/new?type=theme_day", app.base))
        .await
        .expect("form");
    b.type_into("#f_attendance", "12")
        .await
        .expect("attendance");
    b.type_into("#f_content", "重温入党誓词")
        .await
        .expect("content");
    b.type_into("#f_photos", &photo.display().to_string())
        .await
        .expect("photo");
    // 活动主题 is required and left empty: refused, beside the field, with the rest kept.
    b.click("form.card button").await.expect("save");
    b.find("div.field-error").await.expect("field error");
    let focused = b
        .script("return document.activeElement.id;", json!([]))
        .await
        .expect("focus");
    assert_eq!(
        focused,
        json!("f_theme"),
        "the first field with an error has the focus"
    );
    let kept = b
        .script("return [document.querySelector('#f_attendance').value, document.querySelector('#f_content').value, document.querySelectorAll('input[type=checkbox][name=photos]:checked').length];", json!([]))
        .await
        .expect("kept");
    assert_eq!(kept, json!(["12", "重温入党誓词", 1]));
    assert_eq!(b.sideways_overflow().await.expect("overflow"), 0);
    b.screenshot("record-error").await.expect("shot");
    // Corrected and saved: one record, holding the one photo.
    b.type_into("#f_theme", "学习党的二十届四中全会精神")
        .await
        .expect("theme");
    b.click("form.card button").await.expect("save again");
    b.wait_for("return /\\/records\\/\\d+/.test(location.pathname)")
        .await
        .expect("record page");
    // The photo shows as a thumbnail that loaded, named in its text alternative.
    let thumb = b
        .wait_for("const i = document.querySelector('img.thumb'); return i && i.complete && i.naturalWidth > 0 ? i.alt : null;")
        .await
        .expect("a thumbnail");
    assert!(
        thumb
            .as_str()
            .unwrap_or_default()
            .starts_with("照片/附件1："),
        "{thumb}"
    );
    assert_eq!(b.sideways_overflow().await.expect("overflow"), 0);
    let axe = b.axe_violations().await.expect("axe");
    assert!(axe.is_empty(), "the record's page: {axe:#?}");
    b.screenshot("record-saved").await.expect("shot");
    let id: i64 = b
        .current_url()
        .await
        .expect("url")
        .rsplit('/')
        .next()
        .and_then(|s| s.split(['?', '#']).next())
        .and_then(|s| s.parse().ok())
        .expect("record id");
    let (_, after) = app
        .get("/api/v1/records?ledger_type=theme_day&limit=1", &token)
        .await;
    assert_eq!(count(&after), count(&before) + 1);
    let (status, rec) = app.get(&format!("/api/v1/records/{id}"), &token).await;
    assert_eq!(status, 200, "{rec}");
    assert_eq!(rec["fields"]["theme"], json!("学习党的二十届四中全会精神"));
    assert_eq!(
        rec["fields"]["photos"].as_array().map(Vec::len),
        Some(1),
        "{rec}"
    );

    // Corrected on the phone: the attendance, with a reason; the history shows the change and
    // the photo is still attached once.
    b.click("a[href$='/edit']").await.expect("edit");
    b.find("#f_reason").await.expect("the correction form");
    b.clear("#f_attendance").await.expect("clear");
    b.type_into("#f_attendance", "15")
        .await
        .expect("attendance");
    b.type_into("#f_reason", "实到人数记错")
        .await
        .expect("reason");
    assert_eq!(b.sideways_overflow().await.expect("overflow"), 0);
    let axe = b.axe_violations().await.expect("axe");
    assert!(axe.is_empty(), "the correction form: {axe:#?}");
    b.click("form.card button")
        .await
        .expect("save the correction");
    b.wait_for("return document.querySelector('ol.history') ? true : null;")
        .await
        .expect("the history");
    let history = b.text("ol.history").await.expect("history text");
    assert!(history.contains("实到人数记错"), "{history}");
    assert!(
        history.contains("12") && history.contains("15"),
        "{history}"
    );
    b.screenshot("record-corrected").await.expect("shot");
    let (_, rec) = app.get(&format!("/api/v1/records/{id}"), &token).await;
    assert_eq!(rec["version"], json!(2));
    assert_eq!(rec["fields"]["attendance"], json!(15));
    assert_eq!(
        rec["fields"]["photos"].as_array().map(Vec::len),
        Some(1),
        "{rec}"
    );
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voiding_a_record_asks_first_and_says_what_was_done() {
    let app = spawn_app(Backend::Sqlite).await;
    let token = app.token("xunzhuang").await;
    let (status, rec) = app
        .post(
            "/api/v1/records",
            &token,
            json!({"ledger_type": "theme_day", "org": XUNZHUANG, "occurred_on": "2026-11-20",
                   "fields": {"theme": "整理村史馆"}}),
        )
        .await;
    assert_eq!(status, 201, "{rec}");
    let id = rec["id"].as_i64().expect("id");
    let voided = |v: &serde_json::Value| !v["voided_at"].is_null();
    let b = Browser::start(Screen::Phone).await.expect("browser");
    b.login(&app.base, "xunzhuang").await.expect("login");
    b.goto(&format!("{}/records/{id}", app.base))
        .await
        .expect("record");
    b.type_into("#reason", "重复登记").await.expect("reason");
    b.click("form[data-confirm] button").await.expect("void");
    let asked = b.dialog_text().await.expect("a confirmation");
    assert!(asked.contains("确定作废这条主题党日记录吗"), "{asked}");
    // Cancel: nothing changes.
    b.answer_dialog(false).await.expect("cancel");
    let (_, r) = app.get(&format!("/api/v1/records/{id}"), &token).await;
    assert!(!voided(&r), "cancelled, yet voided: {r}");
    // OK: voided, and the page says so.
    b.click("form[data-confirm] button")
        .await
        .expect("void again");
    b.dialog_text().await.expect("a confirmation");
    b.answer_dialog(true).await.expect("ok");
    let notice = b
        .wait_for("const n = document.querySelector('.notice'); return n ? n.textContent : null;")
        .await
        .expect("a notice");
    assert_eq!(notice, json!("✓ 已作废，不再计入统计"));
    let (_, r) = app.get(&format!("/api/v1/records/{id}"), &token).await;
    assert!(voided(&r), "{r}");
    b.screenshot("record-voided").await.expect("shot");
    b.quit().await;
}
