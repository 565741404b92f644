//! The server-rendered pages, end to end over HTTP, the way a cadre uses them: a session cookie
//! from the login form, forms carrying the page's CSRF token, redirects after a successful POST
//! and error pages in Chinese. Every test runs on every backend.

use chrono::Duration;
use reqwest::header::{CONTENT_TYPE, SET_COOKIE};
use reqwest::StatusCode;
use taizhang_store::today;
use taizhang_testkit::{each_backend, post_form, send, Reply, TestApp, PASSWORD};

each_backend!(
    login_logout_and_sessions,
    forms_need_the_csrf_token,
    org_page_forms_create_and_refuse,
    bulletin_page_opens_to_its_records,
    ledger_types_are_defined_on_a_page,
    overdue_and_people_pages,
    audit_page_is_for_the_auditor,
    pages_carry_security_headers,
    type_form_row_errors_keep_the_input,
    editing_a_type_unchanged_keeps_its_definition,
    bad_addresses_get_a_chinese_page,
);

pub(super) const XUNZHUANG: &str = "370828005101";
pub(super) const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

// ---- helpers -----------------------------------------------------------------------------------

/// One part of a `multipart/form-data` body.
pub(super) enum Part<'a> {
    Text(&'a str, &'a str),
    File {
        name: &'a str,
        file_name: &'a str,
        content_type: &'a str,
        bytes: &'a [u8],
    },
}

pub(super) const BOUNDARY: &str = "----taizhangPagesTestBoundary7MA4YWxk";

