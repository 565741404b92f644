//! The record form's offline queue on a phone (`offline.js`): entries recorded without a network
//! are kept in the browser's IndexedDB, survive a reload, and are sent once the network is back;
//! an entry whose answer was lost is sent again with its idempotency key and recorded once.

use super::check_page;
use crate::pages::XUNZHUANG;
use serde_json::{json, Value};
use std::time::Duration;
use taizhang_testkit::browser::{Browser, Screen};
use taizhang_testkit::{spawn_app, Backend, TestApp};

/// No network: every request of the page fails as a phone's does without one.
const NO_NETWORK: &str =
    "window.fetch = function () { return Promise.reject(new TypeError('Failed to fetch')); };";

/// A lost answer: the request reaches the server, the phone never hears back.
const LOST_ANSWER: &str = "const real = window.fetch; window.fetch = function () {
    return real.apply(this, arguments).then(function () { throw new TypeError('Failed to fetch'); });
};";

/// The network works, and the idempotency key of every form the page posts is noted in
/// `sessionStorage.sent`.
const NOTE_KEYS: &str = "const real = window.fetch; window.fetch = function (url, init) {
    if (init && init.body instanceof FormData) {
        const sent = JSON.parse(sessionStorage.getItem('sent') || '[]');
        sent.push(init.body.get('idempotency_key'));
        sessionStorage.setItem('sent', JSON.stringify(sent));
    }
    return real.apply(this, arguments);
};";

/// The entries kept on the phone, as `{key, theme, error}`, read from IndexedDB.
const KEPT: &str = "const done = arguments[arguments.length - 1];
const r = indexedDB.open('taizhang-offline', 1);
r.onupgradeneeded = () => r.result.createObjectStore('entries', {keyPath: 'key'});
r.onerror = () => done('cannot open: ' + r.error);
r.onsuccess = () => {
  const db = r.result;
  const all = db.transaction('entries').objectStore('entries').getAll();
  all.onsuccess = () => {
    db.close();
    done(all.result.map(e => ({key: e.key, error: e.error,
      theme: (e.fields.find(f => f[0] === 'theme') || [])[1]})));
  };
  all.onerror = () => done('cannot read: ' + all.error);
};";

const FORM: &str = "/records/new?type=theme_day";

async fn kept(b: &Browser) -> Vec<Value> {
    let v = b.script_async(KEPT, json!([])).await.expect("IndexedDB");
    v.as_array().cloned().unwrap_or_else(|| panic!("{v}"))
}

