//! 身份证号 and phone numbers at rest: encrypted per field, found exactly through a keyed blind
//! index, shown masked, and shown whole only on an audited request by a role that may.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use taizhang_store::crypto::{Cipher, FieldKey};
use taizhang_store::{Store, StoreOptions};
use taizhang_testkit::{each_backend, test_audit_key, TestApp};

each_backend!(
    no_plaintext_id_number_in_a_raw_dump,
    whole_numbers_are_found_exactly,
    revealing_is_limited_and_audited,
);

fn contains(hay: &[u8], needle: &str) -> bool {
    taizhang_testkit::contains_bytes(hay, needle.as_bytes())
}

/// The plaintext 身份证号 and phones of up to `n` people in `jishu`'s scope, revealed.
async fn revealed(app: &TestApp, token: &str, n: usize) -> Vec<(i64, String, String)> {
    let (s, page) = app.get("/api/v1/people?limit=500", token).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let mut out = Vec::new();
    for p in page["people"].as_array().expect("people") {
        if out.len() == n {
            break;
        }
        let id = p["id"].as_i64().expect("id");
        let (s, whole) = app
            .get(&format!("/api/v1/people/{id}?reveal=true"), token)
            .await;
        assert_eq!(s, StatusCode::OK, "{whole}");
        if let (Some(idn), Some(phone)) = (whole["id_number"].as_str(), whole["phone"].as_str()) {
            assert!(!idn.contains('*') && idn.len() == 18, "{idn}");
            out.push((id, idn.to_string(), phone.to_string()));
        }
    }
    out
}

