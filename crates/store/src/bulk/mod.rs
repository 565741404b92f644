//! Bulk writes (批量写入): many records, people or positions in one transaction per batch,
//! checked by the same rules as one entry (the ledger type's definition, the date rules, the
//! organisation in the caller's scope and alive on the date, the people named existing and in
//! scope), with what the checks read loaded once per batch instead of once per record, and the
//! rows written with multi-row inserts. Used by `taizhang gen` and, later, the spreadsheet import.

use crate::{Actor, NewPerson, NewPosition, NewRecord, Store, StoreResult};
use chrono::NaiveDate;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use taizhang_domain::ledger::{FieldError, ValidatedRecord};
use taizhang_domain::PersonId;

/// What one `bulk_records` batch wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkReport {
    /// Rows of `ledger_records`.
    pub records: usize,
    /// Rows of `record_people` (a person named in two people fields counts twice).
    pub people: usize,
    /// Rows of `record_facts`.
    pub facts: usize,
    /// The first and last record id written (ids of one batch are consecutive on SQLite).
    pub first_id: i64,
    pub last_id: i64,
}

/// Where the bulk record path spent its time since the process started (or the last
/// [`take_bulk_timings`]), summed over every batch of every store: for the benchmark's breakdown.
/// Reading the clock a few times per batch is all it costs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkTimings {
    /// `prepare_records`: the checks (the county's organisations, scope, people, the rules).
    pub checking: Duration,
    /// Inside the write transaction: from its start to the records' first INSERT (the
    /// organisations checked again, the ids allocated).
    pub before_insert: Duration,
    /// The multi-row INSERTs of `ledger_records`, `record_people` and `record_facts`.
    pub insert_records: Duration,
    pub insert_people: Duration,
    pub insert_facts: Duration,
    /// The rollups of the records' own organisations (`rollup_cells`, `rollup_facts`), and of
    /// their ancestors (`rollup_tree_cells`, `rollup_tree_facts`, the closure read included).
    pub own_rollups: Duration,
    pub tree_rollups: Duration,
    /// The audit entry and the commit.
    pub audit_commit: Duration,
    /// Batches written.
    pub batches: u64,
}

/// The phases of [`BulkTimings`], in nanoseconds.
#[derive(Clone, Copy)]
pub(crate) enum Phase {
    Checking,
    BeforeInsert,
    InsertRecords,
    InsertPeople,
    InsertFacts,
    OwnRollups,
    TreeRollups,
    AuditCommit,
    Batches,
}

static TIMINGS: [AtomicU64; 9] = [const { AtomicU64::new(0) }; 9];

/// Adds the time since `since` to `phase`, and returns now.
pub(crate) fn spent(phase: Phase, since: Instant) -> Instant {
    let now = Instant::now();
    let nanos = u64::try_from(now.duration_since(since).as_nanos()).unwrap_or(u64::MAX);
    TIMINGS[phase as usize].fetch_add(nanos, Ordering::Relaxed);
    now
}

pub(crate) fn count_batch() {
    TIMINGS[Phase::Batches as usize].fetch_add(1, Ordering::Relaxed);
}

/// The time spent so far in each phase of the bulk record path, and starts again from zero.
pub fn take_bulk_timings() -> BulkTimings {
    let t = |p: Phase| Duration::from_nanos(TIMINGS[p as usize].swap(0, Ordering::Relaxed));
    BulkTimings {
        checking: t(Phase::Checking),
        before_insert: t(Phase::BeforeInsert),
        insert_records: t(Phase::InsertRecords),
        insert_people: t(Phase::InsertPeople),
        insert_facts: t(Phase::InsertFacts),
        own_rollups: t(Phase::OwnRollups),
        tree_rollups: t(Phase::TreeRollups),
        audit_commit: t(Phase::AuditCommit),
        batches: TIMINGS[Phase::Batches as usize].swap(0, Ordering::Relaxed),
    }
}

/// A batch of records that passed every check of `bulk_records` for one actor, not yet written:
/// `taizhang gen` checks the next batch while the previous one is being written.
pub struct PreparedRecords {
    pub(crate) county_id: i64,
    pub(crate) username: String,
    pub(crate) rows: Vec<Checked>,
}

