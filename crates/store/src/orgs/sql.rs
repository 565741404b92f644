//! The orgs queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::*;
use crate::sqlbuild::Sql;
use crate::{org_ref, Actor, NewOrg, Org, OrgEdge, Pools, StoreError, StoreResult};
use chrono::{NaiveDate, Utc};
use serde_json::{json, Value};
use std::str::FromStr;
use std::collections::HashSet;
use taizhang_domain::org::{validate_name, OrgKind, OrgRef};
use taizhang_domain::search::search_key;
use taizhang_domain::{Action, OrgId, Scope};

// ---- organisations -----------------------------------------------------------------------------

/// An organisation as stored, with its current parent.
pub(crate) struct OrgRow {
    pub(crate) id: i64,
    kind: String,
    pub(crate) name: String,
    pub(crate) code: Option<String>,
    established_on: NaiveDate,
    pub(crate) dissolved_on: Option<NaiveDate>,
    parent_id: Option<i64>,
}
from_row!(OrgRow {
    id,
    kind,
    name,
    code,
    established_on,
    dissolved_on,
    parent_id
});
pub(crate) const ORG_SELECT: &str = "SELECT o.id, o.kind, o.name, o.code, o.established_on, o.dissolved_on, e.parent_id FROM orgs o LEFT JOIN org_edges e ON e.child_id = o.id AND e.valid_to IS NULL";

pub(crate) fn org_from(r: OrgRow) -> StoreResult<Org> {
    let kind = OrgKind::from_str(&r.kind).map_err(|e| StoreError::Internal(e.to_string()))?;
    let id = OrgId::new(r.id);
    Ok(Org {
        id,
        org_ref: org_ref(id, r.code.as_deref()),
        kind,
        kind_label: kind.label_cn().to_string(),
        name: r.name,
        code: r.code,
        established_on: r.established_on,
        dissolved_on: r.dissolved_on,
        parent_id: r.parent_id.map(OrgId::new),
    })
}

pub(crate) async fn insert_org_row(
    c: &mut Conn,
    county_id: i64,
    kind: OrgKind,
    name: &str,
    code: Option<&str>,
    established: NaiveDate,
) -> StoreResult<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO orgs (county_id, kind, name, code, established_on, created_at, search_key) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(county_id)
    .bind(kind.key())
    .bind(name)
    .bind(code)
    .bind(established)
    .bind(Utc::now())
    .bind(search_key(name))
    .fetch_one(&mut *c)
    .await?;
    Ok(id)
}

pub(crate) async fn org_in_scope(c: &mut Conn, scope: &Scope, org_id: i64) -> StoreResult<bool> {
    let mut q = Sql::new("SELECT o.id FROM orgs o WHERE o.id = ");
    let id = q.arg(org_id);
    let county = q.arg(scope.county_id);
    let cond = scope_probe(&mut q, scope, "o.id");
    q.push(&format!("{id} AND o.county_id = {county} AND {cond}"));
    Ok(fetch_optional::<(i64,)>(c, &q).await?.is_some())
}

