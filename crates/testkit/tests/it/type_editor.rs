//! The ledger type editor as a county admin uses it: keys spelled from the names, organisation
//! kinds ticked from a list, the condition field picked from the type's fields.

use reqwest::StatusCode;
use taizhang_testkit::{post_form, spawn_app, Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_is_defined_without_inventing_keys() {
    let app = spawn_app(Backend::Sqlite).await;
    let cookie = app.browser_login("admin").await;
    let (s, html) = app.page("/ledger-types/new", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("（可不填：按名称的拼音生成）"), "{html}");
    assert!(
        html.contains("name=\"c0_kind_village\""),
        "kinds are ticked from a list"
    );
    assert!(!html.contains("c0_kinds"), "no typed list of kind keys");
    let token = TestApp::csrf_of(&html);
    let form = vec![
        ("_csrf", token.as_str()),
        ("key", ""),
        ("name", "入户走访"),
        ("verb", "开展"),
        ("count_unit", "次"),
        ("description", ""),
        ("f0_key", ""),
        ("f0_label", "走访户数"),
        ("f0_kind", "integer"),
        ("f0_required", "true"),
        ("f0_min", "0"),
        ("f0_max", "1000"),
        ("f0_unit", "人次"),
        ("f1_key", ""),
        ("f1_label", "方式"),
        ("f1_kind", "choice"),
        ("f1_options", "上门、电话"),
        // A typed key the next row's spelling would take.
        ("f2_key", "beizhu"),
        ("f2_label", "附注"),
        ("f2_kind", "text"),
        ("f3_key", ""),
        ("f3_label", "备注"),
        ("f3_kind", "long_text"),
        ("c0_label", "每月入户走访"),
        ("c0_cadence", "monthly"),
        ("c0_kind_village", "1"),
        ("c0_kind_community", "1"),
        ("c0_field", "fangshi"),
        ("c0_value", "上门"),
        ("c0_grace", "5"),
        ("c1_label", ""),
        ("c1_cadence", ""),
    ];
    let r = post_form(&app, "/ledger-types", &cookie, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let api = app.token("admin").await;
    let (s, t) = app.get("/api/v1/ledger-types/ruhuzoufang", &api).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the type's key is spelled from its name: {t}"
    );
    let keys: Vec<&str> = t["definition"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["key"].as_str())
        .collect();
    assert_eq!(keys, ["zoufanghushu", "fangshi", "beizhu", "beizhu_2"]);
    let cadence = &t["definition"]["cadences"][0];
    assert_eq!(
        cadence["org_kinds"],
        serde_json::json!(["village", "community"])
    );
    assert_eq!(cadence["when"]["field"], "fangshi");
    assert_eq!(cadence["grace_days"], 5);

    // The edit page shows the ticks, the chosen kinds in words, and offers the fields.
    let (s, html) = app.page("/ledger-types/ruhuzoufang/edit", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("<summary>村党组织、社区党组织</summary>"),
        "{html}"
    );
    assert!(
        html.contains("name=\"c0_kind_village\" value=\"1\" checked"),
        "{html}"
    );
    assert!(!html.contains("name=\"c0_kind_township\" value=\"1\" checked"));
    assert!(
        html.contains("<summary>不限（全部类型）</summary>"),
        "the blank rows"
    );
    assert!(
        html.contains("<option value=\"fangshi\">方式</option>"),
        "{html}"
    );
}
