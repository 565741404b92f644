//! Imports (导入): an uploaded sheet kept with what it goes into and how far its job has got.
//!
//! - [`Store::create_import`] keeps the file and, in the same transaction, enqueues the
//!   `import.run` job that reads it (audited `import.upload`). The command line creates one
//!   without a job and runs it at once.
//! - The job (the web layer's import runner) reads the sheet in batches, checks each batch with
//!   `sort_records` and writes with `write_records`, reporting its counts with
//!   [`Store::update_import`] and the outcome with [`Store::finish_import`] (audited
//!   `import.finish`, with the counts).
//! - An import is seen by the account that uploaded it (and by the command line's system actor
//!   of its county); to anyone else it does not exist.
//!
//! The rows themselves are not kept: the sheet is read again on each attempt, and the records'
//! import keys make a second attempt write only what the first did not.

use crate::{Actor, Store, StoreResult};
use chrono::{DateTime, Utc};
use serde::Serialize;
use taizhang_domain::import::{ImportMode, ImportState, ImportTarget};
use taizhang_domain::PersonId;
use utoipa::ToSchema;

/// An import as its page shows it (without the file).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Import {
    pub id: i64,
    /// `ledger:<type key>`, `orgs` or `people`.
    pub target: String,
    pub mode: ImportMode,
    pub file_name: String,
    pub state: ImportState,
    pub state_label: String,
    pub username: String,
    /// Data rows read and checked so far.
    pub rows_read: i64,
    /// Rows that passed their checks (written, or to be written).
    pub accepted: i64,
    pub rejected: i64,
    /// Rows already written by an earlier import (or repeated in the file): nothing to write.
    pub unchanged: i64,
    pub written: i64,
    /// People already on file whose changed fields a row rewrote (people imports only).
    pub updated: i64,
    /// Why the file could not be read, or why the job gave up.
    pub error: Option<String>,
    /// Whether a workbook of the rejected rows can be downloaded.
    pub has_rejected_file: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Import {
    pub fn target(&self) -> Option<ImportTarget> {
        self.target.parse().ok()
    }
}

/// A file to import.
#[derive(Debug, Clone)]
pub struct NewImport {
    pub target: ImportTarget,
    pub mode: ImportMode,
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// A saved column mapping, as JSON (header → field key).
    pub mapping: Option<serde_json::Value>,
    /// Enqueue the job that runs it (the server); the command line runs it itself.
    pub enqueue: bool,
}

/// What the runner needs of an import: the file, and who it acts as.
#[derive(Debug, Clone)]
pub struct ImportSource {
    pub import: Import,
    pub county_id: i64,
    pub user_id: Option<i64>,
    pub bytes: Vec<u8>,
    pub mapping: Option<serde_json::Value>,
}

/// Counts reported while an import runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub rows_read: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub unchanged: i64,
    pub written: i64,
    /// People already on file that a row changed.
    pub updated: i64,
}

/// How an import ended.
#[derive(Debug, Clone, Copy)]
pub struct ImportOutcome<'a> {
    pub state: ImportState,
    pub counts: ImportCounts,
    /// Why it failed.
    pub error: Option<&'a str>,
    /// The workbook of the rejected rows.
    pub rejected_file: Option<&'a [u8]>,
}

/// A person in the importer's scope, as a sheet may name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRef {
    pub id: PersonId,
    pub name: String,
    /// Their organisation.
    pub org_id: i64,
}

/// A county's saved column mapping (列对应关系) for one import target.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportMapping {
    /// `orgs`, `people` or `ledger:<type key>`.
    pub target: String,
    pub name: String,
    /// `{"columns": {"表头": "field key", …}}`; an empty key leaves the column unread.
    #[schema(value_type = Object)]
    pub mapping: serde_json::Value,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// A member sheet's row for [`Store::import_people`]: the person as `create_person` takes them,
/// in the organisation the importer found for their branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonImport {
    pub org_id: taizhang_domain::OrgId,
    pub name: String,
    pub gender: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub party_member: bool,
    /// 退休: none leaves a person on file as they are (and a new one not retired).
    pub retired: Option<bool>,
    /// 民族, 学历, 人员类别, 入党日期, 转正日期 as the sheet gives them; each one it leaves blank
    /// leaves what is on file.
    pub profile: taizhang_domain::person::PartyProfile,
}