/// Out of scope and missing look the same to the caller: NotFound.
pub(crate) async fn ensure_org_in_scope(
    c: &mut Conn,
    actor: &Actor,
    org_id: i64,
) -> StoreResult<()> {
    if org_in_scope(c, &actor.scope, org_id).await? {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

pub(crate) async fn load_org(c: &mut Conn, actor: &Actor, id: i64) -> StoreResult<Org> {
    ensure_org_in_scope(c, actor, id).await?;
    let r: OrgRow = sqlx::query_as(&format!("{ORG_SELECT} WHERE o.id = $1"))
        .bind(id)
        .fetch_one(&mut *c)
        .await?;
    org_from(r)
}

/// Resolves a code or `o{id}` within the actor's county and scope; also a picker's
/// `名称（编码）`, and a name that one organisation in scope has (`search::org_by_name`).
pub(crate) async fn resolve_org(c: &mut Conn, actor: &Actor, r: &str) -> StoreResult<i64> {
    // No name or code holds a control character, and PostgreSQL refuses NUL in text.
    if r.chars().any(char::is_control) {
        return Err(StoreError::NotFound);
    }
    let r = super::search::picked_ref(r).unwrap_or(r);
    let Ok(parsed) = r.parse::<OrgRef>() else {
        return super::search::org_by_name(c, actor, r).await;
    };
    let id = match parsed {
        OrgRef::Id(id) => id.get(),
        OrgRef::Code(code) => {
            let found: Option<(i64,)> =
                sqlx::query_as("SELECT id FROM orgs WHERE county_id = $1 AND code = $2")
                    .bind(actor.county_id.get())
                    .bind(&code)
                    .fetch_optional(&mut *c)
                    .await?;
            found.ok_or(StoreError::NotFound)?.0
        }
    };
    ensure_org_in_scope(c, actor, id).await?;
    Ok(id)
}

pub(crate) async fn org_by_ref(p: &Pools<DB>, actor: &Actor, r: &str) -> StoreResult<Org> {
    require(actor, Action::ReadOrg)?;
    let mut c = p.read.acquire().await?;
    let id = resolve_org(&mut c, actor, r).await?;
    load_org(&mut c, actor, id).await
}

pub(crate) async fn org_by_id(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<Org> {
    require(actor, Action::ReadOrg)?;
    let mut c = p.read.acquire().await?;
    load_org(&mut c, actor, id).await
}

pub(crate) async fn children(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    include_dissolved: bool,
) -> StoreResult<Vec<Org>> {
    require(actor, Action::ReadOrg)?;
    let mut c = report_conn(p).await?;
    ensure_org_in_scope(&mut c, actor, id).await?;
    let dissolved = if include_dissolved {
        ""
    } else {
        " AND o.dissolved_on IS NULL"
    };
    let rows: Vec<OrgRow> = sqlx::query_as(&format!(
        "{ORG_SELECT} WHERE e.parent_id = $1{dissolved} ORDER BY o.kind, o.code, o.id"
    ))
    .bind(id)
    .fetch_all(&mut *c)
    .await?;
    rows.into_iter().map(org_from).collect()
}

pub(crate) async fn ancestors(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<Vec<Org>> {
    require(actor, Action::ReadOrg)?;
    let mut c = p.read.acquire().await?;
    ensure_org_in_scope(&mut c, actor, id).await?;
    let mut q = Sql::new("SELECT o.id, o.kind, o.name, o.code, o.established_on, o.dissolved_on, e.parent_id FROM org_closure a JOIN orgs o ON o.id = a.ancestor_id LEFT JOIN org_edges e ON e.child_id = o.id AND e.valid_to IS NULL WHERE a.valid_to IS NULL AND a.descendant_id = ");
    let d = q.arg(id);
    let s = scope_cond(&mut q, &actor.scope, "o.id");
    q.push(&format!("{d} AND {s} ORDER BY a.depth DESC"));
    fetch_all::<OrgRow>(&mut c, &q)
        .await?
        .into_iter()
        .map(org_from)
        .collect()
}

pub(crate) async fn org_history(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
) -> StoreResult<Vec<OrgEdge>> {
    require(actor, Action::ReadOrg)?;
    let mut c = p.read.acquire().await?;
    ensure_org_in_scope(&mut c, actor, id).await?;
    let rows: Vec<(i64, String, NaiveDate, Option<NaiveDate>)> = sqlx::query_as(
        "SELECT e.parent_id, o.name, e.valid_from, e.valid_to FROM org_edges e JOIN orgs o ON o.id = e.parent_id WHERE e.child_id = $1 ORDER BY e.valid_from, e.id",
    )
    .bind(id)
    .fetch_all(&mut *c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OrgEdge {
            parent_id: OrgId::new(r.0),
            parent_name: r.1,
            valid_from: r.2,
            valid_to: r.3,
        })
        .collect())
}

pub(crate) async fn scope_roots(p: &Pools<DB>, actor: &Actor) -> StoreResult<Vec<Org>> {
    let mut c = report_conn(p).await?;
    let ids: Vec<i64> = match actor.scope.roots() {
        Some(r) => r.iter().map(|id| id.get()).collect(),
        None => {
            let (root,): (i64,) = sqlx::query_as("SELECT root_org_id FROM counties WHERE id = $1")
                .bind(actor.county_id.get())
                .fetch_one(&mut *c)
                .await?;
            vec![root]
        }
    };
    let mut out = Vec::new();
    for id in ids {
        let r: Option<OrgRow> = sqlx::query_as(&format!("{ORG_SELECT} WHERE o.id = $1"))
            .bind(id)
            .fetch_optional(&mut *c)
            .await?;
        if let Some(r) = r {
            out.push(org_from(r)?);
        }
    }
    Ok(out)
}

pub(crate) async fn search_orgs(
    p: &Pools<DB>,
    actor: &Actor,
    text: &str,
    limit: i64,
) -> StoreResult<Vec<Org>> {
    require(actor, Action::ReadOrg)?;
    taizhang_domain::text::SEARCH.check(text)?;
    let mut q = Sql::new(ORG_SELECT);
    let county = q.arg(actor.county_id);
    let pat = q.arg(format!("%{}%", text.trim().replace(['%', '_'], "")));
    let code = q.arg(text.trim());
    let s = scope_cond(&mut q, &actor.scope, "o.id");
    let lim = q.arg(limit.clamp(1, 200));
    q.push(&format!(" WHERE o.county_id = {county} AND (o.name LIKE {pat} OR o.code = {code}) AND {s} ORDER BY o.dissolved_on IS NOT NULL, o.id LIMIT {lim}"));
    let mut c = report_conn(p).await?;
    fetch_all::<OrgRow>(&mut c, &q)
        .await?
        .into_iter()
        .map(org_from)
        .collect()
}

/// Organisations of the caller's scope (today's tree, dissolved ones included) with ids above
/// `after`, by id, `limit` at a time, each with its current parent's name: the export's pages.
pub(crate) async fn orgs_after(
    p: &Pools<DB>,
    actor: &Actor,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<(Org, Option<String>)>> {
    require(actor, Action::ReadOrg)?;
    let mut q = Sql::new(ORG_SELECT);
    let county = q.arg(actor.county_id);
    let s = scope_cond(&mut q, &actor.scope, "o.id");
    let a = q.arg(after);
    let lim = q.arg(limit.clamp(1, 5000));
    q.push(&format!(
        " WHERE o.county_id = {county} AND {s} AND o.id > {a} ORDER BY o.id LIMIT {lim}"
    ));
    let mut c = report_conn(p).await?;
    let orgs = fetch_all::<OrgRow>(&mut c, &q)
        .await?
        .into_iter()
        .map(org_from)
        .collect::<StoreResult<Vec<Org>>>()?;
    let mut parents: Vec<i64> = orgs.iter().filter_map(|o| o.parent_id.map(OrgId::get)).collect();
    parents.sort_unstable();
    parents.dedup();
    let mut names = std::collections::HashMap::new();
    for chunk in parents.chunks(500) {
        let mut q = Sql::new("SELECT id, name FROM orgs WHERE id IN (");
        let l = q.list(chunk);
        q.push(&format!("{l})"));
        names.extend(fetch_all::<(i64, String)>(&mut c, &q).await?);
    }
    Ok(orgs
        .into_iter()
        .map(|o| {
            let parent = o.parent_id.and_then(|id| names.get(&id.get()).cloned());
            (o, parent)
        })
        .collect())
}

pub(crate) fn org_json(o: &Org) -> Value {
    json!({"id": o.id, "kind": o.kind.key(), "name": o.name, "code": o.code, "parent_id": o.parent_id,
           "established_on": o.established_on, "dissolved_on": o.dissolved_on})
}

pub(crate) fn check_code(code: Option<&str>) -> StoreResult<Option<String>> {
    taizhang_domain::text::ORG_CODE.check(code.unwrap_or(""))?;
    match code.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) if taizhang_domain::org::is_valid_code(c) => Ok(Some(c.to_string())),
        Some(_) => Err(StoreError::invalid(
            "code",
            "org.bad_code",
            "组织编码应为行政区划代码（6、9或12位数字）或18位统一社会信用代码",
        )),
    }
}

/// A new organisation's own values, checked: what `create_org` and `bulk_orgs` check before they
/// look at the database.
pub(crate) struct CheckedOrg {
    pub(crate) kind: OrgKind,
    pub(crate) name: String,
    pub(crate) code: Option<String>,
    pub(crate) established: NaiveDate,
}

/// The checks of a new organisation that need no database: name, code, kind and date.
pub(crate) fn check_new_org(new: &NewOrg) -> StoreResult<CheckedOrg> {
    let name = validate_name(&new.name, "org.bad_name")?;
    let code = check_code(new.code.as_deref())?;
    if new.kind == OrgKind::County {
        return Err(StoreError::invalid(
            "kind",
            "org.bad_kind",
            "县委只能在创建县时建立",
        ));
    }
    let established = taizhang_domain::check_date_field(
        "established_on",
        new.established_on.unwrap_or_else(crate::today),
    )?;
    Ok(CheckedOrg {
        kind: new.kind,
        name,
        code,
        established,
    })
}

/// The checks of placing `new` under `parent_id` that read the database: the parent in the
/// actor's scope, not dissolved and of a kind that may hold the new one; the code unused in the
/// county.
pub(crate) async fn check_placement(
    c: &mut Conn,
    actor: &Actor,
    parent_id: i64,
    new: &CheckedOrg,
) -> StoreResult<Org> {
    let parent = load_org(c, actor, parent_id).await?;
    if parent.dissolved_on.is_some() {
        return Err(StoreError::conflict(
            "org.parent_dissolved",
            format!("上级组织“{}”已撤销", parent.name),
        ));
    }
    check_kind_under(parent.kind, &parent.name, new.kind)?;
    if let Some(code) = &new.code {
        let used: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM orgs WHERE county_id = $1 AND code = $2")
                .bind(actor.county_id.get())
                .bind(code)
                .fetch_optional(&mut *c)
                .await?;
        if used.is_some() {
            return Err(StoreError::conflict(
                "org.code_in_use",
                format!("组织编码{code}已被使用"),
            ));
        }
    }
    Ok(parent)
}

/// Whether an organisation of kind `child` may go under the parent (of kind `parent`, named
/// `parent_name` in the message).
pub(crate) fn check_kind_under(parent: OrgKind, parent_name: &str, child: OrgKind) -> StoreResult<()> {
    if parent.may_hold(child) {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "kind",
            "org.kind_not_allowed",
            format!(
                "“{parent_name}”（{}）下不能设立{}",
                parent.label_cn(),
                child.label_cn()
            ),
        ))
    }
}

