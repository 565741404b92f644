//! Error pages keep the frame: the signed-in user's navigation, and a way back that works
//! without script — the page of this site they came from, else the page above.

use reqwest::StatusCode;
use taizhang_testkit::{spawn_app, Backend, TestApp};

/// The page's answer, asked with a Referer as a browser sends it.
async fn page_from(
    app: &TestApp,
    path: &str,
    cookie: &str,
    referer: Option<&str>,
) -> (StatusCode, String) {
    let mut req = app.client.get(app.url(path)).header("cookie", cookie);
    if let Some(r) = referer {
        req = req.header("referer", r);
    }
    let res = req.send().await.expect("request");
    (res.status(), res.text().await.expect("body"))
}

/// The targets of the page's 返回 and 首页 buttons.
fn way_back(html: &str) -> Vec<String> {
    html.match_indices("<a class=\"button")
        .filter_map(|(i, _)| {
            let rest = &html[i..];
            let href = rest.split("href=\"").nth(1)?.split('"').next()?;
            let label = rest.split('>').nth(1)?.split('<').next()?;
            Some(format!("{label} {href}"))
        })
        .collect()
}

fn alert(html: &str) -> &str {
    html.split("<div class=\"errors\" role=\"alert\"><p>")
        .nth(1)
        .and_then(|r| r.split("</p>").next())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_pages_keep_the_navigation_and_a_real_way_back() {
    let app = spawn_app(Backend::Sqlite).await;
    let cookie = app.browser_login("jishu").await;

    // A record that is not there, reached from the records list.
    let from = format!("{}/records?org=370828005", app.base);
    let (s, html) = page_from(&app, "/records/999999999", &cookie, Some(&from)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(html.contains("<h1>未找到</h1>"), "{html}");
    assert!(
        html.contains("aria-label=\"主菜单\""),
        "the menu is there: {html}"
    );
    assert!(
        html.contains("<span class=\"who\">"),
        "who is signed in: {html}"
    );
    assert_eq!(way_back(&html), ["返回 /records?org=370828005", "首页 /"]);
    assert!(!html.contains("javascript:"), "{html}");

    // Without a Referer (typed, or a bookmark), back is the page above.
    let (s, html) = page_from(&app, "/records/999999999/edit", &cookie, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(way_back(&html), ["返回 /records/999999999", "首页 /"]);

    // A Referer of another site is not followed.
    let (_, html) = page_from(
        &app,
        "/records/999999999",
        &cookie,
        Some("http://evil.example/x"),
    )
    .await;
    assert_eq!(way_back(&html), ["返回 /records", "首页 /"]);

    // An unknown path and a malformed id: the same frame.
    for path in ["/no-such-page", "/records/abc"] {
        let (s, html) = page_from(&app, path, &cookie, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("aria-label=\"主菜单\""), "{path}: {html}");
        assert!(html.contains("<html lang="), "{path}: a whole page");
    }

    // A bulletin asked for a reversed period says so once, not twice.
    let (s, html) = page_from(
        &app,
        "/bulletin?org=370828005&from=2026-06-01&to=2026-01-01",
        &cookie,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let said = alert(&html);
    assert!(!said.is_empty(), "{html}");
    assert_eq!(html.matches(said).count(), 1, "{said} is said once: {html}");

    // Signed out: no menu, and home is the way back.
    let (s, html) = page_from(&app, "/no-such-page", "", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!html.contains("aria-label=\"主菜单\""), "{html}");
    assert_eq!(way_back(&html), ["返回 /"]);
}
