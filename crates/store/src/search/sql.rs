//! The pickers' queries, compiled once per backend.

use super::orgs::{org_from, OrgRow};
use super::people::person_scope_cond;
use super::*;
use crate::search::{OrgPick, PersonPick, MAX_PICKS};
use crate::sqlbuild::Sql;
use crate::{org_ref, Actor, OrgName, Pools, StoreError, StoreResult};
use taizhang_domain::search::{search_key, Query};
use taizhang_domain::{Action, OrgId, PersonId};

/// How many names are keyed per statement when a migration fills the keys.
const FILL_BATCH: i64 = 2_000;

/// Gives every organisation and person without a search key the key of their name: once, when
/// the keys' migration runs over a database that already has names. Returns how many were keyed.
pub(crate) async fn fill_keys(c: &mut Conn) -> StoreResult<u64> {
    let mut n = 0;
    for table in ["orgs", "people"] {
        let mut after = 0i64;
        loop {
            let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
                "SELECT id, name FROM {table} WHERE id > $1 AND search_key = '' ORDER BY id LIMIT $2"
            ))
            .bind(after)
            .bind(FILL_BATCH)
            .fetch_all(&mut *c)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            let update = format!("UPDATE {table} SET search_key = $1 WHERE id = $2");
            for (id, name) in &rows {
                sqlx::query(&update)
                    .bind(search_key(name))
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
            }
            n += rows.len() as u64;
        }
    }
    Ok(n)
}

/// The condition a query puts on a table's name, key and code (`alias.name` …), or `None` for
/// an empty query, which matches nothing.
pub(crate) fn match_cond(q: &mut Sql, text: &str, alias: &str, code: bool) -> StoreResult<Option<String>> {
    taizhang_domain::text::SEARCH.check(text)?;
    Ok(match Query::parse(text) {
        Query::Empty => None,
        Query::Pinyin(p) => {
            let pat = q.arg(format!("%{p}%"));
            Some(format!("{alias}.search_key LIKE {pat}"))
        }
        Query::Text(t) => {
            let pat = q.arg(format!("%{}%", t.replace(['%', '_'], "")));
            if code {
                let exact = q.arg(t);
                Some(format!("({alias}.name LIKE {pat} OR {alias}.code = {exact})"))
            } else {
                Some(format!("{alias}.name LIKE {pat}"))
            }
        }
    })
}

/// Best first: the name or code exactly as typed, then names that start with it, then shorter
/// names (a 镇 before its villages' 党小组), then by id.
fn best_first(q: &mut Sql, text: &str, alias: &str) -> String {
    let t = text.trim();
    let exact = q.arg(t);
    let prefix = q.arg(format!("{}%", t.replace(['%', '_'], "")));
    let key_prefix = q.arg(format!("{}%", t.to_ascii_lowercase()));
    format!(
        "CASE WHEN {alias}.name = {exact} THEN 0 WHEN {alias}.name LIKE {prefix} OR {alias}.search_key LIKE {key_prefix} THEN 1 ELSE 2 END, LENGTH({alias}.name), {alias}.id"
    )
}

/// An organisation with its current parent's name, as a [`PickRow`].
const PICK_SELECT: &str = "SELECT o.id, o.kind, o.name, o.code, o.established_on, o.dissolved_on, e.parent_id, po.name AS parent_name FROM orgs o LEFT JOIN org_edges e ON e.child_id = o.id AND e.valid_to IS NULL LEFT JOIN orgs po ON po.id = e.parent_id";

pub(crate) struct PickRow {
    org: OrgRow,
    parent_name: Option<String>,
}
from_row!(PickRow { parent_name } with { org });