/// Writes a checked organisation under its parent (`check_placement` passed in the same
/// transaction): the row, the edge and closure rows, and the audit entry `create`.
pub(crate) async fn insert_checked_org(
    c: &mut Conn,
    audit_key: &crate::audit::AuditKey,
    actor: &Actor,
    parent_id: i64,
    new: &CheckedOrg,
) -> StoreResult<Org> {
    let id = insert_org_row(
        c,
        actor.county_id.get(),
        new.kind,
        &new.name,
        new.code.as_deref(),
        new.established,
    )
    .await?;
    attach(c, actor.county_id.get(), id, parent_id, new.established).await?;
    let org = load_org_unscoped(c, id).await?;
    audit_as(c, audit_key, actor, "create", "org", id, None, Some(org_json(&org))).await?;
    Ok(org)
}

pub(crate) async fn create_org(
    p: &Pools<DB>,
    actor: &Actor,
    parent_ref: &str,
    new: &NewOrg,
) -> StoreResult<Org> {
    require(actor, Action::EditOrg)?;
    let checked = check_new_org(new)?;
    let mut tx = p.write.begin().await?;
    let parent_id = resolve_org(&mut tx, actor, parent_ref).await?;
    check_placement(&mut tx, actor, parent_id, &checked).await?;
    let org = insert_checked_org(&mut tx, &p.audit_key, actor, parent_id, &checked).await?;
    tx.commit().await?;
    Ok(org)
}

