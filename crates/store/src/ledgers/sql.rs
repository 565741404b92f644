//! The ledgers queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::*;
use crate::audit::AuditKey;
use crate::{Actor, LedgerType, Pools, StoreError, StoreResult};
use chrono::Utc;
use serde_json::Value;
use sqlx::types::Json;
use taizhang_domain::ledger::LedgerTypeDef;
use taizhang_domain::Action;

// ---- ledger types ------------------------------------------------------------------------------

/// A ledger type with the definition of its current version.
pub(crate) struct TypeRow {
    id: i64,
    key: String,
    name: String,
    current_version: i64,
    definition: Json<LedgerTypeDef>,
}
from_row!(TypeRow {
    id,
    key,
    name,
    current_version,
    definition
});
pub(crate) const TYPE_SELECT: &str = "SELECT t.id, t.key, t.name, t.current_version, v.definition FROM ledger_types t JOIN ledger_type_versions v ON v.ledger_type_id = t.id AND v.version = t.current_version";

pub(crate) fn type_from(r: TypeRow) -> LedgerType {
    LedgerType {
        id: taizhang_domain::LedgerTypeId::new(r.id),
        key: r.key,
        name: r.name,
        version: r.current_version,
        definition: r.definition.0,
    }
}

pub(crate) async fn insert_ledger_type(
    c: &mut Conn,
    key: &AuditKey,
    actor: &Actor,
    def: &LedgerTypeDef,
) -> StoreResult<i64> {
    let (id,): (i64,) = sqlx::query_as("INSERT INTO ledger_types (county_id, key, name, current_version, created_at) VALUES ($1, $2, $3, 1, $4) RETURNING id")
        .bind(actor.county_id.get())
        .bind(&def.key)
        .bind(&def.name)
        .bind(Utc::now())
        .fetch_one(&mut *c)
        .await?;
    sqlx::query("INSERT INTO ledger_type_versions (county_id, ledger_type_id, version, definition, created_at) VALUES ($1, $2, 1, $3, $4)")
        .bind(actor.county_id.get())
        .bind(id)
        .bind(Json(def))
        .bind(Utc::now())
        .execute(&mut *c)
        .await?;
    audit_as(
        c,
        key,
        actor,
        "create",
        "ledger_type",
        &def.key,
        None,
        Some(serde_json::to_value(def).unwrap_or(Value::Null)),
    )
    .await?;
    Ok(id)
}

pub(crate) async fn ledger_types(p: &Pools<DB>, actor: &Actor) -> StoreResult<Vec<LedgerType>> {
    require(actor, Action::ReadRecords)?;
    let rows: Vec<TypeRow> = sqlx::query_as(&format!(
        "{TYPE_SELECT} WHERE t.county_id = $1 ORDER BY t.id"
    ))
    .bind(actor.county_id.get())
    .fetch_all(&p.read)
    .await?;
    Ok(rows.into_iter().map(type_from).collect())
}

pub(crate) async fn load_type(c: &mut Conn, county_id: i64, key: &str) -> StoreResult<LedgerType> {
    let row: Option<TypeRow> = sqlx::query_as(&format!(
        "{TYPE_SELECT} WHERE t.county_id = $1 AND t.key = $2"
    ))
    .bind(county_id)
    .bind(key)
    .fetch_optional(&mut *c)
    .await?;
    row.map(type_from).ok_or(StoreError::NotFound)
}

pub(crate) async fn ledger_type(
    p: &Pools<DB>,
    actor: &Actor,
    key: &str,
) -> StoreResult<LedgerType> {
    require(actor, Action::ReadRecords)?;
    let mut c = p.read.acquire().await?;
    load_type(&mut c, actor.county_id.get(), key).await
}

pub(crate) async fn create_ledger_type(
    p: &Pools<DB>,
    actor: &Actor,
    def: &LedgerTypeDef,
) -> StoreResult<LedgerType> {
    require(actor, Action::ManageLedgerTypes)?;
    def.validate().map_err(StoreError::Invalid)?;
    let mut tx = p.write.begin().await?;
    let taken: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM ledger_types WHERE county_id = $1 AND key = $2")
            .bind(actor.county_id.get())
            .bind(&def.key)
            .fetch_optional(&mut *tx)
            .await?;
    if taken.is_some() {
        return Err(StoreError::conflict(
            "ledger_type.exists",
            format!("类型标识“{}”已存在", def.key),
        ));
    }
    insert_ledger_type(&mut tx, &p.audit_key, actor, def).await?;
    let t = load_type(&mut tx, actor.county_id.get(), &def.key).await?;
    tx.commit().await?;
    Ok(t)
}

pub(crate) async fn update_ledger_type(
    p: &Pools<DB>,
    actor: &Actor,
    def: &LedgerTypeDef,
) -> StoreResult<LedgerType> {
    require(actor, Action::ManageLedgerTypes)?;
    def.validate().map_err(StoreError::Invalid)?;
    let mut tx = p.write.begin().await?;
    let current = load_type(&mut tx, actor.county_id.get(), &def.key).await?;
    current
        .definition
        .check_evolution(def)
        .map_err(StoreError::Invalid)?;
    if &current.definition == def {
        return Ok(current);
    }
    let version = current.version + 1;
    sqlx::query("INSERT INTO ledger_type_versions (county_id, ledger_type_id, version, definition, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(actor.county_id.get())
        .bind(current.id.get())
        .bind(version)
        .bind(Json(def))
        .bind(Utc::now())
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE ledger_types SET current_version = $1, name = $2 WHERE id = $3")
        .bind(version)
        .bind(&def.name)
        .bind(current.id.get())
        .execute(&mut *tx)
        .await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "update",
        "ledger_type",
        &def.key,
        serde_json::to_value(&current.definition).ok(),
        serde_json::to_value(def).ok(),
    )
    .await?;
    let t = load_type(&mut tx, actor.county_id.get(), &def.key).await?;
    tx.commit().await?;
    Ok(t)
}
