//! The counties queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::ledgers::insert_ledger_type;
use super::orgs::insert_org_row;
use super::*;
use crate::{Actor, County, Pools, StoreError, StoreResult};
use chrono::NaiveDate;
use serde_json::json;
use taizhang_domain::org::{validate_name, OrgKind};
use taizhang_domain::{CountyId, OrgId};

// ---- counties ----------------------------------------------------------------------------------

/// A county as stored.
pub(crate) struct CountyRow {
    id: i64,
    code: String,
    name: String,
    root_org_id: Option<i64>,
}
from_row!(CountyRow {
    id,
    code,
    name,
    root_org_id
});

pub(crate) fn county_from(r: CountyRow) -> County {
    County {
        id: CountyId::new(r.id),
        code: r.code,
        name: r.name,
        root_org_id: OrgId::new(r.root_org_id.unwrap_or(0)),
    }
}

pub(crate) async fn create_county(
    p: &Pools<DB>,
    code: &str,
    name: &str,
    established_on: NaiveDate,
) -> StoreResult<County> {
    if !taizhang_domain::org::is_valid_code(code) {
        return Err(StoreError::invalid(
            "code",
            "county.bad_code",
            "县级行政区划代码应为6位数字",
        ));
    }
    let name = validate_name(name, "county.bad_name")?;
    taizhang_domain::check_date_field("established_on", established_on)?;
    let mut tx = p.write.begin().await?;
    let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM counties WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Err(StoreError::conflict(
            "county.exists",
            format!("行政区划代码{code}已存在"),
        ));
    }
    let (county_id,): (i64,) =
        sqlx::query_as("INSERT INTO counties (code, name) VALUES ($1, $2) RETURNING id")
            .bind(code)
            .bind(&name)
            .fetch_one(&mut *tx)
            .await?;
    let root = insert_org_row(
        &mut tx,
        county_id,
        OrgKind::County,
        &name,
        Some(code),
        established_on,
    )
    .await?;
    sqlx::query("INSERT INTO org_closure (county_id, ancestor_id, descendant_id, depth, valid_from) VALUES ($1, $2, $2, 0, $3)")
        .bind(county_id)
        .bind(root)
        .bind(established_on)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE counties SET root_org_id = $1 WHERE id = $2")
        .bind(root)
        .bind(county_id)
        .execute(&mut *tx)
        .await?;
    let system = Actor::system(CountyId::new(county_id), "setup");
    audit_as(
        &mut tx,
        &p.audit_key,
        &system,
        "create",
        "county",
        county_id,
        None,
        Some(json!({"code": code, "name": name})),
    )
    .await?;
    for def in taizhang_domain::builtin::builtin_types() {
        insert_ledger_type(&mut tx, &p.audit_key, &system, &def).await?;
    }
    tx.commit().await?;
    Ok(County {
        id: CountyId::new(county_id),
        code: code.to_string(),
        name,
        root_org_id: OrgId::new(root),
    })
}

pub(crate) async fn county_by_code(p: &Pools<DB>, code: &str) -> StoreResult<County> {
    let r: Option<CountyRow> =
        sqlx::query_as("SELECT id, code, name, root_org_id FROM counties WHERE code = $1")
            .bind(code)
            .fetch_optional(&p.read)
            .await?;
    r.map(county_from).ok_or(StoreError::NotFound)
}

pub(crate) async fn counties(p: &Pools<DB>) -> StoreResult<Vec<County>> {
    let rows: Vec<CountyRow> =
        sqlx::query_as("SELECT id, code, name, root_org_id FROM counties ORDER BY id")
            .fetch_all(&p.read)
            .await?;
    Ok(rows.into_iter().map(county_from).collect())
}
