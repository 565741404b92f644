//! Moving a county's data between databases (SQLite → PostgreSQL and back) without loss: every
//! table is copied row by row with its ids, then counted and checksummed on both sides.
//!
//! Tables stream: each is read with one ordered query inside the source's snapshot transaction,
//! in batches of `Store::batch_rows` rows, and every batch is written (multi-row inserts on
//! SQLite, one `COPY … FROM STDIN` on PostgreSQL) and added to the table's running count and
//! checksum before the next one is held. Reading and writing run at the same time, one batch
//! apart ([`pipe`]), so memory follows the batch, not the county.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;

use crate::backend::{postgres, sqlite};

mod pg_copy;
use crate::{Backend, Store, StoreError, StoreResult};

/// The type of a column, as both backends store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    I64,
    Text,
    Date,
    Ts,
    Bool,
    Json,
    /// Bytes (BLOB / BYTEA). No table has one yet; `rollup_cells` will.
    #[allow(dead_code)]
    Blob,
}

/// A value read from either backend.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    I64(i64),
    Text(String),
    Date(NaiveDate),
    Ts(DateTime<Utc>),
    Bool(bool),
    Json(Value),
    Blob(Vec<u8>),
}

pub(crate) struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Col)],
    /// Columns that order the rows the same way on both backends.
    pub order: &'static str,
    /// Identity columns whose sequence must follow the copied ids on PostgreSQL.
    pub identity: Option<&'static str>,
}

use Col::*;

/// Every table, parents before children.
/// The columns of both rollup figure tables (per organisation and per subtree).
const ROLLUP_FACT_COLUMNS: &[(&str, Col)] = &[
    ("county_id", I64),
    ("org_id", I64),
    ("month", Date),
    ("ledger_type_id", I64),
    ("choice_field", Text),
    ("option_value", Text),
    ("num_field", Text),
    ("records", I64),
    ("sum_high", I64),
    ("sum_low", I64),
];
const ROLLUP_FACT_ORDER: &str =
    "org_id, month, ledger_type_id, choice_field, option_value, num_field";

