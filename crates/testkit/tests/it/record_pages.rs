//! The record pages, end to end over HTTP: the generated 登记 form, attachments uploaded with it,
//! and its refusals. Every test runs on every backend.

use super::pages::*;
use chrono::Duration;
use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use taizhang_store::today;
use taizhang_testkit::{each_backend, send, TestApp};

each_backend!(
    records_are_entered_through_the_generated_form,
    attachments_are_uploaded_with_the_form,
    record_form_reports_every_problem,
    refused_csrf_stores_no_upload,
    a_photo_too_large_for_the_request_keeps_what_was_typed,
);

async fn records_are_entered_through_the_generated_form(app: TestApp) {
    let cookie = app.browser_login("xunzhuang").await;
    let api = app.token("xunzhuang").await;
    let new_path = format!("/records/new?type=visit&org={XUNZHUANG}");
    let (s, html) = app.page(&new_path, &cookie).await;
    assert_eq!(s, StatusCode::OK);
    for label in [
        "走访对象（五必访）",
        "问询内容（五必问）",
        "走访户数",
        "走访情况",
    ] {
        assert!(html.contains(label), "the form has a {label} field");
    }
    assert!(html.contains("enctype=\"multipart/form-data\""));
    assert!(html.contains(&format!("<option value=\"{XUNZHUANG}\" selected>")));
    for o in taizhang_domain::builtin::FIVE_VISITS {
        assert!(
            html.contains(&format!("<option>{o}</option>")),
            "an option for {o}"
        );
    }
    for o in taizhang_domain::builtin::FIVE_QUESTIONS {
        assert!(
            html.contains(&format!(
                "<input type=\"checkbox\" name=\"topics\" value=\"{o}\">"
            )),
            "a checkbox for {o}"
        );
    }
    assert!(
        html.contains(" min=\"1\" max=\"10000\""),
        "the range of 走访户数 is on its input"
    );
    let token = TestApp::csrf_of(&html);
    let before = visit_total(&app, &api).await;
    let day = (today() - Duration::days(3)).to_string();

    // A browser sends every input, empty ones included.
    let wrong = [
        Part::Text("_csrf", &token),
        Part::Text("org", XUNZHUANG),
        Part::Text("occurred_on", &day),
        Part::Text("category", "路人"),
        Part::Text("topics", "群众疾苦"),
        Part::Text("households", "abc"),
        Part::Text("problems_found", "3"),
        Part::Text("problems_solved", ""),
        Part::Text("notes", "入户了解生产情况"),
    ];
    let r = post_multipart(&app, "/records/new?type=visit", &cookie, &wrong).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let page = &r.body;
    assert!(
        page.contains(
            "<div class=\"field-error\">“走访对象（五必访）”应为以下之一：党员干部、村民代表、致富能手、脱贫户、信访人</div>"
        ),
        "the category error is next to its field: {page}"
    );
    assert!(
        page.contains("<div class=\"field-error\">“走访户数”应为整数</div>"),
        "the households error is next to its field"
    );
    assert!(page.contains("value=\"abc\""), "the typed households kept");
    assert!(page.contains("value=\"3\""), "problems_found kept");
    assert!(page.contains(&format!("value=\"{day}\"")), "the date kept");
    assert!(
        page.contains(">入户了解生产情况</textarea>"),
        "the notes kept"
    );
    assert!(
        page.contains("<input type=\"checkbox\" name=\"topics\" value=\"群众疾苦\" checked>"),
        "the ticked topic kept"
    );
    assert!(page.contains(&format!("<option value=\"{XUNZHUANG}\" selected>")));
    assert!(
        page.contains(&format!("name=\"_csrf\" value=\"{token}\"")),
        "the form can be sent again"
    );
    assert_eq!(visit_total(&app, &api).await, before, "nothing was written");

    let right = [
        Part::Text("_csrf", &token),
        Part::Text("org", XUNZHUANG),
        Part::Text("occurred_on", &day),
        Part::Text("category", "脱贫户"),
        Part::Text("topics", "群众疾苦"),
        Part::Text("topics", "发展路子"),
        Part::Text("households", "12"),
        Part::Text("problems_found", "3"),
        Part::Text("problems_solved", ""),
        Part::Text("notes", "入户了解生产情况"),
    ];
    let r = post_multipart(&app, "/records/new?type=visit", &cookie, &right).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = record_id(r.location.as_deref());
    assert_eq!(visit_total(&app, &api).await, before + 1);

    let (s, html) = app.page(&format!("/records/{id}"), &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("走访"));
    assert!(html.contains(&day));
    assert!(html.contains("寻庄村"));
    assert!(html.contains("脱贫户"));
    assert!(html.contains("12户"), "the count with its unit");
    assert!(html.contains("3个"));
    assert!(html.contains("群众疾苦、发展路子"));
    assert!(html.contains("入户了解生产情况"));

    let (s, rec) = app.get(&format!("/api/v1/records/{id}"), &api).await;
    assert_eq!(s, StatusCode::OK, "{rec}");
    assert_eq!(rec["fields"]["households"], 12);
    assert_eq!(rec["fields"]["category"], "脱贫户");
    assert_eq!(
        rec["fields"]["topics"],
        serde_json::json!(["群众疾苦", "发展路子"])
    );
    assert!(
        rec["fields"].get("problems_solved").is_none(),
        "an empty input is no value: {rec}"
    );

    // A record page shows up in the list of its organisation.
    let (s, html) = app
        .page(
            &format!("/records?org={XUNZHUANG}&ledger_type=visit"),
            &cookie,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains(&format!("共{}条", before + 1)));
    assert!(html.contains(&format!("href=\"/records/{id}\"")));
}

