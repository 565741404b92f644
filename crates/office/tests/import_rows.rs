//! Data rows read into members, organisations and ledger records, with every cell's problem on
//! its column.

use chrono::NaiveDate;
use serde_json::json;
use taizhang_domain::org::OrgKind;
use taizhang_domain::person::{Education, Ethnicity, MemberCategory, PartyProfile};
use taizhang_domain::{IdNumber, Phone};
use taizhang_office::import::header::{match_header, Target};
use taizhang_office::import::normalize::{join_errors, CellError};
use taizhang_office::import::rows::{ledger_row, member_row, org_row, MemberRow, OrgRow};
use taizhang_office::import::{Cell, Row};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn today() -> NaiveDate {
    d(2026, 6, 1)
}

fn row(number: u32, cells: Vec<Cell>) -> Row {
    Row { number, cells }
}

fn texts(number: u32, cells: &[&str]) -> Row {
    row(
        number,
        cells
            .iter()
            .map(|c| {
                if c.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(c.to_string())
                }
            })
            .collect(),
    )
}

const MEMBER_HEADERS: &[&str] = &[
    "姓名",
    "性别",
    "公民身份号码",
    "民族",
    "出生日期",
    "学历",
    "人员类别",
    "入党日期",
    "转正日期",
    "所在党支部",
    "联系电话",
];

fn man() -> IdNumber {
    IdNumber::from_parts("370828", d(1985, 7, 9), 1, today()).unwrap()
}

#[test]
fn a_member_row_is_read_into_checked_particulars() {
    let header = match_header(&Target::members(), &texts(1, MEMBER_HEADERS), None).unwrap();
    let id = man();
    let r = texts(
        2,
        &[
            " 张三 ",
            "",
            id.as_str(),
            "汉族",
            "1985.7.9",
            "大学本科",
            "正式党员",
            "2008年7月1日",
            "2009/7/1",
            "西李村党支部",
            "138 0013 8000",
        ],
    );
    assert_eq!(
        member_row(&header, &r, today()),
        Ok(MemberRow {
            name: "张三".into(),
            gender: Some("男".into()),
            id_number: Some(id),
            phone: Some(Phone::parse("13800138000").unwrap()),
            branch: "西李村党支部".into(),
            birth_date: Some(d(1985, 7, 9)),
            profile: PartyProfile {
                ethnicity: Ethnicity::parse("汉族"),
                education: Some(Education::Bachelor),
                category: Some(MemberCategory::Full),
                joined_on: Some(d(2008, 7, 1)),
                confirmed_on: Some(d(2009, 7, 1)),
            },
            party_member: None,
            retired: None,
        })
    );
}

#[test]
fn a_member_rows_yes_no_columns_are_read_or_refused() {
    let headers = ["姓名", "所在组织", "是否党员", "退休"];
    let header = match_header(&Target::members(), &texts(1, &headers), None).unwrap();
    let read = |cells: &[&str]| member_row(&header, &texts(2, cells), today());
    let row = read(&["张三", "西李村党支部", "否", "是"]).unwrap();
    assert_eq!((row.party_member, row.retired), (Some(false), Some(true)));
    let row = read(&["张三", "西李村党支部", "Ｙ", ""]).unwrap();
    assert_eq!((row.party_member, row.retired), (Some(true), None));
    let errors = read(&["张三", "西李村党支部", "也许", "是"]).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].code, "import.bad_yes_no");
    assert_eq!(errors[0].message, "“是否党员”应为“是”或“否”");
    assert_eq!(errors[0].column, Some(2));
}