/// What [`Store::import_people`] made of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonImportOutcome {
    /// A new person: written (with their id), or to be written (none) when only checking.
    Created(Option<PersonId>),
    /// A person on file (found by the blind index of their 身份证号, or without one by name in
    /// the same organisation) whose changed fields were rewritten, or are to be.
    Updated(PersonId),
    /// A person on file, nothing changed.
    Unchanged(PersonId),
    Rejected(Vec<taizhang_domain::ledger::FieldError>),
}

forward! {
    /// People from a sheet, checked as `create_person` checks them and matched to the people on
    /// file: new ones created (one audit entry `import`), changed ones updated (audited `update`
    /// each, the person's id kept), the same ones left alone, each bad row with its errors — a
    /// 身份证号 registered outside the actor's scope among them. With `write` false nothing is
    /// written. One transaction.
    pub async fn import_people(&self, actor: &Actor, rows: &[PersonImport], write: bool) -> StoreResult<Vec<PersonImportOutcome>>
        => import_people::import_people(actor, rows, write);

    /// Saves (or replaces) the county's column mapping `name` for `target` (an
    /// `ImportTarget::key`); audited as `import.mapping`. A name is 1–40 characters.
    pub async fn save_import_mapping(&self, actor: &Actor, target: &str, name: &str, mapping: &serde_json::Value) -> StoreResult<ImportMapping>
        => imports::save_mapping(actor, target, name, mapping);

    /// The county's saved column mappings for `target` (every target's when none), by target
    /// and name.
    pub async fn import_mappings(&self, actor: &Actor, target: Option<&str>) -> StoreResult<Vec<ImportMapping>>
        => imports::mappings(actor, target);

    /// One saved mapping; not found when the county has none of that name for `target`.
    pub async fn import_mapping(&self, actor: &Actor, target: &str, name: &str) -> StoreResult<ImportMapping>
        => imports::mapping(actor, target, name);

    /// Keeps an uploaded file for import into a ledger type the actor may record, and (with
    /// `enqueue`) enqueues its job in the same transaction; audited as `import.upload`.
    pub async fn create_import(&self, actor: &Actor, new: &NewImport, now: DateTime<Utc>) -> StoreResult<Import>
        => imports::create_import(actor, new, now);

    /// One of the actor's imports.
    pub async fn import(&self, actor: &Actor, id: i64) -> StoreResult<Import>
        => imports::get(actor, id);

    /// The actor's latest imports, newest first.
    pub async fn imports(&self, actor: &Actor, limit: i64) -> StoreResult<Vec<Import>>
        => imports::list(actor, limit);

    /// The workbook of an import's rejected rows.
    pub async fn import_rejected_file(&self, actor: &Actor, id: i64) -> StoreResult<Vec<u8>>
        => imports::rejected_file(actor, id);

    /// The import a job names, with its file: for the runner, which then acts as its uploader.
    pub async fn import_source(&self, id: i64) -> StoreResult<ImportSource>
        => imports::source(id);

    /// Records how far the import has got.
    pub async fn update_import(&self, id: i64, state: ImportState, counts: ImportCounts, now: DateTime<Utc>) -> StoreResult<()>
        => imports::update(id, state, counts, now);

    /// Records the import's outcome and its rejected rows' workbook; audited as `import.finish`
    /// in the actor's name.
    pub async fn finish_import(&self, actor: &Actor, id: i64, outcome: &ImportOutcome<'_>, now: DateTime<Utc>) -> StoreResult<Import>
        => imports::finish(actor, id, outcome, now);

    /// The people in the actor's scope with one of these names (at most 1,000 names).
    pub async fn people_named(&self, actor: &Actor, names: &[String]) -> StoreResult<Vec<PersonRef>>
        => imports::people_named(actor, names);

    /// The people in the actor's scope with one of these 身份证号 (found by their blind
    /// index; at most 1,000): (the number as given, the person).
    pub async fn people_by_id_numbers(&self, actor: &Actor, numbers: &[taizhang_domain::IdNumber]) -> StoreResult<Vec<(String, PersonRef)>>
        => imports::people_by_id_numbers(actor, numbers);
}

impl Store {
    /// The actor an import's job acts as: its uploader as they are now (a disabled account's
    /// import fails), or the county's system actor for one the command line created.
    pub async fn import_actor(&self, source: &ImportSource) -> StoreResult<Actor> {
        match source.user_id {
            None => Ok(Actor::system(
                taizhang_domain::CountyId::new(source.county_id),
                "import",
            )),
            Some(_) => self.actor_for_user(&source.import.username).await,
        }
    }
}