async fn attachments_are_uploaded_with_the_form(app: TestApp) {
    let cookie = app.browser_login("xunzhuang").await;
    let token = csrf(
        &app,
        &format!("/records/new?type=three_meetings&org={XUNZHUANG}"),
        &cookie,
    )
    .await;
    let day = (today() - Duration::days(2)).to_string();
    let with_file = |file| meeting_parts(&token, &day, file);

    // A file that says it is a PNG but is not.
    let r = post_multipart(
        &app,
        "/records/new?type=three_meetings",
        &cookie,
        &with_file(Part::File {
            name: "photos",
            file_name: "fake.png",
            content_type: "image/png",
            bytes: b"hello",
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body
            .contains("“fake.png”不是10MB以内的JPEG、PNG、WebP图片或PDF文件"),
        "the upload error is shown: {}",
        r.body
    );
    assert!(
        r.body.contains("value=\"研究秋季防汛工作\""),
        "the topic kept"
    );

    // An empty file input, as a browser sends it when no file was chosen, is no attachment.
    let r = post_multipart(
        &app,
        "/records/new?type=three_meetings",
        &cookie,
        &with_file(Part::File {
            name: "photos",
            file_name: "",
            content_type: "application/octet-stream",
            bytes: b"",
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = record_id(r.location.as_deref());
    let (_, html) = app.page(&format!("/records/{id}"), &cookie).await;
    assert!(!html.contains("/attachments/"));

    let r = post_multipart(
        &app,
        "/records/new?type=three_meetings",
        &cookie,
        &with_file(Part::File {
            name: "photos",
            file_name: "会场.png",
            content_type: "image/png",
            bytes: PNG,
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = record_id(r.location.as_deref());
    let (s, html) = app.page(&format!("/records/{id}"), &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("支部委员会"));
    assert!(html.contains("研究秋季防汛工作"));
    let links = anchors(&html, "/attachments/");
    assert_eq!(links.len(), 1, "one attachment link: {links:?}");
    let (href, _) = &links[0];
    let r = app
        .client
        .get(app.url(href))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_TYPE], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG, "the same bytes");

    // Without a session there is no attachment.
    let r = send(app.client.get(app.url(href))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/login"));
}

async fn record_form_reports_every_problem(app: TestApp) {
    let cookie = app.browser_login("xunzhuang").await;
    let token = csrf(&app, "/records/new?type=visit", &cookie).await;
    let r = post_multipart(
        &app,
        "/records/new?type=visit",
        &cookie,
        &[
            Part::Text("_csrf", &token),
            Part::Text("org", XUNZHUANG),
            Part::Text("occurred_on", ""),
            Part::Text("category", ""),
            Part::Text("households", "abc"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("请填写日期"), "{}", r.body);
    assert!(
        r.body.contains("请填写“走访对象（五必访）”") && r.body.contains("“走访户数”应为整数"),
        "the field errors are shown with the date error, not one round trip later"
    );
}

async fn refused_csrf_stores_no_upload(app: TestApp) {
    let cookie = app.browser_login("xunzhuang").await;
    let bytes = [PNG, b"refused upload"].concat();
    let day = (today() - Duration::days(1)).to_string();
    let r = post_multipart(
        &app,
        "/records/new?type=three_meetings",
        &cookie,
        &meeting_parts(
            "wrong-token",
            &day,
            Part::File {
                name: "photos",
                file_name: "refused.png",
                content_type: "image/png",
                bytes: &bytes,
            },
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let id = taizhang_store::audit::sha256_hex(&bytes);
    let (s, _) = app.page(&format!("/attachments/{id}"), &cookie).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a POST refused for its CSRF token stored nothing"
    );
}

/// A photo that takes the request past its 20 MB: no English parser error and no lost form —
/// the form comes back with what was typed and a Chinese message beside the photo's field, and
/// nothing is saved.
async fn a_photo_too_large_for_the_request_keeps_what_was_typed(app: TestApp) {
    let cookie = app.browser_login("xunzhuang").await;
    let api = app.token("xunzhuang").await;
    let day = (today() - Duration::days(3)).to_string();
    let listed =
        format!("/api/v1/records?org={XUNZHUANG}&ledger_type=three_meetings&from={day}&to={day}");
    let (_, before) = app.get(&listed, &api).await;
    let token = csrf(&app, "/records/new?type=three_meetings", &cookie).await;
    let huge = [PNG, &vec![0u8; 20 * 1024 * 1024 + 16 * 1024]].concat();
    let r = post_multipart(
        &app,
        "/records/new?type=three_meetings",
        &cookie,
        &meeting_parts(
            &token,
            &day,
            Part::File {
                name: "photos",
                file_name: "原图.png",
                content_type: "image/png",
                bytes: &huge,
            },
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains(
            "“原图.png”过大：单个附件不超过10MB，一次提交合计不超过20MB，请压缩后重新选择"
        ),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("value=\"研究秋季防汛工作\""),
        "the topic kept"
    );
    assert!(
        r.body.contains(&format!("value=\"{day}\"")),
        "the date kept"
    );
    assert!(!r.body.contains("Error parsing"), "{}", r.body);
    let (_, after) = app.get(&listed, &api).await;
    assert_eq!(after["total"], before["total"], "nothing saved");
}
