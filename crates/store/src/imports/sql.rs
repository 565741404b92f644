// The imports table's queries, included once per backend (see backend/mod.rs). What they do is
// documented in `crate::imports`.

use super::*;
use crate::imports::{
    Import, ImportCounts, ImportMapping, ImportOutcome, ImportSource, NewImport, PersonRef,
};
use crate::jobs::NewJob;
use crate::sqlbuild::Sql;
use crate::{Actor, Pools, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::types::Json;
use taizhang_domain::import::{ImportMode, ImportState, ImportTarget, MAX_IMPORT_BYTES};
use taizhang_domain::jobs::JobKind;
use taizhang_domain::{Action, IdNumber, PersonId};

struct ImportRow {
    id: i64,
    county_id: i64,
    user_id: Option<i64>,
    username: String,
    target: String,
    mode: String,
    file_name: String,
    mapping: Option<Json<Value>>,
    state: String,
    rows_read: i64,
    accepted: i64,
    rejected: i64,
    unchanged: i64,
    written: i64,
    updated: i64,
    error: Option<String>,
    has_rejected_file: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

from_row!(ImportRow {
    id,
    county_id,
    user_id,
    username,
    target,
    mode,
    file_name,
    mapping,
    state,
    rows_read,
    accepted,
    rejected,
    unchanged,
    written,
    updated,
    error,
    has_rejected_file,
    created_at,
    updated_at,
    finished_at,
});

const COLUMNS: &str = "id, county_id, user_id, username, target, mode, file_name, mapping, state, rows_read, accepted, rejected, unchanged, written, updated, error, (rejected_file IS NOT NULL) AS has_rejected_file, created_at, updated_at, finished_at";

/// The longest file name kept, in characters.
const MAX_FILE_NAME: usize = 200;
/// The longest error kept, in characters.
const MAX_ERROR: usize = 2000;
/// The most names or numbers one lookup takes.
const MAX_LOOKUP: usize = 1000;

fn import_from(r: ImportRow) -> StoreResult<(Import, i64, Option<i64>, Option<Value>)> {
    let state: ImportState = r
        .state
        .parse()
        .map_err(|_| StoreError::Internal(format!("未知的导入状态 {}", r.state)))?;
    let mode: ImportMode = r
        .mode
        .parse()
        .map_err(|_| StoreError::Internal(format!("未知的导入方式 {}", r.mode)))?;
    let import = Import {
        id: r.id,
        target: r.target,
        mode,
        file_name: r.file_name,
        state,
        state_label: state.label_cn().to_string(),
        username: r.username,
        rows_read: r.rows_read,
        accepted: r.accepted,
        rejected: r.rejected,
        unchanged: r.unchanged,
        written: r.written,
        updated: r.updated,
        error: r.error,
        has_rejected_file: r.has_rejected_file,
        created_at: r.created_at,
        updated_at: r.updated_at,
        finished_at: r.finished_at,
    };
    Ok((import, r.county_id, r.user_id, r.mapping.map(|j| j.0)))
}

/// A file name as kept: its last path segment, without control characters, within the bound.
fn clean_file_name(name: &str) -> StoreResult<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    if clean.is_empty() {
        return Err(StoreError::invalid(
            "file",
            "import.no_file",
            "请选择要导入的文件",
        ));
    }
    Ok(clean.chars().take(MAX_FILE_NAME).collect())
}

/// Who may see an import: its uploader, or the system actor of its county.
fn mine(actor: &Actor) -> (String, bool) {
    (actor.username.clone(), actor.is_system())
}

pub(crate) async fn create_import(
    p: &Pools<DB>,
    actor: &Actor,
    new: &NewImport,
    now: DateTime<Utc>,
) -> StoreResult<Import> {
    require(actor, Action::RecordEntry)?;
    let file_name = clean_file_name(&new.file_name)?;
    if new.bytes.is_empty() {
        return Err(StoreError::invalid(
            "file",
            "import.empty_file",
            "文件是空的",
        ));
    }
    if new.bytes.len() > MAX_IMPORT_BYTES {
        return Err(StoreError::invalid(
            "file",
            "import.file_too_large",
            format!("文件超过{}MB，请分成几个文件导入", MAX_IMPORT_BYTES >> 20),
        ));
    }
    if let Some(m) = &new.mapping {
        if !m.is_object() || m.to_string().len() > 64 * 1024 {
            return Err(StoreError::invalid(
                "mapping",
                "import.bad_mapping",
                "列对应关系应为不超过64KB的 JSON 对象",
            ));
        }
    }
    match &new.target {
        // The type must exist in the county (and be readable to the actor).
        ImportTarget::Ledger(key) => {
            super::ledgers::ledger_type(p, actor, key).await?;
        }
        // Who may create organisations or people one at a time may import them.
        ImportTarget::Orgs => require(actor, Action::EditOrg)?,
        ImportTarget::People => require(actor, Action::EditPeople)?,
    }
    let now = crate::jobs::to_ms(now);
    let mut tx = begin_write(p).await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO imports (county_id, user_id, username, target, mode, file_name, file_bytes, mapping, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, $9) RETURNING id",
    )
    .bind(actor.county_id.get())
    .bind(actor.user_id.map(|u| u.get()))
    .bind(&actor.username)
    .bind(new.target.key())
    .bind(new.mode.key())
    .bind(&file_name)
    .bind(&new.bytes)
    .bind(new.mapping.clone().map(Json))
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    if new.enqueue {
        let job = NewJob::new(JobKind::Import, now)
            .payload(json!({ "import_id": id }))
            .dedupe(format!("import:{id}"));
        super::jobs::enqueue_in(&mut tx, &p.audit_key, actor, &job, now).await?;
    }
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "import.upload",
        "import",
        id,
        None,
        Some(json!({
            "target": new.target.key(),
            "mode": new.mode.key(),
            "file_name": file_name,
            "bytes": new.bytes.len(),
        })),
    )
    .await?;
    let import = load(&mut tx, actor.county_id.get(), id).await?.0;
    tx.commit().await?;
    Ok(import)
}

