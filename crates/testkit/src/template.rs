//! The demo county is seeded once per backend and then copied for each test: seeding takes
//! seconds (password hashes, a year of ledger records), a copy takes milliseconds.
//!
//! SQLite: the template is a database file and its data directory in the system's temporary
//! directory, keyed by this test binary (its path, size and modification time) and the day, so
//! that the test processes of one build share it and a rebuilt binary seeds afresh. It is seeded
//! into a private directory and renamed into place, so concurrent processes never see half of it.
//!
//! PostgreSQL: the template is a database of the test cluster that this process seeds once;
//! each test gets `CREATE DATABASE … TEMPLATE` of it (nothing may be connected to the template
//! while it is copied, which is why the seeding store is closed first).

use crate::postgres::PgCluster;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;
use taizhang_store::Store;
use tokio::sync::{Mutex, OnceCell};

/// The file name of every test SQLite database inside its directory.
pub(crate) const SQLITE_FILE: &str = "test.db";

/// How many months of ledger records the demo county of every seeded test database holds.
pub const DEMO_MONTHS: u32 = 12;

static SQLITE_TEMPLATE: OnceCell<PathBuf> = OnceCell::const_new();
static PG_TEMPLATE: OnceCell<String> = OnceCell::const_new();
/// One copy of the PostgreSQL template at a time: each copy holds a lock on the template.
static PG_COPY: Mutex<()> = Mutex::const_new(());

pub(crate) async fn seed(store: &Store, months: u32) -> Result<()> {
    let opts = taizhang_demo::DemoOptions {
        admin_password: crate::PASSWORD.into(),
        months,
        scale: 0,
    };
    taizhang_demo::seed(store, &opts).await?;
    Ok(())
}

/// Puts a copy of the seeded SQLite template into `dir` (the database file and `data/`); returns
/// the database URL.
pub(crate) async fn copy_sqlite_into(dir: &Path) -> Result<String> {
    let template = SQLITE_TEMPLATE
        .get_or_try_init(sqlite_template)
        .await?
        .clone();
    let target = dir.to_path_buf();
    tokio::task::spawn_blocking(move || copy_dir(&template, &target)).await??;
    Ok(format!("sqlite://{}", dir.join(SQLITE_FILE).display()))
}

/// A new PostgreSQL database copied from the seeded template; returns its URL.
pub(crate) async fn copy_postgres() -> Result<String> {
    let cluster = PgCluster::shared().await?;
    let template = PG_TEMPLATE
        .get_or_try_init(|| postgres_template(cluster))
        .await?;
    let _one_at_a_time = PG_COPY.lock().await;
    cluster.create_database_from(Some(template)).await
}

async fn sqlite_template() -> Result<PathBuf> {
    let root = std::env::temp_dir();
    let place = root.join(format!("taizhang-test-template-{}", build_key()?));
    if place.join(SQLITE_FILE).exists() {
        return Ok(place);
    }
    let work = tempfile::Builder::new()
        .prefix("taizhang-test-seeding-")
        .tempdir_in(&root)?;
    let url = format!("sqlite://{}", work.path().join(SQLITE_FILE).display());
    let store = Store::open_with(&url, crate::test_options(work.path())).await?;
    seed(&store, DEMO_MONTHS).await?;
    // Closing the last connection checkpoints the write-ahead log into the file.
    store.close().await;
    let work = work.keep();
    match std::fs::rename(&work, &place) {
        Ok(()) => Ok(place),
        // Another test process got there first with the same seed: use its copy.
        Err(_) if place.join(SQLITE_FILE).exists() => {
            let _ = std::fs::remove_dir_all(&work);
            Ok(place)
        }
        Err(e) => Err(e).with_context(|| format!("rename {} into place", work.display())),
    }
}

/// What makes a seeded template valid: this very test binary, on this day (the demo's records
/// end today).
fn build_key() -> Result<String> {
    use std::hash::{Hash, Hasher};
    let exe = std::env::current_exe()?;
    let meta = std::fs::metadata(&exe)?;
    let mtime = meta.modified()?.duration_since(UNIX_EPOCH)?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (exe, meta.len(), mtime.as_nanos()).hash(&mut h);
    Ok(format!("{:016x}-{}", h.finish(), taizhang_store::today()))
}

async fn postgres_template(cluster: &PgCluster) -> Result<String> {
    let url = cluster.create_database_from(None).await?;
    let dir = tempfile::tempdir()?;
    let store = Store::open_with(&url, crate::test_options(dir.path())).await?;
    seed(&store, DEMO_MONTHS).await?;
    store.close().await;
    let Some(name) = url.rsplit('/').next() else {
        bail!("no database name in {url}");
    };
    Ok(name.to_string())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}
