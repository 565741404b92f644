//! Runs an import: reads the sheet on a blocking thread a batch at a time and hands each batch
//! to what the import is for ([`Rows`]: a ledger type's records here, people in
//! [`super::people`], organisations in [`super::orgs`]), keeping the counts, the progress and
//! the rejected rows' workbook for all three. For a ledger it turns each row into a
//! record (the organisation and the people it names looked up in the importer's scope), has the
//! store check each batch by the rules of a cadre's entry (`sort_records`) and writes the rows
//! that pass (`write_records`: one transaction per batch, the rollups with it).
//!
//! - **All or nothing** (the default): a first pass checks every row and writes nothing; with one
//!   bad row the import is refused and the rejected rows come back. Otherwise a second pass
//!   writes.
//! - **Only the valid rows**: one pass that writes each batch's good rows as it goes.
//!
//! Each record carries its row's key (the sheet's 编号 column, or a hash of its content), so a
//! second attempt after a crash, or importing the same file again, writes nothing twice: the
//! rows already written count as unchanged. People are found again by their 身份证号, and
//! organisations by their code or their name under their parent.

use super::resolve::{OrgIndex, PeopleIndex};
use chrono::{NaiveDate, Utc};
use serde_json::Value;
use std::io::Cursor;
use std::sync::Arc;
use taizhang_domain::import::{ImportMode, ImportState, ImportTarget, IMPORT_BATCH_ROWS};
use taizhang_domain::ledger::{FieldKind, LedgerTypeDef};
use taizhang_office::export::rejected_workbook;
use taizhang_office::import::header::{HeaderMap, SavedMapping, Target, LEDGER_KEY};
use taizhang_office::import::normalize::{join_errors, CellError};
use taizhang_office::import::rows::{ledger_row, LedgerRow};
use taizhang_office::import::{ReadOptions, Row, Workbook};
use taizhang_store::imports::{Import, ImportCounts, ImportOutcome, ImportSource};
use taizhang_store::{Actor, NewRecord, RowKeys, Store, StoreError};
use tokio::sync::mpsc;

/// What the reading thread sends.
pub(super) enum Read<T> {
    Header(HeaderMap),
    Batch(Vec<(Row, T)>),
    /// The file cannot be read further: the whole import fails with this message.
    Failed(String),
}

/// Reads one row of a sheet (its header map given), on the reading thread.
pub(super) type Parser<T> = Box<dyn Fn(&HeaderMap, &Row) -> T + Send>;

/// What one kind of import (records of a ledger type, organisations, people) does with a
/// sheet's rows; [`Run::pass`] reads the sheet for it and keeps the counts and the progress.
pub(super) trait Rows {
    /// What the reading thread makes of each row.
    type Parsed: Send + 'static;
    /// The fields the header row is matched to.
    fn target(&self) -> Target;
    /// Reads one row, on the reading thread.
    fn parser(&self) -> Parser<Self::Parsed>;
    /// Checks a batch and, with `write`, writes the rows that pass; counts them in `pass`.
    async fn batch(
        &mut self,
        run: &Run<'_>,
        batch: Vec<(Row, Self::Parsed)>,
        header: &HeaderMap,
        write: bool,
        pass: &mut Pass,
    ) -> Result<(), StoreError>;
}

/// Why a run stopped before its outcome was recorded: the job tries again later.
pub type RunError = String;

fn store_error(e: StoreError) -> RunError {
    format!("导入中断：{e}")
}

