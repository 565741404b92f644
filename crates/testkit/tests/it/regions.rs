//! Levels above the county: a city (济宁市) over the demo county 金乡县 and a second county
//! 任城区; the rules of creating and attaching regions; a city user who reads both counties and
//! writes nothing (each refusal audited in the county's chain); a county user kept out of the
//! city and of the other county; and the city bulletin, whose totals are the counties' own
//! bulletins added up, exactly.

use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{json, Map};
use taizhang_domain::bulletin::Grouping;
use taizhang_domain::org::OrgKind;
use taizhang_domain::period::DateRange;
use taizhang_domain::{CountyId, Role};
use taizhang_store::{Actor, NewOrg, NewRecord, StoreError};
use taizhang_testkit::{each_backend, fresh_store, post_form, Backend, TestApp, PASSWORD};

each_backend!(
    regions_are_created_and_attached_by_the_rules,
    a_city_user_reads_every_county_below_and_writes_nothing,
    a_county_user_reads_neither_the_city_nor_another_county,
    the_city_bulletin_adds_up_the_county_bulletins,
    the_city_pages_lead_into_each_county,
    a_copy_carries_the_regions,
);

const CITY: &str = "370800";
const A: &str = "370828";
const B: &str = "370811";
/// Records written into 任城区: (ledger type, date, its one village).
const B_RECORDS: &[(&str, &str)] = &[
    ("lecture", "2025-03-02"),
    ("lecture", "2025-04-12"),
    ("lecture", "2025-05-20"),
    ("theme_day", "2025-03-05"),
    ("theme_day", "2025-06-05"),
];

fn system() -> Actor {
    Actor::system(CountyId::new(1), "test")
}

fn range() -> DateRange {
    DateRange::new(
        NaiveDate::from_ymd_opt(2020, 1, 1).expect("date"),
        taizhang_store::today(),
    )
    .expect("range")
}

fn range_query() -> String {
    let r = range();
    format!("from={}&to={}", r.from, r.to)
}

fn field_code(e: &StoreError) -> String {
    match e {
        StoreError::Invalid(f) => format!("invalid:{}:{}", f[0].field, f[0].code),
        StoreError::Conflict { code, .. } => format!("conflict:{code}"),
        other => format!("{other:?}"),
    }
}

/// 任城区 with one street office, one village and `B_RECORDS`, written as its own system job.
async fn second_county(app: &TestApp) {
    let founded = NaiveDate::from_ymd_opt(2020, 1, 1).expect("date");
    let county = app
        .store
        .create_county(B, "任城区", founded)
        .await
        .expect("county");
    let sys = Actor::system(county.id, "test");
    let new_org = |kind, name: &str, code: &str| NewOrg {
        kind,
        name: name.into(),
        code: Some(code.into()),
        established_on: Some(founded),
    };
    app.store
        .create_org(&sys, B, new_org(OrgKind::Township, "柳行街道", "370811001"))
        .await
        .expect("street office");
    app.store
        .create_org(
            &sys,
            "370811001",
            new_org(OrgKind::Village, "东门村", "370811001001"),
        )
        .await
        .expect("village");
    for (i, (kind, date)) in B_RECORDS.iter().enumerate() {
        let mut fields = Map::new();
        if *kind == "lecture" {
            fields.insert("topic".into(), json!(format!("宣讲{i}")));
            fields.insert("kind".into(), json!("政策宣讲"));
        } else {
            fields.insert("theme".into(), json!(format!("主题{i}")));
        }
        app.store
            .create_record(
                &sys,
                NewRecord {
                    ledger_type: kind.to_string(),
                    org: "370811001001".into(),
                    occurred_on: date.parse().expect("date"),
                    fields,
                },
            )
            .await
            .expect("record");
    }
}

/// 济宁市 over 金乡县 and 任城区, with one city user `jiningshi`.
async fn city(app: &TestApp) {
    second_county(app).await;
    let sys = system();
    app.store
        .create_region(&sys, CITY, "中共济宁市委员会", "city", None)
        .await
        .expect("city");
    for c in [A, B] {
        app.store
            .attach_county(&sys, CITY, c)
            .await
            .expect("attach");
    }
    app.store
        .create_region_user_with_password(&sys, CITY, "jiningshi", "济宁市委组织部", PASSWORD)
        .await
        .expect("city user");
}

