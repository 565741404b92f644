//! The links queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::orgs::{ensure_org_in_scope, resolve_org};
use super::*;
use crate::sqlbuild::Sql;
use crate::{org_ref, Actor, Link, NewLink, OrgName, PersonName, Pools, StoreError, StoreResult};
use chrono::{NaiveDate, Utc};
use serde_json::{json, Value};
use std::str::FromStr;
use taizhang_domain::org::{AllianceRole, LinkKind};
use taizhang_domain::{Action, LinkId, OrgId, PersonId, Scope};

// ---- cross-links -------------------------------------------------------------------------------

/// A link with the names of what it joins, in one row.
pub(crate) struct LinkRow {
    /// 1 when the caller may change the link (see [`link_writable_cond`]).
    writable: i32,
    id: i64,
    kind: String,
    from_org_id: Option<i64>,
    from_person_id: Option<i64>,
    to_org_id: i64,
    via_org_id: Option<i64>,
    role: Option<String>,
    note: String,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
    from_org_name: Option<String>,
    from_org_code: Option<String>,
    from_person_name: Option<String>,
    to_org_name: String,
    to_org_code: Option<String>,
    via_org_name: Option<String>,
    via_org_code: Option<String>,
}
from_row!(LinkRow {
    writable,
    id,
    kind,
    from_org_id,
    from_person_id,
    to_org_id,
    via_org_id,
    role,
    note,
    valid_from,
    valid_to,
    from_org_name,
    from_org_code,
    from_person_name,
    to_org_name,
    to_org_code,
    via_org_name,
    via_org_code
});

