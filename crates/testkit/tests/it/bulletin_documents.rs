//! The bulletin as documents (.docx, .pdf, .xlsx): each answers with its media type and a
//! Chinese file name for a user whose scope holds the organisation, is refused for one whose
//! scope does not, is audited as `export` of `bulletin`, is linked from the bulletin page and is
//! in the OpenAPI document.

use calamine::{Reader, Xlsx};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{Cursor, Read};
use taizhang_testkit::{each_backend, TestApp};

each_backend!(
    each_format_answers_with_its_type_and_is_audited,
    a_caller_outside_the_scope_is_refused_and_nothing_is_exported,
    the_bulletin_page_links_to_its_documents,
    the_documents_are_in_the_openapi_document,
);

const FORMATS: [(&str, &str); 3] = [
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("pdf", "application/pdf"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
];

const QUERY: &str = "org=370828005&from=2026-01-01&to=2026-12-31";

async fn newest_export(app: &TestApp) -> Value {
    let auditor = app.token("auditor").await;
    let (s, v) = app
        .get("/api/v1/audit?entity=export&limit=1", &auditor)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["entries"][0].clone()
}

fn exports(app: &TestApp) -> impl std::future::Future<Output = i64> + '_ {
    app.count_raw("SELECT COUNT(*) FROM audit_log WHERE action = 'export'")
}

async fn each_format_answers_with_its_type_and_is_audited(app: TestApp) {
    let t = app.token("jishu").await;
    let (s, b) = app.get(&format!("/api/v1/bulletin?{QUERY}"), &t).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let title = b["title"].as_str().unwrap().to_string();
    let units = b["units"].as_array().unwrap().len();
    assert!(units >= 2, "鸡黍镇 has units to rank: {units}");
    for (ext, media) in FORMATS {
        let before = exports(&app).await;
        let r = app
            .client
            .get(app.url(&format!("/api/v1/bulletin/export.{ext}?{QUERY}")))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{ext}");
        assert_eq!(r.headers()[reqwest::header::CONTENT_TYPE], media);
        let disp = r.headers()[reqwest::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            disp.starts_with(&format!(
                "attachment; filename=\"export.{ext}\"; filename*=UTF-8''"
            )),
            "{disp}"
        );
        // The title, percent-encoded, names the file.
        assert!(disp.contains("%E9%B8%A1%E9%BB%8D%E9%95%87"), "{disp}");
        let bytes = r.bytes().await.unwrap().to_vec();
        match ext {
            "pdf" => assert!(bytes.starts_with(b"%PDF-")),
            "docx" => {
                let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
                let mut xml = String::new();
                zip.by_name("word/document.xml")
                    .unwrap()
                    .read_to_string(&mut xml)
                    .unwrap();
                assert!(xml.contains(&title), "{ext}");
                assert!(xml.contains(r#"<w:pgSz w:w="11906" w:h="16838"/>"#));
                // Signed by the county's organisation department (its 机关党支部 is in the data).
                assert!(xml.contains(">县委组织部<"));
            }
            _ => {
                let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
                assert_eq!(book.sheet_names(), ["分类情况", "各单位情况"]);
                let rows = book.worksheet_range("各单位情况").unwrap().height();
                assert_eq!(rows, units + 1);
            }
        }
        assert_eq!(exports(&app).await, before + 1, "{ext}");
        let e = newest_export(&app).await;
        assert_eq!(e["actor"], "jishu");
        assert_eq!(e["entity_id"], "bulletin");
        assert_eq!(e["after"]["rows"], json!(units));
        assert_eq!(e["after"]["format"], ext);
        assert_eq!(e["after"]["filters"]["org"], "370828005");
    }
}

async fn a_caller_outside_the_scope_is_refused_and_nothing_is_exported(app: TestApp) {
    let village = app.token("xunzhuang").await;
    let before = exports(&app).await;
    for (ext, _) in FORMATS {
        let (s, v) = app
            .get(&format!("/api/v1/bulletin/export.{ext}?{QUERY}"), &village)
            .await;
        assert!(
            s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN,
            "{ext}: {s} {v}"
        );
        assert!(v["code"].is_string(), "{v}");
    }
    assert_eq!(exports(&app).await, before);
    // Each refusal is audited, as a refused list is.
    let refused = app
        .count_raw("SELECT COUNT(*) FROM audit_log WHERE action = 'refused' AND actor = 'xunzhuang' AND entity_id LIKE 'GET /api/v1/bulletin/export.%'")
        .await;
    assert_eq!(refused, 3);
    let r = app
        .client
        .get(app.url("/api/v1/bulletin/export.pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn the_bulletin_page_links_to_its_documents(app: TestApp) {
    let cookie = app.browser_login("jishu").await;
    let (s, html) = app.page(&format!("/bulletin?{QUERY}"), &cookie).await;
    assert_eq!(s, StatusCode::OK);
    let query = "org=370828005&#38;from=2026-01-01&#38;to=2026-12-31&#38;by=children";
    for (ext, label) in [
        ("docx", "下载Word"),
        ("pdf", "下载PDF"),
        ("xlsx", "导出Excel"),
    ] {
        let link = format!(r#"href="/bulletin/export.{ext}?{query}">{label}</a>"#);
        let at = html.find("export.docx").unwrap_or(0);
        assert!(
            html.contains(&link),
            "{link}\n{}",
            &html[at.saturating_sub(40)..(at + 200).min(html.len())]
        );
    }
    // The page's link answers the document behind the session.
    let r = app
        .client
        .get(app.url(&format!("/bulletin/export.docx?{QUERY}&by=children")))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
}

async fn the_documents_are_in_the_openapi_document(app: TestApp) {
    let t = app.token("viewer").await;
    let (s, doc) = app.get("/api/v1/openapi.json", &t).await;
    assert_eq!(s, StatusCode::OK);
    for (ext, media) in FORMATS {
        let path = format!("/api/v1/bulletin/export.{ext}");
        let op = &doc["paths"][&path]["get"];
        assert!(
            op["responses"]["200"]["content"][media].is_object(),
            "{path}: {op}"
        );
        // They pass the report queue, as the bulletin does: 503 busy.
        assert!(op["responses"]["503"].is_object(), "{path}: {op}");
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(params, ["org", "from", "to", "by"], "{path}");
    }
}
