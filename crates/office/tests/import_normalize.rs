//! Cells read into domain values, with the exact message of each refusal.

use chrono::NaiveDate;
use taizhang_domain::org::OrgKind;
use taizhang_domain::{Gender, IdNumber, Money};
use taizhang_office::import::normalize::{
    self, calendar_date, choice, date, decimal, fold_width, gender, id_number, integer,
    join_errors, money, multi_choice, org_kind, org_path, phone, CellError,
};
use taizhang_office::import::Cell;

fn t(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn today() -> NaiveDate {
    d(2026, 6, 1)
}

fn message<T: std::fmt::Debug>(r: Result<Option<T>, CellError>) -> String {
    r.expect_err("should be refused").message
}

fn code<T: std::fmt::Debug>(r: Result<Option<T>, CellError>) -> String {
    r.expect_err("should be refused").code
}

#[test]
fn dates_typed_as_text_serial_numbers_and_date_cells() {
    let may_day = Ok(Some(d(2024, 5, 1)));
    for cell in [
        t("2024.5.1"),
        t("2024年5月1日"),
        t("2024/05/01"),
        t("2024-5-1"),
        t("20240501"),
        t("２０２４．５．１"),
        t(" 2024-05-01 00:00:00 "),
        t("45413"),
        Cell::Number(45413.0),
        Cell::Number(45413.75),
        Cell::Date(d(2024, 5, 1)),
        Cell::DateTime(d(2024, 5, 1).and_hms_opt(9, 0, 0).unwrap()),
    ] {
        assert_eq!(date(&cell, "入党日期"), may_day, "{cell:?}");
    }
    assert_eq!(date(&Cell::Empty, "入党日期"), Ok(None));
    assert_eq!(date(&t("  "), "入党日期"), Ok(None));
    assert_eq!(
        message(date(&t("2024.2.30"), "入党日期")),
        "“入党日期”应为日期，如2024-05-01、2024.5.1、2024/5/1或2024年5月1日"
    );
    assert_eq!(code(date(&t("去年五月"), "入党日期")), "import.bad_date");
    assert_eq!(code(date(&Cell::Bool(true), "入党日期")), "import.bad_date");
    assert_eq!(
        code(date(&Cell::Number(-3.0), "入党日期")),
        "import.bad_date"
    );
    assert_eq!(
        message(date(&t("1945.5.1"), "入党日期")),
        "“入党日期”日期须在1949年10月1日至2100年12月31日之间（1945-05-01）"
    );
    // Outside the platform's window, a real day is still a day.
    assert_eq!(
        calendar_date(&t("1945.5.1"), "出生日期"),
        Ok(Some(d(1945, 5, 1)))
    );
    assert_eq!(normalize::excel_serial_date(1.0), Some(d(1900, 1, 1)));
    assert_eq!(normalize::excel_serial_date(61.0), Some(d(1900, 3, 1)));
    assert_eq!(normalize::excel_serial_date(f64::NAN), None);
}

/// A valid man's number (sequence 001).
fn man() -> IdNumber {
    IdNumber::from_parts("370828", d(1985, 7, 9), 1, today()).unwrap()
}

#[test]
fn id_numbers_are_checked_by_the_domain_and_numbers_stored_as_numbers_are_refused() {
    let id = man();
    let s = id.as_str().to_string();
    assert_eq!(id_number(&t(&s), "身份证号", today()), Ok(Some(id.clone())));
    let wide: String = s
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
        .collect();
    assert_eq!(
        id_number(&t(&wide), "身份证号", today()),
        Ok(Some(id.clone()))
    );
    assert_eq!(
        id_number(&t(&format!("'{s}")), "身份证号", today()),
        Ok(Some(id.clone()))
    );
    assert_eq!(
        id_number(&t("11010519491231002x"), "身份证号", today())
            .unwrap()
            .unwrap()
            .as_str(),
        "11010519491231002X"
    );
    assert_eq!(id_number(&Cell::Empty, "身份证号", today()), Ok(None));

    let as_number = id_number(
        &Cell::Number(3.708_281_985_070_9e17),
        "公民身份号码",
        today(),
    );
    assert_eq!(
        as_number,
        Err(CellError::new(
            "import.id_number_as_number",
            "“公民身份号码”被存成了数字（370828198507090000），身份证号15位以后的数字已经丢失、无法还原：请把该列设为“文本”格式，重新填写完整号码"
        ))
    );
    for sci in ["3.70828E+17", "3.70828e17", "３．７０８２８Ｅ＋１７"] {
        assert_eq!(
            message(id_number(&t(sci), "身份证号", today())),
            "“身份证号”被存成了数字（3.70828E+17），身份证号15位以后的数字已经丢失、无法还原：请把该列设为“文本”格式，重新填写完整号码"
                .replace("3.70828E+17", &fold_width(sci)),
            "{sci}"
        );
    }
    // The first 15 digits kept, the last 3 zeroed.
    let zeroed = format!("{}000", &s[..15]);
    assert_eq!(
        id_number(&t(&zeroed), "身份证号", today()),
        Err(CellError::new(
            "import.id_number_digits_lost",
            "“身份证号”末三位是000且校验位不对，像是被存成数字后丢失了末几位：请核对原号码，把该列设为“文本”格式后重新填写"
        ))
    );
    let mut wrong_check = s.clone();
    wrong_check.replace_range(17.., if s.ends_with('1') { "2" } else { "1" });
    assert_eq!(
        id_number(&t(&wrong_check), "身份证号", today()),
        Err(CellError::new(
            "id_number.check_digit",
            "“身份证号”有误：身份证号校验位不正确"
        ))
    );
    assert_eq!(
        code(id_number(&t("37082819850709"), "身份证号", today())),
        "id_number.length"
    );
    let born_later = IdNumber::from_parts("370828", d(2026, 7, 1), 1, d(2026, 7, 1)).unwrap();
    assert_eq!(
        code(id_number(&t(born_later.as_str()), "身份证号", today())),
        "id_number.birth_date"
    );
    assert_eq!(
        code(id_number(&Cell::Date(today()), "身份证号", today())),
        "id_number.length"
    );
}

#[test]
fn phones_are_read_through_the_domain() {
    let mobile = |c: Cell| phone(&c, "联系电话").map(|p| p.map(|p| p.as_str().to_string()));
    for c in [
        t("13800138000"),
        t("138 0013 8000"),
        t("138-0013-8000"),
        t("+86 13800138000"),
        t("１３８００１３８０００"),
        Cell::Number(13800138000.0),
    ] {
        assert_eq!(mobile(c.clone()), Ok(Some("13800138000".into())), "{c:?}");
    }
    assert_eq!(mobile(t("0537-8765432")), Ok(Some("0537-8765432".into())));
    assert_eq!(
        message(phone(&t("12345"), "联系电话")),
        "“联系电话”有误：手机号应为11位数字（以13–19开头），固定电话应为区号-号码，如0537-8765432"
    );
    assert_eq!(code(phone(&Cell::Bool(true), "联系电话")), "phone.invalid");
}

#[test]
fn numbers_and_money_are_read_exactly() {
    assert_eq!(integer(&Cell::Number(42.0), "人数"), Ok(Some(42)));
    assert_eq!(integer(&t("１，２３４"), "人数"), Ok(Some(1234)));
    assert_eq!(integer(&t("1,234,567"), "人数"), Ok(Some(1_234_567)));
    assert_eq!(integer(&t("-7"), "人数"), Ok(Some(-7)));
    assert_eq!(
        message(integer(&Cell::Number(4.5), "人数")),
        "“人数”应为整数"
    );
    assert_eq!(code(integer(&t("12,34"), "人数")), "field.not_integer");
    assert_eq!(code(integer(&t("三"), "人数")), "field.not_integer");
    assert_eq!(decimal(&t("12.5"), "面积", 2), Ok(Some(1250)));
    assert_eq!(decimal(&Cell::Number(0.1 + 0.2), "面积", 2), Ok(Some(30)));
    assert_eq!(decimal(&t("1,234.56"), "面积", 2), Ok(Some(123_456)));
    assert_eq!(
        message(decimal(&t("1.234"), "面积", 2)),
        "“面积”应为数字，最多2位小数"
    );
    assert_eq!(
        code(decimal(&Cell::Number(1.234), "面积", 2)),
        "field.not_decimal"
    );

    let fen = |c: Cell| money(&c, "金额").map(|m| m.map(Money::fen));
    for (c, want) in [
        (t("1,234.50"), 123_450),
        (t("1234.5元"), 123_450),
        (t("￥1,234.50"), 123_450),
        (t("¥ 12"), 1200),
        (t("１２３４．５ 元"), 123_450),
        (Cell::Number(1234.5), 123_450),
        (Cell::Number(0.1 + 0.2), 30),
        (t("-0.5"), -50),
    ] {
        assert_eq!(fen(c.clone()), Ok(Some(want)), "{c:?}");
    }
    assert_eq!(
        message(money(&t("12.345"), "金额")),
        "“金额”应为以元为单位的金额，最多两位小数，如1234.50或1,234.50元"
    );
    assert_eq!(code(money(&t("12.345"), "金额")), "money.too_many_decimals");
    assert_eq!(
        code(money(&Cell::Number(12.345), "金额")),
        "money.too_many_decimals"
    );
    assert_eq!(code(money(&t("1,23.5"), "金额")), "money.bad_format");
    assert_eq!(
        message(money(&t("5300万元"), "金额")),
        "“金额”请以元为单位填写，不用“万”：如5300万元应写作53000000"
    );
}

#[test]
fn options_are_matched_by_label() {
    let options: Vec<String> = ["支部党员大会", "党课", "ＡＢ类"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        choice(&t(" 党课 "), "会议类型", &options),
        Ok(Some("党课".into()))
    );
    assert_eq!(
        choice(&t("支部 党员大会"), "会议类型", &options),
        Ok(Some("支部党员大会".into()))
    );
    assert_eq!(
        choice(&t("AB类"), "会议类型", &options),
        Ok(Some("ＡＢ类".into()))
    );
    assert_eq!(
        message(choice(&t("党小组会"), "会议类型", &options)),
        "“会议类型”的“党小组会”不是可选项，应为以下之一：支部党员大会、党课、ＡＢ类"
    );
    assert_eq!(
        multi_choice(&t("党课、支部党员大会，党课"), "形式", &options),
        Ok(Some(vec!["党课".into(), "支部党员大会".into()]))
    );
    assert_eq!(
        code(multi_choice(&t("党课;其他"), "形式", &options)),
        "field.not_choice"
    );
    assert_eq!(gender(&t("女"), "性别"), Ok(Some(Gender::Female)));
    assert_eq!(gender(&t("男性"), "性别"), Ok(Some(Gender::Male)));
    assert_eq!(message(gender(&t("M"), "性别")), "“性别”应为“男”或“女”");
    assert_eq!(
        org_kind(&t("村党组织"), "组织类别"),
        Ok(Some(OrgKind::Village))
    );
    assert_eq!(
        org_kind(&t("村党支部"), "组织类别"),
        Ok(Some(OrgKind::Village))
    );
    assert_eq!(
        org_kind(&t("organ_branch"), "组织类别"),
        Ok(Some(OrgKind::OrganBranch))
    );
    assert!(message(org_kind(&t("党总支"), "组织类别"))
        .starts_with("“组织类别”的“党总支”不是组织类别，应为以下之一：县委、镇街党(工)委"));
}

#[test]
fn organisation_paths_split_at_each_separator() {
    let path = vec!["金乡县".to_string(), "鸡黍镇".into(), "西李村".into()];
    for s in [
        "金乡县/鸡黍镇/西李村",
        "金乡县／鸡黍镇／西李村",
        "金乡县 > 鸡黍镇 > 西李村",
        "金乡县＞鸡黍镇/西李村",
    ] {
        assert_eq!(org_path(&t(s), "所在路径"), Ok(Some(path.clone())), "{s}");
    }
    assert_eq!(
        message(org_path(&t("金乡县//西李村"), "所在路径")),
        "“所在路径”的路径“金乡县//西李村”中有空的一级，应写作“金乡县/鸡黍镇/西李村”"
    );
    let long = format!("金乡县/{}", "村".repeat(61));
    assert_eq!(code(org_path(&t(&long), "所在路径")), "too_long");
}

#[test]
fn a_rows_errors_are_joined_in_column_order() {
    let errors = vec![
        CellError::new("b", "“手机号码”有误").at(5),
        CellError::new("a", "“身份证号”有误").at(2),
        CellError::new("c", "性别与身份证号不一致"),
    ];
    assert_eq!(
        join_errors(&errors),
        "“身份证号”有误；“手机号码”有误；性别与身份证号不一致"
    );
    assert_eq!(join_errors(&[]), "");
}
