//! Scope against roles, and the objects a write names inside its body (a position's person, a
//! record's attendees and photos): a foreign one is treated exactly like a missing one.

use super::scope::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use taizhang_testkit::{each_backend, TestApp};

each_backend!(
    roles_limit_what_scope_allows,
    ids_inside_write_bodies_are_scoped,
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
