//! taizhang's one data-access layer, one folder per feature (`orgs`, `people`, `records`, …).
//! Each feature's `mod.rs` holds its types and its `Store` methods; its `sql.rs` holds its
//! queries, written once and compiled for each backend with its own static types (see
//! `backend`): SQLite (the embedded default) and PostgreSQL. Every operation takes the caller's
//! `Actor`, whose scope limits what it reads and writes; every write appends to the audit log in
//! the same transaction.

/// Calls a feature's query for the store's backend: `dispatch!(store, orgs::org_by_id(actor, id))`
/// runs `backend::sqlite::orgs::org_by_id(pools, actor, id)` or its PostgreSQL twin.
macro_rules! dispatch {
    ($store:expr, $feature:ident :: $query:ident ($($arg:expr),* $(,)?)) => {
        match &$store.backend {
            $crate::Backend::Sqlite(p) => {
                $crate::backend::sqlite::$feature::$query(p, $($arg),*).await
            }
            $crate::Backend::Postgres(p) => {
                $crate::backend::postgres::$feature::$query(p, $($arg),*).await
            }
        }
    };
}

/// `Store` methods that only forward to one query of the store's backend, written as
/// `pub async fn name(&self, args…) -> Type => feature::query(call args…);`.
macro_rules! forward {
    ($(
        $(#[$meta:meta])*
        pub async fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty
            => $feature:ident :: $query:ident ($($call:expr),* $(,)?);
    )*) => {
        impl $crate::Store {
            $(
                $(#[$meta])*
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    dispatch!(self, $feature::$query($($call),*))
                }
            )*
        }
    };
}

/// Implements `sqlx::FromRow` for a struct of named columns, for the backend in scope (its
/// `Row`): `from_row!(LoginFacts { county_id, role, … })` in a feature's `sql.rs`.
macro_rules! from_row {
    ($row:ty { $($field:ident),* $(,)? } $(with { $($part:ident),* $(,)? })?) => {
        impl<'r> sqlx::FromRow<'r, Row> for $row {
            fn from_row(row: &'r Row) -> Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Self {
                    $($field: row.try_get(stringify!($field))?,)*
                    // A part is a struct of columns of the same row, read by its own `FromRow`.
                    $($($part: sqlx::FromRow::from_row(row)?,)*)?
                })
            }
        }
    };
}

mod accounts;
mod actor;
pub mod audit;
pub mod auth;
mod backend;
mod backup;
mod bulk;
mod bulletin;
mod clock;
mod copy;
mod counties;
pub mod crypto;
mod dashboard;
mod error;
mod files;
pub mod idempotency;
pub mod imports;
pub mod jobs;
mod keys;
mod ledgers;
mod links;
mod orgs;
mod overdue;
mod people;
mod records;
mod regions;
mod replica;
mod rollups;
mod search;
mod sessions;
mod sqlbuild;
pub mod totp;

pub use accounts::{
    new_code_half, AccountOutcome, AccountRequest, Activation, NewUser, RequestKind, RequestState,
    SecuritySettings, User, UserChange,
};
pub use actor::Actor;
pub use audit::refusals::Refusal;
pub use audit::{AuditEntry, AuditPage, AuditQuery, ChainCheck};
pub use backup::{BackupReport, RestoreReport, TableSum};
pub use bulk::{
    take_bulk_timings, BulkReport, BulkTimings, PreparedRecords, RecordDigest, RejectedRow,
    RowKeys, SortedRecords,
};
pub use bulletin::FigureSource;
pub use clock::SystemClock;
pub use copy::{TableCopy, DEFAULT_BATCH_ROWS};
pub use counties::County;
pub use dashboard::{Dashboard, MonthCount, RankedUnit, TypeCount};
pub use error::{StoreError, StoreResult};
pub use ledgers::LedgerType;
pub use links::{Link, NewLink, OrgName, PersonName};
pub use orgs::{org_ref, BulkOrg, BulkOrgOutcome, BulkParent, NewOrg, Org, OrgEdge};
pub use overdue::{OverdueFilter, OverdueItem, OverduePage, TownCount, MAX_OVERDUE_PAGE};
pub use people::{NewPerson, NewPosition, Person, PersonEdit, PersonVersion, Position};
pub use records::{NewRecord, Record, RecordEdit, RecordPage, RecordQuery, RecordVersion};
pub use regions::Region;
pub use replica::{
    ReadTarget, ReplicaOptions, ReplicaStatus, DEFAULT_CHECK_EVERY, DEFAULT_MAX_LAG,
};
pub use rollups::{CellFigures, RollupDump};
pub use search::{OrgPick, PersonPick, MAX_PICKS};
pub use sessions::{Session, SessionStage};