pub(crate) async fn load_org_unscoped(c: &mut Conn, id: i64) -> StoreResult<Org> {
    let r: OrgRow = sqlx::query_as(&format!("{ORG_SELECT} WHERE o.id = $1"))
        .bind(id)
        .fetch_one(&mut *c)
        .await?;
    org_from(r)
}

/// Puts `child` (with its current subtree) under `parent` from `on`: a new edge and the closure
/// rows from each new ancestor to each node of the subtree.
pub(crate) async fn attach(
    c: &mut Conn,
    county_id: i64,
    child: i64,
    parent: i64,
    on: NaiveDate,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO org_edges (county_id, child_id, parent_id, valid_from) VALUES ($1, $2, $3, $4)")
        .bind(county_id)
        .bind(child)
        .bind(parent)
        .bind(on)
        .execute(&mut *c)
        .await?;
    let subtree: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT descendant_id, depth FROM org_closure WHERE ancestor_id = $1 AND valid_to IS NULL",
    )
    .bind(child)
    .fetch_all(&mut *c)
    .await?;
    let subtree = if subtree.is_empty() {
        sqlx::query("INSERT INTO org_closure (county_id, ancestor_id, descendant_id, depth, valid_from) VALUES ($1, $2, $2, 0, $3)")
            .bind(county_id)
            .bind(child)
            .bind(on)
            .execute(&mut *c)
            .await?;
        vec![(child, 0)]
    } else {
        subtree
    };
    let uppers: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT ancestor_id, depth FROM org_closure WHERE descendant_id = $1 AND valid_to IS NULL",
    )
    .bind(parent)
    .fetch_all(&mut *c)
    .await?;
    for (a, da) in &uppers {
        for (d, dd) in &subtree {
            sqlx::query("INSERT INTO org_closure (county_id, ancestor_id, descendant_id, depth, valid_from) VALUES ($1, $2, $3, $4, $5)")
                .bind(county_id)
                .bind(*a)
                .bind(*d)
                .bind(da + 1 + dd)
                .bind(on)
                .execute(&mut *c)
                .await?;
        }
    }
    Ok(())
}

