//! Online, consistent backups into one self-contained file, and restores from it.
//!
//! A backup file is itself a taizhang SQLite database at the current schema, plus three tables
//! only a backup has:
//!
//! - `backup_info(key, value)`: the format, when and from which backend it was taken, the schema
//!   version;
//! - `backup_manifest(table_name, row_count, checksum)`: the row count and checksum of every table
//!   (the same checksum `copy` uses, independent of the backend), and of the attachment files;
//! - `backup_files(name, sha256, size_bytes, bytes)`: the attachment files of the data directory,
//!   so that one file is the whole backup.
//!
//! From SQLite the snapshot is `VACUUM INTO` (one read transaction; writers go on meanwhile);
//! from PostgreSQL every table is read in one `REPEATABLE READ` transaction and streamed, batch by
//! batch, into a fresh SQLite file. Every check (counts, checksums, audit chains) runs as the rows
//! stream past, so no table is held in memory whole. Attachment files are content-addressed and written before their row is, and
//! never removed, so every attachment row in the snapshot has its file when the backup reads it.
//! Sessions are not kept: after a restore everyone logs in again.
//!
//! A restore checks the backup against its manifest, checks the audit chain of every county with
//! the target's audit key, then writes into an empty database of either backend in one
//! transaction, reads every table back inside that transaction and commits only if the counts and
//! checksums equal the manifest.

use crate::audit::{canonical_json, sha256_hex, AuditKey, ChainWalk, EntryParts};
use crate::backend::{postgres, sqlite};
use crate::copy::{Checksum, Load, Rows, Sink, TableSpec, Tally, Target, Val, TABLES};
use crate::{Backend, Pools, Store, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What `backup_info.format` says; a restore refuses anything else.
pub const FORMAT: &str = "taizhang-backup-1";

/// The manifest's name for the attachment files.
pub const FILES: &str = "backup_files";

/// One line of a backup's manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSum {
    pub table: String,
    pub rows: i64,
    pub checksum: String,
}

#[derive(Debug, Clone)]
pub struct BackupReport {
    pub file: PathBuf,
    /// `sqlite` or `postgres`.
    pub source: &'static str,
    pub schema_version: i64,
    /// Every table, then `backup_files`.
    pub manifest: Vec<TableSum>,
    pub files: i64,
    pub file_bytes: i64,
    /// Attachment rows whose file was already missing from the data directory.
    pub missing_files: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub manifest: Vec<TableSum>,
    /// Per county: code, name and the number of audit entries verified.
    pub chains: Vec<(String, String, i64)>,
    pub files: i64,
    pub taken_at: String,
    pub source: String,
}

/// A tally as manifest lines.
fn sums(tally: Tally) -> Vec<TableSum> {
    tally
        .finish()
        .into_iter()
        .map(|(table, rows, checksum)| TableSum {
            table,
            rows,
            checksum,
        })
        .collect()
}

fn text(v: Option<&Val>) -> String {
    match v {
        Some(Val::Text(s)) => s.clone(),
        _ => String::new(),
    }
}

fn int(v: Option<&Val>) -> i64 {
    match v {
        Some(Val::I64(i)) => *i,
        _ => 0,
    }
}

/// Every county's audit chain, walked as the rows stream past exactly as `verify_audit_chain`
/// walks it in the database; only the walk's state per county is kept.
struct ChainCheck<'k> {
    key: &'k AuditKey,
    /// id, code, name
    counties: Vec<(i64, String, String)>,
    chains: BTreeMap<i64, (ChainWalk, Result<i64, i64>)>,
}

