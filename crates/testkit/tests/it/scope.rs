//! Scope, end to end over HTTP on every backend: every read and write is confined to the caller's
//! place in the organisation tree. Whatever lies outside answers 404 `not_found` (a 404 page in
//! the browser), exactly as if it did not exist, names nothing of itself and stays unchanged;
//! the same call on the caller's own objects succeeds, so each check could fail.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use taizhang_testkit::{each_backend, TestApp};

each_backend!(
    foreign_objects_are_not_found,
    foreign_writes_are_refused_and_change_nothing,
    pages_are_scoped,
    lists_hold_only_what_is_in_scope,
    dispatch_link_widens_scope_while_it_lasts,
);

/// 鸡黍镇, home of the `jishu` manager.
pub(super) const OWN_TOWN: &str = "370828005";
/// 高河街道, home of the `gaohe` manager: foreign to `jishu`.
pub(super) const FOREIGN_TOWN: &str = "370828002";
/// 寻庄村 and 李集村, both under 鸡黍镇.
pub(super) const XUNZHUANG: &str = "370828005101";
pub(super) const LIJI: &str = "370828005102";

/// One township's objects, gathered by the administrator.
pub(super) struct Side {
    pub(super) town: String,
    pub(super) town_name: String,
    /// A 管区, addressed as `o{id}`.
    pub(super) area: String,
    pub(super) village: String,
    pub(super) village_name: String,
    /// A 党小组 or 网格 under the village: a leaf that could be dissolved.
    pub(super) leaf: String,
    pub(super) person: i64,
    pub(super) person_name: String,
    /// An active position of `person` at `village`.
    pub(super) position: i64,
    pub(super) record: i64,
    /// An active link whose target is the town or the village.
    pub(super) link: i64,
    pub(super) attachment: String,
    /// The record that uses `attachment`.
    pub(super) attachment_record: i64,
}

impl Side {
    /// Fails if `text` names the town, the village or the person.
    fn assert_unnamed(&self, what: &str, text: &str) {
        let short: String = self.town_name.chars().take(2).collect();
        for name in [
            short.as_str(),
            &self.town_name,
            &self.village_name,
            &self.person_name,
        ] {
            assert!(!text.contains(name), "{what} names “{name}”: {text}");
        }
    }
}

pub(super) fn list(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array: {v}"))
}

pub(super) fn text(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string: {v}"))
        .to_string()
}

pub(super) fn codes(v: &Value) -> Vec<(String, String)> {
    v["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| (text(&f["field"]), text(&f["code"])))
                .collect()
        })
        .unwrap_or_default()
}

/// An out-of-scope answer: 404 `not_found`, naming nothing of the other side.
pub(super) fn hidden(what: &str, (status, body): (StatusCode, Value), foreign: &Side) {
    assert_eq!(status, StatusCode::NOT_FOUND, "{what}: {body}");
    assert_eq!(body["code"], "not_found", "{what}: {body}");
    foreign.assert_unnamed(what, &body.to_string());
}

/// A successful answer; its body.
pub(super) fn done(what: &str, (status, body): (StatusCode, Value)) -> Value {
    assert!(status.is_success(), "{what}: {status} {body}");
    body
}

/// A refusal by role: 403 `forbidden`.
pub(super) fn forbidden(what: &str, (status, body): (StatusCode, Value)) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
    assert_eq!(body["code"], "forbidden", "{what}: {body}");
}

pub(super) fn today() -> chrono::NaiveDate {
    taizhang_store::today()
}

pub(super) async fn first_child(app: &TestApp, admin: &str, parent: &str, kind: &str) -> Value {
    let (s, kids) = app
        .get(&format!("/api/v1/orgs/{parent}/children"), admin)
        .await;
    assert_eq!(s, StatusCode::OK, "{kids}");
    list(&kids)
        .iter()
        .find(|o| kind.is_empty() || o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind:?} under {parent}: {kids}"))
        .clone()
}

/// A county organ's branch: the sending unit of a 派驻, a source of 结对 links.
pub(super) async fn organ_branch(app: &TestApp, admin: &str) -> String {
    let (s, links) = app.get("/api/v1/links?kind=dispatch", admin).await;
    assert_eq!(s, StatusCode::OK);
    text(&list(&links)[0]["via_org"]["ref"])
}