pub(crate) const TABLES: &[TableSpec] = &[
    // Provinces before their cities (a city may have been put under a province created later).
    TableSpec {
        name: "regions",
        columns: &[
            ("id", I64),
            ("code", Text),
            ("name", Text),
            ("level", Text),
            ("parent_id", I64),
            ("created_at", Ts),
        ],
        order: "level DESC, id",
        identity: Some("id"),
    },
    TableSpec {
        name: "counties",
        columns: &[
            ("id", I64),
            ("code", Text),
            ("name", Text),
            ("root_org_id", I64),
            ("region_id", I64),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "orgs",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("kind", Text),
            ("name", Text),
            ("code", Text),
            ("established_on", Date),
            ("dissolved_on", Date),
            ("created_at", Ts),
            ("search_key", Text),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "org_edges",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("child_id", I64),
            ("parent_id", I64),
            ("valid_from", Date),
            ("valid_to", Date),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "org_closure",
        columns: &[
            ("county_id", I64),
            ("ancestor_id", I64),
            ("descendant_id", I64),
            ("depth", I64),
            ("valid_from", Date),
            ("valid_to", Date),
        ],
        order: "ancestor_id, descendant_id, valid_from",
        identity: None,
    },
    TableSpec {
        name: "people",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("org_id", I64),
            ("name", Text),
            ("gender", Text),
            ("id_number_enc", Text),
            ("id_number_bidx", Text),
            ("phone_enc", Text),
            ("phone_bidx", Text),
            ("birth_date", Date),
            ("party_member", Bool),
            ("retired", Bool),
            ("ethnicity", Text),
            ("education", Text),
            ("member_category", Text),
            ("joined_on", Date),
            ("confirmed_on", Date),
            ("created_at", Ts),
            ("updated_at", Ts),
            ("search_key", Text),
            ("version", I64),
            ("edited_by", I64),
            ("edited_at", Ts),
            ("edit_reason", Text),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "positions",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("person_id", I64),
            ("org_id", I64),
            ("title", Text),
            ("valid_from", Date),
            ("valid_to", Date),
            ("created_at", Ts),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "org_links",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("kind", Text),
            ("from_org_id", I64),
            ("from_person_id", I64),
            ("to_org_id", I64),
            ("via_org_id", I64),
            ("role", Text),
            ("note", Text),
            ("valid_from", Date),
            ("valid_to", Date),
            ("created_at", Ts),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "users",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("username", Text),
            ("display_name", Text),
            ("password_hash", Text),
            ("role", Text),
            ("org_id", I64),
            ("person_id", I64),
            ("disabled", Bool),
            ("created_at", Ts),
            ("password_changed_at", I64),
            ("must_change_password", Bool),
            ("totp_secret_enc", Text),
            ("totp_last_step", I64),
            ("region_id", I64),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "person_versions",
        columns: &[
            ("county_id", I64),
            ("person_id", I64),
            ("version", I64),
            ("org_id", I64),
            ("name", Text),
            ("gender", Text),
            ("id_number_enc", Text),
            ("phone_enc", Text),
            ("birth_date", Date),
            ("party_member", Bool),
            ("retired", Bool),
            ("ethnicity", Text),
            ("education", Text),
            ("member_category", Text),
            ("joined_on", Date),
            ("confirmed_on", Date),
            ("written_by", I64),
            ("written_at", Ts),
            ("reason", Text),
        ],
        order: "person_id, version",
        identity: None,
    },
    TableSpec {
        name: "county_settings",
        columns: &[("county_id", I64), ("name", Text), ("value", Text)],
        order: "county_id, name",
        identity: None,
    },
    TableSpec {
        name: "import_mappings",
        columns: &[
            ("county_id", I64),
            ("target", Text),
            ("name", Text),
            ("mapping", Json),
            ("updated_by", Text),
            ("updated_at", Ts),
        ],
        order: "county_id, target, name",
        identity: None,
    },
    TableSpec {
        name: "ledger_types",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("key", Text),
            ("name", Text),
            ("current_version", I64),
            ("created_at", Ts),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "ledger_type_versions",
        columns: &[
            ("county_id", I64),
            ("ledger_type_id", I64),
            ("version", I64),
            ("definition", Json),
            ("created_at", Ts),
        ],
        order: "ledger_type_id, version",
        identity: None,
    },
    TableSpec {
        name: "ledger_records",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("ledger_type_id", I64),
            ("type_version", I64),
            ("org_id", I64),
            ("occurred_on", Date),
            ("fields", Json),
            ("created_by", I64),
            ("created_at", Ts),
            ("voided_at", Ts),
            ("void_reason", Text),
            ("import_key", Text),
            ("version", I64),
            ("edited_by", I64),
            ("edited_at", Ts),
            ("edit_reason", Text),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "record_versions",
        columns: &[
            ("county_id", I64),
            ("record_id", I64),
            ("version", I64),
            ("type_version", I64),
            ("org_id", I64),
            ("occurred_on", Date),
            ("fields", Json),
            ("written_by", I64),
            ("written_at", Ts),
            ("reason", Text),
        ],
        order: "record_id, version",
        identity: None,
    },
    TableSpec {
        name: "record_people",
        columns: &[
            ("county_id", I64),
            ("record_id", I64),
            ("field_key", Text),
            ("person_id", I64),
        ],
        order: "record_id, field_key, person_id",
        identity: None,
    },
    TableSpec {
        name: "record_facts",
        columns: &[
            ("county_id", I64),
            ("record_id", I64),
            ("field_key", Text),
            ("num_value", I64),
            ("option_value", Text),
        ],
        order: "record_id, field_key, num_value, option_value",
        identity: None,
    },
    // Rollups are copied as they stand (and checksummed like any table): a copy answers its
    // bulletins at once, and `rollup rebuild` on the target reproduces them row for row.
    TableSpec {
        name: "rollup_cells",
        columns: &[
            ("county_id", I64),
            ("org_id", I64),
            ("month", Date),
            ("ledger_type_id", I64),
            ("records", I64),
            ("people", Blob),
        ],
        order: "org_id, month, ledger_type_id",
        identity: None,
    },
    TableSpec {
        name: "rollup_facts",
        columns: ROLLUP_FACT_COLUMNS,
        order: ROLLUP_FACT_ORDER,
        identity: None,
    },
    TableSpec {
        name: "rollup_tree_cells",
        columns: &[
            ("county_id", I64),
            ("org_id", I64),
            ("month", Date),
            ("ledger_type_id", I64),
            ("records", I64),
            ("orgs", Blob),
            ("people", Blob),
        ],
        order: "org_id, month, ledger_type_id",
        identity: None,
    },
    TableSpec {
        name: "rollup_tree_facts",
        columns: ROLLUP_FACT_COLUMNS,
        order: ROLLUP_FACT_ORDER,
        identity: None,
    },
    TableSpec {
        name: "attachments",
        columns: &[
            ("id", Text),
            ("county_id", I64),
            ("file_name", Text),
            ("content_type", Text),
            ("size_bytes", I64),
            ("created_by", I64),
            ("created_at", Ts),
        ],
        order: "id",
        identity: None,
    },
    TableSpec {
        name: "record_attachments",
        columns: &[
            ("county_id", I64),
            ("record_id", I64),
            ("attachment_id", Text),
        ],
        order: "record_id, attachment_id",
        identity: None,
    },
    TableSpec {
        name: "audit_log",
        columns: &[
            ("seq", I64),
            ("county_id", I64),
            ("at", Ts),
            ("actor_user_id", I64),
            ("actor", Text),
            ("action", Text),
            ("entity", Text),
            ("entity_id", Text),
            ("before_json", Json),
            ("after_json", Json),
            ("prev_hash", Text),
            ("hash", Text),
        ],
        order: "county_id, seq",
        identity: None,
    },
    crate::jobs::JOBS_TABLE,
];

/// A running checksum over rows, independent of how each backend stores a value: instants are
/// taken to the microsecond (PostgreSQL's precision) and JSON with sorted keys.
#[derive(Default)]
pub(crate) struct Checksum(Sha256);

impl Checksum {
    pub fn row(&mut self, row: &[Val]) {
        for v in row {
            let text = match v {
                Val::Null => "\u{0}".to_string(),
                Val::I64(i) => i.to_string(),
                Val::Text(s) => s.clone(),
                Val::Date(d) => d.to_string(),
                Val::Ts(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                Val::Bool(b) => b.to_string(),
                Val::Json(j) => crate::audit::canonical_json(j),
                Val::Blob(b) => {
                    self.0.update((b.len() as u64).to_le_bytes());
                    self.0.update(b);
                    continue;
                }
            };
            self.0.update((text.len() as u64).to_le_bytes());
            self.0.update(text.as_bytes());
        }
        self.0.update(b"\n");
    }

    pub fn hex(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// What `copy` reports for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub table: String,
    pub source_rows: i64,
    pub target_rows: i64,
    pub source_checksum: String,
    pub target_checksum: String,
}

impl TableCopy {
    pub fn matches(&self) -> bool {
        self.source_rows == self.target_rows && self.source_checksum == self.target_checksum
    }
}

/// Rows of one table: at most one batch of them.
pub(crate) type Rows = Vec<Vec<Val>>;

/// How many rows of a table a copy, backup or restore holds at a time, unless the store was
/// given another number ([`Store::with_batch_rows`]) or `TAIZHANG_COPY_BATCH` says otherwise.
pub const DEFAULT_BATCH_ROWS: usize = 5_000;

/// `TAIZHANG_COPY_BATCH` as a number of rows: unset is [`DEFAULT_BATCH_ROWS`]; anything but a
/// whole number from 1 to 1,000,000 is refused.
fn parse_batch_rows(v: Option<&str>) -> StoreResult<usize> {
    let Some(v) = v else {
        return Ok(DEFAULT_BATCH_ROWS);
    };
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
        _ => Err(StoreError::Config(format!(
            "TAIZHANG_COPY_BATCH 应为 1 到 1000000 之间的整数，而不是“{v}”"
        ))),
    }
}

/// Where the batches of a streamed read go: table by table in the order read (parents first),
/// every table giving at least one call (an empty batch when it has no rows).
pub(crate) trait Sink {
    async fn batch(&mut self, t: &'static TableSpec, rows: Rows) -> StoreResult<()>;
}

/// The count and checksum of every table, kept up as its rows stream past.
pub(crate) struct Tally(Vec<(&'static str, i64, Checksum)>);

impl Tally {
    pub fn new() -> Tally {
        Tally(
            TABLES
                .iter()
                .map(|t| (t.name, 0, Checksum::default()))
                .collect(),
        )
    }

    pub fn add(&mut self, t: &TableSpec, rows: &[Vec<Val>]) {
        if let Some(e) = self.0.iter_mut().find(|e| e.0 == t.name) {
            e.1 += rows.len() as i64;
            for r in rows {
                e.2.row(r);
            }
        }
    }

    /// Per table, in table order: name, rows, checksum.
    pub fn finish(self) -> Vec<(String, i64, String)> {
        self.0
            .into_iter()
            .map(|(name, n, sum)| (name.to_string(), n, sum.hex()))
            .collect()
    }
}

impl Sink for Tally {
    async fn batch(&mut self, t: &'static TableSpec, rows: Rows) -> StoreResult<()> {
        self.add(t, &rows);
        Ok(())
    }
}

/// The sending end of a [`pipe`]: each batch waits here until the writer has taken the one
/// before it.
pub(crate) struct Feed(tokio::sync::mpsc::Sender<(&'static TableSpec, Rows)>);

impl Sink for Feed {
    async fn batch(&mut self, t: &'static TableSpec, rows: Rows) -> StoreResult<()> {
        self.0
            .send((t, rows))
            .await
            .map_err(|_| StoreError::Internal("写入端已停止 / the writer stopped".into()))
    }
}

/// Runs a reader (given the [`Feed`] to send its batches into) and `sink` at the same time, the
/// writer one batch behind the reader: at most three batches are held at once. The writer's error
/// comes first (the reader then only saw its feed close).
pub(crate) async fn pipe<R, F, S>(read: R, sink: &mut S) -> StoreResult<()>
where
    R: FnOnce(Feed) -> F,
    F: std::future::Future<Output = StoreResult<()>>,
    S: Sink,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let reader = read(Feed(tx));
    let writer = async move {
        // Owning the receiver: when this ends early, a reader waiting to send is told so.
        while let Some((t, rows)) = rx.recv().await {
            sink.batch(t, rows).await?;
        }
        Ok::<(), StoreError>(())
    };
    let (r, w) = tokio::join!(reader, writer);
    w?;
    r
}

/// A connection of either backend that batches are inserted on, inside the caller's transaction.
pub(crate) enum Target<'a> {
    Sqlite(&'a mut sqlx::SqliteConnection),
    Postgres(&'a mut sqlx::PgConnection),
}

/// Inserts every batch on the target and keeps the tally of what it wrote.
pub(crate) struct Load<'a> {
    pub target: Target<'a>,
    pub tally: Tally,
}

impl<'a> Load<'a> {
    pub fn new(target: Target<'a>) -> Load<'a> {
        Load {
            target,
            tally: Tally::new(),
        }
    }

    /// After the last batch: PostgreSQL's identity sequences continue after the copied ids.
    pub async fn finish(self) -> StoreResult<Tally> {
        if let Target::Postgres(c) = self.target {
            postgres::copy::follow_identities(c).await?;
        }
        Ok(self.tally)
    }
}

impl Sink for Load<'_> {
    async fn batch(&mut self, t: &'static TableSpec, rows: Rows) -> StoreResult<()> {
        self.tally.add(t, &rows);
        match &mut self.target {
            Target::Sqlite(c) => sqlite::copy::insert_rows(c, t, &rows).await,
            Target::Postgres(c) => pg_copy::copy_rows(c, t, &rows).await,
        }
    }
}

/// While the target is counted after a copy: the files behind its attachment rows travel too.
struct CopyFiles<'a> {
    tally: Tally,
    from: &'a Path,
    to: &'a Path,
}

impl Sink for CopyFiles<'_> {
    async fn batch(&mut self, t: &'static TableSpec, rows: Rows) -> StoreResult<()> {
        self.tally.add(t, &rows);
        if t.name != "attachments" {
            return Ok(());
        }
        for row in &rows {
            if let Some(Val::Text(id)) = row.first() {
                let rel = Path::new("attachments")
                    .join(&id[..2.min(id.len())])
                    .join(id);
                let from = self.from.join(&rel);
                if tokio::fs::metadata(&from).await.is_ok() {
                    let to = self.to.join(&rel);
                    if let Some(dir) = to.parent() {
                        crate::files::create_private_dir_async(dir).await?;
                    }
                    let bytes = tokio::fs::read(&from).await?;
                    let _ = tokio::fs::remove_file(&to).await;
                    crate::files::write_private_async(&to, bytes).await?;
                }
            }
        }
        Ok(())
    }
}

forward! {
    /// Refreshes the planner's statistics after a bulk load.
    pub async fn analyze(&self) -> StoreResult<()> => copy::analyze();

    pub async fn table_counts(&self) -> StoreResult<Vec<(String, i64)>> => copy::table_counts();
}

impl Store {
    /// How many rows of a table a copy, backup or restore holds at a time: the store's own
    /// number, else `TAIZHANG_COPY_BATCH`, else [`DEFAULT_BATCH_ROWS`].
    pub fn batch_rows(&self) -> StoreResult<usize> {
        if let Some(n) = self.batch_rows {
            return Ok(n);
        }
        // Not Unicode is not a number either: refused, not ignored.
        let v = std::env::var_os("TAIZHANG_COPY_BATCH").map(|v| v.to_string_lossy().into_owned());
        parse_batch_rows(v.as_deref())
    }

    /// Streams this database's snapshot (one county, or all) into `load`, reading and writing at
    /// the same time; the tally of what was written.
    pub(crate) async fn stream_into(
        &self,
        mut load: Load<'_>,
        county: Option<i64>,
        batch: usize,
    ) -> StoreResult<Tally> {
        pipe(
            |mut feed| async move {
                dispatch!(self, copy::stream_snapshot(county, batch, &mut feed))
            },
            &mut load,
        )
        .await?;
        load.finish().await
    }

    /// Copies one county (all when `None`) from this database into `target`, an empty migrated
    /// database of either backend, in one transaction; then counts and checksums every table on
    /// both sides.
    pub async fn copy_to(
        &self,
        target: &Store,
        county_code: Option<&str>,
    ) -> StoreResult<Vec<TableCopy>> {
        let county = match county_code {
            Some(code) => Some(self.county_by_code(code).await?),
            None => None,
        };
        let wanted: Vec<String> = match &county {
            Some(c) => vec![c.code.clone()],
            None => self.counties().await?.into_iter().map(|c| c.code).collect(),
        };
        for code in &wanted {
            if target.county_by_code(code).await.is_ok() {
                return Err(StoreError::conflict(
                    "copy.exists",
                    format!("目标数据库已有行政区划代码为{code}的县，不能重复复制"),
                ));
            }
        }
        if self.field_key_fingerprint() != target.field_key_fingerprint() {
            return Err(StoreError::Config(
                "两个数据库的字段加密密钥不同：复制后的身份证号和电话将无法解密；请让目标使用同一密钥（TAIZHANG_FIELD_KEY 或 TAIZHANG_FIELD_KEY_FILE）".into(),
            ));
        }
        let county_id = county.as_ref().map(|c| c.id.get());
        let batch = self.batch_rows()?;
        // Into the target in one transaction, batch by batch as the source's snapshot is read.
        let source = match &target.backend {
            Backend::Sqlite(p) => {
                let mut tx = p.write.begin().await?;
                let tally = self
                    .stream_into(Load::new(Target::Sqlite(&mut tx)), county_id, batch)
                    .await?;
                tx.commit().await?;
                tally
            }
            Backend::Postgres(p) => {
                let mut tx = p.write.begin().await?;
                let tally = self
                    .stream_into(Load::new(Target::Postgres(&mut tx)), county_id, batch)
                    .await?;
                tx.commit().await?;
                tally
            }
        }
        .finish();
        // Read back from the target, and the files behind its attachment rows copied meanwhile.
        let mut files = CopyFiles {
            tally: Tally::new(),
            from: &self.data_dir,
            to: &target.data_dir,
        };
        dispatch!(target, copy::stream_snapshot(county_id, batch, &mut files))?;
        let after = files.tally.finish();
        Ok(source
            .into_iter()
            .zip(after)
            .map(
                |((table, source_rows, source_checksum), (_, target_rows, target_checksum))| {
                    TableCopy {
                        table,
                        source_rows,
                        target_rows,
                        source_checksum,
                        target_checksum,
                    }
                },
            )
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_size_is_a_bounded_whole_number() {
        assert_eq!(parse_batch_rows(None).unwrap(), 5_000);
        assert_eq!(parse_batch_rows(Some("1")).unwrap(), 1);
        assert_eq!(parse_batch_rows(Some(" 20000 ")).unwrap(), 20_000);
        assert_eq!(parse_batch_rows(Some("1000000")).unwrap(), 1_000_000);
        for bad in ["0", "-5", "1000001", "5k", ""] {
            match parse_batch_rows(Some(bad)) {
                Err(StoreError::Config(m)) => assert!(m.contains(&format!("“{bad}”")), "{m}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_tally_counts_and_checksums_batches_as_one_table() {
        let t = TABLES.iter().find(|t| t.name == "county_settings").unwrap();
        let rows: Rows = (0..5)
            .map(|i| {
                vec![
                    Val::I64(1),
                    Val::Text(format!("k{i}")),
                    Val::Text("v".into()),
                ]
            })
            .collect();
        let mut whole = Tally::new();
        whole.add(t, &rows);
        let mut split = Tally::new();
        split.add(t, &rows[..2]);
        split.add(t, &[]);
        split.add(t, &rows[2..]);
        let (whole, split) = (whole.finish(), split.finish());
        assert_eq!(whole, split);
        let line = whole.iter().find(|l| l.0 == "county_settings").unwrap();
        assert_eq!(line.1, 5);
        let mut sum = Checksum::default();
        for r in &rows {
            sum.row(r);
        }
        assert_eq!(line.2, sum.hex());
        assert_eq!(whole.len(), TABLES.len());
    }
}