async fn load(
    c: &mut Conn,
    county_id: i64,
    id: i64,
) -> StoreResult<(Import, i64, Option<i64>, Option<Value>)> {
    let row: Option<ImportRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM imports WHERE county_id = $1 AND id = $2"
    ))
    .bind(county_id)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    import_from(row.ok_or(StoreError::NotFound)?)
}

/// The import, when the actor may see it; else not found (as if it did not exist).
async fn load_mine(c: &mut Conn, actor: &Actor, id: i64) -> StoreResult<Import> {
    let (import, _, _, _) = load(c, actor.county_id.get(), id).await?;
    let (name, system) = mine(actor);
    if system || import.username == name {
        Ok(import)
    } else {
        Err(StoreError::NotFound)
    }
}

pub(crate) async fn get(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<Import> {
    require(actor, Action::RecordEntry)?;
    let mut c = p.read.acquire().await?;
    load_mine(&mut c, actor, id).await
}

pub(crate) async fn list(p: &Pools<DB>, actor: &Actor, limit: i64) -> StoreResult<Vec<Import>> {
    require(actor, Action::RecordEntry)?;
    let mut c = p.read.acquire().await?;
    let rows: Vec<ImportRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM imports WHERE county_id = $1 AND username = $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(actor.county_id.get())
    .bind(&actor.username)
    .bind(limit.clamp(1, 200))
    .fetch_all(&mut *c)
    .await?;
    rows.into_iter()
        .map(|r| import_from(r).map(|x| x.0))
        .collect()
}

pub(crate) async fn rejected_file(p: &Pools<DB>, actor: &Actor, id: i64) -> StoreResult<Vec<u8>> {
    require(actor, Action::RecordEntry)?;
    let mut c = p.read.acquire().await?;
    load_mine(&mut c, actor, id).await?;
    let (file,): (Option<Vec<u8>>,) =
        sqlx::query_as("SELECT rejected_file FROM imports WHERE county_id = $1 AND id = $2")
            .bind(actor.county_id.get())
            .bind(id)
            .fetch_one(&mut *c)
            .await?;
    file.ok_or(StoreError::NotFound)
}

pub(crate) async fn source(p: &Pools<DB>, id: i64) -> StoreResult<ImportSource> {
    let mut c = p.read.acquire().await?;
    let row: Option<ImportRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM imports WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *c)
            .await?;
    let (import, county_id, user_id, mapping) = import_from(row.ok_or(StoreError::NotFound)?)?;
    let (bytes,): (Vec<u8>,) =
        sqlx::query_as("SELECT file_bytes FROM imports WHERE county_id = $1 AND id = $2")
            .bind(county_id)
            .bind(id)
            .fetch_one(&mut *c)
            .await?;
    Ok(ImportSource {
        import,
        county_id,
        user_id,
        bytes,
        mapping,
    })
}