pub(crate) async fn rename_org(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    name: &str,
) -> StoreResult<Org> {
    require(actor, Action::EditOrg)?;
    let name = validate_name(name, "org.bad_name")?;
    let mut tx = p.write.begin().await?;
    let before = load_org(&mut tx, actor, id).await?;
    sqlx::query("UPDATE orgs SET name = $1, search_key = $2 WHERE id = $3")
        .bind(&name)
        .bind(search_key(&name))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let after = load_org_unscoped(&mut tx, id).await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "rename",
        "org",
        id,
        Some(org_json(&before)),
        Some(org_json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn move_org(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    new_parent_ref: &str,
    on: NaiveDate,
) -> StoreResult<Org> {
    require(actor, Action::EditOrg)?;
    taizhang_domain::check_date_field("on", on)?;
    let mut tx = p.write.begin().await?;
    let before = load_org(&mut tx, actor, id).await?;
    let new_parent = resolve_org(&mut tx, actor, new_parent_ref).await?;
    let parent = load_org(&mut tx, actor, new_parent).await?;
    if before.kind == OrgKind::County || before.parent_id.is_none() {
        return Err(StoreError::conflict(
            "org.root_move",
            "县委是根节点，不能调整隶属",
        ));
    }
    if before.dissolved_on.is_some() || parent.dissolved_on.is_some() {
        return Err(StoreError::conflict(
            "org.dissolved",
            "已撤销的组织不能调整隶属",
        ));
    }
    if before.parent_id == Some(OrgId::new(new_parent)) {
        return Err(StoreError::conflict(
            "org.same_parent",
            format!("“{}”已隶属于“{}”", before.name, parent.name),
        ));
    }
    let inside: Option<(i64,)> = sqlx::query_as("SELECT descendant_id FROM org_closure WHERE ancestor_id = $1 AND descendant_id = $2 AND valid_to IS NULL")
        .bind(id)
        .bind(new_parent)
        .fetch_optional(&mut *tx)
        .await?;
    if inside.is_some() {
        return Err(StoreError::conflict(
            "org.cycle",
            format!(
                "不能把“{}”调整到它自己的下级“{}”之下",
                before.name, parent.name
            ),
        ));
    }
    let (since,): (NaiveDate,) =
        sqlx::query_as("SELECT valid_from FROM org_edges WHERE child_id = $1 AND valid_to IS NULL")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    if on <= since {
        return Err(StoreError::invalid(
            "on",
            "org.move_date",
            format!("调整日期应晚于现隶属关系的开始日期{since}"),
        ));
    }
    // Close the rows from the old ancestors to every node of the subtree; the subtree's own
    // rows stay.
    let subtree: Vec<(i64,)> = sqlx::query_as(
        "SELECT descendant_id FROM org_closure WHERE ancestor_id = $1 AND valid_to IS NULL",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    let uppers: Vec<(i64,)> = sqlx::query_as("SELECT ancestor_id FROM org_closure WHERE descendant_id = $1 AND depth > 0 AND valid_to IS NULL")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    for (a,) in &uppers {
        for (d,) in &subtree {
            sqlx::query("UPDATE org_closure SET valid_to = $1 WHERE ancestor_id = $2 AND descendant_id = $3 AND valid_to IS NULL")
                .bind(on)
                .bind(*a)
                .bind(*d)
                .execute(&mut *tx)
                .await?;
        }
    }
    sqlx::query("UPDATE org_edges SET valid_to = $1 WHERE child_id = $2 AND valid_to IS NULL")
        .bind(on)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let new_uppers: Vec<(i64,)> = sqlx::query_as(
        "SELECT ancestor_id FROM org_closure WHERE descendant_id = $1 AND valid_to IS NULL",
    )
    .bind(new_parent)
    .fetch_all(&mut *tx)
    .await?;
    attach(&mut tx, actor.county_id.get(), id, new_parent, on).await?;
    // The ancestors the subtree left or joined count other records from `on`: their subtree
    // rollups are recomputed; the ancestors it kept are not touched.
    let old: HashSet<i64> = uppers.iter().map(|r| r.0).collect();
    let new: HashSet<i64> = new_uppers.iter().map(|r| r.0).collect();
    let changed: Vec<i64> = old.symmetric_difference(&new).copied().collect();
    let subtree: Vec<i64> = subtree.iter().map(|r| r.0).collect();
    super::rollups::tree_moved(&mut tx, actor.county_id.get(), &subtree, &changed, on).await?;
    let after = load_org_unscoped(&mut tx, id).await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "move",
        "org",
        id,
        Some(org_json(&before)),
        Some(json!({"parent_id": new_parent, "on": on})),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn dissolve_org(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    on: NaiveDate,
) -> StoreResult<Org> {
    require(actor, Action::EditOrg)?;
    taizhang_domain::check_date_field("on", on)?;
    let mut tx = p.write.begin().await?;
    let before = load_org(&mut tx, actor, id).await?;
    if before.parent_id.is_none() {
        return Err(StoreError::conflict(
            "org.root_dissolve",
            "县委是根节点，不能撤销",
        ));
    }
    if before.dissolved_on.is_some() {
        return Err(StoreError::conflict(
            "org.already_dissolved",
            format!(
                "“{}”已于{}撤销",
                before.name,
                before.dissolved_on.unwrap_or(on)
            ),
        ));
    }
    if on < before.established_on {
        return Err(StoreError::invalid(
            "on",
            "org.dissolve_date",
            "撤销日期不能早于成立日期",
        ));
    }
    let (active_children,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM org_edges e JOIN orgs o ON o.id = e.child_id WHERE e.parent_id = $1 AND e.valid_to IS NULL AND o.dissolved_on IS NULL",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if active_children > 0 {
        return Err(StoreError::conflict(
            "org.has_children",
            format!(
                "“{}”还有{active_children}个下级组织，请先调整或撤销下级组织",
                before.name
            ),
        ));
    }
    // The node keeps its place in the tree's history: its records still count where they belonged.
    sqlx::query("UPDATE orgs SET dissolved_on = $1 WHERE id = $2")
        .bind(on)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let after = load_org_unscoped(&mut tx, id).await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "dissolve",
        "org",
        id,
        Some(org_json(&before)),
        Some(org_json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
