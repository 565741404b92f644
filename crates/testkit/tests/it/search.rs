//! Pickers' searches: by name, pinyin, initials and code, within scope; an organisation field
//! that takes a name; keys kept with every insert and rename — on both backends.

use super::scope::{FOREIGN_TOWN, OWN_TOWN, XUNZHUANG};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use taizhang_testkit::{each_backend, TestApp};

each_backend!(
    organisations_are_found_by_pinyin_initials_and_code_within_scope,
    people_are_found_by_the_initials_of_their_names_within_scope,
    an_organisation_field_takes_a_unique_name_and_lists_an_ambiguous_one,
    new_and_renamed_names_are_found_by_their_new_pinyin,
    bad_searches_are_refused_with_a_stable_code,
);

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|o| o["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn organisations_are_found_by_pinyin_initials_and_code_within_scope(app: TestApp) {
    let admin = app.token("admin").await;
    for q in ["jsz", "JiShu", "ji shu zhen", "鸡黍", OWN_TOWN] {
        let (s, v) = app
            .get(&format!("/api/v1/search/orgs?q={}", q), &admin)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            names(&v).first().map(String::as_str),
            Some("鸡黍镇"),
            "{q}: {v}"
        );
        assert_eq!(v[0]["ref"], json!(OWN_TOWN));
        assert_eq!(v[0]["parent_name"], json!("金乡县"));
    }
    // 寻庄村 by its initials, with its 党支部 after it (longer name).
    let (_, v) = app.get("/api/v1/search/orgs?q=xzc", &admin).await;
    let found = names(&v);
    assert_eq!(found.first().map(String::as_str), Some("寻庄村"), "{v}");
    assert!(found.iter().all(|n| n.contains("寻庄村")), "{found:?}");
    // 高河街道's manager does not see 鸡黍镇 or anything under it.
    let gaohe = app.token("gaohe").await;
    let (_, v) = app.get("/api/v1/search/orgs?q=jsz", &gaohe).await;
    assert_eq!(v, json!([]), "out of scope");
    let (_, v) = app
        .get(&format!("/api/v1/search/orgs?q={XUNZHUANG}"), &gaohe)
        .await;
    assert_eq!(v, json!([]), "out of scope by code");
    let (_, v) = app
        .get(&format!("/api/v1/search/orgs?q={FOREIGN_TOWN}"), &gaohe)
        .await;
    assert_eq!(names(&v), vec!["高河街道".to_string()]);
    // Nothing typed finds nothing; the limit is kept.
    let (_, v) = app.get("/api/v1/search/orgs?q=", &admin).await;
    assert_eq!(v, json!([]));
    let (_, v) = app.get("/api/v1/search/orgs?q=c&limit=3", &admin).await;
    assert_eq!(v.as_array().map(Vec::len), Some(3));
}