pub(crate) async fn update(
    p: &Pools<DB>,
    id: i64,
    state: ImportState,
    n: ImportCounts,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = begin_write(p).await?;
    sqlx::query(
        "UPDATE imports SET state = $2, rows_read = $3, accepted = $4, rejected = $5, unchanged = $6, written = $7, updated = $8, updated_at = $9
         WHERE id = $1",
    )
    .bind(id)
    .bind(state.key())
    .bind(n.rows_read)
    .bind(n.accepted)
    .bind(n.rejected)
    .bind(n.unchanged)
    .bind(n.written)
    .bind(n.updated)
    .bind(crate::jobs::to_ms(now))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn finish(
    p: &Pools<DB>,
    actor: &Actor,
    id: i64,
    outcome: &ImportOutcome<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Import> {
    let (state, n, error, rejected_file) = (
        outcome.state,
        outcome.counts,
        outcome.error,
        outcome.rejected_file,
    );
    let now = crate::jobs::to_ms(now);
    let error: Option<String> = error.map(|e| e.chars().take(MAX_ERROR).collect());
    let mut tx = begin_write(p).await?;
    let changed = sqlx::query(
        "UPDATE imports SET state = $3, rows_read = $4, accepted = $5, rejected = $6, unchanged = $7, written = $8,
             updated = $9, error = $10, rejected_file = $11, updated_at = $12, finished_at = $12
         WHERE county_id = $1 AND id = $2",
    )
    .bind(actor.county_id.get())
    .bind(id)
    .bind(state.key())
    .bind(n.rows_read)
    .bind(n.accepted)
    .bind(n.rejected)
    .bind(n.unchanged)
    .bind(n.written)
    .bind(n.updated)
    .bind(error.as_deref())
    .bind(rejected_file)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "import.finish",
        "import",
        id,
        None,
        Some(json!({
            "state": state.key(),
            "rows": n.rows_read,
            "accepted": n.accepted,
            "rejected": n.rejected,
            "unchanged": n.unchanged,
            "written": n.written,
            "updated": n.updated,
            "error": error,
        })),
    )
    .await?;
    let import = load(&mut tx, actor.county_id.get(), id).await?.0;
    tx.commit().await?;
    Ok(import)
}

fn check_lookup(n: usize) -> StoreResult<()> {
    if n > MAX_LOOKUP {
        return Err(StoreError::invalid(
            "names",
            "import.lookup_too_long",
            format!("一次最多查找{MAX_LOOKUP}个"),
        ));
    }
    Ok(())
}

/// The people in the actor's scope whose `column` (`name` or `id_number_bidx`) is one of
/// `values`, each with that column's value.
async fn people_where(
    p: &Pools<DB>,
    actor: &Actor,
    column: &str,
    values: Vec<String>,
) -> StoreResult<Vec<(String, PersonRef)>> {
    require(actor, Action::ReadPeople)?;
    check_lookup(values.len())?;
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new("");
    let county = q.arg(actor.county_id);
    let s = super::people::person_scope_cond(&mut q, &actor.scope);
    let list: Vec<String> = values.into_iter().map(|v| q.arg(v)).collect();
    q.text = format!(
        "SELECT p.id, p.name, p.org_id, p.{column} FROM people p WHERE p.county_id = {county} AND {s} AND p.{column} IN ({}) ORDER BY p.id",
        list.join(", ")
    );
    let mut c = p.read.acquire().await?;
    let rows: Vec<(i64, String, i64, Option<String>)> = fetch_all(&mut c, &q).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, name, org_id, value)| {
            Some((
                value?,
                PersonRef {
                    id: PersonId::new(id),
                    name,
                    org_id,
                },
            ))
        })
        .collect())
}

pub(crate) async fn people_named(
    p: &Pools<DB>,
    actor: &Actor,
    names: &[String],
) -> StoreResult<Vec<PersonRef>> {
    let found = people_where(p, actor, "name", names.to_vec()).await?;
    Ok(found.into_iter().map(|(_, person)| person).collect())
}

pub(crate) async fn people_by_id_numbers(
    p: &Pools<DB>,
    actor: &Actor,
    numbers: &[IdNumber],
) -> StoreResult<Vec<(String, PersonRef)>> {
    // Found through the blind index; each answer carries the number as given.
    let mut by_index = std::collections::HashMap::new();
    for n in numbers {
        let b = p.field_key.blind_index("id_number", n.as_str());
        by_index.insert(b, n.as_str().to_string());
    }
    let indexes = by_index.keys().cloned().collect();
    let found = people_where(p, actor, "id_number_bidx", indexes).await?;
    Ok(found
        .into_iter()
        .filter_map(|(b, person)| Some((by_index.get(&b)?.clone(), person)))
        .collect())
}

// ---- saved column mappings ---------------------------------------------------------------------