/// Runs import `id` to its end and records its outcome; `progress` hears the counts after each
/// batch. An import already finished is returned as it is.
pub async fn run_import(
    store: &Store,
    id: i64,
    progress: &(dyn Fn(ImportState, &ImportCounts) + Sync),
) -> Result<Import, RunError> {
    let source = store.import_source(id).await.map_err(store_error)?;
    if source.import.state.is_finished() {
        return Ok(source.import);
    }
    let county = taizhang_domain::CountyId::new(source.county_id);
    let actor = match store.import_actor(&source).await {
        Ok(a) => a,
        Err(e) => {
            let system = Actor::system(county, "import");
            let message = format!("上传文件的账号已不可用：{e}");
            return finish_failed(store, &system, id, &message).await;
        }
    };
    let Some(target) = source.import.target() else {
        return finish_failed(store, &actor, id, "本程序不认识导入的目标").await;
    };
    let mapping: Option<SavedMapping> = match &source.mapping {
        None => None,
        Some(v) => match serde_json::from_value(v.clone()) {
            Ok(m) => Some(m),
            Err(_) => return finish_failed(store, &actor, id, "保存的列对应关系无法读取").await,
        },
    };
    let orgs = OrgIndex::load(store, &actor).await.map_err(store_error)?;
    let run = Run {
        store,
        bytes: source.bytes.as_slice().into(),
        actor: &actor,
        source: &source,
        mapping: mapping.as_ref(),
        orgs: &orgs,
        today: taizhang_store::today(),
        progress,
    };
    let ran = match target {
        ImportTarget::Ledger(key) => {
            let def = match store.ledger_type(&actor, &key).await {
                Ok(t) => t.definition,
                Err(e) => {
                    let message = format!("台账类型“{key}”不可用：{e}");
                    return finish_failed(store, &actor, id, &message).await;
                }
            };
            run.checked_then_written(&mut LedgerRows { def: &def, key })
                .await?
        }
        ImportTarget::People => {
            run.checked_then_written(&mut super::people::PeopleRows::default())
                .await?
        }
        ImportTarget::Orgs => super::orgs::run(&run).await?,
    };
    let (state, outcome) = match ran {
        Ok(r) => r,
        Err(message) => return finish_failed(store, &actor, id, &message).await,
    };
    let file = if outcome.rejected.is_empty() {
        None
    } else {
        let headers = outcome.headers.clone();
        let rows = outcome.rejected;
        let title = source.import.file_name.clone();
        let built = tokio::task::spawn_blocking(move || {
            rejected_workbook(
                &format!("错误行-{title}"),
                &headers,
                rows.iter().map(|(r, e)| (r, e.as_str())),
            )
        })
        .await
        .map_err(|e| format!("生成错误行文件失败：{e}"))?;
        Some(built.map_err(|e| format!("生成错误行文件失败：{e}"))?)
    };
    progress(state, &outcome.counts);
    store
        .finish_import(
            &actor,
            id,
            &ImportOutcome {
                state,
                counts: outcome.counts,
                error: None,
                rejected_file: file.as_deref(),
            },
            Utc::now(),
        )
        .await
        .map_err(store_error)
}

async fn finish_failed(
    store: &Store,
    actor: &Actor,
    id: i64,
    message: &str,
) -> Result<Import, RunError> {
    store
        .finish_import(
            actor,
            id,
            &ImportOutcome {
                state: ImportState::Failed,
                counts: ImportCounts::default(),
                error: Some(message),
                rejected_file: None,
            },
            Utc::now(),
        )
        .await
        .map_err(store_error)
}

pub(super) struct Run<'a> {
    pub(super) store: &'a Store,
    /// The file, shared with each pass's reading thread without a copy.
    bytes: Arc<[u8]>,
    pub(super) actor: &'a Actor,
    pub(super) source: &'a ImportSource,
    mapping: Option<&'a SavedMapping>,
    pub(super) orgs: &'a OrgIndex,
    pub(super) today: NaiveDate,
    progress: &'a (dyn Fn(ImportState, &ImportCounts) + Sync),
}

/// What one pass over the sheet found.
pub(super) struct Pass {
    pub(super) counts: ImportCounts,
    pub(super) headers: Vec<String>,
    /// Each rejected row as read, with its errors.
    pub(super) rejected: Vec<(Row, String)>,
}