use chrono::NaiveDate;
use keys::{resolve_audit_key, resolve_field_key};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::{Path, PathBuf};

/// A read pool and a write pool. SQLite allows one writer at a time, so its write pool holds a
/// single connection (writers queue in the process instead of failing with SQLITE_BUSY);
/// PostgreSQL uses one pool for both, and may have a read replica for reports.
pub(crate) struct Pools<DB: sqlx::Database> {
    pub read: sqlx::Pool<DB>,
    pub write: sqlx::Pool<DB>,
    /// A streaming replica that answers reports while it is fit (PostgreSQL only; see `replica`).
    pub replica: Option<std::sync::Arc<replica::Replica<DB>>>,
    /// Keys the audit chain; kept outside the database.
    pub audit_key: std::sync::Arc<audit::AuditKey>,
    /// Encrypts 身份证号, phone numbers and second-factor secrets; kept outside the database.
    pub field_key: std::sync::Arc<crypto::FieldKey>,
}

impl<DB: sqlx::Database> Clone for Pools<DB> {
    fn clone(&self) -> Self {
        Pools {
            read: self.read.clone(),
            write: self.write.clone(),
            replica: self.replica.clone(),
            audit_key: self.audit_key.clone(),
            field_key: self.field_key.clone(),
        }
    }
}

/// Where a store keeps its files and which key chains its audit log. Unset fields come from the
/// environment (`TAIZHANG_DATA_DIR`, `TAIZHANG_AUDIT_KEY` as hex or `TAIZHANG_AUDIT_KEY_FILE`,
/// `TAIZHANG_AUDIT_MAC` = `hmac-sha256` | `hmac-sm3`), else from defaults: the data directory
/// beside a SQLite file (or `./taizhang-data`), and a key file `audit.key` in it, created with a
/// random key on first start.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    pub data_dir: Option<PathBuf>,
    pub audit_key: Option<audit::AuditKey>,
    /// Encrypts personal data per field; from the environment or `field.key` when unset.
    pub field_key: Option<crypto::FieldKey>,
}

#[derive(Clone)]
enum Backend {
    Sqlite(Pools<sqlx::Sqlite>),
    Postgres(Pools<sqlx::Postgres>),
}

/// Which database a `--db` argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DbUrl {
    /// `sqlite://path`, `sqlite:path`, a plain file path, or `postgres://…` / `postgresql://…`.
    pub fn parse(s: &str) -> Result<DbUrl, StoreError> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(s.to_string()));
        }
        let path = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
            .unwrap_or(s);
        if path.is_empty() || path.contains("://") {
            return Err(StoreError::Config(format!("无法识别的数据库地址：{s}")));
        }
        Ok(DbUrl::Sqlite(PathBuf::from(path)))
    }
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    data_dir: PathBuf,
    /// How long one record write may hold the write connection (see [`WRITE_BOUND`]).
    write_bound: std::time::Duration,
    /// How many rows of a table a copy, backup or restore holds at a time (see `copy`).
    batch_rows: Option<usize>,
    /// Set when opening created the audit key file (a first start).
    created_key: Option<PathBuf>,
    /// Set when opening created the field key file.
    created_field_key: Option<PathBuf>,
    /// How many refusals each user had lately (see `audit::refusals`).
    refusals: std::sync::Arc<audit::refusals::RefusalLimiter>,
}