/// Every column of a link and the names it joins; `writable` is a SQL expression (see
/// [`link_writable_cond`]), `1` after a write the caller was allowed.
fn link_select(writable: &str) -> String {
    format!("SELECT {writable} AS writable, l.id, l.kind, l.from_org_id, l.from_person_id, l.to_org_id, l.via_org_id, l.role, l.note, l.valid_from, l.valid_to,
    fo.name AS from_org_name, fo.code AS from_org_code, fp.name AS from_person_name, t.name AS to_org_name, t.code AS to_org_code,
    vo.name AS via_org_name, vo.code AS via_org_code
    FROM org_links l JOIN orgs t ON t.id = l.to_org_id LEFT JOIN orgs fo ON fo.id = l.from_org_id
    LEFT JOIN people fp ON fp.id = l.from_person_id LEFT JOIN orgs vo ON vo.id = l.via_org_id")
}

pub(crate) async fn org_name(c: &mut Conn, id: i64) -> StoreResult<OrgName> {
    let (name, code): (String, Option<String>) =
        sqlx::query_as("SELECT name, code FROM orgs WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *c)
            .await?;
    let id = OrgId::new(id);
    Ok(OrgName {
        id,
        org_ref: org_ref(id, code.as_deref()),
        name,
    })
}

pub(crate) async fn person_name(c: &mut Conn, id: i64) -> StoreResult<PersonName> {
    let (name,): (String,) = sqlx::query_as("SELECT name FROM people WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *c)
        .await?;
    Ok(PersonName {
        id: PersonId::new(id),
        name,
    })
}

pub(crate) fn link_from(r: LinkRow) -> StoreResult<Link> {
    let kind = LinkKind::from_str(&r.kind).map_err(|e| StoreError::Internal(e.to_string()))?;
    let name = |id: Option<i64>, name: Option<String>, code: Option<String>| {
        id.map(OrgId::new).map(|id| OrgName {
            id,
            org_ref: org_ref(id, code.as_deref()),
            name: name.unwrap_or_default(),
        })
    };
    let role = r
        .role
        .as_deref()
        .map(AllianceRole::from_str)
        .transpose()
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    let to_org_id = OrgId::new(r.to_org_id);
    Ok(Link {
        id: LinkId::new(r.id),
        kind,
        kind_label: kind.label_cn().to_string(),
        from_org: name(r.from_org_id, r.from_org_name, r.from_org_code),
        from_person: r.from_person_id.map(|id| PersonName {
            id: PersonId::new(id),
            name: r.from_person_name.unwrap_or_default(),
        }),
        to_org: OrgName {
            id: to_org_id,
            org_ref: org_ref(to_org_id, r.to_org_code.as_deref()),
            name: r.to_org_name,
        },
        via_org: name(r.via_org_id, r.via_org_name, r.via_org_code),
        writable: r.writable == 1,
        role,
        note: r.note,
        valid_from: r.valid_from,
        valid_to: r.valid_to,
    })
}

pub(crate) fn link_json(l: &Link) -> Value {
    json!({"kind": l.kind.key(), "from_org": l.from_org.as_ref().map(|o| o.id), "from_person": l.from_person.as_ref().map(|x| x.id),
           "to_org": l.to_org.id, "via_org": l.via_org.as_ref().map(|o| o.id), "role": l.role, "valid_from": l.valid_from, "valid_to": l.valid_to})
}

/// `person` (a column or a placeholder) names a person wholly inside the scope on `day`: the
/// organisation they belong to, and every organisation where they hold a position that day.
fn person_covered_cond(q: &mut Sql, scope: &Scope, person: &str, day: &str) -> String {
    let home = scope_cond(q, scope, "cp.org_id");
    let held = scope_cond(q, scope, "cq.org_id");
    format!(
        "(EXISTS (SELECT 1 FROM people cp WHERE cp.id = {person} AND {home}) \
         AND NOT EXISTS (SELECT 1 FROM positions cq WHERE cq.person_id = {person} \
         AND cq.valid_from <= {day} AND (cq.valid_to IS NULL OR cq.valid_to >= {day}) AND NOT ({held})))"
    )
}

/// The link `l` may be changed by the scope: every end is inside it — the target, the source
/// organisation or person (see [`person_covered_cond`], on `day`) and the sending unit. Reading
/// needs only one end (see [`links`]); links reaching outside a subtree are the county's.
fn link_writable_cond(q: &mut Sql, scope: &Scope, day: NaiveDate) -> String {
    if scope.is_county() {
        return "1=1".to_string();
    }
    let to = scope_cond(q, scope, "l.to_org_id");
    let from = scope_cond(q, scope, "l.from_org_id");
    let via = scope_cond(q, scope, "l.via_org_id");
    let d = q.arg(day);
    let person = person_covered_cond(q, scope, "l.from_person_id", &d);
    format!(
        "({to} AND (l.from_org_id IS NULL OR {from}) AND (l.via_org_id IS NULL OR {via}) \
         AND (l.from_person_id IS NULL OR {person}))"
    )
}

/// Whether a person may be a link's source for the caller: wholly inside its scope on `day`.
async fn person_covered(c: &mut Conn, actor: &Actor, id: i64, day: NaiveDate) -> StoreResult<bool> {
    let mut q = Sql::new("SELECT p.id FROM people p WHERE p.id = ");
    let i = q.arg(id);
    let county = q.arg(actor.county_id);
    let d = q.arg(day);
    let covered = person_covered_cond(&mut q, &actor.scope, "p.id", &d);
    q.push(&format!("{i} AND p.county_id = {county} AND {covered}"));
    Ok(fetch_optional::<(i64,)>(c, &q).await?.is_some())
}

pub(crate) async fn create_link(p: &Pools<DB>, actor: &Actor, new: &NewLink) -> StoreResult<Link> {
    require(actor, Action::EditOrg)?;
    taizhang_domain::check_date_field("valid_from", new.valid_from)?;
    if let Some(to) = new.valid_to {
        taizhang_domain::check_date_field("valid_to", to)?;
    }
    let note = taizhang_domain::text::LINK_NOTE.check(new.note.as_deref().unwrap_or(""))?;
    if let Some(to) = new.valid_to {
        if to < new.valid_from {
            return Err(StoreError::invalid(
                "valid_to",
                "link.dates",
                "结束日期不能早于开始日期",
            ));
        }
    }
    let mut tx = p.write.begin().await?;
    // Both ends, the sending unit and the person must be in the caller's scope: links that reach
    // across subtrees (a county organ paired with a village) are made by the county. Out of
    // scope looks like missing: 404 for the target, a field error for the others.
    let to = resolve_org(&mut tx, actor, &new.to_org).await?;
    let from_org = match &new.from_org {
        Some(r) => Some(resolve_org(&mut tx, actor, r).await.map_err(|_| {
            StoreError::invalid(
                "from_org",
                "link.from_org",
                "起始组织不存在或不在您的管理范围内",
            )
        })?),
        None => None,
    };
    let via_org = match &new.via_org {
        Some(r) => Some(resolve_org(&mut tx, actor, r).await.map_err(|_| {
            StoreError::invalid(
                "via_org",
                "link.via_org",
                "派出单位不存在或不在您的管理范围内",
            )
        })?),
        None => None,
    };
    // A person counts by where they belong and every position they hold when the link starts:
    // a county cadre serving as a village's first secretary is not the township's to link.
    if let Some(pid) = new.from_person {
        if !person_covered(&mut tx, actor, pid.get(), new.valid_from).await? {
            return Err(StoreError::invalid(
                "from_person",
                "link.from_person",
                "人员不存在或不在您的管理范围内",
            ));
        }
    }
    match (
        new.kind.from_person(),
        new.from_person.is_some(),
        from_org.is_some(),
    ) {
        (true, true, false) | (false, false, true) => {}
        (true, _, _) => {
            return Err(StoreError::invalid(
                "from_person",
                "link.needs_person",
                format!("{}需要指定人员（且不指定起始组织）", new.kind.label_cn()),
            ))
        }
        (false, _, _) => {
            return Err(StoreError::invalid(
                "from_org",
                "link.needs_org",
                format!("{}需要指定起始组织（且不指定人员）", new.kind.label_cn()),
            ))
        }
    }
    if from_org == Some(to) {
        return Err(StoreError::invalid(
            "to_org",
            "link.self",
            "不能与自身建立关系",
        ));
    }
    let role = new.role.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if let Some(r) = role {
        if new.kind != LinkKind::AllianceMember || !matches!(r, "chair" | "member") {
            return Err(StoreError::invalid(
                "role",
                "link.role",
                "角色仅用于联盟成员，取值为 chair（轮值主席）或 member（成员）",
            ));
        }
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO org_links (county_id, kind, from_org_id, from_person_id, to_org_id, via_org_id, role, note, valid_from, valid_to, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(actor.county_id.get())
    .bind(new.kind.key())
    .bind(from_org)
    .bind(new.from_person.map(PersonId::get))
    .bind(to)
    .bind(via_org)
    .bind(role)
    .bind(&note)
    .bind(new.valid_from)
    .bind(new.valid_to)
    .bind(Utc::now())
    .fetch_one(&mut *tx)
    .await?;
    let row: LinkRow = sqlx::query_as(&format!("{} WHERE l.id = $1", link_select("1")))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let link = link_from(row)?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "create",
        "link",
        id,
        None,
        Some(link_json(&link)),
    )
    .await?;
    tx.commit().await?;
    Ok(link)
}

pub(crate) async fn end_link(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    on: NaiveDate,
) -> StoreResult<Link> {
    require(actor, Action::EditOrg)?;
    taizhang_domain::check_date_field("on", on)?;
    let mut tx = p.write.begin().await?;
    // A link the caller cannot see (no end in scope) is missing; one it sees but that reaches
    // outside its scope (a county organ's 派驻 or 包保 into the township) is refused with 403.
    let mut q = Sql::new("SELECT ");
    let visible = visible_cond(&mut q, &actor.scope);
    let writable = link_writable_cond(&mut q, &actor.scope, on);
    let i = q.arg(id);
    let county = q.arg(actor.county_id);
    q.push(&format!(
        "CASE WHEN {writable} THEN 1 ELSE 0 END, CASE WHEN {visible} THEN 1 ELSE 0 END \
         FROM org_links l WHERE l.id = {i} AND l.county_id = {county}"
    ));
    match fetch_optional::<(i32, i32)>(&mut tx, &q).await? {
        Some((1, _)) => {}
        Some((_, 1)) => return Err(StoreError::Forbidden),
        _ => return Err(StoreError::NotFound),
    }
    let row: LinkRow = sqlx::query_as(&format!("{} WHERE l.id = $1", link_select("1")))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if let Some(ended) = row.valid_to {
        return Err(StoreError::conflict(
            "link.already_ended",
            format!("该关系已于{ended}结束"),
        ));
    }
    if on < row.valid_from {
        return Err(StoreError::invalid(
            "on",
            "link.dates",
            "结束日期不能早于开始日期",
        ));
    }
    let before = link_from(row)?;
    sqlx::query("UPDATE org_links SET valid_to = $1 WHERE id = $2")
        .bind(on)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let row: LinkRow = sqlx::query_as(&format!("{} WHERE l.id = $1", link_select("1")))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let after = link_from(row)?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "end",
        "link",
        id,
        Some(link_json(&before)),
        Some(link_json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// The link `l` is visible to the scope: either end is in it.
fn visible_cond(q: &mut Sql, scope: &Scope) -> String {
    let to = scope_cond(q, scope, "l.to_org_id");
    let from = scope_cond(q, scope, "l.from_org_id");
    format!("({to} OR {from})")
}

pub(crate) async fn links(
    p: &Pools<DB>,
    actor: &Actor,
    org_id: Option<i64>,
    kind: Option<LinkKind>,
) -> StoreResult<Vec<Link>> {
    require(actor, Action::ReadOrg)?;
    let mut c = p.read.acquire().await?;
    let mut q = Sql::new("");
    let writable = link_writable_cond(&mut q, &actor.scope, crate::today());
    q.push(&link_select(&format!("CASE WHEN {writable} THEN 1 ELSE 0 END")));
    let county = q.arg(actor.county_id);
    q.push(&format!(" WHERE l.county_id = {county}"));
    if let Some(k) = kind {
        let k = q.arg(k.key());
        q.push(&format!(" AND l.kind = {k}"));
    }
    match org_id {
        Some(id) => {
            ensure_org_in_scope(&mut c, actor, id).await?;
            let a = q.arg(id);
            q.push(&format!(
                " AND (l.to_org_id = {a} OR l.from_org_id = {a} OR l.via_org_id = {a})"
            ));
        }
        None => {
            let visible = visible_cond(&mut q, &actor.scope);
            q.push(&format!(" AND {visible}"));
        }
    }
    q.push(" ORDER BY l.kind, l.valid_from DESC, l.id LIMIT 2000");
    fetch_all::<LinkRow>(&mut c, &q)
        .await?
        .into_iter()
        .map(link_from)
        .collect()
}