impl PreparedRecords {
    pub(crate) fn of(actor: &Actor, rows: Vec<Checked>) -> PreparedRecords {
        PreparedRecords {
            county_id: actor.county_id.get(),
            username: actor.username.clone(),
            rows,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// A batch checked row by row: the rows that passed, ready to write, and the errors of each row
/// that did not (an import writes the first and hands the second back to the user).
pub struct SortedRecords {
    pub prepared: PreparedRecords,
    /// The index in the batch of each prepared row, in order.
    pub accepted: Vec<usize>,
    pub rejected: Vec<RejectedRow>,
    /// Rows that passed but whose key is already written, or repeats an earlier row of the
    /// batch: nothing to write. Rows in = accepted + rejected + unchanged.
    pub unchanged: Vec<usize>,
}

/// How a batch names its rows, so that writing the same rows again writes nothing twice.
#[derive(Debug, Clone, Copy)]
pub enum RowKeys<'a> {
    /// No key: every row is new.
    None,
    /// Each record's content as checked is its key (see `content_key`).
    Content,
    /// The user's key of each row (a sheet's 编号 column), one per row: unique per ledger type.
    Declared(&'a [String]),
}

/// A row of a batch that failed its checks, with every error found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    pub index: usize,
    pub errors: Vec<FieldError>,
}

/// One record that passed every check.
pub(crate) struct Checked {
    pub(crate) type_id: i64,
    pub(crate) version: i64,
    pub(crate) org_id: i64,
    pub(crate) occurred_on: NaiveDate,
    pub(crate) validated: ValidatedRecord,
    /// (field key, person id) of each people field, distinct within the field.
    pub(crate) people_rows: Vec<(String, i64)>,
    /// Distinct people the record names.
    pub(crate) people: Vec<i64>,
    /// The key of the sheet row it came from, unique per county and ledger type.
    pub(crate) import_key: Option<String>,
}

/// A digest of a county's records as their content, independent of backend and of when they
/// were written: how many, and a SHA-256 over each record's type, organisation, date and fields
/// in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordDigest {
    pub records: i64,
    pub sha256: String,
}

forward! {
    /// Validates every record as `create_record` does, then writes them all in one transaction
    /// (one audit entry, action `import`): all of them or, on the first bad row, none — the error
    /// names the row as `[i].field`.
    pub async fn bulk_records(&self, actor: &Actor, new: &[NewRecord], today: NaiveDate) -> StoreResult<BulkReport>
        => bulk::bulk_records(actor, new, today);

    /// The checks of `bulk_records` alone, on a read connection; nothing is written.
    pub async fn prepare_records(&self, actor: &Actor, new: &[NewRecord], today: NaiveDate) -> StoreResult<PreparedRecords>
        => bulk::prepare_records(actor, new, today);

    /// The checks of `prepare_records`, row by row: every row that passes is kept for
    /// `write_records`, every row that fails comes back with all of its errors, and with `keys`
    /// every row already written before is set aside. Nothing is written.
    pub async fn sort_records(&self, actor: &Actor, new: &[NewRecord], keys: RowKeys<'_>, today: NaiveDate) -> StoreResult<SortedRecords>
        => bulk::sort_records(actor, new, keys, today);

    /// Writes a batch `prepare_records` checked for the same actor, as `bulk_records` does
    /// (the organisations' dissolution checked again inside the transaction).
    pub async fn write_records(&self, actor: &Actor, prepared: &PreparedRecords) -> StoreResult<BulkReport>
        => bulk::write_records(actor, prepared);

    /// Validates and encrypts every person as `create_person` does (a duplicate 身份证号, in the
    /// county or in the batch, is refused), then writes them in one transaction; returns their
    /// ids in the order given.
    pub async fn bulk_people(&self, actor: &Actor, new: &[NewPerson]) -> StoreResult<Vec<PersonId>>
        => bulk_people::bulk_people(actor, new);

    /// Positions of people in scope, in organisations in scope, as `add_position` checks them,
    /// in one transaction.
    pub async fn bulk_positions(&self, actor: &Actor, new: &[NewPosition]) -> StoreResult<usize>
        => bulk_people::bulk_positions(actor, new);

    /// The digest of the records of the actor's county (see [`RecordDigest`]).
    pub async fn record_digest(&self, actor: &Actor) -> StoreResult<RecordDigest>
        => bulk::record_digest(actor);
}

impl Store {
    /// Whether the database holds no county yet (`gen` writes only into an empty one unless
    /// asked to append).
    pub async fn is_empty(&self) -> StoreResult<bool> {
        Ok(self.counties().await?.is_empty())
    }
}