/// The longest mapping name, in characters.
const MAX_MAPPING_NAME: usize = 40;

/// The name trimmed, if it can name a mapping: 1 to 40 characters, no control characters.
fn mapping_name(name: &str) -> Option<&str> {
    let name = name.trim();
    let fits = !name.is_empty()
        && name.chars().count() <= MAX_MAPPING_NAME
        && !name.chars().any(char::is_control);
    fits.then_some(name)
}

fn check_mapping(target: &str, name: &str, mapping: &Value) -> StoreResult<String> {
    if target.parse::<ImportTarget>().is_err() {
        return Err(StoreError::invalid(
            "target",
            "import.bad_target",
            "导入的目标应为 orgs（组织）、people（党员）或 ledger（台账）",
        ));
    }
    let Some(name) = mapping_name(name) else {
        return Err(StoreError::invalid(
            "name",
            "import.bad_mapping_name",
            format!("列对应关系的名称应为1到{MAX_MAPPING_NAME}个字，不含控制字符"),
        ));
    };
    let columns_ok = mapping
        .get("columns")
        .and_then(Value::as_object)
        .is_some_and(|c| c.values().all(Value::is_string));
    if !columns_ok || mapping.to_string().len() > 64 * 1024 {
        return Err(StoreError::invalid(
            "mapping",
            "import.bad_mapping",
            "列对应关系应为不超过64KB的 JSON 对象：{\"columns\": {\"表头\": \"字段\"}}",
        ));
    }
    Ok(name.to_string())
}

type MappingRow = (String, String, Json<Value>, String, DateTime<Utc>);

fn mapping_from((target, name, mapping, updated_by, updated_at): MappingRow) -> ImportMapping {
    ImportMapping {
        target,
        name,
        mapping: mapping.0,
        updated_by,
        updated_at,
    }
}

pub(crate) async fn save_mapping(
    p: &Pools<DB>,
    actor: &Actor,
    target: &str,
    name: &str,
    mapping: &Value,
) -> StoreResult<ImportMapping> {
    require(actor, Action::RecordEntry)?;
    let name = check_mapping(target, name, mapping)?;
    let now = now_ms();
    let mut tx = begin_write(p).await?;
    sqlx::query(
        "INSERT INTO import_mappings (county_id, target, name, mapping, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (county_id, target, name) DO UPDATE SET mapping = excluded.mapping, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(actor.county_id.get())
    .bind(target)
    .bind(&name)
    .bind(Json(mapping.clone()))
    .bind(&actor.username)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit_as(
        &mut tx,
        &p.audit_key,
        actor,
        "import.mapping",
        "import_mapping",
        format!("{target}/{name}"),
        None,
        Some(mapping.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(ImportMapping {
        target: target.to_string(),
        name,
        mapping: mapping.clone(),
        updated_by: actor.username.clone(),
        updated_at: now,
    })
}

pub(crate) async fn mappings(
    p: &Pools<DB>,
    actor: &Actor,
    target: Option<&str>,
) -> StoreResult<Vec<ImportMapping>> {
    require(actor, Action::RecordEntry)?;
    const SELECT: &str = "SELECT target, name, mapping, updated_by, updated_at FROM import_mappings WHERE county_id = $1";
    let rows: Vec<MappingRow> = match target {
        Some(t) => {
            sqlx::query_as(&format!("{SELECT} AND target = $2 ORDER BY name"))
                .bind(actor.county_id.get())
                .bind(t)
                .fetch_all(&p.read)
                .await?
        }
        None => {
            sqlx::query_as(&format!("{SELECT} ORDER BY target, name"))
                .bind(actor.county_id.get())
                .fetch_all(&p.read)
                .await?
        }
    };
    Ok(rows.into_iter().map(mapping_from).collect())
}

pub(crate) async fn mapping(
    p: &Pools<DB>,
    actor: &Actor,
    target: &str,
    name: &str,
) -> StoreResult<ImportMapping> {
    require(actor, Action::RecordEntry)?;
    // A name no mapping can have (a NUL, say, which PostgreSQL cannot even compare) is none.
    let Some(name) = mapping_name(name) else {
        return Err(StoreError::NotFound);
    };
    let row: Option<MappingRow> = sqlx::query_as(
        "SELECT target, name, mapping, updated_by, updated_at FROM import_mappings WHERE county_id = $1 AND target = $2 AND name = $3",
    )
    .bind(actor.county_id.get())
    .bind(target)
    .bind(name)
    .fetch_optional(&p.read)
    .await?;
    row.map(mapping_from).ok_or(StoreError::NotFound)
}
