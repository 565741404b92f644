//! Figures that lead somewhere: a bulletin's count opens the very records it counts, and the
//! county dashboard fits both screens, names its charts and refreshes its figures in place.

use super::check_page;
use crate::pages::XUNZHUANG;
use serde_json::json;
use taizhang_testkit::browser::{Browser, Screen};
use taizhang_testkit::{spawn_app, Backend};

/// Marks the first link of the table's count cells whose figure is not 0 as `#drill`, and
/// answers its figure (the table: 0 for 分类统计, 1 for the ranking).
const MARK_FIGURE: &str = "const t = document.querySelectorAll('main table')[arguments[0]];
const a = Array.from(t.querySelectorAll('td.num a')).find(a => /^[1-9][0-9]*$/.test(a.textContent.trim()));
if (!a) return null;
a.id = 'drill';
return Number(a.textContent.trim());";

/// The records the list shows: the rows that open a record.
const LISTED: &str = "return Array.from(document.querySelectorAll('main table a')).filter(a => /^\\/records\\/[0-9]+$/.test(a.getAttribute('href'))).length;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulletin_figure_opens_the_records_it_counts() {
    let app = spawn_app(Backend::Sqlite).await;
    let b = Browser::start(Screen::Phone).await.expect("browser");
    b.login(&app.base, "jishu").await.expect("login");
    for (table, what) in [(0, "a ledger type's count"), (1, "a town's count")] {
        b.goto(&format!("{}/bulletin", app.base))
            .await
            .expect("bulletin");
        b.find("main table").await.expect("the bulletin's tables");
        check_page(&b, "bulletin").await;
        let figure = b.script(MARK_FIGURE, json!([table])).await.expect("figure");
        let figure = figure
            .as_i64()
            .unwrap_or_else(|| panic!("no figure above 0 for {what}"));
        b.click("#drill").await.expect("click the figure");
        b.wait_for("return location.pathname === '/records'")
            .await
            .expect("the records list");
        let main = b.text("main").await.expect("records");
        assert!(
            main.contains(&format!("共{figure}条")),
            "{what} {figure}, yet the list says: {main}"
        );
        // The first page lists them all, or its 50.
        let listed = b.script(LISTED, json!([])).await.expect("listed");
        assert_eq!(listed, json!(figure.min(50)), "{what} {figure}");
        check_page(&b, &format!("bulletin-drill-{table}")).await;
    }
    b.quit().await;
}

/// Makes the pages' timers run at once (every 300 ms at the most) and notes the interval the
/// page asked for in `window.askedEvery`, so that a refresh is seen within the test's waits.
const FAST_TIMERS: &str = "const every = window.setInterval;
window.setInterval = function (f, ms) { window.askedEvery = ms; return every.call(window, f, Math.min(ms, 300)); };";

/// Each chart of the dashboard, as its text alternative and its title: none may be empty.
const CHARTS: &str = "return Array.from(document.querySelectorAll('#dash svg')).map(s => [s.getAttribute('role') || '', s.getAttribute('aria-label') || '', (s.querySelector('title') || {}).textContent || '']);";

/// The month's record count, the dashboard's first figure.
const MONTH_FIGURE: &str =
    "return Number(document.querySelector('#dash .figures .big').textContent.trim());";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_fits_both_screens_names_its_charts_and_refreshes_in_place() {
    let app = spawn_app(Backend::Sqlite).await;
    let recorder = app.token("xunzhuang").await;
    let today = taizhang_store::today().to_string();
    for screen in [Screen::Phone, Screen::Desk] {
        for user in ["admin", "jishu"] {
            let b = Browser::start(screen).await.expect("browser");
            b.login(&app.base, user).await.expect("login");
            b.before_pages(FAST_TIMERS).await.expect("timers");
            b.goto(&format!("{}/dashboard", app.base))
                .await
                .expect("dashboard");
            b.find("#dash").await.expect("the figures");
            check_page(&b, &format!("dashboard-{user}")).await;
            let charts = b.script(CHARTS, json!([])).await.expect("charts");
            let charts = charts.as_array().cloned().unwrap_or_default();
            assert_eq!(charts.len(), 2, "{user}: {charts:?}");
            for c in &charts {
                assert_eq!(c[0], json!("img"), "{user}: {c}");
                let label = c[1].as_str().unwrap_or_default();
                assert!(!label.is_empty(), "{user}: a chart without a label: {c}");
                assert_eq!(c[2].as_str(), Some(label), "{user}: {c}");
            }
            let asked = b
                .script(
                    "return [window.askedEvery, document.querySelector('#dash').dataset.every];",
                    json!([]),
                )
                .await
                .expect("interval");
            assert_eq!(
                asked,
                json!([60000, "60"]),
                "{user}: refreshed every minute"
            );

            // A record made elsewhere shows up without a reload: the fragment is swapped in.
            let before = b.script(MONTH_FIGURE, json!([])).await.expect("figure");
            let before = before.as_i64().expect("the month's figure");
            let (status, rec) = app
                .post(
                    "/api/v1/records",
                    &recorder,
                    json!({"ledger_type": "theme_day", "org": XUNZHUANG, "occurred_on": today,
                           "fields": {"theme": format!("大屏刷新：{user}")}}),
                )
                .await;
            assert_eq!(status, 201, "{rec}");
            b.script(
                "window.samePage = true; document.querySelector('#dash .figures').dataset.stale = '1';",
                json!([]),
            )
            .await
            .expect("mark");
            let refreshed = b
                .wait_for(&format!(
                    "const d = document.querySelector('#dash');
                     return window.samePage === true && d.hasAttribute('data-refreshed')
                       && !d.querySelector('[data-stale]') && Number(d.querySelector('.figures .big').textContent.trim()) === {};",
                    before + 1
                ))
                .await;
            assert!(
                refreshed.is_ok(),
                "{user}: the month's {before} records did not become {} in place",
                before + 1
            );
            let charts = b.script(CHARTS, json!([])).await.expect("charts");
            assert_eq!(charts.as_array().map(Vec::len), Some(2), "{user}: {charts}");
            check_page(&b, &format!("dashboard-{user}-refreshed")).await;
            b.quit().await;
        }
    }
}