impl<'k> ChainCheck<'k> {
    fn new(key: &'k AuditKey) -> ChainCheck<'k> {
        ChainCheck {
            key,
            counties: Vec::new(),
            chains: BTreeMap::new(),
        }
    }

    fn rows(&mut self, t: &TableSpec, rows: &[Vec<Val>]) {
        match t.name {
            "counties" => self.counties.extend(
                rows.iter()
                    .map(|c| (int(c.first()), text(c.get(1)), text(c.get(2)))),
            ),
            "audit_log" => {
                for r in rows {
                    self.step(r);
                }
            }
            _ => {}
        }
    }

    fn step(&mut self, r: &[Val]) {
        let county = int(r.get(1));
        let (walk, state) = self
            .chains
            .entry(county)
            .or_insert_with(|| (ChainWalk::default(), Ok(0)));
        if state.is_err() {
            return;
        }
        let seq = int(r.first());
        let at = match r.get(2) {
            Some(Val::Ts(t)) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            _ => String::new(),
        };
        let json = |v: Option<&Val>| match v {
            Some(Val::Json(j)) => Some(canonical_json(j)),
            _ => None,
        };
        let (before, after) = (json(r.get(8)), json(r.get(9)));
        let actor_user_id = match r.get(3) {
            Some(Val::I64(i)) => Some(*i),
            _ => None,
        };
        let (prev_hash, actor, action) = (text(r.get(10)), text(r.get(4)), text(r.get(5)));
        let (entity, entity_id) = (text(r.get(6)), text(r.get(7)));
        let entry = EntryParts {
            prev_hash: &prev_hash,
            county_id: county,
            seq,
            at: &at,
            actor_user_id,
            actor: &actor,
            action: &action,
            entity: &entity,
            entity_id: &entity_id,
            before: before.as_deref(),
            after: after.as_deref(),
        };
        *state = if walk.step(self.key, &entry, &text(r.get(11))) {
            Ok(seq)
        } else {
            Err(seq)
        };
    }

    /// Per county: code, name, and the entries verified or the first broken seq.
    fn finish(self) -> Vec<(String, String, Result<i64, i64>)> {
        self.counties
            .into_iter()
            .map(|(id, code, name)| {
                let state = self.chains.get(&id).map(|s| s.1).unwrap_or(Ok(0));
                (code, name, state)
            })
            .collect()
    }
}

/// What a restore checks as it streams a backup or reads back what it wrote: every table's
/// count and checksum, and every county's audit chain.
struct Check<'k> {
    tally: Tally,
    chains: ChainCheck<'k>,
}

impl<'k> Check<'k> {
    fn new(key: &'k AuditKey) -> Check<'k> {
        Check {
            tally: Tally::new(),
            chains: ChainCheck::new(key),
        }
    }
}

impl Sink for Check<'_> {
    async fn batch(&mut self, t: &'static TableSpec, rows: Rows) -> StoreResult<()> {
        self.tally.add(t, &rows);
        self.chains.rows(t, &rows);
        Ok(())
    }
}

fn attachment_path(data_dir: &Path, id: &str) -> PathBuf {
    data_dir
        .join("attachments")
        .join(&id[..2.min(id.len())])
        .join(id)
}

/// An attachment id is 64 hex digits; anything else never names a file.
fn valid_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn corrupt(message: String) -> StoreError {
    StoreError::conflict("backup.corrupt", message)
}

/// Removes a partial backup file (and SQLite's side files) unless disarmed.
struct Partial(Option<PathBuf>);

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            for suffix in ["", "-journal", "-wal", "-shm"] {
                let mut s = p.clone().into_os_string();
                s.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(s));
            }
        }
    }
}

/// A SQLite pool over a backup file: a single connection, rollback journal (one self-contained
/// file), foreign keys on.
async fn open_file(path: &Path, create: bool, read_only: bool) -> StoreResult<SqlitePool> {
    let mut o = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(create)
        .read_only(read_only)
        .foreign_keys(true);
    if !read_only {
        o = o.journal_mode(SqliteJournalMode::Delete);
    }
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(o)
        .await?)
}

fn supported_schema() -> i64 {
    sqlite::MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0)
}