/// How long a write waits for the write connection (SQLite has one; PostgreSQL's pool of 16
/// serves reads and writes) before it is answered "busy" instead of queueing on.
pub const WRITE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long one record write may hold the write connection, waiting for it included: past it the
/// transaction is rolled back and the caller is answered "busy". A record's checks run before it
/// takes the connection, so its inserts alone take milliseconds.
pub const WRITE_BOUND: std::time::Duration = std::time::Duration::from_secs(10);

/// Today in China Standard Time, the calendar cadres work by.
pub fn today() -> NaiveDate {
    taizhang_domain::Clock::today(&SystemClock)
}

impl Store {
    /// Opens (creating a SQLite file if missing) and brings the schema up to date.
    pub async fn open(url: &str) -> StoreResult<Store> {
        Store::open_with(url, StoreOptions::default()).await
    }

    pub async fn open_with(url: &str, opts: StoreOptions) -> StoreResult<Store> {
        let store = Store::connect(url, opts).await?;
        store.migrate().await?;
        // Personal data written under one field key does not open under another: a database
        // remembers a fingerprint of its key and refuses any other.
        let fingerprint = dispatch!(store, people::check_field_key())?;
        if let Err(()) = fingerprint {
            if let Some(path) = &store.created_field_key {
                let _ = std::fs::remove_file(path);
            }
            return Err(StoreError::Config(
                "字段加密密钥与数据库不符：请提供写入这些数据时所用的密钥（TAIZHANG_FIELD_KEY 或 TAIZHANG_FIELD_KEY_FILE）".into(),
            ));
        }
        // A new key for a database that already has an audit log would silently start a chain
        // nobody can verify: the original key is missing, so refuse.
        if let Some(path) = &store.created_key {
            if dispatch!(store, audit::audit_log_is_empty())? {
                return Ok(store);
            }
            let _ = std::fs::remove_file(path);
            return Err(StoreError::Config(format!(
                "审计密钥缺失：数据库已有审计日志，但找不到其密钥文件 {}；请提供原密钥（TAIZHANG_AUDIT_KEY 或 TAIZHANG_AUDIT_KEY_FILE）",
                path.display()
            )));
        }
        Ok(store)
    }

    /// Opens without migrating.
    pub async fn connect(url: &str, opts: StoreOptions) -> StoreResult<Store> {
        let env_dir = std::env::var_os("TAIZHANG_DATA_DIR").map(PathBuf::from);
        match DbUrl::parse(url)? {
            DbUrl::Sqlite(path) => {
                let data_dir = opts
                    .data_dir
                    .clone()
                    .or(env_dir)
                    .unwrap_or_else(|| data_dir_beside(&path));
                let (key, created) = resolve_audit_key(&opts, &data_dir)?;
                let audit_key = std::sync::Arc::new(key);
                let (field_key, created_field_key) = resolve_field_key(&opts, &data_dir)?;
                let field_key = std::sync::Arc::new(field_key);
                // Ours alone from the first byte; SQLite gives `-wal` and `-shm` the same mode.
                if !path.exists() {
                    files::create_private_file(&path)?;
                }
                let connect = SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(std::time::Duration::from_secs(30));
                // The one writer keeps 64 MiB of pages (SQLite's default is 2 MiB): a batch's
                // inserts land all over the records' indexes and the rollups, and past a few
                // hundred thousand records a small cache rereads the same pages from disk for
                // every batch. Readers keep the default; the cache fills only as pages are read.
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(WRITE_WAIT)
                    .connect_with(connect.clone().pragma("cache_size", "-65536"))
                    .await?;
                let read = SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(connect)
                    .await?;
                Ok(Store {
                    backend: Backend::Sqlite(Pools {
                        read,
                        write,
                        replica: None,
                        audit_key,
                        field_key,
                    }),
                    data_dir,
                    write_bound: WRITE_BOUND,
                    batch_rows: None,
                    created_key: created,
                    created_field_key,
                    refusals: Default::default(),
                })
            }
            DbUrl::Postgres(url) => {
                let data_dir = opts
                    .data_dir
                    .clone()
                    .or(env_dir)
                    .unwrap_or_else(|| PathBuf::from("taizhang-data"));
                let (key, created) = resolve_audit_key(&opts, &data_dir)?;
                let audit_key = std::sync::Arc::new(key);
                let (field_key, created_field_key) = resolve_field_key(&opts, &data_dir)?;
                let field_key = std::sync::Arc::new(field_key);
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(WRITE_WAIT)
                    .connect(&url)
                    .await?;
                Ok(Store {
                    backend: Backend::Postgres(Pools {
                        read: pool.clone(),
                        write: pool,
                        replica: None,
                        audit_key,
                        field_key,
                    }),
                    data_dir,
                    write_bound: WRITE_BOUND,
                    batch_rows: None,
                    created_key: created,
                    created_field_key,
                    refusals: Default::default(),
                })
            }
        }
    }