async fn people_are_found_by_the_initials_of_their_names_within_scope(app: TestApp) {
    let jishu = app.token("jishu").await;
    let (_, list) = app
        .get(&format!("/api/v1/people?org={XUNZHUANG}&limit=1"), &jishu)
        .await;
    let person = &list["people"][0];
    let name = person["name"]
        .as_str()
        .expect("a person of 寻庄村")
        .to_string();
    let key = taizhang_domain::search::search_key(&name);
    let initials = key.split(' ').nth(1).expect("initials").to_string();
    let (s, v) = app
        .get(
            &format!("/api/v1/search/people?q={initials}&limit=50"),
            &jishu,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let hit = v
        .as_array()
        .and_then(|a| a.iter().find(|p| p["id"] == person["id"]))
        .unwrap_or_else(|| panic!("{name} ({initials}) not in {v}"));
    assert_eq!(hit["name"], json!(name));
    assert_eq!(hit["org"]["ref"], json!(XUNZHUANG));
    assert!(
        hit.get("phone").is_none() && hit.get("id_number").is_none(),
        "{hit}"
    );
    // Everyone found shares the initials, and the people list's search finds the same person.
    for p in v.as_array().expect("list") {
        let k = taizhang_domain::search::search_key(p["name"].as_str().unwrap_or_default());
        assert!(k.contains(&initials), "{p} for {initials}");
    }
    let (_, l) = app
        .get(
            &format!("/api/v1/people?org={XUNZHUANG}&q={initials}"),
            &jishu,
        )
        .await;
    assert!(
        l["people"]
            .as_array()
            .expect("people")
            .iter()
            .any(|p| p["id"] == person["id"]),
        "{l}"
    );
    // Not to 高河街道's manager.
    let gaohe = app.token("gaohe").await;
    let (_, v) = app
        .get(
            &format!("/api/v1/search/people?q={initials}&limit=50"),
            &gaohe,
        )
        .await;
    assert!(
        v.as_array()
            .expect("list")
            .iter()
            .all(|p| p["id"] != person["id"]),
        "{v}"
    );
}

async fn an_organisation_field_takes_a_unique_name_and_lists_an_ambiguous_one(app: TestApp) {
    let jishu = app.token("jishu").await;
    let total = |v: &Value| v["total"].as_i64().expect("total");
    let (_, by_code) = app
        .get(&format!("/api/v1/records?org={XUNZHUANG}&limit=1"), &jishu)
        .await;
    for text in ["寻庄村", "寻庄村（370828005101）", "寻庄村(370828005101)"] {
        let (s, v) = app
            .get(&format!("/api/v1/records?org={}&limit=1", text), &jishu)
            .await;
        assert_eq!(s, StatusCode::OK, "{text}: {v}");
        assert_eq!(total(&v), total(&by_code), "{text}");
    }
    // A second 寻庄村 in the same town: the name alone no longer decides.
    let (s, v) = app
        .post(
            &format!("/api/v1/orgs/{OWN_TOWN}/children"),
            &jishu,
            json!({"kind": "village", "name": "寻庄村", "established_on": "2020-01-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let second = v["ref"].as_str().expect("ref").to_string();
    let (s, v) = app
        .get(&format!("/api/v1/records?org={}&limit=1", "寻庄村"), &jishu)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], json!("validation"), "{v}");
    let text = v.to_string();
    assert!(text.contains("org.ambiguous"), "{text}");
    assert!(
        text.contains(XUNZHUANG) && text.contains(&second),
        "both listed: {text}"
    );
    // The picker's form of either still decides.
    let (s, _) = app
        .get(
            &format!(
                "/api/v1/records?org={}&limit=1",
                &format!("寻庄村（{second}）")
            ),
            &jishu,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // A name out of scope is unknown, as a code out of scope is.
    let gaohe = app.token("gaohe").await;
    let (s, _) = app
        .get(&format!("/api/v1/records?org={}&limit=1", "鸡黍镇"), &gaohe)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn new_and_renamed_names_are_found_by_their_new_pinyin(app: TestApp) {
    let jishu = app.token("jishu").await;
    let (s, v) = app
        .post(
            &format!("/api/v1/orgs/{OWN_TOWN}/children"),
            &jishu,
            json!({"kind": "village", "name": "银杏村", "established_on": "2020-01-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let r = v["ref"].as_str().expect("ref").to_string();
    let (_, v) = app.get("/api/v1/search/orgs?q=yxc", &jishu).await;
    assert_eq!(names(&v), vec!["银杏村".to_string()]);
    let (s, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/orgs/{r}"),
            Some(&jishu),
            Some(json!({"name": "梧桐村"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = app.get("/api/v1/search/orgs?q=yxc", &jishu).await;
    assert_eq!(v, json!([]), "the old name's key is gone");
    let (_, v) = app.get("/api/v1/search/orgs?q=wutong", &jishu).await;
    assert_eq!(names(&v), vec!["梧桐村".to_string()]);
    // A new person is found by their initials at once.
    let (s, p) = app
        .post(
            "/api/v1/people",
            &jishu,
            json!({"name": "欧阳明远", "org": r}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (_, v) = app.get("/api/v1/search/people?q=oymy", &jishu).await;
    assert_eq!(names(&v), vec!["欧阳明远".to_string()]);
}

async fn bad_searches_are_refused_with_a_stable_code(app: TestApp) {
    let admin = app.token("admin").await;
    let long = "a".repeat(61);
    for q in [long.as_str(), "ji%00shu", "a%1Bb"] {
        let (s, v) = app.get(&format!("/api/v1/search/orgs?q={q}"), &admin).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
        assert_eq!(v["code"], json!("validation"), "{v}");
    }
    let (s, _) = app.get("/api/v1/search/orgs?q=jsz", "not-a-token").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