impl Store {
    /// Writes a consistent snapshot of the whole database, with its attachment files, into a new
    /// file `file` (never overwritten), while the application goes on writing. The file appears
    /// only when complete.
    pub async fn backup_to(&self, file: &Path) -> StoreResult<BackupReport> {
        if std::fs::symlink_metadata(file).is_ok() {
            return Err(StoreError::conflict(
                "backup.exists",
                format!("备份文件 {} 已存在，不会覆盖", file.display()),
            ));
        }
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| StoreError::Config(format!("备份文件名无效：{}", file.display())))?;
        let dir = match file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(StoreError::Config(format!(
                "备份文件所在目录不存在：{}",
                dir.display()
            )));
        }
        let tmp = dir.join(format!(
            ".{name}.partial-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let mut partial = Partial(Some(tmp.clone()));
        // Created empty and 0600 first: SQLite fills it (VACUUM INTO takes an empty file) and
        // keeps its mode, so the backup is never readable by others, even while it is written.
        crate::files::write_private(&tmp, &[])?;
        let source_sums: Option<Vec<TableSum>>;
        let taken_at = Utc::now();
        let batch = self.batch_rows()?;
        let pool = match &self.backend {
            Backend::Sqlite(p) => {
                let tmp_text = tmp.to_str().ok_or_else(|| {
                    StoreError::Config(format!("备份文件路径无效：{}", file.display()))
                })?;
                // One read transaction on the live database: a consistent page-level copy.
                let mut c = p.read.acquire().await?;
                sqlx::query("VACUUM INTO $1")
                    .bind(tmp_text)
                    .execute(&mut *c)
                    .await?;
                drop(c);
                source_sums = None;
                let pool = open_file(&tmp, false, false).await?;
                sqlx::query("DELETE FROM sessions").execute(&pool).await?;
                pool
            }
            Backend::Postgres(p) => {
                let pool = open_file(&tmp, true, false).await?;
                let pools = Pools {
                    read: pool.clone(),
                    write: pool.clone(),
                    replica: None,
                    audit_key: p.audit_key.clone(),
                    field_key: p.field_key.clone(),
                };
                sqlite::migrate(&pools).await?;
                // One REPEATABLE READ snapshot, streamed into the file in one transaction.
                let mut tx = pool.begin().await?;
                let tally = self
                    .stream_into(Load::new(Target::Sqlite(&mut tx)), None, batch)
                    .await?;
                tx.commit().await?;
                source_sums = Some(sums(tally));
                pool
            }
        };
        let result = self
            .finish_backup(&pool, file, source_sums, taken_at, batch)
            .await;
        pool.close().await;
        let mut report = result?;
        // Durable before it gets its name; `hard_link` never replaces an existing file.
        std::fs::File::open(&tmp)?.sync_all()?;
        match std::fs::hard_link(&tmp, file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::conflict(
                    "backup.exists",
                    format!("备份文件 {} 已存在，不会覆盖", file.display()),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        drop(partial.0.take());
        let _ = std::fs::remove_file(&tmp);
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        report.file = file.to_path_buf();
        Ok(report)
    }

    /// Adds the files, the manifest and the info to a backup file holding the snapshot.
    async fn finish_backup(
        &self,
        pool: &SqlitePool,
        file: &Path,
        source_sums: Option<Vec<TableSum>>,
        taken_at: DateTime<Utc>,
        batch: usize,
    ) -> StoreResult<BackupReport> {
        let mut c = pool.acquire().await?;
        let mut tally = Tally::new();
        sqlite::copy::stream_tables(&mut c, None, TABLES, batch, &mut tally).await?;
        let mut manifest = sums(tally);
        if let Some(source) = source_sums {
            if source != manifest {
                return Err(StoreError::Internal(
                    "备份文件中的数据与源数据库快照不一致".into(),
                ));
            }
        }
        // Which field key encrypted the personal data in it (a fingerprint, never the key).
        sqlx::query("DELETE FROM instance_settings WHERE name = 'field_key_check'")
            .execute(&mut *c)
            .await?;
        sqlx::query("INSERT INTO instance_settings (name, value) VALUES ('field_key_check', $1)")
            .bind(self.field_key_fingerprint())
            .execute(&mut *c)
            .await?;
        sqlx::raw_sql(
            "CREATE TABLE backup_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE backup_manifest (table_name TEXT PRIMARY KEY, row_count INTEGER NOT NULL, checksum TEXT NOT NULL);
             CREATE TABLE backup_files (name TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size_bytes INTEGER NOT NULL, bytes BLOB NOT NULL);",
        )
        .execute(&mut *c)
        .await?;

        // The attachment files, one at a time (bounded memory), in name order; their names a
        // page at a time.
        let mut files_sum = Checksum::default();
        let (mut files, mut file_bytes) = (0_i64, 0_i64);
        let mut missing = Vec::new();
        let mut tx = sqlx::Connection::begin(&mut *c).await?;
        let mut after: Option<String> = None;
        loop {
            let page: Vec<(String,)> = sqlx::query_as(
                "SELECT DISTINCT id FROM attachments WHERE $1 IS NULL OR id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after.as_deref())
            .bind(batch as i64)
            .fetch_all(&mut *tx)
            .await?;
            let Some((last,)) = page.last().cloned() else {
                break;
            };
            for (id,) in page {
                if !valid_id(&id) {
                    missing.push(id);
                    continue;
                }
                let bytes = match tokio::fs::read(attachment_path(&self.data_dir, &id)).await {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        missing.push(id);
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                let sha = sha256_hex(&bytes);
                let size = bytes.len() as i64;
                sqlx::query(
                    "INSERT INTO backup_files (name, sha256, size_bytes, bytes) VALUES ($1, $2, $3, $4)",
                )
                .bind(&id)
                .bind(&sha)
                .bind(size)
                .bind(bytes)
                .execute(&mut *tx)
                .await?;
                files_sum.row(&[Val::Text(id), Val::Text(sha), Val::I64(size)]);
                files += 1;
                file_bytes += size;
            }
            after = Some(last);
        }
        manifest.push(TableSum {
            table: FILES.to_string(),
            rows: files,
            checksum: files_sum.hex(),
        });
        for m in &manifest {
            sqlx::query(
                "INSERT INTO backup_manifest (table_name, row_count, checksum) VALUES ($1, $2, $3)",
            )
            .bind(&m.table)
            .bind(m.rows)
            .bind(&m.checksum)
            .execute(&mut *tx)
            .await?;
        }
        let schema_version = supported_schema();
        let source = self.backend_name();
        let info = [
            ("format", FORMAT.to_string()),
            (
                "taken_at",
                taken_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            ("source", source.to_string()),
            ("schema_version", schema_version.to_string()),
            ("missing_files", missing.len().to_string()),
        ];
        for (k, v) in info {
            sqlx::query("INSERT INTO backup_info (key, value) VALUES ($1, $2)")
                .bind(k)
                .bind(v)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(BackupReport {
            file: file.to_path_buf(),
            source,
            schema_version,
            manifest,
            files,
            file_bytes,
            missing_files: missing,
        })
    }

    /// Restores a backup file into this database, which must be empty, and its attachment files
    /// into this store's data directory. Everything is checked before the transaction commits:
    /// the backup against its manifest, the audit chain of every county with this store's audit
    /// key, and every table read back against the manifest.
    pub async fn restore_from(&self, file: &Path) -> StoreResult<RestoreReport> {
        let result = self.restore_inner(file).await;
        if result.is_err() {
            // A key this run just generated would only stand for a database that is still empty.
            if let Some(k) = &self.created_key {
                let _ = std::fs::remove_file(k);
            }
        }
        result
    }

    async fn restore_inner(&self, file: &Path) -> StoreResult<RestoreReport> {
        let key = match &self.backend {
            Backend::Sqlite(p) => p.audit_key.clone(),
            Backend::Postgres(p) => p.audit_key.clone(),
        };
        let batch = self.batch_rows()?;
        let (manifest, info, walked) = read_backup(file, &key, batch).await?;
        // Personal data restored under another field key would never open again.
        {
            let pool = open_file(file, false, true).await?;
            let fp: Option<(String,)> = sqlx::query_as(
                "SELECT value FROM instance_settings WHERE name = 'field_key_check'",
            )
            .fetch_optional(&pool)
            .await?;
            pool.close().await;
            if fp.is_some_and(|(v,)| v != self.field_key_fingerprint()) {
                return Err(StoreError::Config(
                    "备份中的身份证号和电话由另一个字段加密密钥加密：请用备份时的密钥（TAIZHANG_FIELD_KEY 或 TAIZHANG_FIELD_KEY_FILE）恢复".into(),
                ));
            }
        }
        let chains = check_chains(walked)?;

        // Into the target, in one transaction; the files written are removed again if it fails.
        let written = std::sync::Mutex::new(Vec::<PathBuf>::new());
        let outcome = self
            .restore_tx(file, &key, batch, &manifest, &written)
            .await;
        if outcome.is_err() {
            for f in written.lock().map(|w| w.clone()).unwrap_or_default() {
                let _ = std::fs::remove_file(f);
            }
        }
        outcome?;
        Ok(RestoreReport {
            files: manifest
                .iter()
                .find(|m| m.table == FILES)
                .map(|m| m.rows)
                .unwrap_or(0),
            manifest,
            chains,
            taken_at: info.get("taken_at").cloned().unwrap_or_default(),
            source: info.get("source").cloned().unwrap_or_default(),
        })
    }

    async fn restore_tx(
        &self,
        file: &Path,
        key: &AuditKey,
        batch: usize,
        manifest: &[TableSum],
        written: &std::sync::Mutex<Vec<PathBuf>>,
    ) -> StoreResult<()> {
        // Streamed from the file into the target's one transaction, then read back inside it.
        let mut check = Check::new(key);
        match &self.backend {
            Backend::Sqlite(p) => {
                let mut tx = p.write.begin().await?;
                if let Some((t, n)) = sqlite::copy::first_non_empty(&mut tx).await? {
                    return Err(not_empty(t, n));
                }
                load_backup(file, Load::new(Target::Sqlite(&mut tx)), batch).await?;
                sqlite::copy::stream_tables(&mut tx, None, TABLES, batch, &mut check).await?;
                self.check_and_write_files(file, check, manifest, written)
                    .await?;
                tx.commit().await?;
            }
            Backend::Postgres(p) => {
                let mut tx = p.write.begin().await?;
                if let Some((t, n)) = postgres::copy::first_non_empty(&mut tx).await? {
                    return Err(not_empty(t, n));
                }
                load_backup(file, Load::new(Target::Postgres(&mut tx)), batch).await?;
                postgres::copy::stream_tables(&mut tx, None, TABLES, batch, &mut check).await?;
                self.check_and_write_files(file, check, manifest, written)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Counts and checksums of every table, read in one transaction (what a backup's manifest
    /// lists, without the files).
    pub async fn table_sums(&self) -> StoreResult<Vec<TableSum>> {
        let mut tally = Tally::new();
        let batch = self.batch_rows()?;
        dispatch!(self, copy::stream_snapshot(None, batch, &mut tally))?;
        Ok(sums(tally))
    }

    /// Inside the restore's transaction: the rows read back equal the manifest and their chains
    /// verify; then the attachment files go into the data directory (removed again by the caller
    /// if the transaction does not commit).
    async fn check_and_write_files(
        &self,
        file: &Path,
        back: Check<'_>,
        manifest: &[TableSum],
        written: &std::sync::Mutex<Vec<PathBuf>>,
    ) -> StoreResult<()> {
        let tables: Vec<TableSum> = manifest
            .iter()
            .filter(|m| m.table != FILES)
            .cloned()
            .collect();
        let differ = compare(&sums(back.tally), &tables);
        if !differ.is_empty() {
            return Err(StoreError::Internal(format!(
                "恢复后读回的数据与清单不符：{}；已回滚",
                differ.join("，")
            )));
        }
        check_chains(back.chains.finish())?;
        let pool = open_file(file, false, true).await?;
        let names: Vec<(String,)> = sqlx::query_as("SELECT name FROM backup_files ORDER BY name")
            .fetch_all(&pool)
            .await?;
        let result = async {
            for (name,) in names {
                let (sha, bytes): (String, Vec<u8>) =
                    sqlx::query_as("SELECT sha256, bytes FROM backup_files WHERE name = $1")
                        .bind(&name)
                        .fetch_one(&pool)
                        .await?;
                if !valid_id(&name) || sha256_hex(&bytes) != sha {
                    return Err(corrupt(format!("备份文件中的附件 {name} 已损坏")));
                }
                let path = attachment_path(&self.data_dir, &name);
                if let Ok(existing) = tokio::fs::read(&path).await {
                    if existing == bytes {
                        continue;
                    }
                }
                let dir = path.parent().unwrap_or(&self.data_dir);
                crate::files::create_private_dir_async(dir).await?;
                let tmp = dir.join(format!("{name}.tmp"));
                let _ = tokio::fs::remove_file(&tmp).await;
                crate::files::write_private_async(&tmp, bytes).await?;
                tokio::fs::rename(&tmp, &path).await?;
                if let Ok(mut w) = written.lock() {
                    w.push(path);
                }
            }
            Ok(())
        }
        .await;
        pool.close().await;
        result
    }
}

fn not_empty(table: &str, n: i64) -> StoreError {
    StoreError::conflict(
        "restore.not_empty",
        format!("目标数据库不是空的（{table} 表已有{n}行），只能恢复到空数据库 / the target database is not empty"),
    )
}

/// The lines of `got` that differ from `want` (either way), named.
fn compare(got: &[TableSum], want: &[TableSum]) -> Vec<String> {
    let mut out = Vec::new();
    for w in want {
        match got.iter().find(|g| g.table == w.table) {
            None => out.push(format!("{}（缺少）", w.table)),
            Some(g) if g.rows != w.rows => {
                out.push(format!("{}（{}行，清单为{}行）", w.table, g.rows, w.rows))
            }
            Some(g) if g.checksum != w.checksum => out.push(format!("{}（校验和不符）", w.table)),
            Some(_) => {}
        }
    }
    for g in got {
        if !want.iter().any(|w| w.table == g.table) {
            out.push(format!("{}（清单中没有）", g.table));
        }
    }
    out
}

/// Every county's chain verified, or an error naming where it breaks.
fn check_chains(walked: Walked) -> StoreResult<Vec<(String, String, i64)>> {
    let mut ok = Vec::new();
    let mut broken = Vec::new();
    for (code, name, state) in walked {
        match state {
            Ok(n) => ok.push((code, name, n)),
            Err(seq) => broken.push(format!("{code} {name} 第{seq}条")),
        }
    }
    if !broken.is_empty() {
        return Err(StoreError::conflict(
            "restore.audit_chain",
            format!(
                "审计日志校验失败（{}）：恢复目标须使用与源数据库相同的审计密钥（TAIZHANG_AUDIT_KEY、TAIZHANG_AUDIT_KEY_FILE 或数据目录中的 audit.key）和算法（TAIZHANG_AUDIT_MAC） / the audit chain does not verify: restore with the source's audit key",
                broken.join("，")
            ),
        ));
    }
    Ok(ok)
}

/// Streams a backup file's tables into `load` (the target's transaction), reading and writing at
/// the same time.
async fn load_backup(file: &Path, mut load: Load<'_>, batch: usize) -> StoreResult<()> {
    let pool = open_file(file, false, true).await?;
    let result = async {
        let mut c = pool.acquire().await?;
        crate::copy::pipe(
            |mut feed| async move {
                sqlite::copy::stream_tables(&mut c, None, TABLES, batch, &mut feed).await
            },
            &mut load,
        )
        .await?;
        load.finish().await.map(|_| ())
    }
    .await;
    pool.close().await;
    result
}

/// The walk of every county's audit chain over a backup: code, name, entries or the first
/// broken seq.
type Walked = Vec<(String, String, Result<i64, i64>)>;

/// Opens a backup file read-only and checks it against its own manifest: every table's count
/// and checksum, and every attachment file's hash; and walks its audit chains with `key`, all in
/// one streamed pass.
async fn read_backup(
    file: &Path,
    key: &AuditKey,
    batch: usize,
) -> StoreResult<(Vec<TableSum>, BTreeMap<String, String>, Walked)> {
    if !file.is_file() {
        return Err(StoreError::Config(format!(
            "找不到备份文件 {}",
            file.display()
        )));
    }
    let not_backup = || {
        StoreError::Config(format!(
            "{} 不是taizhang备份文件 / not a taizhang backup file",
            file.display()
        ))
    };
    let pool = open_file(file, false, true).await?;
    let result = async {
        let info: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM backup_info")
            .fetch_all(&pool)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(_) => not_backup(),
                e => e.into(),
            })?;
        let info: BTreeMap<String, String> = info.into_iter().collect();
        if info.get("format").map(String::as_str) != Some(FORMAT) {
            return Err(not_backup());
        }
        let found: i64 = info
            .get("schema_version")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let supported = supported_schema();
        if found > supported {
            return Err(StoreError::SchemaTooNew { found, supported });
        }
        if found < supported {
            return Err(StoreError::Config(format!(
                "备份的数据库结构版本为{found}，本程序为{supported}：请用生成该备份的版本恢复后再升级"
            )));
        }
        let manifest: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT table_name, row_count, checksum FROM backup_manifest ORDER BY table_name",
        )
        .fetch_all(&pool)
        .await?;
        let manifest: Vec<TableSum> = manifest
            .into_iter()
            .map(|(table, rows, checksum)| TableSum {
                table,
                rows,
                checksum,
            })
            .collect();
        let mut c = pool.acquire().await?;
        let integrity: (String,) = sqlx::query_as("PRAGMA quick_check")
            .fetch_one(&mut *c)
            .await?;
        if integrity.0 != "ok" {
            return Err(corrupt(format!(
                "备份文件 {} 已损坏（{}） / the backup file is damaged",
                file.display(),
                integrity.0
            )));
        }
        let mut check = Check::new(key);
        sqlite::copy::stream_tables(&mut c, None, TABLES, batch, &mut check).await?;
        let walked = check.chains.finish();
        let mut got = sums(check.tally);
        // The files: each one's hash, and the list as a whole.
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT name, sha256, size_bytes FROM backup_files ORDER BY name",
        )
        .fetch_all(&mut *c)
        .await?;
        let mut sum = Checksum::default();
        let mut bad_files = Vec::new();
        for (name, sha, size) in &rows {
            let (bytes,): (Vec<u8>,) =
                sqlx::query_as("SELECT bytes FROM backup_files WHERE name = $1")
                    .bind(name)
                    .fetch_one(&mut *c)
                    .await?;
            if sha256_hex(&bytes) != *sha || bytes.len() as i64 != *size || !valid_id(name) {
                bad_files.push(name.clone());
            }
            sum.row(&[Val::Text(name.clone()), Val::Text(sha.clone()), Val::I64(*size)]);
        }
        got.push(TableSum {
            table: FILES.to_string(),
            rows: rows.len() as i64,
            checksum: sum.hex(),
        });
        let mut differ = compare(&got, &manifest);
        // Report in table order (parents first), as the backup printed it.
        let manifest: Vec<TableSum> = got
            .iter()
            .filter_map(|g| manifest.iter().find(|m| m.table == g.table).cloned())
            .collect();
        if !bad_files.is_empty() {
            differ.push(format!("附件文件 {}", bad_files.join("、")));
        }
        if !differ.is_empty() {
            return Err(corrupt(format!(
                "备份文件校验失败，与清单不符：{} / the backup does not match its manifest",
                differ.join("，")
            )));
        }
        Ok((manifest, info, walked))
    }
    .await;
    pool.close().await;
    result.map_err(|e| match e {
        // A damaged page surfaces as a database error while reading.
        StoreError::Database(sqlx::Error::Database(d)) => corrupt(format!(
            "备份文件 {} 无法读取（{}） / the backup file is damaged",
            file.display(),
            d.message()
        )),
        e => e,
    })
}