async fn regions_are_created_and_attached_by_the_rules(app: TestApp) {
    second_county(&app).await;
    let sys = system();
    let province = app
        .store
        .create_region(&sys, "370000", "中共山东省委员会", "province", None)
        .await
        .expect("province");
    assert_eq!(
        (
            province.code.as_str(),
            province.name.as_str(),
            province.level.key()
        ),
        ("370000", "中共山东省委员会", "province")
    );
    let city = app
        .store
        .create_region(&sys, CITY, " 中共济宁市委员会 ", "city", Some("370000"))
        .await
        .expect("city");
    assert_eq!(
        (city.name.as_str(), city.parent_code.as_deref()),
        ("中共济宁市委员会", Some("370000"))
    );
    let other_city = app
        .store
        .create_region(&sys, "370900", "中共泰安市委员会", "city", None)
        .await
        .expect("second city");
    assert_eq!(other_city.parent_code, None);

    // Bad input, each with its stable code; nothing written.
    let bad = [
        app.store
            .create_region(&sys, "370100", "中共济南市委员会", "county", None)
            .await,
        app.store
            .create_region(&sys, "370000", "中共济南市委员会", "city", None)
            .await,
        app.store
            .create_region(&sys, "37010", "中共济南市委员会", "city", None)
            .await,
        app.store
            .create_region(&sys, "370100", "  ", "city", None)
            .await,
        app.store
            .create_region(&sys, "370100", "中共济南市委员会", "city", Some("370900"))
            .await,
        app.store
            .create_region(&sys, "370100", "中共济南市委员会", "city", Some("990000"))
            .await,
        app.store
            .create_region(&sys, CITY, "重复", "city", None)
            .await,
    ];
    let codes: Vec<String> = bad
        .iter()
        .map(|r| field_code(r.as_ref().unwrap_err()))
        .collect();
    assert_eq!(
        codes,
        [
            "invalid:level:region.bad_level",
            "invalid:code:region.bad_code",
            "invalid:code:region.bad_code",
            "invalid:name:region.bad_name",
            "invalid:parent:region.bad_parent",
            "invalid:parent:region.unknown_region",
            "conflict:region.exists",
        ]
    );
    assert_eq!(app.count_raw("SELECT COUNT(*) FROM regions").await, 3);

    // Only the binary's own jobs arrange regions.
    let admin = app.actor("admin").await;
    let e = app
        .store
        .create_region(&admin, "370100", "中共济南市委员会", "city", None)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Forbidden), "{e:?}");
    let e = app.store.attach_county(&admin, CITY, A).await.unwrap_err();
    assert!(matches!(e, StoreError::Forbidden), "{e:?}");

    // Counties: unknown, attached, attached again (same or other city).
    let e = app
        .store
        .attach_county(&sys, CITY, "370899")
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), "invalid:county:region.unknown_county");
    let e = app
        .store
        .attach_county(&sys, "370700", A)
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), "invalid:region:region.unknown_region");
    let a = app
        .store
        .attach_county(&sys, CITY, A)
        .await
        .expect("attach A");
    assert_eq!(a.code, A);
    app.store
        .attach_county(&sys, CITY, B)
        .await
        .expect("attach B");
    let e = app
        .store
        .attach_county(&sys, "370900", A)
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), "conflict:region.county_attached");
    let e = app.store.attach_county(&sys, CITY, A).await.unwrap_err();
    assert_eq!(field_code(&e), "conflict:region.county_attached");
    assert_eq!(
        app.count_raw("SELECT COUNT(*) FROM counties WHERE region_id IS NOT NULL")
            .await,
        2
    );
    // The attachment is in each county's own audit chain.
    assert_eq!(
        app.count_raw(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'attach_region' AND entity = 'county'"
        )
        .await,
        2
    );

    // Regions: no cycle, a city under a province only, under one province at most.
    let e = app
        .store
        .attach_region(&sys, "370000", CITY)
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), "conflict:region.cycle");
    let e = app.store.attach_region(&sys, CITY, CITY).await.unwrap_err();
    assert_eq!(field_code(&e), "conflict:region.cycle");
    let e = app
        .store
        .attach_region(&sys, "370900", CITY)
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), "invalid:parent:region.bad_parent");
    let e = app
        .store
        .attach_region(&sys, CITY, "370000")
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), "conflict:region.region_attached");
    let tai_an = app
        .store
        .attach_region(&sys, "370900", "370000")
        .await
        .expect("a city under the province");
    assert_eq!(tai_an.parent_code.as_deref(), Some("370000"));
    // A city with a county, put under the province: the county's chain says so, since the
    // province's users now read it; 泰安 has no county, so nothing was written for it.
    let founded = NaiveDate::from_ymd_opt(2020, 1, 1).expect("date");
    let zichuan = app
        .store
        .create_county("370302", "淄川区", founded)
        .await
        .expect("third county");
    app.store
        .create_region(&sys, "370300", "中共淄博市委员会", "city", None)
        .await
        .expect("a city without a province");
    app.store
        .attach_county(&sys, "370300", "370302")
        .await
        .expect("attach the third county");
    app.store
        .attach_region(&sys, "370300", "370000")
        .await
        .expect("the city under the province");
    let (_, entries) = app
        .store
        .audit_entries(
            &Actor {
                role: Role::Auditor,
                ..Actor::system(zichuan.id, "test")
            },
            None,
            50,
            0,
        )
        .await
        .expect("the third county's chain");
    let mut attached: Vec<(String, Option<serde_json::Value>)> = entries
        .into_iter()
        .filter(|e| e.action == "attach_region")
        .map(|e| (e.entity, e.after))
        .collect();
    attached.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        attached,
        [
            (
                "county".to_string(),
                Some(json!({"region": "370300", "name": "中共淄博市委员会", "level": "city"}))
            ),
            (
                "region".to_string(),
                Some(json!({"region": "370300", "parent": "370000", "level": "province"}))
            ),
        ]
    );
    assert_eq!(
        app.count_raw(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'attach_region' AND entity = 'region'"
        )
        .await,
        1
    );

    // A province's counties are its cities' counties, recursively.
    let (_, below) = app
        .store
        .region_counties(&sys, "370000")
        .await
        .expect("below");
    let codes: Vec<&str> = below.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["370302", B, A]);
    let (_, below) = app
        .store
        .region_counties(&sys, "370900")
        .await
        .expect("below");
    assert!(below.is_empty());

    // A region user needs a county below its region, and a free name.
    let e = app
        .store
        .create_region_user_with_password(&sys, "370900", "taian", "泰安市委", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), "conflict:region.no_counties");
    let e = app
        .store
        .create_region_user_with_password(&sys, CITY, "admin", "济宁市委", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), "conflict:user.exists");
    let e = app
        .store
        .create_region_user_with_password(&sys, "370700", "weifang", "潍坊市委", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), "invalid:region:region.unknown_region");
    let user = app
        .store
        .create_region_user_with_password(&sys, CITY, "jiningshi", "济宁市委组织部", PASSWORD)
        .await
        .expect("city user");
    assert_eq!(user.role, Role::RegionViewer);
    // Its home county is the first below the city by code: 任城区.
    assert_eq!(user.org.org_ref, B);
    // A province user reads the province and its cities; a city user not the province above.
    app.store
        .create_region_user_with_password(&sys, "370000", "shandong", "山东省委组织部", PASSWORD)
        .await
        .expect("province user");
    let shandong = app.actor("shandong").await;
    for code in ["370000", CITY, "370900"] {
        let (r, _) = app
            .store
            .region_counties(&shandong, code)
            .await
            .expect("the province reads");
        assert_eq!(r.code, code);
    }
    let reader = app.store.county_reader(&shandong, A).await.expect("reader");
    assert_eq!(
        (reader.role, reader.scope.is_county(), reader.county_id),
        (Role::RegionViewer, true, a.id)
    );
    let jining = app.actor("jiningshi").await;
    let e = app
        .store
        .region_counties(&jining, "370000")
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound), "{e:?}");
    let e = app
        .store
        .region_counties(&jining, "370900")
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound), "{e:?}");
    let users = app.store.region_users(&sys, CITY).await.expect("users");
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["jiningshi"]
    );
}