impl Pass {
    /// A row rejected with its errors.
    pub(super) fn reject(&mut self, row: Row, errors: String) {
        self.counts.rejected += 1;
        self.rejected.push((row, errors));
    }
}

/// How a run ended, or the message of a file that cannot be read (the import fails).
pub(super) type Ran = Result<(ImportState, Pass), String>;

/// A ledger type's sheet: each row a record.
struct LedgerRows<'d> {
    def: &'d LedgerTypeDef,
    key: String,
}

/// A row made into a record, or its errors.
type Prepared = Result<(NewRecord, Option<String>), Vec<CellError>>;

impl Run<'_> {
    /// All or nothing: a first pass checks every row and, with none rejected, a second writes
    /// them. Only the valid rows: one pass that writes each batch's good rows as it goes.
    pub(super) async fn checked_then_written<R: Rows>(
        &self,
        rows: &mut R,
    ) -> Result<Ran, RunError> {
        let valid = self.source.import.mode == ImportMode::Valid;
        let first = match self.pass(rows, valid).await? {
            Ok(p) => p,
            Err(m) => return Ok(Err(m)),
        };
        Ok(Ok(match self.source.import.mode {
            ImportMode::Valid => (ImportState::Done, first),
            ImportMode::All if first.counts.rejected > 0 => (ImportState::Refused, first),
            ImportMode::All => match self.pass(rows, true).await? {
                Ok(second) => (ImportState::Done, second),
                Err(m) => return Ok(Err(m)),
            },
        }))
    }

    /// One pass over the sheet, writing the rows that pass when `write`. The inner error is a
    /// file that cannot be read (the import fails); the outer one a store error (the job
    /// tries again).
    pub(super) async fn pass<R: Rows>(
        &self,
        rows: &mut R,
        write: bool,
    ) -> Result<Result<Pass, String>, RunError> {
        let state = if write {
            ImportState::Writing
        } else {
            ImportState::Checking
        };
        let mut rx = self.read(rows.target(), rows.parser());
        let header = match rx.recv().await {
            Some(Read::Header(h)) => h,
            Some(Read::Failed(m)) => return Ok(Err(m)),
            _ => return Ok(Err("文件读取意外结束".into())),
        };
        let mut pass = Pass {
            counts: ImportCounts::default(),
            headers: header.headers.clone(),
            rejected: Vec::new(),
        };
        while let Some(msg) = rx.recv().await {
            let batch = match msg {
                Read::Batch(b) => b,
                Read::Failed(m) => return Ok(Err(m)),
                Read::Header(_) => continue,
            };
            rows.batch(self, batch, &header, write, &mut pass)
                .await
                .map_err(store_error)?;
            self.report(state, &pass.counts).await?;
        }
        Ok(Ok(pass))
    }

    /// Records how far the import has got, for its page and the command line's progress line.
    pub(super) async fn report(
        &self,
        state: ImportState,
        counts: &ImportCounts,
    ) -> Result<(), RunError> {
        self.store
            .update_import(self.source.import.id, state, *counts, Utc::now())
            .await
            .map_err(store_error)?;
        (self.progress)(state, counts);
        Ok(())
    }

    /// Starts the reading thread: the header matched to `target`, then batches of rows each
    /// read by `parse`.
    fn read<T: Send + 'static>(&self, target: Target, parse: Parser<T>) -> mpsc::Receiver<Read<T>> {
        // One batch waits read while one is written: a third would only hold memory, since
        // reading is several times faster than writing.
        let (tx, rx) = mpsc::channel(1);
        let bytes = self.bytes.clone();
        let mapping = self.mapping.cloned();
        tokio::task::spawn_blocking(move || {
            let fail = |m: String| {
                let _ = tx.blocking_send(Read::Failed(m));
            };
            let mut book = match Workbook::open(Cursor::new(bytes), ReadOptions::default()) {
                Ok(b) => b,
                Err(e) => return fail(e.to_string()),
            };
            let mut table = match book.table(&target, mapping.as_ref()) {
                Ok(t) => t,
                Err(e) => return fail(e.to_string()),
            };
            let header = table.header().clone();
            if tx.blocking_send(Read::Header(header.clone())).is_err() {
                return;
            }
            let mut batch = Vec::with_capacity(IMPORT_BATCH_ROWS);
            for row in table.by_ref() {
                let row = match row {
                    Ok(r) => r,
                    Err(e) => return fail(e.to_string()),
                };
                let parsed = parse(&header, &row);
                batch.push((row, parsed));
                if batch.len() == IMPORT_BATCH_ROWS {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(IMPORT_BATCH_ROWS));
                    if tx.blocking_send(Read::Batch(full)).is_err() {
                        return;
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.blocking_send(Read::Batch(batch));
            }
        });
        rx
    }
}