/// Waits up to 15 s for the phone's queue to hold `n` entries.
async fn wait_kept(b: &Browser, n: usize) -> Vec<Value> {
    let mut list = Vec::new();
    for _ in 0..150 {
        list = kept(b).await;
        if list.len() == n {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the phone keeps {list:?}, not {n} entries");
}

/// The themes of 寻庄村's 主题党日 records of the day, as the server has them.
async fn saved_themes(app: &TestApp, token: &str, day: &str) -> Vec<String> {
    let (status, v) = app
        .get(
            &format!("/api/v1/records?org={XUNZHUANG}&ledger_type=theme_day&from={day}&to={day}&limit=1000"),
            token,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            r["fields"]["theme"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// How many of the day's records the server has of each theme.
async fn times_saved(app: &TestApp, token: &str, day: &str, themes: &[&str]) -> Vec<usize> {
    let saved = saved_themes(app, token, day).await;
    themes
        .iter()
        .map(|t| saved.iter().filter(|s| s == t).count())
        .collect()
}

/// Waits up to 15 s for the form's line to read `text` ("待发送 N 条").
async fn wait_line(b: &Browser, text: &str) {
    b.wait_for(&format!(
        "const q = document.querySelector('#offline-queue'); return q && !q.hidden && q.textContent.trim() === '{text}';"
    ))
    .await
    .unwrap_or_else(|e| panic!("the form does not say {text}: {e}"));
}

async fn record(b: &Browser, theme: &str) {
    b.clear("#f_theme").await.expect("clear");
    b.type_into("#f_theme", theme).await.expect("theme");
    b.click("form.card button").await.expect("save");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_recorded_offline_are_kept_then_each_saved_exactly_once() {
    let app = spawn_app(Backend::Sqlite).await;
    let token = app.token("xunzhuang").await;
    let b = Browser::start(Screen::Phone).await.expect("browser");
    b.login(&app.base, "xunzhuang").await.expect("login");
    b.goto(&format!("{}{FORM}", app.base)).await.expect("form");
    let day = b
        .script("return document.querySelector('#f_date').value;", json!([]))
        .await
        .expect("date");
    let day = day.as_str().expect("the form's date").to_string();
    let themes = ["离线登记一：学习党章", "离线登记二：清理村道"];
    assert_eq!(times_saved(&app, &token, &day, &themes).await, [0, 0]);

    // Without a network: both entries are kept on the phone, none reaches the server.
    b.script(NO_NETWORK, json!([])).await.expect("offline");
    record(&b, themes[0]).await;
    wait_line(&b, "待发送 1 条").await;
    record(&b, themes[1]).await;
    wait_line(&b, "待发送 2 条").await;
    let note = b.text("#offline-note").await.expect("note");
    assert_eq!(note, "网络不通，已保存在本机，网络恢复后自动发送。");
    let typed = b
        .script(
            "return document.querySelector('#f_theme').value;",
            json!([]),
        )
        .await
        .expect("theme box");
    assert_eq!(typed, json!(""), "the form is emptied for the next entry");
    check_page(&b, "offline-form-two-kept").await;
    let list = kept(&b).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_ne!(
        list[0]["key"], list[1]["key"],
        "each entry has a key of its own"
    );
    assert_eq!(times_saved(&app, &token, &day, &themes).await, [0, 0]);

    // Still without a network, the queue survives a reload and is listed on /queue.
    let offline = b.before_pages(NO_NETWORK).await.expect("offline pages");
    b.goto(&format!("{}{FORM}", app.base))
        .await
        .expect("reload");
    wait_line(&b, "待发送 2 条").await;
    b.goto(&format!("{}/queue", app.base)).await.expect("queue");
    let listed = b
        .wait_for("const l = document.querySelectorAll('#queue-list li'); return l.length === 2 ? document.querySelector('#queue-list').innerText : null;")
        .await
        .expect("the queue lists both");
    let listed = listed.as_str().unwrap_or_default();
    assert_eq!(
        listed.matches("等待网络恢复后自动发送").count(),
        2,
        "{listed}"
    );
    check_page(&b, "offline-queue-two").await;
    assert_eq!(wait_kept(&b, 2).await.len(), 2);
    assert_eq!(times_saved(&app, &token, &day, &themes).await, [0, 0]);

    // Back online: opening the queue sends both, and the server has each exactly once.
    b.forget_before_pages(&offline).await.expect("online");
    b.goto(&format!("{}/queue", app.base)).await.expect("queue");
    wait_kept(&b, 0).await;
    b.wait_for("return !document.querySelector('#queue-empty').hidden && document.querySelectorAll('#queue-list li').length === 0 && document.querySelector('#offline-queue').hidden;")
        .await
        .expect("the queue page says nothing is waiting");
    check_page(&b, "offline-queue-sent").await;
    assert_eq!(times_saved(&app, &token, &day, &themes).await, [1, 1]);

    // The answer lost on the way back: the server saved the entry, the phone kept it.
    b.goto(&format!("{}{FORM}", app.base)).await.expect("form");
    b.script(LOST_ANSWER, json!([]))
        .await
        .expect("lossy network");
    let lost = "应答丢失：整理党员档案";
    record(&b, lost).await;
    wait_line(&b, "待发送 1 条").await;
    let list = kept(&b).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["theme"], json!(lost));
    let key = list[0]["key"].as_str().expect("key").to_string();
    assert_eq!(times_saved(&app, &token, &day, &[lost]).await, [1]);
    // The next page sends it again with the same key, and the server keeps the one record.
    let noting = b.before_pages(NOTE_KEYS).await.expect("note keys");
    b.goto(&format!("{}{FORM}", app.base))
        .await
        .expect("reload");
    let list = wait_kept(&b, 0).await;
    assert!(list.is_empty());
    let sent = b
        .script(
            "return JSON.parse(sessionStorage.getItem('sent') || '[]');",
            json!([]),
        )
        .await
        .expect("keys sent");
    assert_eq!(sent, json!([key]));
    b.forget_before_pages(&noting).await.expect("forget");
    assert_eq!(times_saved(&app, &token, &day, &[lost]).await, [1]);
    assert_eq!(times_saved(&app, &token, &day, &themes).await, [1, 1]);
    b.wait_for("return document.querySelector('#offline-queue').hidden;")
        .await
        .expect("nothing waiting");
    check_page(&b, "offline-lost-answer-resent").await;
    b.quit().await;
}