/// A `multipart/form-data` body built by hand, as a browser sends it.
pub(super) fn multipart_body(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match p {
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                );
                body.extend_from_slice(value.as_bytes());
            }
            Part::File {
                name,
                file_name,
                content_type,
                bytes,
            } => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub(super) async fn post_multipart(
    app: &TestApp,
    path: &str,
    cookie: &str,
    parts: &[Part<'_>],
) -> Reply {
    send(
        app.client
            .post(app.url(path))
            .header("cookie", cookie)
            .header(
                CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(multipart_body(parts)),
    )
    .await
}

/// The page's CSRF token, read from a page the user has open.
pub(super) async fn csrf(app: &TestApp, path: &str, cookie: &str) -> String {
    let (s, html) = app.page(path, cookie).await;
    assert_eq!(s, StatusCode::OK, "{path}");
    let token = TestApp::csrf_of(&html);
    assert!(!token.is_empty(), "{path} carries a CSRF token");
    token
}

/// Undoes HTML escaping (askama writes `&` as `&#38;`).
pub(super) fn unescape(s: &str) -> String {
    [
        ("&quot;", "\""),
        ("&#34;", "\""),
        ("&#x27;", "'"),
        ("&#39;", "'"),
        ("&lt;", "<"),
        ("&#60;", "<"),
        ("&gt;", ">"),
        ("&#62;", ">"),
        ("&#38;", "&"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(s.to_string(), |acc, (from, to)| acc.replace(from, to))
}

/// The text of the first `<h1>`.
pub(super) fn h1(html: &str) -> String {
    html.split("<h1")
        .nth(1)
        .and_then(|s| s.split_once('>'))
        .and_then(|(_, s)| s.split("</h1>").next())
        .unwrap_or_default()
        .to_string()
}

/// Every `<a href="{prefix}…">text</a>` of a page, unescaped: (href, text).
pub(super) fn anchors(html: &str, prefix: &str) -> Vec<(String, String)> {
    let marker = format!("<a href=\"{prefix}");
    html.split(marker.as_str())
        .skip(1)
        .filter_map(|s| {
            let (rest, after) = s.split_once('"')?;
            let text = after.split_once('>')?.1.split("</a>").next()?;
            Some((unescape(&format!("{prefix}{rest}")), unescape(text)))
        })
        .collect()
}

/// The contents of every table cell.
pub(super) fn cells(html: &str) -> Vec<String> {
    html.split("<td")
        .skip(1)
        .filter_map(|s| s.split_once('>'))
        .map(|(_, s)| s.split("</td>").next().unwrap_or_default().to_string())
        .collect()
}

pub(super) fn is_whole_id_number(s: &str) -> bool {
    let c: Vec<char> = s.chars().collect();
    c.len() == 18
        && c[..17].iter().all(char::is_ascii_digit)
        && (c[17].is_ascii_digit() || c[17] == 'X')
}

pub(super) fn is_masked_id_number(s: &str) -> bool {
    let c: Vec<char> = s.chars().collect();
    c.len() == 18
        && c[..4].iter().all(|x| x.is_ascii_alphanumeric())
        && c[4..14].iter().all(|x| *x == '*')
        && c[14..].iter().all(|x| x.is_ascii_alphanumeric())
}

/// The value of `attr="…"` in a tag's text, unescaped.
pub(super) fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let rest = tag.split_once(marker.as_str())?.1;
    Some(unescape(rest.split('"').next()?))
}

/// What a browser sends when the form posting to `action` is submitted untouched: text and
/// hidden inputs, ticked checkboxes, each select's chosen (or first) option and textareas.
pub(super) fn browser_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let marker = format!("action=\"{action}\"");
    let form = html
        .split_once(marker.as_str())
        .and_then(|(_, rest)| rest.split("</form>").next())
        .unwrap_or_else(|| panic!("a form posting to {action}"));
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let tag = rest.split('>').next().unwrap_or_default();
        let Some(name) = attr(tag, "name") else {
            continue;
        };
        if tag.starts_with("input") {
            let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
            let ticked = tag.split_whitespace().any(|w| w == "checked");
            match kind.as_str() {
                "checkbox" | "radio" if !ticked => {}
                "file" | "submit" => {}
                "checkbox" | "radio" => {
                    out.push((name, attr(tag, "value").unwrap_or_else(|| "on".into())))
                }
                _ => out.push((name, attr(tag, "value").unwrap_or_default())),
            }
        } else if tag.starts_with("textarea") {
            let text = rest.split_once('>').map_or("", |x| x.1);
            out.push((
                name,
                unescape(text.split("</textarea>").next().unwrap_or_default()),
            ));
        } else if tag.starts_with("select") {
            let body = rest.split("</select>").next().unwrap_or_default();
            let options: Vec<(bool, String)> = body
                .split("<option")
                .skip(1)
                .map(|o| {
                    let (head, text) = o.split_once('>').unwrap_or((o, ""));
                    let text = text.split("</option>").next().unwrap_or_default();
                    let value = attr(head, "value").unwrap_or_else(|| unescape(text));
                    (head.split_whitespace().any(|w| w == "selected"), value)
                })
                .collect();
            let chosen = options
                .iter()
                .find(|o| o.0)
                .or(options.first())
                .map(|o| o.1.clone())
                .unwrap_or_default();
            out.push((name, chosen));
        }
    }
    out
}

/// How many 走访 records 寻庄村 has, through the API.
pub(super) async fn visit_total(app: &TestApp, token: &str) -> i64 {
    let (s, v) = app
        .get(
            &format!("/api/v1/records?org={XUNZHUANG}&ledger_type=visit&limit=1"),
            token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["total"].as_i64().expect("total")
}

/// A 三会一课 form for 寻庄村 with one file input.
pub(super) fn meeting_parts<'a>(token: &'a str, day: &'a str, file: Part<'a>) -> Vec<Part<'a>> {
    vec![
        Part::Text("_csrf", token),
        Part::Text("org", XUNZHUANG),
        Part::Text("occurred_on", day),
        Part::Text("meeting_kind", "支部委员会"),
        Part::Text("topic", "研究秋季防汛工作"),
        Part::Text("attendance", ""),
        Part::Text("minutes", ""),
        file,
    ]
}

/// The type editor's form for 道路里程 as a browser sends it, with two blank field rows.
pub(super) fn road_type_form(key: &str) -> Vec<(&str, &str)> {
    vec![
        ("key", key),
        ("name", "道路里程"),
        ("verb", "推进"),
        ("count_unit", "条"),
        ("description", ""),
        ("f0_key", "road"),
        ("f0_label", "道路"),
        ("f0_kind", "text"),
        ("f0_required", "true"),
        ("f0_options", ""),
        ("f0_min", ""),
        ("f0_max", ""),
        ("f0_unit", ""),
        ("f0_phrase", ""),
        ("f1_key", "km"),
        ("f1_label", "里程"),
        ("f1_kind", "integer"),
        ("f1_options", ""),
        ("f1_min", "0"),
        ("f1_max", "500"),
        ("f1_unit", "公里"),
        ("f1_phrase", ""),
        ("f2_key", ""),
        ("f2_label", ""),
        ("f2_kind", "text"),
        ("c0_label", ""),
        ("c0_cadence", ""),
    ]
}

