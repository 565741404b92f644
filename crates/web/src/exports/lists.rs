//! The sheets of the plain lists: their columns (Chinese headers, typed) and each row's cells.

use chrono::{DateTime, NaiveDateTime, Utc};
use std::collections::HashMap;
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

/// The names, codes and parents of the organisations an export covers, to name an
/// organisation by its path from the top of the caller's scope ("中共金乡县委员会/鸡黍镇党委/…"),
/// which two organisations of one name under different parents do not share.
#[derive(Default)]
pub(crate) struct OrgPaths {
    orgs: HashMap<i64, PathNode>,
    by_code: HashMap<String, i64>,
    /// The name of the parent above the scope's top, which the caller does not see.
    above_top: HashMap<i64, String>,
}

struct PathNode {
    name: String,
    code: Option<String>,
    parent: Option<i64>,
}

impl OrgPaths {
    pub(crate) fn add(&mut self, o: &Org, parent_name: Option<&str>) {
        let node = PathNode {
            name: o.name.clone(),
            code: o.code.clone(),
            parent: o.parent_id.map(|p| p.get()),
        };
        self.orgs.insert(o.id.get(), node);
        if let Some(code) = &o.code {
            self.by_code.insert(code.clone(), o.id.get());
        }
        if let Some(n) = parent_name {
            self.above_top.insert(o.id.get(), n.to_string());
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.orgs.len()
    }

    /// The organisation's path from the top of the scope down to itself; none for one the
    /// export does not cover.
    pub(crate) fn path(&self, id: i64) -> Option<String> {
        let mut path = Vec::new();
        let mut at = Some(id);
        // A tree has no cycles; the bound keeps a damaged one from looping.
        while let Some(id) = at.filter(|_| path.len() <= self.orgs.len()) {
            let Some(node) = self.orgs.get(&id) else {
                break;
            };
            path.push(node.name.as_str());
            at = node.parent;
        }
        path.reverse();
        (!path.is_empty()).then(|| path.join("/"))
    }

    /// The parent's path; for the top of the scope, the name of the parent it has outside the
    /// scope; none for the county's 县委.
    pub(crate) fn parent_path(&self, o: &Org) -> Option<String> {
        let parent = o.parent_id?.get();
        if self.orgs.contains_key(&parent) {
            self.path(parent)
        } else {
            self.above_top.get(&o.id.get()).cloned()
        }
    }

    /// The path of the organisation a stored reference names (its code, or `o{id}`).
    pub(crate) fn path_of_ref(&self, r: &str) -> Option<String> {
        let id = match r.strip_prefix('o').and_then(|n| n.parse().ok()) {
            Some(id) => id,
            None => *self.by_code.get(r)?,
        };
        self.path(id)
    }

    /// The organisation's official code, where it has one.
    pub(crate) fn code(&self, id: i64) -> Option<&str> {
        self.orgs.get(&id)?.code.as_deref()
    }
}

/// 组织编码 is the official code, empty where there is none (the `o…` reference is this
/// installation's own and would mean nothing to another).
pub(crate) fn org_row(o: &Org, parent: Option<&str>) -> Vec<Cell> {
    vec![
        Cell::text_opt(o.code.as_deref()),
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
            ("民族", Text),
            ("学历", Text),
            ("人员类别", Text),
            ("入党日期", Date),
            ("转正日期", Date),
        ],
    );
    s.whole = whole;
    s
}

fn yes_no(b: bool) -> Cell {
    text(if b { "是" } else { "否" })
}

/// 所在组织 is the organisation's path and 组织编码 its official code, so that the sheet
/// imports back into the same organisations (of an installation with other ids).
pub(crate) fn person_row(p: &Person, tree: &OrgPaths) -> Vec<Cell> {
    let org = p.org.id.get();
    let pr = &p.profile;
    vec![
        text(&p.name),
        Cell::text_opt(p.gender.map(|g| g.to_string())),
        text(&tree.path(org).unwrap_or_else(|| p.org.name.clone())),
        Cell::text_opt(tree.code(org)),
        Cell::text_opt(p.id_number.as_deref()),
        Cell::text_opt(p.phone.as_deref()),
        Cell::date_opt(p.birth_date),
        yes_no(p.party_member),
        yes_no(p.retired),
        Cell::text_opt(pr.ethnicity.map(|e| e.as_str())),
        Cell::text_opt(pr.education.map(|e| e.label_cn())),
        Cell::text_opt(pr.category.map(|c| c.label_cn())),
        Cell::date_opt(pr.joined_on),
        Cell::date_opt(pr.confirmed_on),
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
