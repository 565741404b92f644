//! Imports of organisations, people and ledger records from .xlsx and .csv sheets: the upload (page and API) keeps the
//! file and enqueues an `import.run` job; the jobs worker runs it ([`run::run_import`]); the
//! import's page follows its counts and offers the rejected rows as a workbook to correct and
//! import again. `taizhang import` runs the same code without the worker.

mod api;
mod orgs;
mod pages;
mod people;
mod resolve;
pub mod run;

pub(crate) use api::api_routes;
pub(crate) use pages::page_routes;

use serde_json::{json, Value};
use taizhang_store::jobs::Job;
use taizhang_store::Store;

/// The jobs worker's handler of `import.run`: runs the import the payload names. Running it
/// twice is harmless: a finished import is left as it is, and rows written by an interrupted
/// attempt are found by their keys.
pub async fn run_job(store: Store, job: Job) -> Result<Value, String> {
    let id = job
        .payload
        .get("import_id")
        .and_then(Value::as_i64)
        .ok_or("任务参数缺少 import_id")?;
    let done = run::run_import(&store, id, &|_, _| {}).await?;
    Ok(json!({
        "import_id": done.id,
        "state": done.state.key(),
        "rows": done.rows_read,
        "written": done.written,
        "rejected": done.rejected,
        "unchanged": done.unchanged,
        "updated": done.updated,
    }))
}

/// What an upload imports into: `target` is `orgs`, `people` or `ledger` (the default, with
/// `ledger_type` naming the type).
fn target_of(
    target: Option<&str>,
    ledger_type: Option<&str>,
) -> Result<taizhang_domain::import::ImportTarget, taizhang_store::StoreError> {
    use taizhang_domain::import::ImportTarget;
    let ledger_type = ledger_type.map(str::trim).filter(|t| !t.is_empty());
    // A key no ledger type can have (control characters, an overlong text) names none.
    if ledger_type.is_some_and(|t| t.chars().count() > 64 || t.chars().any(char::is_control)) {
        return Err(taizhang_store::StoreError::invalid(
            "ledger_type",
            "import.unknown_ledger_type",
            "没有这种台账类型",
        ));
    }
    match target.map(str::trim).filter(|t| !t.is_empty()) {
        Some("orgs") => Ok(ImportTarget::Orgs),
        Some("people") => Ok(ImportTarget::People),
        None | Some("ledger") => match ledger_type {
            Some(t) => Ok(ImportTarget::Ledger(t.to_string())),
            None => Err(taizhang_store::StoreError::invalid(
                "ledger_type",
                "import.no_ledger_type",
                "请选择台账类型",
            )),
        },
        Some(_) => Err(taizhang_store::StoreError::invalid(
            "target",
            "import.bad_target",
            "导入的目标应为 orgs（组织）、people（党员）或 ledger（台账）",
        )),
    }
}

/// The county's saved mapping `name` for `target`, as an import takes it; an unknown name is
/// the caller's error (422 `import.unknown_mapping`), not a missing page.
async fn saved_mapping(
    store: &Store,
    actor: &taizhang_store::Actor,
    target: &taizhang_domain::import::ImportTarget,
    name: Option<&str>,
) -> Result<Option<Value>, taizhang_store::StoreError> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    match store.import_mapping(actor, &target.key(), name).await {
        Ok(m) => Ok(Some(m.mapping)),
        Err(taizhang_store::StoreError::NotFound) => Err(taizhang_store::StoreError::invalid(
            "mapping",
            "import.unknown_mapping",
            format!("没有名为“{name}”的列对应关系（{}）", target.label_cn()),
        )),
        Err(e) => Err(e),
    }
}

/// The download name of an import's rejected rows.
fn rejected_name(file_name: &str) -> String {
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(s, _)| s)
        .trim();
    format!("{stem}_错误行")
}