#[test]
fn a_member_rows_profile_is_read_as_the_national_system_writes_it_or_refused_on_its_column() {
    let header = match_header(&Target::members(), &texts(1, MEMBER_HEADERS), None).unwrap();
    let id = man();
    let row = |ethnic: &str, school: &str, category: &str, joined: &str, confirmed: &str| {
        let cells = [
            "张三",
            "男",
            id.as_str(),
            ethnic,
            "",
            school,
            category,
            joined,
            confirmed,
            "西李村党支部",
            "",
        ];
        member_row(&header, &texts(2, &cells), today())
    };
    let read = row("回", "大专", "预备", "2025.7.1", "").unwrap().profile;
    assert_eq!(read.ethnicity.map(|e| e.as_str()), Some("回族"));
    assert_eq!(read.education, Some(Education::College));
    assert_eq!(read.category, Some(MemberCategory::Probationary));
    assert_eq!(read.joined_on, Some(d(2025, 7, 1)));
    assert_eq!(read.confirmed_on, None);
    let errors = row("火星族", "幼儿园", "预备党员", "2001.7.1", "2026.5.1").unwrap_err();
    let codes: Vec<(Option<usize>, &str)> =
        errors.iter().map(|e| (e.column, e.code.as_str())).collect();
    assert_eq!(
        codes,
        vec![
            (Some(3), "profile.bad_ethnicity"),
            (Some(5), "profile.bad_education"),
            (Some(7), "profile.joined_under_18"),
            (Some(8), "profile.probationary_confirmed"),
        ]
    );
    assert_eq!(
        errors[2].message,
        "入党时未满十八周岁（出生日期1985-07-09）"
    );
    let errors = row("", "", "", "2027.1.1", "").unwrap_err();
    assert_eq!(errors[0].message, "“入党日期”不能晚于今天");
}

#[test]
fn a_member_rows_problems_are_each_reported_on_their_column() {
    let header = match_header(&Target::members(), &texts(1, MEMBER_HEADERS), None).unwrap();
    let id = man();
    let mismatched = texts(
        3,
        &[
            "李四",
            "女",
            id.as_str(),
            "",
            "1985-07-10",
            "",
            "",
            "2009.7.1",
            "2008.7.1",
            "",
            "12345",
        ],
    );
    let errors = member_row(&header, &mismatched, today()).unwrap_err();
    let codes: Vec<(Option<usize>, &str)> =
        errors.iter().map(|e| (e.column, e.code.as_str())).collect();
    assert_eq!(
        codes,
        vec![
            (Some(10), "phone.invalid"),
            (Some(1), "person.gender_mismatch"),
            (Some(4), "import.birth_date_mismatch"),
            (Some(8), "profile.confirmed_before_joined"),
            (Some(9), "field.required"),
        ]
    );
    assert_eq!(
        join_errors(&errors),
        "性别与身份证号不一致；“出生日期”与身份证号中的出生日期（1985-07-09）不一致；“转正日期”早于“入党日期”；请填写“所在党支部”；“联系电话”有误：手机号应为11位数字（以13–19开头），固定电话应为区号-号码，如0537-8765432"
    );
    let mut as_number = texts(4, &["王五", "", "", "", "", "", "", "", "", "西李村党支部"]);
    as_number.cells[2] = Cell::Number(3.708_281_985_070_9e17);
    assert_eq!(
        member_row(&header, &as_number, today()),
        Err(vec![CellError::new(
            "import.id_number_as_number",
            "“公民身份号码”被存成了数字（370828198507090000），身份证号15位以后的数字已经丢失、无法还原：请把该列设为“文本”格式，重新填写完整号码"
        )
        .at(2)])
    );
    let nameless = texts(5, &["", "", "", "", "", "", "", "", "", "西李村党支部"]);
    assert_eq!(
        member_row(&header, &nameless, today()),
        Err(vec![CellError::new("person.bad_name", "请填写“姓名”").at(0)])
    );
}

#[test]
fn an_organisation_row_is_read_with_its_path_kind_code_and_date() {
    let headers = ["组织名称", "组织编码", "所在路径", "组织类别", "成立日期"];
    let header = match_header(&Target::organisations(), &texts(1, &headers), None).unwrap();
    let good = texts(
        2,
        &[
            "西李村党支部",
            "370828101201",
            "金乡县／鸡黍镇",
            "村党支部",
            "1998.3.1",
        ],
    );
    assert_eq!(
        org_row(&header, &good),
        Ok(OrgRow {
            name: "西李村党支部".into(),
            code: Some("370828101201".into()),
            parent: None,
            path: Some(vec!["金乡县".into(), "鸡黍镇".into()]),
            kind: Some(OrgKind::Village),
            founded_on: Some(d(1998, 3, 1)),
        })
    );
    let bad = texts(3, &["", "3708", "金乡县//鸡黍镇", "党总支", "1930.1.1"]);
    let errors = org_row(&header, &bad).unwrap_err();
    let codes: Vec<(Option<usize>, &str)> =
        errors.iter().map(|e| (e.column, e.code.as_str())).collect();
    assert_eq!(
        codes,
        vec![
            (Some(0), "field.required"),
            (Some(1), "import.bad_org_code"),
            (Some(2), "import.bad_path"),
            (Some(3), "import.bad_org_kind"),
            (Some(4), "date_out_of_range"),
        ]
    );
    assert_eq!(errors[0].message, "请填写“组织名称”");
    assert_eq!(
        errors[1].message,
        "“组织编码”应为6、9或12位数字的区划代码，或18位统一社会信用代码"
    );
}