impl Rows for LedgerRows<'_> {
    type Parsed = Result<LedgerRow, Vec<CellError>>;

    fn target(&self) -> Target {
        Target::ledger(self.def)
    }

    fn parser(&self) -> Parser<Self::Parsed> {
        let def = self.def.clone();
        Box::new(move |header: &HeaderMap, row: &Row| ledger_row(&def, header, row))
    }

    async fn batch(
        &mut self,
        run: &Run<'_>,
        batch: Vec<(Row, Self::Parsed)>,
        header: &HeaderMap,
        write: bool,
        pass: &mut Pass,
    ) -> Result<(), StoreError> {
        let declared = header.column(LEDGER_KEY).is_some();
        LedgerBatch {
            store: run.store,
            actor: run.actor,
            orgs: run.orgs,
            today: run.today,
            def: self.def,
            key: &self.key,
        }
        .batch(batch, header, declared, write, pass)
        .await
    }
}

/// One batch of a ledger sheet, with what it is checked against.
struct LedgerBatch<'r> {
    store: &'r Store,
    actor: &'r Actor,
    orgs: &'r OrgIndex,
    today: NaiveDate,
    def: &'r LedgerTypeDef,
    /// The ledger type's key.
    key: &'r str,
}

impl LedgerBatch<'_> {
    async fn batch(
        &self,
        batch: Vec<(Row, Result<LedgerRow, Vec<CellError>>)>,
        header: &HeaderMap,
        declared: bool,
        write: bool,
        pass: &mut Pass,
    ) -> Result<(), StoreError> {
        let words = batch
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .flat_map(|r| {
                r.references
                    .iter()
                    .filter(|(k, _)| self.is_people(k))
                    .flat_map(|(_, names)| names.iter().cloned())
            });
        let people = PeopleIndex::load(
            self.store,
            self.actor,
            words.collect::<Vec<_>>(),
            self.today,
        )
        .await?;
        // Each parsed row is made into its record by move: a batch holds one copy of its values.
        let (rows, parsed): (Vec<Row>, Vec<_>) = batch.into_iter().unzip();
        let prepared: Vec<Prepared> = parsed
            .into_iter()
            .zip(&rows)
            .map(|(parsed, row)| match parsed {
                Ok(r) => self.record(r, header, declared, &people),
                Err(e) => Err(self.with_org_error(&e, row, header)),
            })
            .collect();
        // The rows that became records go to the store's checks; their place in the batch is
        // kept to report its errors against the sheet's row.
        let mut places = Vec::new();
        let mut records = Vec::new();
        let mut keys = Vec::new();
        let mut errors: Vec<Option<String>> = vec![None; rows.len()];
        for (i, p) in prepared.into_iter().enumerate() {
            match p {
                Ok((record, key)) => {
                    places.push(i);
                    records.push(record);
                    keys.push(key.unwrap_or_default());
                }
                Err(e) => errors[i] = Some(join_errors(&e)),
            }
        }
        let row_keys = if declared {
            RowKeys::Declared(&keys)
        } else {
            RowKeys::Content
        };
        let sorted = self
            .store
            .sort_records(self.actor, &records, row_keys, self.today)
            .await?;
        // The checked rows carry what is written; the batch's other copies go before it is.
        drop(records);
        drop(keys);
        for r in &sorted.rejected {
            let messages: Vec<&str> = r.errors.iter().map(|e| e.message.as_str()).collect();
            errors[places[r.index]] = Some(messages.join("；"));
        }
        pass.counts.rows_read += rows.len() as i64;
        pass.counts.accepted += sorted.accepted.len() as i64;
        pass.counts.unchanged += sorted.unchanged.len() as i64;
        if write && !sorted.prepared.is_empty() {
            let report = self
                .store
                .write_records(self.actor, &sorted.prepared)
                .await?;
            pass.counts.written += report.records as i64;
        }
        for (i, row) in rows.into_iter().enumerate() {
            if let Some(e) = errors[i].take() {
                pass.reject(row, e);
            }
        }
        Ok(())
    }

    /// A row's cell errors and, when its organisation cannot be found either, that error too:
    /// the user corrects every problem of the row at once.
    fn with_org_error(
        &self,
        errors: &[CellError],
        row: &Row,
        header: &HeaderMap,
    ) -> Vec<CellError> {
        let mut all = errors.to_vec();
        let org_key = taizhang_office::import::header::LEDGER_ORG;
        let column = header.column(org_key);
        if all.iter().any(|e| e.column.is_some() && e.column == column) {
            return all;
        }
        if let (Some(c), Some(text)) = (
            column,
            taizhang_office::import::normalize::text(header.cell(row, org_key)),
        ) {
            if let Err(e) = self.orgs.find(&text, header.header(c).trim()) {
                all.push(e.at(c));
            }
        }
        all
    }

    fn is_people(&self, key: &str) -> bool {
        self.def
            .active_fields()
            .any(|f| f.key == key && matches!(f.kind, FieldKind::People { .. }))
    }

    /// A checked row as the store's `NewRecord`, with its declared key.
    fn record(
        &self,
        r: LedgerRow,
        header: &HeaderMap,
        declared: bool,
        people: &PeopleIndex,
    ) -> Prepared {
        let mut errors = Vec::new();
        let label = |key: &str| header.label(key);
        let at = |e: CellError, key: &str| header.place(e, key);
        let org_key = taizhang_office::import::header::LEDGER_ORG;
        let org = match self.orgs.find(&r.org, &label(org_key)) {
            Ok(id) => Some(id),
            Err(e) => {
                errors.push(at(e, org_key));
                None
            }
        };
        let mut fields = r.values;
        for (key, words) in &r.references {
            let l = label(key);
            if self.is_people(key) {
                let mut ids = Vec::new();
                for w in words {
                    match people.find(w, org, &l, self.today) {
                        Ok(id) if !ids.contains(&id) => ids.push(id),
                        Ok(_) => {}
                        Err(e) => errors.push(at(e, key)),
                    }
                }
                fields.insert(key.clone(), Value::from(ids));
            } else {
                // An organisation field names one organisation.
                match words.first().map(|w| self.orgs.find(w, &l)) {
                    Some(Ok(id)) => {
                        fields.insert(key.clone(), Value::from(format!("o{id}")));
                    }
                    Some(Err(e)) => errors.push(at(e, key)),
                    None => {}
                }
            }
        }
        if declared && r.key.is_none() {
            let message = format!("请填写“{}”（每行的唯一编号）", label(LEDGER_KEY));
            errors.push(at(CellError::new("field.required", message), LEDGER_KEY));
        }
        match (org, errors.is_empty()) {
            (Some(org), true) => Ok((
                NewRecord {
                    ledger_type: self.key.to_string(),
                    org: format!("o{org}"),
                    occurred_on: r.occurred_on,
                    fields,
                },
                r.key,
            )),
            _ => Err(errors),
        }
    }
}