    /// The same store copying, backing up and restoring `rows` rows of a table at a time (at
    /// least one) instead of `TAIZHANG_COPY_BATCH` or [`copy::DEFAULT_BATCH_ROWS`].
    pub fn with_batch_rows(mut self, rows: usize) -> Store {
        self.batch_rows = Some(rows.max(1));
        self
    }

    /// The same store with another bound on how long a record write may hold the write
    /// connection (the default is [`WRITE_BOUND`]).
    pub fn with_write_bound(mut self, bound: std::time::Duration) -> Store {
        self.write_bound = bound;
        self
    }

    /// The same store with a PostgreSQL streaming replica answering its reports — bulletins, the
    /// overdue list, the home page's figures and the lists of records, organisations and people —
    /// while a background check finds it reachable and within `opts.max_lag` of the primary
    /// (see `replica`). Refused over SQLite, which has no replicas.
    pub async fn with_read_replica(
        mut self,
        url: &str,
        opts: ReplicaOptions,
    ) -> StoreResult<Store> {
        match &mut self.backend {
            Backend::Sqlite(_) => Err(StoreError::Config(
                "只读副本（--read-replica）仅支持 PostgreSQL 主库；SQLite 数据库没有副本".into(),
            )),
            Backend::Postgres(p) => {
                p.replica = Some(replica::open(p.write.clone(), url, opts).await?);
                Ok(self)
            }
        }
    }

    /// Where reports read now and what the last check of the replica found; `None` without one.
    pub fn read_replica(&self) -> Option<ReplicaStatus> {
        match &self.backend {
            Backend::Sqlite(p) => p.replica.as_ref().map(|r| r.status()),
            Backend::Postgres(p) => p.replica.as_ref().map(|r| r.status()),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Where attachments are kept (content-addressed files).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        dispatch!(self, common::migrate())
    }

    pub async fn schema_version(&self) -> StoreResult<i64> {
        dispatch!(self, common::schema_version())
    }

    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(p) => {
                p.read.close().await;
                p.write.close().await;
            }
            Backend::Postgres(p) => {
                if let Some(r) = &p.replica {
                    r.pool.close().await;
                }
                p.write.close().await
            }
        }
    }

    /// The key that encrypts personal data and second-factor secrets.
    pub(crate) fn field_key(&self) -> &crypto::FieldKey {
        match &self.backend {
            Backend::Sqlite(p) => &p.field_key,
            Backend::Postgres(p) => &p.field_key,
        }
    }
}

/// Attachments of `taizhang.db` live in `taizhang-data/` beside it.
fn data_dir_beside(db: &Path) -> PathBuf {
    let stem = db
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("taizhang");
    db.parent()
        .unwrap_or(Path::new("."))
        .join(format!("{stem}-data"))
}
