//! The sheets of the plain lists: their columns (Chinese headers, typed) and each row's cells.

use chrono::{DateTime, NaiveDateTime, Utc};
use taizhang_office::export::{Cell, Column, ColumnKind, Sheet};
use taizhang_store::{AuditEntry, Link, Org, OverdueItem, Person, Position};

use ColumnKind::{Date, DateTime as Moment, Integer, Text};

fn sheet(title: &str, columns: &[(&str, ColumnKind)]) -> Sheet {
    Sheet::new(
        title,
        columns.iter().map(|(h, k)| Column::new(*h, *k)).collect(),
    )
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

/// A moment in 北京时间 (UTC+8), as the pages show it.
pub(crate) fn beijing(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc() + chrono::Duration::hours(8)
}

pub(crate) fn orgs_sheet() -> Sheet {
    sheet(
        "组织",
        &[
            ("组织编码", Text),
            ("组织名称", Text),
            ("组织类型", Text),
            ("上级组织", Text),
            ("成立日期", Date),
            ("撤销日期", Date),
        ],
    )
}

pub(crate) fn org_row(o: &Org, parent: Option<&str>) -> Vec<Cell> {
    vec![
        text(&o.org_ref),
        text(&o.name),
        text(&o.kind_label),
        Cell::text_opt(parent),
        Cell::Date(o.established_on),
        Cell::date_opt(o.dissolved_on),
    ]
}

/// 身份证号 shown as 3708**********123X, phones as 138****5678, unless written whole.
pub(crate) fn people_sheet(whole: bool) -> Sheet {
    let mut s = sheet(
        "人员",
        &[
            ("姓名", Text),
            ("性别", Text),
            ("所在组织", Text),
            ("组织编码", Text),
            ("公民身份号码", ColumnKind::Masked { head: 4, tail: 4 }),
            ("联系电话", ColumnKind::Masked { head: 3, tail: 4 }),
            ("出生日期", Date),
            ("党员", Text),
            ("退休", Text),
        ],
    );
    s.whole = whole;
    s
}

fn yes_no(b: bool) -> Cell {
    text(if b { "是" } else { "否" })
}

pub(crate) fn person_row(p: &Person) -> Vec<Cell> {
    vec![
        text(&p.name),
        Cell::text_opt(p.gender.map(|g| g.to_string())),
        text(&p.org.name),
        text(&p.org.org_ref),
        Cell::text_opt(p.id_number.as_deref()),
        Cell::text_opt(p.phone.as_deref()),
        Cell::date_opt(p.birth_date),
        yes_no(p.party_member),
        yes_no(p.retired),
    ]
}

pub(crate) fn positions_sheet() -> Sheet {
    sheet(
        "职务",
        &[
            ("姓名", Text),
            ("组织", Text),
            ("组织编码", Text),
            ("职务", Text),
            ("任职日期", Date),
            ("离任日期", Date),
        ],
    )
}

pub(crate) fn position_row(p: &Position) -> Vec<Cell> {
    vec![
        text(&p.person.name),
        text(&p.org.name),
        text(&p.org.org_ref),
        text(&p.title_label),
        Cell::Date(p.valid_from),
        Cell::date_opt(p.valid_to),
    ]
}

pub(crate) fn links_sheet() -> Sheet {
    sheet(
        "结对联建",
        &[
            ("类型", Text),
            ("起始组织", Text),
            ("起始人员", Text),
            ("对象组织", Text),
            ("对象组织编码", Text),
            ("派出单位", Text),
            ("联盟角色", Text),
            ("说明", Text),
            ("开始日期", Date),
            ("结束日期", Date),
        ],
    )
}

pub(crate) fn link_row(l: &Link) -> Vec<Cell> {
    vec![
        text(&l.kind_label),
        Cell::text_opt(l.from_org.as_ref().map(|o| o.name.as_str())),
        Cell::text_opt(l.from_person.as_ref().map(|p| p.name.as_str())),
        text(&l.to_org.name),
        text(&l.to_org.org_ref),
        Cell::text_opt(l.via_org.as_ref().map(|o| o.name.as_str())),
        Cell::text_opt(l.role.map(|r| r.label_cn().to_string())),
        if l.note.is_empty() {
            Cell::Empty
        } else {
            text(&l.note)
        },
        Cell::Date(l.valid_from),
        Cell::date_opt(l.valid_to),
    ]
}

pub(crate) fn overdue_sheet() -> Sheet {
    sheet(
        "逾期提醒",
        &[
            ("组织", Text),
            ("组织编码", Text),
            ("台账类型", Text),
            ("要求", Text),
            ("周期", Text),
            ("截止日期", Date),
            ("状态", Text),
        ],
    )
}

pub(crate) fn overdue_row(i: &OverdueItem) -> Vec<Cell> {
    vec![
        text(&i.org.name),
        text(&i.org.org_ref),
        text(&i.ledger_type_name),
        text(&i.rule),
        text(&i.period_label),
        Cell::Date(i.due_on),
        text(i.status.label_cn()),
    ]
}

pub(crate) fn audit_sheet() -> Sheet {
    sheet(
        "审计日志",
        &[
            ("序号", Integer),
            ("时间（北京时间）", Moment),
            ("操作人", Text),
            ("操作", Text),
            ("对象类型", Text),
            ("对象", Text),
            ("变更前", Text),
            ("变更后", Text),
            ("哈希", Text),
        ],
    )
}

pub(crate) fn audit_row(e: &AuditEntry) -> Vec<Cell> {
    vec![
        Cell::Integer(e.seq.get()),
        Cell::DateTime(beijing(e.at)),
        text(&e.actor),
        text(&e.action),
        text(&e.entity),
        text(&e.entity_id),
        Cell::text_opt(e.before.as_ref().map(|v| v.to_string())),
        Cell::text_opt(e.after.as_ref().map(|v| v.to_string())),
        text(&e.hash),
    ]
}