async fn no_plaintext_id_number_in_a_raw_dump(app: TestApp) {
    let t = app.token("jishu").await;
    let known = "370828199003071248";
    let (s, v) = app
        .post(
            "/api/v1/people",
            &t,
            json!({"name": "试验人", "org": "370828005", "id_number": known, "phone": "13905371234", "party_member": true, "retired": false}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(
        v["id_number"].as_str().unwrap().contains('*'),
        "answers masked: {v}"
    );
    let people = revealed(&app, &t, 40).await;
    assert!(
        people.len() >= 20,
        "enough demo people with numbers: {}",
        people.len()
    );
    let dump = app.raw_dump().await;
    assert!(dump.len() > 10_000, "a real dump");
    // The check can fail: the names are in the dump in plaintext, the numbers must not be.
    assert!(contains(&dump, "试验人"), "the dump holds the table's data");
    assert!(!contains(&dump, known), "plaintext ID number in the dump");
    assert!(
        !contains(&dump, "13905371234"),
        "plaintext phone in the dump"
    );
    for (_, idn, phone) in &people {
        assert!(
            !contains(&dump, idn),
            "plaintext ID number {} in the dump",
            &idn[..6]
        );
        assert!(!contains(&dump, phone), "plaintext phone in the dump");
    }
    // Nor in the audit log (masked there, as in every answer).
    let aud = app.token("auditor").await;
    let (_, log) = app.get("/api/v1/audit?entity=person&limit=500", &aud).await;
    assert!(!log.to_string().contains(known));
}

async fn whole_numbers_are_found_exactly(app: TestApp) {
    let t = app.token("jishu").await;
    let people = revealed(&app, &t, 3).await;
    for (id, idn, phone) in &people {
        for q in [idn.as_str(), phone.as_str()] {
            let (s, v) = app.get(&format!("/api/v1/people?q={q}"), &t).await;
            assert_eq!(s, StatusCode::OK);
            let found: Vec<i64> = v["people"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_i64().unwrap())
                .collect();
            assert_eq!(found, vec![*id], "exact search for a whole number");
        }
        // A part of a number finds nothing: only whole numbers have an index.
        let (_, v) = app
            .get(&format!("/api/v1/people?q={}", &idn[..10]), &t)
            .await;
        assert_eq!(v["total"], 0, "{v}");
    }
    // A duplicate 身份证号 is still refused, through the index.
    let (idn, _) = (&people[0].1, ());
    let (s, v) = app
        .post("/api/v1/people", &t, json!({"name": "重复", "org": "370828005", "id_number": idn, "party_member": false, "retired": false}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "person.duplicate_id_number");
}

async fn revealing_is_limited_and_audited(app: TestApp) {
    let jishu = app.token("jishu").await;
    let viewer = app.token("viewer").await;
    let people = revealed(&app, &jishu, 1).await;
    let (id, idn, _) = &people[0];
    let (s, masked) = app.get(&format!("/api/v1/people/{id}"), &jishu).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(
        masked["id_number"].as_str(),
        Some(idn.as_str()),
        "masked unless asked"
    );
    let (s, v) = app
        .get(&format!("/api/v1/people/{id}?reveal=true"), &viewer)
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a viewer never sees whole numbers: {v}"
    );
    // The page reveals on a POST with the CSRF token only.
    let cookie = app.browser_login("jishu").await;
    let (_, page) = app.page(&format!("/people/{id}"), &cookie).await;
    assert!(!page.contains(idn.as_str()));
    assert!(page.contains("显示完整身份证号和电话"));
    let post = |csrf: String| {
        let app = &app;
        let cookie = cookie.clone();
        async move {
            let r = app
                .client
                .post(app.url(&format!("/people/{id}/reveal")))
                .header("cookie", cookie)
                .form(&[("_csrf", csrf)])
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    assert_eq!(post("forged".into()).await.0, StatusCode::FORBIDDEN);
    let (s, body) = post(TestApp::csrf_of(&page)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(idn.as_str()), "whole after the request");
    // Each view is in the audit log: who saw whose data.
    let aud = app.token("auditor").await;
    let (_, log) = app.get("/api/v1/audit?entity=person&limit=500", &aud).await;
    let views: Vec<&Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["action"] == "view_personal"
                && e["entity_id"].as_str() == Some(id.to_string().as_str())
        })
        .collect();
    assert!(views.len() >= 2, "API and page views audited: {log}");
    assert!(views.iter().all(|e| e["actor"] == "jishu"));
    let _ = Method::GET;
}

/// A database refuses a field key other than the one its data was encrypted with, and data
/// written before encryption existed (schema version 2) is encrypted on upgrade, leaving no
/// plaintext behind in the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_encrypts_old_plaintext_and_the_key_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let url = format!("sqlite://{}", path.display());
    let known = "370828198507150019";
    {
        // A database as version 2 of the schema left it, with plaintext numbers.
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true),
            )
            .await
            .unwrap();
        sqlx::raw_sql(include_str!(
            "../../../store/migrations/sqlite/0001_foundation.sql"
        ))
        .execute(&pool)
        .await
        .unwrap();
        sqlx::raw_sql(include_str!(
            "../../../store/migrations/sqlite/0002_login_protection.sql"
        ))
        .execute(&pool)
        .await
        .unwrap();
        sqlx::raw_sql(&format!(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 'foundation', '2026-01-01'), (2, 'login_protection', '2026-01-01');
             INSERT INTO counties (id, code, name, root_org_id) VALUES (1, '370828', '金乡县', 1);
             INSERT INTO orgs (id, county_id, kind, name, code, established_on, created_at) VALUES (1, 1, 'county', '金乡县', '370828', '1990-01-01', '2026-01-01');
             INSERT INTO org_closure (county_id, ancestor_id, descendant_id, depth, valid_from) VALUES (1, 1, 1, 0, '1990-01-01');
             INSERT INTO people (id, county_id, org_id, name, gender, id_number, phone, birth_date, party_member, retired, created_at, updated_at)
             VALUES (1, 1, 1, '老数据', '男', '{known}', '13800001111', '1985-07-15', 1, 0, '2026-01-01', '2026-01-01');"
        ))
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let raw = |p: &std::path::Path| {
        let mut b = std::fs::read(p).unwrap();
        b.extend(std::fs::read(format!("{}-wal", p.display())).unwrap_or_default());
        b
    };
    assert!(contains(&raw(&path), known), "the old file holds plaintext");
    let key_a = FieldKey::new(Cipher::Sm4Gcm, vec![1; 32]).unwrap();
    let opts = |k: &FieldKey| StoreOptions {
        data_dir: Some(dir.path().join("data")),
        audit_key: Some(test_audit_key()),
        field_key: Some(k.clone()),
    };
    let store = Store::open_with(&url, opts(&key_a)).await.expect("upgrade");
    let actor = taizhang_store::Actor::system(taizhang_domain::CountyId::new(1), "test");
    let p = store
        .person_revealed(&actor, taizhang_domain::PersonId::new(1))
        .await
        .expect("person");
    assert_eq!(p.id_number.as_deref(), Some(known));
    assert_eq!(p.phone.as_deref(), Some("13800001111"));
    store.close().await;
    let bytes = raw(&path);
    assert!(
        !contains(&bytes, known),
        "plaintext left in the upgraded file"
    );
    assert!(
        !contains(&bytes, "13800001111"),
        "plaintext phone left in the upgraded file"
    );
    assert!(contains(&bytes, "老数据"));

    let key_b = FieldKey::new(Cipher::Aes256Gcm, vec![2; 32]).unwrap();
    match Store::open_with(&url, opts(&key_b)).await {
        Err(taizhang_store::StoreError::Config(m)) => assert!(m.contains("字段加密密钥"), "{m}"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a wrong field key was accepted"),
    }
    let again = Store::open_with(&url, opts(&key_a))
        .await
        .expect("the right key");
    assert_eq!(
        again
            .person_revealed(&actor, taizhang_domain::PersonId::new(1))
            .await
            .unwrap()
            .id_number
            .as_deref(),
        Some(known)
    );
}