pub(crate) async fn pick_orgs(
    p: &Pools<DB>,
    actor: &Actor,
    text: &str,
    limit: i64,
) -> StoreResult<Vec<OrgPick>> {
    require(actor, Action::ReadOrg)?;
    let mut q = Sql::new(PICK_SELECT);
    let Some(m) = match_cond(&mut q, text, "o", true)? else {
        return Ok(Vec::new());
    };
    let county = q.arg(actor.county_id);
    let s = scope_cond(&mut q, &actor.scope, "o.id");
    let order = best_first(&mut q, text, "o");
    let lim = q.arg(limit.clamp(1, MAX_PICKS));
    q.push(&format!(
        " WHERE o.county_id = {county} AND {m} AND {s} ORDER BY o.dissolved_on IS NOT NULL, {order} LIMIT {lim}"
    ));
    let mut c = report_conn(p).await?;
    fetch_all::<PickRow>(&mut c, &q)
        .await?
        .into_iter()
        .map(|r| {
            Ok(OrgPick {
                org: org_from(r.org)?,
                parent_name: r.parent_name,
            })
        })
        .collect()
}

pub(crate) async fn pick_people(
    p: &Pools<DB>,
    actor: &Actor,
    text: &str,
    limit: i64,
) -> StoreResult<Vec<PersonPick>> {
    require(actor, Action::ReadPeople)?;
    let mut q = Sql::new("SELECT p.id, p.name, p.org_id, po.name AS org_name, po.code AS org_code FROM people p JOIN orgs po ON po.id = p.org_id");
    let Some(m) = match_cond(&mut q, text, "p", false)? else {
        return Ok(Vec::new());
    };
    let county = q.arg(actor.county_id);
    let s = person_scope_cond(&mut q, &actor.scope);
    let order = best_first(&mut q, text, "p");
    let lim = q.arg(limit.clamp(1, MAX_PICKS));
    q.push(&format!(
        " WHERE p.county_id = {county} AND {m} AND {s} ORDER BY {order} LIMIT {lim}"
    ));
    let mut c = report_conn(p).await?;
    let rows: Vec<(i64, String, i64, String, Option<String>)> = fetch_all(&mut c, &q).await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, org_id, org_name, org_code)| {
            let org_id = OrgId::new(org_id);
            PersonPick {
                id: PersonId::new(id),
                name,
                org: OrgName {
                    id: org_id,
                    org_ref: org_ref(org_id, org_code.as_deref()),
                    name: org_name,
                },
            }
        })
        .collect())
}

/// An organisation field's text that is not a code or `o{id}`: a name that exactly one
/// organisation in scope has (or one living one beside dissolved ones). Several → a field error
/// listing them to choose from; none → `NotFound`.
pub(crate) async fn org_by_name(c: &mut Conn, actor: &Actor, text: &str) -> StoreResult<i64> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > taizhang_domain::text::ORG_NAME.max {
        return Err(StoreError::NotFound);
    }
    let mut q = Sql::new(PICK_SELECT);
    let county = q.arg(actor.county_id);
    let name = q.arg(t);
    let s = scope_cond(&mut q, &actor.scope, "o.id");
    q.push(&format!(
        " WHERE o.county_id = {county} AND o.name = {name} AND {s} ORDER BY o.dissolved_on IS NOT NULL, o.id LIMIT 6"
    ));
    let rows = fetch_all::<PickRow>(c, &q).await?;
    let living = rows.iter().filter(|r| r.org.dissolved_on.is_none()).count();
    match (rows.len(), living) {
        (0, _) => Err(StoreError::NotFound),
        (1, _) | (_, 1) => Ok(rows[0].org.id),
        _ => {
            let list: Vec<String> = rows
                .iter()
                .take(5)
                .map(|r| {
                    let id = OrgId::new(r.org.id);
                    let under = r.parent_name.as_deref().unwrap_or("");
                    format!("{under}{}（{}）", r.org.name, org_ref(id, r.org.code.as_deref()))
                })
                .collect();
            Err(StoreError::invalid(
                "org",
                "org.ambiguous",
                format!("“{t}”对应多个组织：{}。请从列表中选择，或填写括号中的编码", list.join("、")),
            ))
        }
    }
}

/// The code or `o{id}` at the end of a picker's `名称（编码）` (full- or half-width brackets).
pub(crate) fn picked_ref(t: &str) -> Option<&str> {
    let inner = t
        .strip_suffix('）')
        .and_then(|s| s.rsplit_once('（'))
        .or_else(|| t.strip_suffix(')').and_then(|s| s.rsplit_once('(')))?
        .1
        .trim();
    inner.parse::<taizhang_domain::org::OrgRef>().ok().map(|_| inner)
}
