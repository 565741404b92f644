//! Scope against roles, and the objects a write names inside its body (a position's person, a
//! record's attendees and photos): a foreign one is treated exactly like a missing one.

use super::scope::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use taizhang_testkit::{each_backend, TestApp};

each_backend!(
    roles_limit_what_scope_allows,
    ids_inside_write_bodies_are_scoped,
    cross_links_need_every_end_in_scope,
);

async fn roles_limit_what_scope_allows(app: TestApp) {
    let admin = app.token("admin").await;
    let foreign = side(&app, &admin, FOREIGN_TOWN).await;
    let day = today() - chrono::Duration::days(5);
    let entry = |org: &str| json!({"ledger_type": "theme_day", "org": org, "occurred_on": day, "fields": {"theme": "角色"}});

    // A Recorder reads its village and records entries there, and edits nothing.
    let x = app.token("xunzhuang").await;
    let village = done(
        "寻庄村",
        app.get(&format!("/api/v1/orgs/{XUNZHUANG}"), &x).await,
    );
    assert_eq!(village["name"], "寻庄村");
    let (s, v) = app.post("/api/v1/records", &x, entry(XUNZHUANG)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    forbidden(
        "Recorder creates an organisation",
        app.post(
            &format!("/api/v1/orgs/{XUNZHUANG}/children"),
            &x,
            json!({"kind": "party_group", "name": "第九党小组"}),
        )
        .await,
    );
    forbidden(
        "Recorder renames",
        app.call(
            Method::PATCH,
            &format!("/api/v1/orgs/{XUNZHUANG}"),
            Some(&x),
            Some(json!({"name": "改名村"})),
        )
        .await,
    );
    forbidden(
        "Recorder creates a person",
        app.post(
            "/api/v1/people",
            &x,
            json!({"name": "新人", "org": XUNZHUANG}),
        )
        .await,
    );
    forbidden(
        "Recorder dissolves",
        app.post(&format!("/api/v1/orgs/{XUNZHUANG}/dissolve"), &x, json!({}))
            .await,
    );
    for path in [
        format!("/api/v1/orgs/{LIJI}"),
        format!("/api/v1/orgs/{OWN_TOWN}"),
        format!("/api/v1/orgs/{}", foreign.village),
    ] {
        hidden(&path, app.get(&path, &x).await, &foreign);
    }
    let (s, v) = app.post("/api/v1/records", &x, entry(LIJI)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(codes(&v)[0].1, "record.unknown_org");

    // A Viewer reads the whole county and writes nothing.
    let viewer = app.token("viewer").await;
    done(
        "viewer reads",
        app.get(&format!("/api/v1/orgs/{}", foreign.village), &viewer)
            .await,
    );
    forbidden(
        "Viewer records",
        app.post("/api/v1/records", &viewer, entry(XUNZHUANG)).await,
    );
    forbidden(
        "Viewer creates an organisation",
        app.post(
            &format!("/api/v1/orgs/{XUNZHUANG}/children"),
            &viewer,
            json!({"kind": "party_group", "name": "第九党小组"}),
        )
        .await,
    );
    forbidden(
        "Viewer voids",
        app.post(
            &format!("/api/v1/records/{}/void", foreign.record),
            &viewer,
            json!({"reason": "查看"}),
        )
        .await,
    );

    // The auditor reads the audit log and nothing else; the administrator everything but it.
    let auditor = app.token("auditor").await;
    for path in [
        "/api/v1/orgs/370828".to_string(),
        format!("/api/v1/orgs/{}", foreign.village),
        format!("/api/v1/people/{}", foreign.person),
        format!("/api/v1/records/{}", foreign.record),
        "/api/v1/records".to_string(),
        "/api/v1/people".to_string(),
        "/api/v1/bulletin?org=370828".to_string(),
    ] {
        forbidden(
            &format!("auditor reads {path}"),
            app.get(&path, &auditor).await,
        );
    }
    done("audit log", app.get("/api/v1/audit", &auditor).await);
    forbidden(
        "admin reads the audit log",
        app.get("/api/v1/audit", &admin).await,
    );

    // The other town's manager is confined the same way, the other way round.
    let gaohe = app.token("gaohe").await;
    done(
        "gaohe reads its town",
        app.get(&format!("/api/v1/orgs/{}", foreign.village), &gaohe)
            .await,
    );
    let (s, v) = app.get(&format!("/api/v1/orgs/{XUNZHUANG}"), &gaohe).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // Nothing the refused calls asked for happened.
    let (_, v) = app.get(&format!("/api/v1/orgs/{XUNZHUANG}"), &admin).await;
    assert_eq!(v["name"], "寻庄村");
    assert!(v["dissolved_on"].is_null());
    let (_, kids) = app
        .get(
            &format!("/api/v1/orgs/{XUNZHUANG}/children?dissolved=true"),
            &admin,
        )
        .await;
    assert!(!list(&kids).iter().any(|o| o["name"] == "第九党小组"));
    let (_, nobody) = app.get("/api/v1/people?q=新人", &admin).await;
    assert!(!list(&nobody["people"]).iter().any(|p| p["name"] == "新人"));
    let (_, r) = app
        .get(&format!("/api/v1/records/{}", foreign.record), &admin)
        .await;
    assert!(r["voided_at"].is_null());
}

/// A write naming another object in its body: once a missing one, once a foreign one.
struct BodyCase {
    path: &'static str,
    what: &'static str,
    missing: Value,
    foreign: Value,
    /// The field and code refusing the missing object.
    refusal: (&'static str, &'static str),
}

/// Writes that name other objects inside their body — a position's person, a record's attendees
/// and photos — must treat a foreign object exactly like a missing one: refuse the write, name
/// nothing, and grant no access to it afterwards. All breaches are collected, then reported.
async fn ids_inside_write_bodies_are_scoped(app: TestApp) {
    let admin = app.token("admin").await;
    let own = side(&app, &admin, OWN_TOWN).await;
    let foreign = side(&app, &admin, FOREIGN_TOWN).await;
    let t = app.token("jishu").await;
    let day = today() - chrono::Duration::days(2);
    let mut leaks: Vec<String> = Vec::new();

    let record = |fields: Value| json!({"ledger_type": "theme_day", "org": own.village, "occurred_on": day, "fields": fields});
    let position = |person: Value| json!({"person_id": person, "org": own.village, "title": "committee_member", "valid_from": "2024-01-01"});
    let cases = [
        BodyCase {
            path: "/api/v1/records",
            what: "a record naming a foreign person among the attendees",
            missing: record(json!({"theme": "范围", "attendees": [999_999_999]})),
            foreign: record(json!({"theme": "范围", "attendees": [foreign.person]})),
            refusal: ("people", "record.unknown_person"),
        },
        BodyCase {
            path: "/api/v1/records",
            what: "a record naming a foreign attachment among the photos",
            missing: record(json!({"theme": "范围", "photos": ["0".repeat(64)]})),
            foreign: record(json!({"theme": "范围", "photos": [foreign.attachment]})),
            refusal: ("attachments", "record.unknown_attachment"),
        },
        BodyCase {
            path: "/api/v1/positions",
            what: "a position of a foreign person at an own organisation",
            missing: position(json!(999_999_999)),
            foreign: position(json!(foreign.person)),
            refusal: ("person_id", "position.person"),
        },
    ];
    for case in cases {
        let BodyCase {
            path,
            what,
            missing,
            foreign: alien,
            refusal: (field, code),
        } = case;
        let (ms, mv) = app.post(path, &t, missing).await;
        assert_eq!(
            ms,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}, missing: {mv}"
        );
        assert_eq!(
            codes(&mv),
            vec![(field.to_string(), code.to_string())],
            "{what}, missing"
        );
        let (s, v) = app.post(path, &t, alien).await;
        let named = [&foreign.village_name, &foreign.person_name]
            .iter()
            .any(|n| v.to_string().contains(n.as_str()));
        if s != ms || codes(&v) != codes(&mv) || named {
            leaks.push(format!(
                "POST {path}, {what}: expected {ms} {field}/{code} as for a missing one, got {s} {v}"
            ));
        }
    }

    // Nor does any such write open the foreign objects to the caller.
    let (s, v) = app
        .get(&format!("/api/v1/attachments/{}", foreign.attachment), &t)
        .await;
    if s != StatusCode::NOT_FOUND {
        leaks.push(format!(
            "GET /api/v1/attachments/{{foreign}}: expected 404, got {s} ({} bytes of another town's file)",
            v.as_str().map_or(0, str::len)
        ));
    }
    let (s, v) = app
        .get(&format!("/api/v1/people/{}", foreign.person), &t)
        .await;
    if s != StatusCode::NOT_FOUND {
        leaks.push(format!(
            "GET /api/v1/people/{{foreign}}: expected 404, got {s} with name {} and 身份证号 {}",
            v["name"], v["id_number"]
        ));
    }
    assert!(leaks.is_empty(), "scope leaks:\n{}", leaks.join("\n"));
}

/// The open link of `kind` the caller sees whose source lies outside its scope.
async fn link_from_outside(app: &TestApp, token: &str, links: &Value, kind: &str) -> Value {
    for l in list(links) {
        if l["kind"] != kind || !l["valid_to"].is_null() {
            continue;
        }
        let source = match l["from_org"]["ref"].as_str() {
            Some(r) => r.to_string(),
            None => text(&l["via_org"]["ref"]),
        };
        let (s, _) = app.get(&format!("/api/v1/orgs/{source}"), token).await;
        if s == StatusCode::NOT_FOUND {
            return l.clone();
        }
    }
    panic!("no open {kind} link from outside: {links}")
}

/// The link `id` as the administrator sees it.
async fn link_as_admin(app: &TestApp, admin: &str, id: &Value) -> Value {
    let (_, links) = app.get("/api/v1/links", admin).await;
    list(&links)
        .iter()
        .find(|l| l["id"] == *id)
        .unwrap_or_else(|| panic!("link {id}"))
        .clone()
}

/// A township may create and end only links whose every end — target, source organisation or
/// person (by where the person belongs and holds positions), sending unit — lies in its scope,
/// in either direction: a county link into the township and a township link out of it are both
/// the county's. One end in scope still lets it read the link.
async fn cross_links_need_every_end_in_scope(app: TestApp) {
    let admin = app.token("admin").await;
    let own = side(&app, &admin, OWN_TOWN).await;
    let foreign = side(&app, &admin, FOREIGN_TOWN).await;
    let sender = organ_branch(&app, &admin).await;
    let t = app.token("jishu").await;

    // Into the township from outside: a county cadre's 派驻 and a county team's 包保 (as the demo
    // county has them), an organ branch's 结对 — listed for the township, not its to end.
    let (s, links) = app.get("/api/v1/links", &t).await;
    assert_eq!(s, StatusCode::OK, "{links}");
    let dispatch = link_from_outside(&app, &t, &links, "dispatch").await;
    let cover = link_from_outside(&app, &t, &links, "cover").await;
    let pairing = done(
        "admin pairs an organ branch with an own village",
        app.post(
            "/api/v1/links",
            &admin,
            json!({"kind": "pairing", "from_org": sender, "to_org": own.village, "valid_from": "2025-01-01"}),
        )
        .await,
    );
    assert_eq!(cover["to_org"]["ref"], OWN_TOWN, "{cover}");
    // Out of it: a 结对 from an own village and a 双报到 of an own person, to the other town.
    let outward = done(
        "admin links an own village to a foreign one",
        app.post(
            "/api/v1/links",
            &admin,
            json!({"kind": "pairing", "from_org": own.village, "to_org": foreign.village, "valid_from": "2025-01-01"}),
        )
        .await,
    );
    let outward_person = done(
        "admin links an own person to a foreign village",
        app.post(
            "/api/v1/links",
            &admin,
            json!({"kind": "dual_report", "from_person": own.person, "to_org": foreign.village, "valid_from": "2025-01-01"}),
        )
        .await,
    );
    // Reading goes by the organisations at either end (as before): the 结对 out of the town is
    // listed, the 双报到 (a person's link to a foreign village) is not, and ending it is "missing".
    let (_, seen) = app.get("/api/v1/links", &t).await;
    let listed = |l: &Value| list(&seen).iter().any(|x| x["id"] == l["id"]);
    assert!(listed(&outward), "jishu reads the link out of its town");
    assert!(!listed(&outward_person), "{outward_person}");
    let path = format!("/api/v1/links/{}/end", outward_person["id"]);
    hidden(&path, app.post(&path, &t, json!({})).await, &foreign);
    for l in [&dispatch, &cover, &pairing, &outward] {
        let path = format!("/api/v1/links/{}/end", l["id"]);
        forbidden(
            &format!("{} {path}", l["kind"]),
            app.post(&path, &t, json!({})).await,
        );
    }
    for l in [&dispatch, &cover, &pairing, &outward, &outward_person] {
        let after = link_as_admin(&app, &admin, &l["id"]).await;
        assert!(after["valid_to"].is_null(), "ended by jishu: {after}");
    }
    // A link nobody of the township can see stays missing.
    let path = format!("/api/v1/links/{}/end", foreign.link);
    hidden(&path, app.post(&path, &t, json!({})).await, &foreign);

    // Creating: a source outside (an organ branch, the county cadre serving in an own village, a
    // county sending unit), and a target outside.
    let cadre = dispatch["from_person"]["id"].clone();
    let (_, all) = app.get("/api/v1/links", &admin).await;
    let refused = [
        (
            json!({"kind": "pairing", "from_org": sender, "to_org": own.village, "valid_from": "2025-01-01"}),
            ("from_org", "link.from_org"),
        ),
        (
            json!({"kind": "dispatch", "from_person": cadre, "to_org": own.village, "valid_from": "2025-01-01"}),
            ("from_person", "link.from_person"),
        ),
        (
            json!({"kind": "dispatch", "from_person": own.person, "via_org": sender, "to_org": own.village, "valid_from": "2025-01-01"}),
            ("via_org", "link.via_org"),
        ),
    ];
    for (body, (field, code)) in refused {
        let (s, v) = app.post("/api/v1/links", &t, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(
            codes(&v),
            vec![(field.to_string(), code.to_string())],
            "{body}"
        );
    }
    for body in [
        json!({"kind": "pairing", "from_org": own.village, "to_org": foreign.village, "valid_from": "2025-01-01"}),
        json!({"kind": "dual_report", "from_person": own.person, "to_org": foreign.town, "valid_from": "2025-01-01"}),
    ] {
        hidden(
            &format!("POST /api/v1/links {body}"),
            app.post("/api/v1/links", &t, body.clone()).await,
            &foreign,
        );
    }
    let (_, now) = app.get("/api/v1/links", &admin).await;
    assert_eq!(list(&now).len(), list(&all).len(), "nothing was created");

    // Inside the township it creates and ends links, from an organisation and from a person.
    for body in [
        json!({"kind": "pairing", "from_org": own.town, "to_org": own.village, "valid_from": "2025-01-01"}),
        json!({"kind": "dual_report", "from_person": own.person, "to_org": own.village, "valid_from": "2025-01-01"}),
    ] {
        let l = done("own link", app.post("/api/v1/links", &t, body).await);
        let path = format!("/api/v1/links/{}/end", l["id"]);
        let ended = done(&path, app.post(&path, &t, json!({})).await);
        assert_eq!(ended["valid_to"], json!(today()), "{ended}");
    }
    let mine = done(
        "own link",
        app.post(
            "/api/v1/links",
            &t,
            json!({"kind": "pairing", "from_org": own.town, "to_org": own.village, "valid_from": "2025-01-01"}),
        )
        .await,
    );

    // The page offers "end" only where the township may end, and refuses the rest the same way.
    let cookie = app.browser_login("jishu").await;
    let (s, page) = app.page("/links", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains(&format!("action=\"/links/{}/end\"", mine["id"])));
    for l in [&dispatch, &cover, &pairing, &outward] {
        assert!(
            !page.contains(&format!("action=\"/links/{}/end\"", l["id"])),
            "the page offers to end {l}"
        );
    }
    let csrf = TestApp::csrf_of(&page);
    let (s, body) = form(
        &app,
        &cookie,
        &format!("/links/{}/end", dispatch["id"]),
        &[("_csrf", csrf.as_str()), ("on", "")],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(link_as_admin(&app, &admin, &dispatch["id"]).await["valid_to"].is_null());

    // The county ends them.
    for l in [&dispatch, &outward] {
        let path = format!("/api/v1/links/{}/end", l["id"]);
        let ended = done(&path, app.post(&path, &admin, json!({})).await);
        assert!(ended["valid_to"].is_string(), "{ended}");
    }
}