pub(super) async fn upload_png(app: &TestApp, token: &str, name: &str, tag: &str) -> String {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(format!("scope test image of {tag}").as_bytes());
    let r = app
        .client
        .post(app.url(&format!("/api/v1/attachments?name={name}")))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(bytes)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::CREATED, "upload of {name}");
    text(&r.json::<Value>().await.expect("upload json")["id"])
}

/// Gathers, as the administrator, one object of each kind belonging to `town`.
pub(super) async fn side(app: &TestApp, admin: &str, town: &str) -> Side {
    let (s, t) = app.get(&format!("/api/v1/orgs/{town}"), admin).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let area = text(&first_child(app, admin, town, "management_area").await["ref"]);
    let v = first_child(app, admin, &area, "village").await;
    let village = text(&v["ref"]);
    let leaf = text(&first_child(app, admin, &village, "").await["ref"]);

    let (_, people) = app
        .get(&format!("/api/v1/people?org={village}&limit=100"), admin)
        .await;
    let mut found = None;
    for p in list(&people["people"]) {
        if p["org"]["ref"] != village.as_str() {
            continue;
        }
        let (_, full) = app.get(&format!("/api/v1/people/{}", p["id"]), admin).await;
        if let Some(pos) = list(&full["positions"])
            .iter()
            .find(|x| x["org"]["ref"] == village.as_str() && x["valid_to"].is_null())
        {
            found = Some((
                p["id"].as_i64().unwrap(),
                text(&p["name"]),
                pos["id"].as_i64().unwrap(),
            ));
            break;
        }
    }
    let (person, person_name, position) =
        found.unwrap_or_else(|| panic!("no one holds a position at {village}"));

    let (_, recs) = app
        .get(&format!("/api/v1/records?org={town}&limit=1"), admin)
        .await;
    let record = recs["records"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no records under {town}: {recs}"));

    let mut link = None;
    for at in [&village, &town.to_string()] {
        let (_, links) = app.get(&format!("/api/v1/links?org={at}"), admin).await;
        link = link.or_else(|| {
            list(&links)
                .iter()
                .find(|l| {
                    l["valid_to"].is_null()
                        && (l["to_org"]["ref"] == village.as_str() || l["to_org"]["ref"] == town)
                })
                .and_then(|l| l["id"].as_i64())
        });
    }
    let link = match link {
        Some(id) => id,
        None => {
            let from = organ_branch(app, admin).await;
            let (s, l) = app
                .post(
                    "/api/v1/links",
                    admin,
                    json!({"kind": "pairing", "from_org": from, "to_org": village, "valid_from": "2025-01-01"}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{l}");
            l["id"].as_i64().unwrap()
        }
    };

    let attachment = upload_png(app, admin, &format!("{town}.png"), town).await;
    let (s, r) = app
        .post(
            "/api/v1/records",
            admin,
            json!({"ledger_type": "three_meetings", "org": village, "occurred_on": today() - chrono::Duration::days(3),
                   "fields": {"meeting_kind": "党课", "topic": "t", "photos": [attachment]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");

    Side {
        town: town.to_string(),
        town_name: text(&t["name"]),
        area,
        village,
        village_name: text(&v["name"]),
        leaf,
        person,
        person_name,
        position,
        record,
        link,
        attachment,
        attachment_record: r["id"].as_i64().unwrap(),
    }
}

/// The administrator's view of everything a write on `x` could change.
pub(super) async fn snapshot(
    app: &TestApp,
    admin: &str,
    x: &Side,
) -> Vec<(String, StatusCode, Value)> {
    let paths = [
        format!("/api/v1/orgs/{}", x.town),
        format!("/api/v1/orgs/{}", x.area),
        format!("/api/v1/orgs/{}", x.village),
        format!("/api/v1/orgs/{}", x.leaf),
        format!("/api/v1/orgs/{}/children?dissolved=true", x.town),
        format!("/api/v1/orgs/{}/children?dissolved=true", x.area),
        format!("/api/v1/orgs/{}/children?dissolved=true", x.village),
        format!("/api/v1/orgs/{}/history", x.village),
        format!("/api/v1/links?org={}", x.town),
        format!("/api/v1/links?org={}", x.village),
        format!("/api/v1/people/{}", x.person),
        format!("/api/v1/people?org={}&limit=500", x.village),
        format!("/api/v1/records/{}", x.record),
        format!("/api/v1/records/{}", x.attachment_record),
        format!("/api/v1/records?org={}&limit=5", x.town),
    ];
    let mut out = Vec::new();
    for p in paths {
        let (s, v) = app.get(&p, admin).await;
        assert_eq!(s, StatusCode::OK, "{p}: {v}");
        out.push((p, s, v));
    }
    out
}

pub(super) fn assert_unchanged(
    before: &[(String, StatusCode, Value)],
    after: &[(String, StatusCode, Value)],
) {
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(after) {
        assert_eq!(b, a, "{} changed", b.0);
    }
}

/// Reads that name one of a side's objects or organisations.
pub(super) fn reads(x: &Side) -> Vec<String> {
    vec![
        format!("/api/v1/orgs/{}", x.town),
        format!("/api/v1/orgs/{}", x.area),
        format!("/api/v1/orgs/{}", x.village),
        format!("/api/v1/orgs/{}", x.leaf),
        format!("/api/v1/orgs/{}/children", x.town),
        format!("/api/v1/orgs/{}/children?dissolved=true", x.area),
        format!("/api/v1/orgs/{}/history", x.village),
        format!("/api/v1/links?org={}", x.town),
        format!("/api/v1/links?org={}&kind=pairing", x.village),
        format!("/api/v1/people?org={}", x.town),
        format!("/api/v1/people?org={}&limit=500", x.village),
        format!("/api/v1/people/{}", x.person),
        format!("/api/v1/records?org={}", x.town),
        format!(
            "/api/v1/records?org={}&ledger_type=three_meetings",
            x.village
        ),
        format!("/api/v1/records/{}", x.record),
        format!("/api/v1/records/{}", x.attachment_record),
        format!("/api/v1/attachments/{}", x.attachment),
        format!("/api/v1/overdue?org={}", x.town),
        format!("/api/v1/overdue?org={}", x.village),
        format!("/api/v1/bulletin?org={}", x.town),
        format!("/api/v1/bulletin?org={}", x.village),
        format!("/api/v1/bulletin?org={}&by=dispatch", x.town),
    ]
}

async fn foreign_objects_are_not_found(app: TestApp) {
    let admin = app.token("admin").await;
    let own = side(&app, &admin, OWN_TOWN).await;
    let foreign = side(&app, &admin, FOREIGN_TOWN).await;
    let t = app.token("jishu").await;

    for (f, o) in reads(&foreign).iter().zip(reads(&own)) {
        hidden(f, app.get(f, &t).await, &foreign);
        done(&o, app.get(&o, &t).await);
    }
    // Looking up does not leak through bodies: the own answers do name what they are about.
    let (_, v) = app.get(&format!("/api/v1/orgs/{}", own.village), &t).await;
    assert_eq!(v["name"], own.village_name.as_str());
    let (_, p) = app.get(&format!("/api/v1/people/{}", own.person), &t).await;
    assert_eq!(p["name"], own.person_name.as_str());

    // What lies above the town is out of reach as well.
    for path in [
        "/api/v1/orgs/370828",
        "/api/v1/orgs/370828/children",
        "/api/v1/orgs/370828/history",
        "/api/v1/records?org=370828",
        "/api/v1/overdue?org=370828",
    ] {
        hidden(path, app.get(path, &t).await, &foreign);
    }

    // Out of scope looks exactly like missing: no way to probe what exists elsewhere.
    let zeros = "0".repeat(64);
    for (f, missing) in [
        (
            format!("/api/v1/orgs/{}", foreign.village),
            "/api/v1/orgs/370828099101".to_string(),
        ),
        (
            format!("/api/v1/orgs/{}", foreign.area),
            "/api/v1/orgs/o999999999".to_string(),
        ),
        (
            format!("/api/v1/people/{}", foreign.person),
            "/api/v1/people/999999999".to_string(),
        ),
        (
            format!("/api/v1/records/{}", foreign.record),
            "/api/v1/records/999999999".to_string(),
        ),
        (
            format!("/api/v1/attachments/{}", foreign.attachment),
            format!("/api/v1/attachments/{zeros}"),
        ),
    ] {
        assert_eq!(
            app.get(&f, &t).await,
            app.get(&missing, &t).await,
            "{f} vs {missing}"
        );
    }
}

async fn foreign_writes_are_refused_and_change_nothing(app: TestApp) {
    let admin = app.token("admin").await;
    let own = side(&app, &admin, OWN_TOWN).await;
    let foreign = side(&app, &admin, FOREIGN_TOWN).await;
    let sender = organ_branch(&app, &admin).await;
    let before = snapshot(&app, &admin, &foreign).await;
    let t = app.token("jishu").await;
    let day = today() - chrono::Duration::days(2);

    // Creating organisations under a foreign parent.
    let child = json!({"kind": "village", "name": "越权村", "established_on": "2020-01-01"});
    for parent in [&foreign.town, &foreign.area, &foreign.village] {
        let path = format!("/api/v1/orgs/{parent}/children");
        hidden(&path, app.post(&path, &t, child.clone()).await, &foreign);
    }
    let created = done(
        "create own village",
        app.post(
            &format!("/api/v1/orgs/{OWN_TOWN}/children"),
            &t,
            json!({"kind": "village", "name": "范围村", "established_on": "2020-01-01"}),
        )
        .await,
    );
    let mine = text(&created["ref"]);

    // Renaming.
    for org in [&foreign.town, &foreign.village, &foreign.leaf] {
        let path = format!("/api/v1/orgs/{org}");
        let r = app
            .call(
                Method::PATCH,
                &path,
                Some(&t),
                Some(json!({"name": "越权改名"})),
            )
            .await;
        hidden(&format!("PATCH {path}"), r, &foreign);
    }
    let renamed = done(
        "rename own village",
        app.call(
            Method::PATCH,
            &format!("/api/v1/orgs/{mine}"),
            Some(&t),
            Some(json!({"name": "范围村二"})),
        )
        .await,
    );
    assert_eq!(renamed["name"], "范围村二");

    // Moving: an own organisation under a foreign parent, and a foreign one under an own parent.
    for (org, parent) in [
        (&mine, &foreign.area),
        (&mine, &foreign.town),
        (&foreign.village, &own.area),
        (&foreign.leaf, &own.village),
    ] {
        let path = format!("/api/v1/orgs/{org}/move");
        let r = app.post(&path, &t, json!({"parent": parent})).await;
        hidden(&format!("{path} to {parent}"), r, &foreign);
    }
    done(
        "move own village",
        app.post(
            &format!("/api/v1/orgs/{mine}/move"),
            &t,
            json!({"parent": own.area}),
        )
        .await,
    );

    // Dissolving: a foreign leaf would succeed and a foreign village would be refused for its
    // children, were scope not checked first.
    for org in [&foreign.leaf, &foreign.village] {
        let path = format!("/api/v1/orgs/{org}/dissolve");
        hidden(&path, app.post(&path, &t, json!({})).await, &foreign);
    }

    // Cross-links: a new one aimed at a foreign organisation, ending a foreign one.
    for to in [&foreign.village, &foreign.town] {
        let r = app
            .post(
                "/api/v1/links",
                &t,
                json!({"kind": "pairing", "from_org": sender, "to_org": to, "valid_from": "2025-01-01"}),
            )
            .await;
        hidden(&format!("POST /api/v1/links to {to}"), r, &foreign);
    }
    // Links reaching outside the caller's subtree are the county's to make: an organ branch
    // (outside 鸡黍镇) as the source is refused without naming it.
    let (status, body) = app
        .post(
            "/api/v1/links",
            &t,
            json!({"kind": "pairing", "from_org": sender, "to_org": mine, "valid_from": "2025-01-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        codes(&body),
        vec![("from_org".to_string(), "link.from_org".to_string())]
    );
    let own_link = done(
        "link to own village",
        app.post(
            "/api/v1/links",
            &t,
            json!({"kind": "pairing", "from_org": own.town, "to_org": mine, "valid_from": "2025-01-01"}),
        )
        .await,
    );
    let path = format!("/api/v1/links/{}/end", foreign.link);
    hidden(&path, app.post(&path, &t, json!({})).await, &foreign);
    // (A link into the town from outside it is the county's to end: `scope_writes.rs`.)
    let ended = done(
        "end own link",
        app.post(
            &format!("/api/v1/links/{}/end", own_link["id"]),
            &t,
            json!({}),
        )
        .await,
    );
    assert!(ended["valid_to"].is_string());

    // People and positions.
    let r = app
        .post(
            "/api/v1/people",
            &t,
            json!({"name": "越权人", "org": foreign.village}),
        )
        .await;
    hidden("POST /api/v1/people in a foreign village", r, &foreign);
    let person = done(
        "create own person",
        app.post(
            "/api/v1/people",
            &t,
            json!({"name": "范围人", "org": own.village}),
        )
        .await,
    );
    let position = |org: &str| json!({"person_id": person["id"], "org": org, "title": "committee_member", "valid_from": "2024-01-01"});
    for org in [&foreign.village, &foreign.town] {
        let r = app.post("/api/v1/positions", &t, position(org)).await;
        hidden(&format!("POST /api/v1/positions at {org}"), r, &foreign);
    }
    let pos = done(
        "own position",
        app.post("/api/v1/positions", &t, position(&own.village))
            .await,
    );
    let path = format!("/api/v1/positions/{}/end", foreign.position);
    hidden(&path, app.post(&path, &t, json!({})).await, &foreign);
    done(
        "end own position",
        app.post(
            &format!("/api/v1/positions/{}/end", pos["id"]),
            &t,
            json!({}),
        )
        .await,
    );

    // Records: entering one for a foreign organisation is a validation error on `org` alone.
    let theme_day = |org: &str| json!({"ledger_type": "theme_day", "org": org, "occurred_on": day, "fields": {"theme": "越权登记"}});
    for org in [&foreign.village, &foreign.town, &foreign.leaf] {
        let (s, v) = app.post("/api/v1/records", &t, theme_day(org)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "record at {org}: {v}");
        assert_eq!(
            codes(&v),
            vec![("org".to_string(), "record.unknown_org".to_string())],
            "record at {org}"
        );
        foreign.assert_unnamed(&format!("record at {org}"), &v.to_string());
    }
    let rec = done(
        "own record",
        app.post("/api/v1/records", &t, theme_day(&own.village))
            .await,
    );
    for id in [foreign.record, foreign.attachment_record] {
        let path = format!("/api/v1/records/{id}/void");
        let r = app.post(&path, &t, json!({"reason": "越权作废"})).await;
        hidden(&path, r, &foreign);
    }
    let voided = done(
        "void own record",
        app.post(
            &format!("/api/v1/records/{}/void", rec["id"]),
            &t,
            json!({"reason": "测试作废"}),
        )
        .await,
    );
    assert!(voided["voided_at"].is_string());
    done(
        "dissolve own village",
        app.post(&format!("/api/v1/orgs/{mine}/dissolve"), &t, json!({}))
            .await,
    );

    // The administrator finds the foreign side as it was.
    assert_unchanged(&before, &snapshot(&app, &admin, &foreign).await);
    let (_, v) = app
        .get(&format!("/api/v1/orgs/{}", foreign.village), &admin)
        .await;
    assert_eq!(v["name"], foreign.village_name.as_str());
    assert!(v["dissolved_on"].is_null());
    let (_, r) = app
        .get(&format!("/api/v1/records/{}", foreign.record), &admin)
        .await;
    assert!(r["voided_at"].is_null());
    let (_, links) = app.get("/api/v1/links", &admin).await;
    let l = list(&links)
        .iter()
        .find(|l| l["id"] == foreign.link)
        .expect("foreign link");
    assert!(l["valid_to"].is_null(), "foreign link ended: {l}");
    let (_, p) = app
        .get(&format!("/api/v1/people/{}", foreign.person), &admin)
        .await;
    let held = list(&p["positions"])
        .iter()
        .find(|x| x["id"] == foreign.position)
        .expect("foreign position");
    assert!(held["valid_to"].is_null(), "foreign position ended: {held}");
    let (_, nobody) = app.get("/api/v1/people?q=越权人", &admin).await;
    assert_eq!(nobody["total"], 0, "{nobody}");
    let (_, none) = app
        .get("/api/v1/records?ledger_type=theme_day&limit=1000", &admin)
        .await;
    assert!(
        !list(&none["records"])
            .iter()
            .any(|r| r["fields"]["theme"] == "越权登记"),
        "a foreign record was written"
    );
}

pub(super) async fn form(
    app: &TestApp,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let r = app
        .client
        .post(app.url(path))
        .header("cookie", cookie)
        .form(fields)
        .send()
        .await
        .expect("form");
    let s = r.status();
    (s, r.text().await.unwrap_or_default())
}

async fn pages_are_scoped(app: TestApp) {
    let admin = app.token("admin").await;
    let own = side(&app, &admin, OWN_TOWN).await;
    let foreign = side(&app, &admin, FOREIGN_TOWN).await;
    let before = snapshot(&app, &admin, &foreign).await;
    let cookie = app.browser_login("jishu").await;

    let pages = |x: &Side| {
        vec![
            format!("/orgs/{}", x.town),
            format!("/orgs/{}", x.area),
            format!("/orgs/{}", x.village),
            format!("/people/{}", x.person),
            format!("/people?org={}", x.town),
            format!("/people?org={}", x.village),
            format!("/records/{}", x.record),
            format!("/records/{}", x.attachment_record),
            format!("/records?org={}", x.town),
            format!("/records?org={}&ledger_type=three_meetings", x.village),
            format!("/attachments/{}", x.attachment),
            format!("/bulletin?org={}", x.town),
            format!("/bulletin?org={}&by=dispatch", x.town),
            format!("/overdue?org={}", x.town),
            format!("/overdue?org={}", x.village),
        ]
    };
    for (f, o) in pages(&foreign).iter().zip(pages(&own)) {
        let (s, body) = app.page(f, &cookie).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{f}");
        assert!(body.contains("未找到"), "{f} is not the 404 page: {body}");
        foreign.assert_unnamed(f, &body);
        let (s, _) = app.page(&o, &cookie).await;
        assert_eq!(s, StatusCode::OK, "{o}");
    }
    let (_, body) = app.page(&format!("/orgs/{}", own.village), &cookie).await;
    assert!(body.contains(&own.village_name));

    // The record form neither offers nor names a foreign organisation asked for by reference.
    let (s, body) = app
        .page(
            &format!("/records/new?type=theme_day&org={}", foreign.village),
            &cookie,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    foreign.assert_unnamed("the record form", &body);

    // Forms, with a valid CSRF token from an own page.
    let (_, own_page) = app.page(&format!("/orgs/{}", own.village), &cookie).await;
    let csrf = TestApp::csrf_of(&own_page);
    assert!(!csrf.is_empty(), "the own page carries a CSRF token");
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/orgs/{}/rename", foreign.village),
            vec![("name", "越权改名")],
        ),
        (
            format!("/orgs/{}/rename", foreign.town),
            vec![("name", "越权改名")],
        ),
        (
            format!("/orgs/{}/children", foreign.town),
            vec![("kind", "village"), ("name", "越权村")],
        ),
        (
            format!("/orgs/{}/move", foreign.village),
            vec![("parent", own.area.as_str()), ("on", "")],
        ),
        (format!("/orgs/{}/dissolve", foreign.leaf), vec![("on", "")]),
        (
            format!("/records/{}/void", foreign.record),
            vec![("reason", "越权作废")],
        ),
        (format!("/links/{}/end", foreign.link), vec![("on", "")]),
        (
            format!("/people/{}/positions", foreign.person),
            vec![("org", own.village.as_str()), ("title", "committee_member")],
        ),
    ];
    for (path, fields) in &posts {
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend(fields.iter().copied());
        let (s, body) = form(&app, &cookie, path, &all).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "POST {path}: {body}");
        foreign.assert_unnamed(path, &body);
    }
    // The same token works on an own organisation.
    let (s, _) = form(
        &app,
        &cookie,
        &format!("/orgs/{}/rename", own.village),
        &[
            ("_csrf", csrf.as_str()),
            ("name", own.village_name.as_str()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_unchanged(&before, &snapshot(&app, &admin, &foreign).await);
}

/// Whether the holder of `token` may read an organisation, remembered per reference.
pub(super) async fn can_read(
    app: &TestApp,
    token: &str,
    seen: &mut HashMap<String, bool>,
    org: &str,
) -> bool {
    if let Some(&v) = seen.get(org) {
        return v;
    }
    let (s, v) = app.get(&format!("/api/v1/orgs/{org}"), token).await;
    assert!(
        s == StatusCode::OK || s == StatusCode::NOT_FOUND,
        "{org}: {s} {v}"
    );
    seen.insert(org.to_string(), s == StatusCode::OK);
    s == StatusCode::OK
}

/// Every page of a list endpoint, following `total`.
pub(super) async fn all_pages(
    app: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    limit: usize,
) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    loop {
        let (s, v) = app
            .get(&format!("{path}limit={limit}&offset={}", out.len()), token)
            .await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        let page = list(&v[key]);
        out.extend(page.iter().cloned());
        let total = v["total"].as_u64().unwrap() as usize;
        if page.is_empty() || out.len() >= total {
            assert_eq!(out.len(), total, "{path}");
            return out;
        }
    }
}

async fn lists_hold_only_what_is_in_scope(app: TestApp) {
    let admin = app.token("admin").await;
    let foreign = side(&app, &admin, FOREIGN_TOWN).await;
    let (_, town) = app.get(&format!("/api/v1/orgs/{OWN_TOWN}"), &admin).await;

    for user in ["jishu", "gaohe", "xunzhuang", "diyishuji"] {
        let t = app.token(user).await;
        let mut seen = HashMap::new();

        // People: belonging to an organisation in scope, or holding an active position in one.
        let people = all_pages(&app, &t, "/api/v1/people?", "people", 500).await;
        assert!(!people.is_empty(), "{user} sees people");
        for p in &people {
            if can_read(&app, &t, &mut seen, &text(&p["org"]["ref"])).await {
                continue;
            }
            let (_, full) = app
                .get(&format!("/api/v1/people/{}", p["id"]), &admin)
                .await;
            let mut placed = false;
            for pos in list(&full["positions"]) {
                if pos["valid_to"].is_null()
                    && can_read(&app, &t, &mut seen, &text(&pos["org"]["ref"])).await
                {
                    placed = true;
                }
            }
            assert!(placed, "{user} sees {} of {}", p["name"], p["org"]["name"]);
        }

        // Records: of organisations in scope.
        let records = all_pages(&app, &t, "/api/v1/records?", "records", 1000).await;
        assert!(!records.is_empty(), "{user} sees records");
        for r in &records {
            let org = text(&r["org"]["ref"]);
            assert!(
                can_read(&app, &t, &mut seen, &org).await,
                "{user} sees record {} of {}",
                r["id"],
                r["org"]["name"]
            );
        }

        // Links: with at least one end in scope.
        let (s, links) = app.get("/api/v1/links", &t).await;
        assert_eq!(s, StatusCode::OK);
        for l in list(&links) {
            let mut ends = vec![text(&l["to_org"]["ref"])];
            if let Some(from) = l["from_org"]["ref"].as_str() {
                ends.push(from.to_string());
            }
            let mut any = false;
            for e in &ends {
                any |= can_read(&app, &t, &mut seen, e).await;
            }
            assert!(any, "{user} sees link {l}");
        }

        // The default overdue list and bulletin cover the caller's own organisations.
        let (s, items) = app.get("/api/v1/overdue", &t).await;
        assert_eq!(s, StatusCode::OK, "{items}");
        for i in list(&items) {
            assert!(
                can_read(&app, &t, &mut seen, &text(&i["org"]["ref"])).await,
                "{user}: {i}"
            );
        }
        let (s, b) = app.get("/api/v1/bulletin", &t).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(can_read(&app, &t, &mut seen, &text(&b["org"]["ref"])).await);
        for u in list(&b["units"]) {
            assert!(
                can_read(&app, &t, &mut seen, &text(&u["org"]["ref"])).await,
                "{user}: {u}"
            );
        }

        if user == "jishu" {
            assert!(!people.iter().any(|p| p["id"] == foreign.person));
            assert!(!records.iter().any(|r| r["id"] == foreign.record));
            assert!(!list(&links).iter().any(|l| l["id"] == foreign.link));
            assert!(!list(&links).is_empty(), "jishu sees the links of 鸡黍镇");
            // Searching by a foreign name finds nobody from there.
            let (_, found) = app
                .get(&format!("/api/v1/people?q={}", foreign.person_name), &t)
                .await;
            assert!(!list(&found["people"])
                .iter()
                .any(|p| p["id"] == foreign.person));
            let (_, me) = app.get("/api/v1/me", &t).await;
            assert_eq!(me["scope_roots"], json!([town["id"]]));
        }
    }
}

async fn dispatch_link_widens_scope_while_it_lasts(app: TestApp) {
    let admin = app.token("admin").await;
    let foreign = side(&app, &admin, FOREIGN_TOWN).await;
    let t = app.token("diyishuji").await;
    let (_, me) = app.get("/api/v1/me", &t).await;
    let home = format!("o{}", me["org_id"]);
    let branch = done(
        "own branch",
        app.get(&format!("/api/v1/orgs/{home}"), &t).await,
    );
    assert_eq!(branch["kind"], "organ_branch", "{branch}");
    assert!(text(&branch["name"]).contains("组织部"), "{branch}");

    // 李集村, through the 派驻 link: readable, and entries can be recorded there.
    let liji = done("李集村", app.get(&format!("/api/v1/orgs/{LIJI}"), &t).await);
    assert_eq!(liji["name"], "李集村");
    assert!(list(&me["scope_roots"]).contains(&liji["id"]), "{me}");
    let day = today() - chrono::Duration::days(4);
    let entry = |org: &str| json!({"ledger_type": "theme_day", "org": org, "occurred_on": day, "fields": {"theme": "x"}});
    let (s, rec) = app.post("/api/v1/records", &t, entry(LIJI)).await;
    assert_eq!(s, StatusCode::CREATED, "{rec}");
    assert_eq!(rec["org"]["ref"], LIJI);
    let rec_path = format!("/api/v1/records/{}", rec["id"]);
    done("own entry", app.get(&rec_path, &t).await);
    done(
        "李集村 people",
        app.get(&format!("/api/v1/people?org={LIJI}"), &t).await,
    );

    // Nothing else in the town: not the neighbouring village, not the town itself.
    for path in [
        format!("/api/v1/orgs/{XUNZHUANG}"),
        format!("/api/v1/orgs/{OWN_TOWN}"),
        format!("/api/v1/orgs/{OWN_TOWN}/children"),
        format!("/api/v1/records?org={OWN_TOWN}"),
        format!("/api/v1/people?org={XUNZHUANG}"),
        format!("/api/v1/bulletin?org={OWN_TOWN}"),
        format!("/api/v1/orgs/{}", foreign.town),
        format!("/api/v1/orgs/{}", foreign.village),
        format!("/api/v1/people/{}", foreign.person),
        format!("/api/v1/records/{}", foreign.record),
    ] {
        hidden(&path, app.get(&path, &t).await, &foreign);
    }
    let (s, v) = app.post("/api/v1/records", &t, entry(XUNZHUANG)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        codes(&v),
        vec![("org".to_string(), "record.unknown_org".to_string())]
    );

    // Once the 派驻 has ended, the village drops out of scope, even for a session already open.
    let (_, links) = app
        .get(&format!("/api/v1/links?org={LIJI}&kind=dispatch"), &admin)
        .await;
    let link = list(&links)
        .iter()
        .find(|l| l["valid_to"].is_null() && l["to_org"]["ref"] == LIJI)
        .expect("the dispatch to 李集村")
        .clone();
    let (s, v) = app
        .post(
            &format!("/api/v1/links/{}/end", link["id"]),
            &admin,
            json!({"on": today() - chrono::Duration::days(1)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = app.get(&format!("/api/v1/orgs/{LIJI}"), &t).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "李集村 after the 派驻 ended");
    let (s, _) = app.get(&rec_path, &t).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the entry after the 派驻 ended");
    done(
        "own branch",
        app.get(&format!("/api/v1/orgs/{home}"), &t).await,
    );
}