/// The `refused` entries of a user in one county's audit chain.
async fn refusals_in(app: &TestApp, user: &str, county: &str) -> i64 {
    app.count_raw(&format!(
        "SELECT COUNT(*) FROM audit_log a JOIN users u ON u.id = a.actor_user_id JOIN counties c ON c.id = a.county_id
         WHERE a.action = 'refused' AND u.username = '{user}' AND c.code = '{county}'"
    ))
    .await
}

async fn a_city_user_reads_every_county_below_and_writes_nothing(app: TestApp) {
    city(&app).await;
    let t = app.token("jiningshi").await;
    let (s, v) = app
        .get(&format!("/api/v1/regions/{CITY}/counties"), &t)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["region"]["name"], "中共济宁市委员会");
    let codes: Vec<&str> = v["counties"]
        .as_array()
        .expect("counties")
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert_eq!(codes, [B, A]);

    let q = range_query();
    for (county, writable_parent) in [(A, "370828002"), (B, "370811001")] {
        let (s, v) = app
            .post(
                &format!("/api/v1/regions/{CITY}/counties/{county}/open"),
                &t,
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["county"]["code"], county);
        // The county's bulletin, exactly as its own system job reads it.
        let (s, got) = app
            .get(&format!("/api/v1/bulletin?org={county}&{q}"), &t)
            .await;
        assert_eq!(s, StatusCode::OK, "{got}");
        let c = app.store.county_by_code(county).await.expect("county");
        let reader = Actor::system(c.id, "test");
        let expected = app
            .store
            .bulletin(&reader, county, range(), Grouping::Children)
            .await
            .expect("bulletin");
        assert_eq!(got["total_records"], json!(expected.total_records));
        assert_eq!(
            got["sections"],
            serde_json::to_value(&expected.sections).expect("json")
        );
        if county == B {
            assert_eq!(expected.total_records, B_RECORDS.len() as i64);
        }
        // Lists and organisations read; nothing written, nothing personal.
        let (s, v) = app
            .get(&format!("/api/v1/records?org={county}&{q}"), &t)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, _) = app
            .get(&format!("/api/v1/orgs/{writable_parent}/children"), &t)
            .await;
        assert_eq!(s, StatusCode::OK);
        let before = refusals_in(&app, "jiningshi", county).await;
        let (s, v) = app
            .post(
                "/api/v1/records",
                &t,
                json!({"ledger_type": "lecture", "org": writable_parent, "occurred_on": "2025-06-01",
                       "fields": {"topic": "越权宣讲", "kind": "政策宣讲"}}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, _) = app
            .post(
                &format!("/api/v1/orgs/{writable_parent}/children"),
                &t,
                json!({"kind": "village", "name": "越权村"}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app
            .post(
                "/api/v1/people",
                &t,
                json!({"name": "新人", "org": writable_parent}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app.get("/api/v1/users", &t).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // Every refusal is in this county's chain.
        assert_eq!(refusals_in(&app, "jiningshi", county).await, before + 4);
    }
    assert_eq!(
        app.count_raw(
            "SELECT COUNT(*) FROM ledger_records WHERE CAST(fields AS TEXT) LIKE '%越权%'"
        )
        .await,
        0
    );
    assert_eq!(
        app.count_raw("SELECT COUNT(*) FROM orgs WHERE name = '越权村'")
            .await,
        0
    );
    // Opening a county outside the city is refused like a missing one.
    let (s, _) = app
        .post(
            &format!("/api/v1/regions/{CITY}/counties/370899/open"),
            &t,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Each county's chain still verifies.
    for county in [A, B] {
        let c = app.store.county_by_code(county).await.expect("county");
        let check = app.store.verify_audit_chain(c.id).await.expect("chain");
        assert!(check.is_ok(), "{county}: {check:?}");
    }
}

async fn a_county_user_reads_neither_the_city_nor_another_county(app: TestApp) {
    city(&app).await;
    let q = range_query();
    for user in ["admin", "jishu", "viewer"] {
        let t = app.token(user).await;
        let before = refusals_in(&app, user, A).await;
        let (s, _) = app
            .get(&format!("/api/v1/regions/{CITY}/bulletin?{q}"), &t)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{user}");
        let (s, _) = app
            .get(&format!("/api/v1/regions/{CITY}/counties"), &t)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{user}");
        let (s, _) = app
            .post(
                &format!("/api/v1/regions/{CITY}/counties/{B}/open"),
                &t,
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{user}");
        let (s, _) = app.get(&format!("/api/v1/bulletin?org={B}&{q}"), &t).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{user}");
        let (s, _) = app.get("/api/v1/orgs/370811001/children", &t).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{user}");
        assert_eq!(refusals_in(&app, user, A).await, before + 5, "{user}");
    }
    // The county's security administrator neither sees nor changes the city's account, and
    // cannot hand the region role to a county account.
    let sec = app.token("anquan").await;
    let (s, v) = app.get("/api/v1/users", &sec).await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = v
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert!(!names.contains(&"jiningshi"), "{names:?}");
    let city_user = app
        .count_raw("SELECT id FROM users WHERE username = 'jiningshi'")
        .await;
    let viewer = app
        .count_raw("SELECT id FROM users WHERE username = 'viewer'")
        .await;
    let sec_actor = app.actor("anquan").await;
    let e = app
        .store
        .update_user(
            &sec_actor,
            taizhang_domain::UserId::new(city_user),
            &taizhang_store::UserChange {
                display_name: Some("改名".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound), "{e:?}");
    let e = app
        .store
        .update_user(
            &sec_actor,
            taizhang_domain::UserId::new(viewer),
            &taizhang_store::UserChange {
                role: Some(Role::RegionViewer),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), "invalid:role:user.region_role");
}

async fn the_city_bulletin_adds_up_the_county_bulletins(app: TestApp) {
    city(&app).await;
    let t = app.token("jiningshi").await;
    let (s, got) = app
        .get(
            &format!("/api/v1/regions/{CITY}/bulletin?{}", range_query()),
            &t,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    let mut county_bulletins = Vec::new();
    for code in [A, B] {
        let c = app.store.county_by_code(code).await.expect("county");
        let b = app
            .store
            .bulletin(
                &Actor::system(c.id, "test"),
                code,
                range(),
                Grouping::Children,
            )
            .await
            .expect("bulletin");
        county_bulletins.push((code, c.name, b));
    }
    let total: i64 = county_bulletins.iter().map(|b| b.2.total_records).sum();
    assert_eq!(got["total_records"], json!(total));
    // The oracle: every record of both counties in the period, counted by the database.
    let r = range();
    let raw = app
        .count_raw(&format!(
            "SELECT COUNT(*) FROM ledger_records WHERE voided_at IS NULL AND occurred_on >= '{}' AND occurred_on <= '{}'",
            r.from, r.to
        ))
        .await;
    assert_eq!(total, raw);
    // Ranked: 金乡县 (the demo county) far ahead of 任城区's five records.
    let rows: Vec<(i64, String, i64)> = got["counties"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|c| {
            (
                c["rank"].as_i64().unwrap_or(0),
                c["code"].as_str().unwrap_or("").to_string(),
                c["records"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (1, A.to_string(), county_bulletins[0].2.total_records),
            (2, B.to_string(), B_RECORDS.len() as i64),
        ]
    );
    // Per ledger type: records, organisations and people add up across the counties.
    let sections = got["sections"].as_array().expect("sections");
    assert_eq!(sections.len(), county_bulletins[0].2.sections.len());
    for s in sections {
        let key = s["type_key"].as_str().expect("key");
        let mut sum = (0, 0, 0);
        for (_, _, b) in &county_bulletins {
            for x in b.sections.iter().filter(|x| x.type_key == key) {
                sum.0 += x.records;
                sum.1 += x.organisations;
                sum.2 += x.people;
            }
        }
        assert_eq!(
            (
                s["records"].as_i64(),
                s["organisations"].as_i64(),
                s["people"].as_i64()
            ),
            (Some(sum.0), Some(sum.1), Some(sum.2)),
            "{key}"
        );
        let ranked: Vec<i64> = s["ranking"]
            .as_array()
            .expect("ranking")
            .iter()
            .filter_map(|r| r["records"].as_i64())
            .collect();
        assert_eq!(ranked.iter().sum::<i64>(), sum.0, "{key}");
        assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "{key}: {ranked:?}");
    }
    let lecture = sections
        .iter()
        .find(|s| s["type_key"] == "lecture")
        .expect("lecture");
    let b_lecture = lecture["ranking"]
        .as_array()
        .expect("ranking")
        .iter()
        .find(|r| r["code"] == B)
        .expect("任城区");
    assert_eq!(b_lecture["records"], json!(3));
    // The same figures when the city user opened a county first: the region bulletin does not
    // depend on the county the session reads.
    app.post(
        &format!("/api/v1/regions/{CITY}/counties/{A}/open"),
        &t,
        json!({}),
    )
    .await;
    let (_, again) = app
        .get(
            &format!("/api/v1/regions/{CITY}/bulletin?{}", range_query()),
            &t,
        )
        .await;
    assert_eq!(again, got);
    // In the OpenAPI document.
    let (_, doc) = app.get("/api/v1/openapi.json", &t).await;
    assert!(doc["paths"]["/api/v1/regions/{code}/bulletin"]["get"].is_object());
    assert!(doc["components"]["schemas"]["RegionBulletin"].is_object());
}

async fn the_city_pages_lead_into_each_county(app: TestApp) {
    city(&app).await;
    let cookie = app.browser_login("jiningshi").await;
    let (s, home) = app.page("/", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        home.contains(&format!("href=\"/regions/{CITY}/bulletin\"")),
        "{home}"
    );
    let r = range();
    let (s, page) = app
        .page(
            &format!("/regions/{CITY}/bulletin?from={}&to={}", r.from, r.to),
            &cookie,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("中共济宁市委员会"));
    assert!(page.contains("各县（市、区）排名"));
    // Each county's figure is a button of one POST form: opening a county changes the session.
    let drill = format!("formaction=\"/regions/{CITY}/counties/{B}\"");
    assert!(page.contains(&drill), "{page}");
    assert!(
        page.contains("<form id=\"open-county\" method=\"post\">"),
        "{page}"
    );
    let path = format!("/regions/{CITY}/counties/{B}");
    let (from, to_date) = (r.from.to_string(), r.to.to_string());
    // A GET, or a POST without the page's token, opens nothing.
    let (s, _) = app.page(&path, &cookie).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let forged = post_form(&app, &path, &cookie, &[("from", &from), ("to", &to_date)]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    // Following it: 任城区 opened, its bulletin for the same period.
    let csrf = TestApp::csrf_of(&page);
    let res = post_form(
        &app,
        &path,
        &cookie,
        &[("_csrf", &csrf), ("from", &from), ("to", &to_date)],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let to = res.location.unwrap_or_default();
    assert_eq!(to, format!("/bulletin?org={B}&from={}&to={}", r.from, r.to));
    let (s, page) = app.page(&to, &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("任城区"), "{page}");
    // A figure of one ledger type leads to that county's records of the type.
    let res = post_form(
        &app,
        &path,
        &cookie,
        &[
            ("_csrf", &csrf),
            ("from", &from),
            ("to", &to_date),
            ("ledger_type", "lecture"),
        ],
    )
    .await;
    assert_eq!(
        res.location.as_deref(),
        Some(format!("/records?org={B}&from={from}&to={to_date}&ledger_type=lecture").as_str())
    );
    // A county user's page of the city: refused as missing.
    let jishu = app.browser_login("jishu").await;
    let (s, _) = app.page(&format!("/regions/{CITY}/bulletin"), &jishu).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// `copy` carries the regions, the counties' places under them and the region users: the whole
/// database into the other backend answers the same city bulletin; one county takes its city.
async fn a_copy_carries_the_regions(app: TestApp) {
    city(&app).await;
    let other = match app.backend {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    };
    let (target, _, _dir) = fresh_store(other).await.expect("target");
    let report = app.store.copy_to(&target, None).await.expect("copy");
    assert!(report.iter().all(|t| t.matches()), "{report:?}");
    let regions = report
        .iter()
        .find(|t| t.table == "regions")
        .expect("regions");
    assert_eq!(regions.target_rows, 1);
    let sys = system();
    let before = app
        .store
        .region_bulletin(&sys, CITY, range())
        .await
        .expect("source");
    let after = target
        .region_bulletin(&sys, CITY, range())
        .await
        .expect("target");
    assert_eq!(before, after);
    let city_user = target.actor_for_user("jiningshi").await.expect("city user");
    assert_eq!(city_user.role, Role::RegionViewer);
    let read = target
        .region_bulletin(&city_user, CITY, range())
        .await
        .expect("the city user reads the copy");
    assert_eq!(read.total_records, before.total_records);

    let (one, _, _dir2) = fresh_store(other).await.expect("target");
    let report = app.store.copy_to(&one, Some(A)).await.expect("copy A");
    assert!(report.iter().all(|t| t.matches()), "{report:?}");
    let (_, below) = one.region_counties(&sys, CITY).await.expect("city");
    assert_eq!(
        below.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(),
        [A]
    );
}