pub(super) fn record_id(location: Option<&str>) -> i64 {
    location
        .and_then(|l| l.strip_prefix("/records/"))
        .and_then(|l| l.strip_suffix("?done=saved"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a record page, not {location:?}"))
}

// ---- tests -------------------------------------------------------------------------------------

async fn login_logout_and_sessions(app: TestApp) {
    let (s, html) = app.page("/login", "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("lang=\"zh-CN\""));
    assert!(html.contains("登录"));
    assert!(html.contains("name=\"password\""));

    let r = send(
        app.client
            .post(app.url("/login"))
            .form(&[("username", "jishu"), ("password", "wrong-password")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("用户名或密码错误"), "{}", r.body);
    assert!(
        r.body.contains("value=\"jishu\""),
        "the user name is kept in the form"
    );
    assert!(r.headers.get(SET_COOKIE).is_none(), "no session on failure");
    let r = send(
        app.client
            .post(app.url("/login"))
            .form(&[("username", "nobody"), ("password", PASSWORD)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("用户名或密码错误"));

    let r = send(
        app.client
            .post(app.url("/login"))
            .form(&[("username", "jishu"), ("password", PASSWORD)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/"));
    let set_cookie = r.headers[SET_COOKIE].to_str().unwrap().to_string();
    assert!(set_cookie.starts_with("taizhang_session="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    let r = send(app.client.get(app.url("/"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "no cookie, no page");
    assert_eq!(r.location.as_deref(), Some("/login"));
    let r = send(
        app.client
            .get(app.url("/"))
            .header("cookie", "taizhang_session=not-a-session"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "a forged cookie");
    assert_eq!(r.location.as_deref(), Some("/login"));

    let (s, html) = app.page("/", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("鸡黍镇"), "the user's organisation is shown");
    assert!(html.contains("鸡黍镇党委组织委员"), "and the user's name");

    // Logging out needs the page's token.
    let r = post_form(&app, "/logout", &cookie, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "logout without _csrf");
    let r = post_form(&app, "/logout", &cookie, &[("_csrf", "forged")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "logout with a wrong _csrf");
    let (s, _) = app.page("/", &cookie).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the refused logout left the session alive"
    );

    let token = TestApp::csrf_of(&html);
    let r = post_form(&app, "/logout", &cookie, &[("_csrf", &token)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/login"));
    let cleared = r.headers[SET_COOKIE].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let r = send(app.client.get(app.url("/")).header("cookie", &cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "the old cookie is dead");
    assert_eq!(r.location.as_deref(), Some("/login"));
}

async fn forms_need_the_csrf_token(app: TestApp) {
    let cookie = app.browser_login("jishu").await;
    let token = csrf(&app, "/orgs/370828005", &cookie).await;

    let r = post_form(
        &app,
        "/orgs/370828005/rename",
        &cookie,
        &[("_csrf", "wrong-token"), ("name", "鸡黍乡")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("页面已过期，请刷新后重试"), "{}", r.body);
    let r = post_form(
        &app,
        "/orgs/370828005/rename",
        &cookie,
        &[("name", "鸡黍乡")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no token at all");
    // Another user's token is no good either.
    let other = app.browser_login("admin").await;
    let other_token = csrf(&app, "/", &other).await;
    let r = post_form(
        &app,
        "/orgs/370828005/rename",
        &cookie,
        &[("_csrf", &other_token), ("name", "鸡黍乡")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "another session's token");
    let (_, html) = app.page("/orgs/370828005", &cookie).await;
    assert!(h1(&html).starts_with("鸡黍镇 "), "unchanged: {}", h1(&html));

    let r = post_form(
        &app,
        "/orgs/370828005/rename",
        &cookie,
        &[("_csrf", &token), ("name", "鸡黍乡")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/orgs/370828005?done=saved"));
    let (s, html) = app.page("/orgs/370828005?done=saved", &cookie).await;
    assert!(
        html.contains("<p class=\"notice\" role=\"status\">✓ 已保存</p>"),
        "the page says it was saved"
    );
    assert_eq!(s, StatusCode::OK);
    assert!(h1(&html).starts_with("鸡黍乡 "), "renamed: {}", h1(&html));

    // The record form checks the token too, and writes nothing without it.
    let xun = app.browser_login("xunzhuang").await;
    let api = app.token("xunzhuang").await;
    let before = visit_total(&app, &api).await;
    let day = (today() - Duration::days(1)).to_string();
    let r = post_multipart(
        &app,
        "/records/new?type=visit",
        &xun,
        &[
            Part::Text("_csrf", "wrong-token"),
            Part::Text("org", XUNZHUANG),
            Part::Text("occurred_on", &day),
            Part::Text("category", "脱贫户"),
            Part::Text("households", "2"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(visit_total(&app, &api).await, before);
}

async fn org_page_forms_create_and_refuse(app: TestApp) {
    let cookie = app.browser_login("jishu").await;
    let (s, html) = app.page("/orgs/370828005", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("新增下级组织"),
        "a manager sees the edit forms"
    );
    let token = TestApp::csrf_of(&html);

    let r = post_form(
        &app,
        "/orgs/370828005/children",
        &cookie,
        &[
            ("_csrf", &token),
            ("kind", "village"),
            ("name", " 页面新村 "),
            ("code", ""),
            ("established_on", "2020-01-01"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let location = r.location.expect("a redirect");
    let new_ref = location
        .strip_prefix("/orgs/")
        .and_then(|l| l.strip_suffix("?done=saved"))
        .expect("to the new organisation's page, saying it was saved")
        .to_string();
    let (s, html) = app.page(&location, &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h1(&html).starts_with("页面新村 "), "{}", h1(&html));
    assert!(html.contains("成立：2020-01-01"));
    assert!(
        html.contains("隶属于“鸡黍镇”"),
        "its history names its parent"
    );
    let (_, parent) = app.page("/orgs/370828005", &cookie).await;
    assert!(parent.contains(&format!("<a href=\"/orgs/{new_ref}\">页面新村</a>")));

    let r = post_form(
        &app,
        "/orgs/370828005/children",
        &cookie,
        &[
            ("_csrf", &token),
            ("kind", "village"),
            ("name", "   "),
            ("established_on", "2020-01-01"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("名称不能为空"), "{}", r.body);
    assert!(
        h1(&r.body).starts_with("鸡黍镇 "),
        "shown on the organisation page"
    );
    let r = post_form(
        &app,
        "/orgs/370828005/children",
        &cookie,
        &[
            ("_csrf", &token),
            ("kind", "village"),
            ("name", "坏日期村"),
            ("established_on", "2020-13-45"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("日期格式应为 YYYY-MM-DD"), "{}", r.body);

    let r = post_form(
        &app,
        &format!("/orgs/{new_ref}/move"),
        &cookie,
        &[("_csrf", &token), ("parent", "370828999999"), ("on", "")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("新的上级组织不存在或不在您的管理范围内"),
        "{}",
        r.body
    );
    assert!(h1(&r.body).starts_with("页面新村 "));
    // Out of the manager's reach counts as nonexistent.
    let r = post_form(
        &app,
        &format!("/orgs/{new_ref}/move"),
        &cookie,
        &[("_csrf", &token), ("parent", "370828001"), ("on", "")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("新的上级组织不存在或不在您的管理范围内"));

    // Moving under itself is refused with a reason on the page.
    let r = post_form(
        &app,
        &format!("/orgs/{new_ref}/move"),
        &cookie,
        &[("_csrf", &token), ("parent", &new_ref), ("on", "")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("class=\"errors\""));
}

async fn bulletin_page_opens_to_its_records(app: TestApp) {
    let cookie = app.browser_login("admin").await;
    let api = app.token("admin").await;
    let to = today();
    let from = to - Duration::days(364);
    let (s, html) = app
        .page(
            &format!("/bulletin?org=370828&from={from}&to={to}"),
            &cookie,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<svg"), "a chart");
    assert!(html.contains("台账工作统计通报"));
    assert!(html.contains("共记录各类台账"));
    assert!(html.contains("下级单位排名"));
    assert!(
        html.contains("<a href=\"/orgs/370828005\">鸡黍镇</a>"),
        "ranked"
    );

    let (s, b) = app
        .get(
            &format!("/api/v1/bulletin?org=370828&from={from}&to={to}"),
            &api,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // The title names the county the bulletin is about (the header names the user's own
    // organisation, which for the admin is the county too: only the title proves the content).
    let title = b["title"].as_str().unwrap();
    assert!(title.contains("金乡县"), "{title}");
    assert!(
        html.contains(&format!("<h1 style=\"text-align:center\">{title}</h1>")),
        "the title as the heading"
    );
    assert!(html.contains(b["sentences"][0].as_str().unwrap()));

    let links = anchors(&html, "/records?");
    assert!(links.len() > 10, "figures link to their records: {links:?}");
    // The first link is the first section's count.
    let (href, text) = &links[0];
    assert!(href.starts_with("/records?org=370828&"), "{href}");
    assert!(!href.contains("&#"), "{href}");
    let n: i64 = text.trim().parse().expect("a count");
    let first_type = b["sections"][0]["type_key"].as_str().unwrap();
    let in_year = app
        .count_raw(&format!(
            "SELECT COUNT(*) FROM ledger_records r JOIN ledger_types t ON t.id = r.ledger_type_id \
             WHERE t.key = '{first_type}' AND r.voided_at IS NULL AND r.occurred_on BETWEEN '{from}' AND '{to}'"
        ))
        .await;
    assert!(in_year > 0, "a year of {first_type} records");
    assert_eq!(n, in_year, "{first_type} records in the year");
    assert_eq!(n, b["sections"][0]["records"].as_i64().unwrap());
    let (s, page) = app.page(href, &cookie).await;
    assert_eq!(s, StatusCode::OK, "{href}");
    assert!(
        page.contains(&format!("共{n}条")),
        "{href} lists {n} records"
    );

    // And 鸡黍镇's row opens to 鸡黍镇's records.
    let (href, text) = links
        .iter()
        .find(|(h, _)| h.starts_with("/records?org=370828005&") && !h.contains("ledger_type"))
        .expect("鸡黍镇's records link");
    let n: i64 = text.trim().parse().expect("a count");
    let unit = b["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["org"]["ref"] == "370828005")
        .expect("鸡黍镇 ranked");
    assert_eq!(n, unit["records"].as_i64().unwrap());
    let (s, page) = app.page(href, &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains(&format!("共{n}条")),
        "{href} lists {n} records"
    );

    // A breakdown figure opens to the records with that option.
    let (href, text) = links
        .iter()
        .find(|(h, _)| h.contains("&option="))
        .expect("a breakdown link");
    let n: i64 = text
        .split_whitespace()
        .nth(1)
        .and_then(|t| t.split('（').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("a count in {text}"));
    let (s, page) = app.page(href, &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains(&format!("共{n}条")),
        "{href} lists {n} records"
    );

    let (s, html) = app.page("/bulletin?org=370828&by=dispatch", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<option value=\"dispatch\" selected>"));
    assert!(html.contains("关联对象排名"));
    assert!(html.contains("<th>关联</th>"));
    let sentences = html
        .split("<div class=\"sentences\">")
        .nth(1)
        .and_then(|s| s.split("</div>").next())
        .unwrap_or_default();
    assert!(sentences.contains("派驻"), "{sentences}");

    // A town manager cannot open the county's bulletin.
    let town = app.browser_login("jishu").await;
    let (s, html) = app.page("/bulletin?org=370828", &town).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(html.contains("未找到"));
    let (s, html) = app.page("/bulletin", &town).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("鸡黍镇"));
    let (s, html) = app
        .page(
            "/bulletin?org=370828&from=2026-05-01&to=2026-01-01",
            &cookie,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a reversed period");
    assert!(html.contains("输入有误"));
}

async fn ledger_types_are_defined_on_a_page(app: TestApp) {
    let cookie = app.browser_login("admin").await;
    let (s, html) = app.page("/ledger-types", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("三会一课"));
    assert!(html.contains("href=\"/ledger-types/three_meetings/edit\""));
    let (s, html) = app.page("/ledger-types/new", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("新建台账类型"));
    let token = TestApp::csrf_of(&html);

    let mut bad = road_type_form("Bad Key");
    bad.push(("_csrf", &token));
    let r = post_form(&app, "/ledger-types", &cookie, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("类型标识应以小写字母开头"),
        "a Chinese reason: {}",
        r.body
    );
    assert!(r.body.contains("value=\"Bad Key\""), "the entered key kept");
    assert!(r.body.contains("value=\"里程\""), "the entered fields kept");

    let mut form = road_type_form("road_km");
    form.push(("_csrf", &token));
    let r = post_form(&app, "/ledger-types", &cookie, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/ledger-types?done=saved"));
    let (_, html) = app.page("/ledger-types", &cookie).await;
    assert!(html.contains("道路里程"));
    assert!(html.contains("道路、里程"), "its fields listed");

    let (s, html) = app.page("/records/new?type=road_km", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("登记 · 道路里程"));
    assert!(html.contains("道路"));
    assert!(html.contains("里程"));
    assert!(html.contains("（公里）"), "the unit by the label");
    assert!(html.contains(" min=\"0\" max=\"500\""));

    let (s, html) = app.page("/ledger-types/road_km/edit", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("value=\"道路里程\""));
    assert!(html.contains("value=\"公里\""));

    let town = app.browser_login("jishu").await;
    for path in ["/ledger-types", "/ledger-types/new"] {
        let (s, html) = app.page(path, &town).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
        assert!(html.contains("无权访问"), "{path}");
    }
    let town_token = csrf(&app, "/", &town).await;
    let mut form = road_type_form("road_km2");
    form.push(("_csrf", &town_token));
    let r = post_form(&app, "/ledger-types", &town, &form).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

async fn overdue_and_people_pages(app: TestApp) {
    let town = app.browser_login("jishu").await;
    let (s, html) = app.page("/overdue?org=370828005", &town).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("逾期提醒"));
    assert!(h1(&html).contains("鸡黍镇"), "{}", h1(&html));
    let (s, _) = app.page("/overdue?org=370828", &town).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the county is out of reach");

    let viewer = app.browser_login("viewer").await;
    let (s, html) = app.page("/people?org=370828005", &viewer).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("人员 · 鸡黍镇"));
    let cs = cells(&html);
    let masked = cs.iter().filter(|c| is_masked_id_number(c)).count();
    assert!(masked > 0, "masked ID numbers are listed");
    assert!(
        !cs.iter().any(|c| is_whole_id_number(c)),
        "no whole ID number for the viewer"
    );
    assert!(!html.contains("登记人员"), "the viewer cannot add people");

    let admin = app.browser_login("admin").await;
    let (s, html) = app.page("/people?org=370828005", &admin).await;
    assert_eq!(s, StatusCode::OK);
    // Lists are masked for every role; whole numbers only on an audited request, one person at a time.
    assert!(!cells(&html).iter().any(|c| is_whole_id_number(c)));
    let (person, _) = anchors(&html, "/people/")
        .into_iter()
        .next()
        .expect("a person link");
    let id_cell = |html: &str| {
        html.split("<th>身份证号</th><td>")
            .nth(1)
            .and_then(|s| s.split("</td>").next())
            .unwrap_or_default()
            .to_string()
    };
    let (s, html) = app.page(&person, &admin).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!is_whole_id_number(&id_cell(&html)), "masked until asked");
    let r = app
        .client
        .post(app.url(&format!("{person}/reveal")))
        .header("cookie", &admin)
        .form(&[("_csrf", TestApp::csrf_of(&html))])
        .send()
        .await
        .expect("reveal");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("page");
    let whole = id_cell(&html);
    assert!(is_whole_id_number(&whole), "{person}: {whole:?}");
    let (s, html) = app.page(&person, &viewer).await;
    assert_eq!(s, StatusCode::OK);
    let masked = id_cell(&html);
    assert!(is_masked_id_number(&masked), "{person}: {masked:?}");
    assert_eq!(masked[..4], whole[..4]);
    assert_eq!(masked[14..], whole[14..]);
}

async fn audit_page_is_for_the_auditor(app: TestApp) {
    let auditor = app.browser_login("auditor").await;
    let (s, html) = app.page("/audit", &auditor).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("审计日志"));
    assert!(html.contains("<td>登录</td>"), "logins are audited");
    let r = send(app.client.get(app.url("/")).header("cookie", &auditor)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/audit"));
    let (s, _) = app.page("/orgs/370828", &auditor).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the auditor reads the log only");

    let admin = app.browser_login("admin").await;
    let (s, html) = app.page("/audit", &admin).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(html.contains("无权访问"));
    let (_, home) = app.page("/", &admin).await;
    assert!(!home.contains("href=\"/audit\""), "no audit link for admin");
}

async fn pages_carry_security_headers(app: TestApp) {
    let cookie = app.browser_login("jishu").await;
    for r in [
        send(app.client.get(app.url("/login"))).await,
        send(app.client.get(app.url("/")).header("cookie", &cookie)).await,
        send(
            app.client
                .get(app.url("/orgs/370828005"))
                .header("cookie", &cookie),
        )
        .await,
    ] {
        assert_eq!(r.status, StatusCode::OK);
        let h = &r.headers;
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            h[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"),
            "{:?}",
            h[CONTENT_TYPE]
        );
    }
}

async fn type_form_row_errors_keep_the_input(app: TestApp) {
    let cookie = app.browser_login("admin").await;
    let token = csrf(&app, "/ledger-types/new", &cookie).await;
    let mut form: Vec<(&str, &str)> = road_type_form("road_km")
        .into_iter()
        .map(|(k, v)| if k == "f1_max" { (k, "abc") } else { (k, v) })
        .collect();
    form.push(("_csrf", &token));
    let r = post_form(&app, "/ledger-types", &cookie, &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let (s, html) = app.page("/ledger-types", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("道路里程"), "nothing was saved");
    assert!(
        r.body.contains("“里程”的最大值应为整数"),
        "the reason is in Chinese: {}",
        r.body
    );
    assert!(
        r.body.contains("value=\"道路里程\"") && r.body.contains("value=\"里程\""),
        "what the administrator typed is kept"
    );
}

async fn editing_a_type_unchanged_keeps_its_definition(app: TestApp) {
    let cookie = app.browser_login("admin").await;
    let api = app.token("admin").await;
    for key in ["three_meetings", "inspection"] {
        let (s, before) = app.get(&format!("/api/v1/ledger-types/{key}"), &api).await;
        assert_eq!(s, StatusCode::OK, "{before}");
        let (s, html) = app
            .page(&format!("/ledger-types/{key}/edit"), &cookie)
            .await;
        assert_eq!(s, StatusCode::OK);
        let fields = browser_fields(&html, &format!("/ledger-types/{key}"));
        let form: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = post_form(&app, &format!("/ledger-types/{key}"), &cookie, &form).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{key}: {}", r.body);
        let (_, after) = app.get(&format!("/api/v1/ledger-types/{key}"), &api).await;
        assert_eq!(
            after["definition"], before["definition"],
            "saving the edit form of {key} untouched changes nothing"
        );
    }
}

async fn bad_addresses_get_a_chinese_page(app: TestApp) {
    let cookie = app.browser_login("admin").await;
    // The bulletin form with its date boxes cleared.
    let (s, html) = app
        .page("/bulletin?org=370828&by=children&from=&to=", &cookie)
        .await;
    assert_eq!(s, StatusCode::OK, "empty dates mean the defaults: {html}");
    for path in [
        "/bulletin?org=370828&from=2026-02-30",
        "/records?page=abc",
        "/people/abc",
        "/records/abc",
    ] {
        let r = send(app.client.get(app.url(path)).header("cookie", &cookie)).await;
        assert!(r.status.is_client_error(), "{path}: {}", r.status);
        let ctype = r.headers[CONTENT_TYPE].to_str().unwrap_or_default();
        assert!(
            ctype.starts_with("text/html") && r.body.contains("lang=\"zh-CN\""),
            "{path} answers {} {ctype}: {}",
            r.status,
            r.body
        );
    }
}