fn training() -> taizhang_domain::ledger::LedgerTypeDef {
    taizhang_domain::builtin::builtin_types()
        .into_iter()
        .find(|t| t.key == "training")
        .unwrap()
}

#[test]
fn a_ledger_row_is_read_by_the_types_fields_and_checked_by_its_rules() {
    let def = training();
    let headers = [
        "所在党支部",
        "活动日期",
        "培训主题",
        "形式",
        "期数",
        "培训人次",
        "授课人",
    ];
    let header = match_header(&Target::ledger(&def), &texts(1, &headers), None).unwrap();
    let mut good = texts(
        2,
        &[
            "370828101201",
            "2024年5月1日",
            "学习党章",
            "集中学习",
            "",
            "1,200",
            "王老师",
        ],
    );
    good.cells[4] = Cell::Number(3.0);
    let read = ledger_row(&def, &header, &good).unwrap();
    assert_eq!(read.org, "370828101201");
    assert_eq!(read.occurred_on, d(2024, 5, 1));
    assert_eq!(
        serde_json::Value::Object(read.values.clone()),
        json!({"title": "学习党章", "form": "集中学习", "sessions": 3, "attendance": 1200, "lecturer": "王老师"})
    );
    assert!(read.references.is_empty());
    assert!(def.validate_record(&read.values).is_ok());

    let bad = texts(3, &["", "2024.13.1", "", "讲座", "0", "很多", ""]);
    let errors = ledger_row(&def, &header, &bad).unwrap_err();
    let got: Vec<(Option<usize>, &str, &str)> = errors
        .iter()
        .map(|e| (e.column, e.code.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some(0), "field.required", "请填写“所在党支部”"),
            (Some(1), "import.bad_date", "“活动日期”应为日期，如2024-05-01、2024.5.1、2024/5/1或2024年5月1日"),
            (Some(3), "field.not_choice", "“形式”的“讲座”不是可选项，应为以下之一：第一议题、专题报告会、月末党课、集中学习、培训班"),
            (Some(5), "field.not_integer", "“培训人次”应为整数"),
            (Some(2), "field.required", "请填写“培训主题”"),
            (Some(4), "field.below_min", "“期数”不能小于1"),
        ]
    );
}

#[test]
fn people_named_in_a_ledger_row_are_left_for_looking_up() {
    let def = taizhang_domain::builtin::builtin_types()
        .into_iter()
        .find(|t| t.key == "three_meetings")
        .unwrap();
    let headers = [
        "组织",
        "日期",
        "会议类型",
        "主题",
        "参会人员",
        "实到人数",
        "照片/附件",
    ];
    let header = match_header(&Target::ledger(&def), &texts(1, &headers), None).unwrap();
    let r = texts(
        2,
        &[
            "鸡黍镇/西李村",
            "2024-05-01",
            "党课",
            "学习",
            "张三、李四，王五",
            "3",
            "",
        ],
    );
    let read = ledger_row(&def, &header, &r).unwrap();
    assert_eq!(
        read.references,
        vec![(
            "attendees".to_string(),
            vec!["张三".to_string(), "李四".into(), "王五".into()]
        )]
    );
    assert_eq!(read.org, "鸡黍镇/西李村");
    let photo = texts(
        3,
        &["西李村", "2024-05-01", "党课", "学习", "", "3", "a.jpg"],
    );
    let errors = ledger_row(&def, &header, &photo).unwrap_err();
    assert_eq!(
        join_errors(&errors),
        "“照片/附件”是附件，不能从表格导入：请清空该列，导入后在页面上传"
    );
}
