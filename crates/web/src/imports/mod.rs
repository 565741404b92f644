//! Imports of ledger records from .xlsx and .csv sheets: the upload (page and API) keeps the
//! file and enqueues an `import.run` job; the jobs worker runs it ([`run::run_import`]); the
//! import's page follows its counts and offers the rejected rows as a workbook to correct and
//! import again. `taizhang import` runs the same code without the worker.

mod api;
mod pages;
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
    }))
}

/// The download name of an import's rejected rows.
fn rejected_name(file_name: &str) -> String {
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(s, _)| s)
        .trim();
    format!("{stem}_错误行")
}
