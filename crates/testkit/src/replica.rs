//! A PostgreSQL primary with streaming replicas, for the tests of `serve --read-replica`. The
//! first such test of a process starts the primary (its own cluster, as `postgres` starts the
//! shared one: a base backup copies the whole cluster, so it holds only these tests' databases)
//! and seeds the demo county into a template there. Each test then gets its own database copied
//! from the template and its own replica of the cluster (`pg_basebackup -R`, started as a hot
//! standby on a free loopback port), which it may stop, start, pause and resume without
//! disturbing another test's.

use crate::postgres::{bin_dir, free_port, is_root, pg_command, PgCluster, StartedCluster};
use crate::{test_options, Backend, TestApp};
use anyhow::{bail, Context, Result};
use reqwest::Client;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use taizhang_store::{ReplicaOptions, Store};
use tokio::sync::{Mutex, OnceCell};

struct Primary {
    cluster: PgCluster,
    started: StartedCluster,
    /// The database holding the seeded demo county, copied for each test.
    template: String,
}

static PRIMARY: OnceCell<Primary> = OnceCell::const_new();
/// One copy of the template at a time: each copy holds a lock on it.
static COPY: Mutex<()> = Mutex::const_new(());
static NEXT_REPLICA: AtomicU32 = AtomicU32::new(1);

async fn primary() -> Result<&'static Primary> {
    PRIMARY
        .get_or_try_init(|| async {
            // initdb's defaults stream to loopback (wal_level=replica, max_wal_senders=10, a
            // `host replication` trust line); keep WAL for a replica stopped for a while.
            let (cluster, started) =
                tokio::task::spawn_blocking(|| PgCluster::start_with("-c wal_keep_size=256MB"))
                    .await??;
            let template = seed_template(&cluster).await?;
            Ok(Primary {
                cluster,
                started,
                template,
            })
        })
        .await
}

/// How many months of records the replica tests' county holds: enough for a bulletin of the
/// last 30 days, few enough to seed in seconds.
pub const REPLICA_DEMO_MONTHS: u32 = 2;

/// The demo county, seeded into a new database of the primary and closed (a template must have
/// no connections while it is copied); returns its name.
async fn seed_template(cluster: &PgCluster) -> Result<String> {
    let url = cluster.create_database().await?;
    let dir = tempfile::tempdir()?;
    let store = Store::open_with(&url, test_options(dir.path())).await?;
    crate::template::seed(&store, REPLICA_DEMO_MONTHS).await?;
    store.close().await;
    let Some((_, name)) = url.rsplit_once('/') else {
        bail!("no database name in {url}");
    };
    Ok(name.to_string())
}

/// A test's database on the primary and the same database on its own streaming replica.
pub struct ReplicaPair {
    /// The test's database on the primary.
    pub primary_url: String,
    /// The same database, read from the replica.
    pub replica_url: String,
    bin: PathBuf,
    /// Holds the replica's `data/`, its socket and its `log`.
    dir: PathBuf,
    port: u16,
}

fn run(mut c: std::process::Command, what: &str) -> Result<()> {
    let out = c.output().with_context(|| format!("run {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

impl ReplicaPair {
    /// A fresh copy of the demo county on the primary, and a replica that has it.
    pub async fn start() -> Result<ReplicaPair> {
        let primary = primary().await?;
        let primary_url = {
            let _one_at_a_time = COPY.lock().await;
            primary
                .cluster
                .create_database_from(Some(&primary.template))
                .await?
        };
        let Some((_, name)) = primary_url.rsplit_once('/') else {
            bail!("no database name in {primary_url}");
        };
        let dir = std::env::temp_dir().join(format!(
            "taizhang-replica-{}-{}",
            std::process::id(),
            NEXT_REPLICA.fetch_add(1, Ordering::SeqCst)
        ));
        let port = free_port()?;
        let pair = ReplicaPair {
            replica_url: format!("postgres://postgres@127.0.0.1:{port}/{name}"),
            primary_url,
            bin: bin_dir()?,
            dir,
            port,
        };
        let (bin, dir, from_port) = (pair.bin.clone(), pair.dir.clone(), primary.started.port);
        tokio::task::spawn_blocking(move || base_backup(&bin, &dir, from_port)).await??;
        // Stopped and removed with the process, should the test not get to drop the pair.
        crate::postgres::spawn_watchdog(&pair.bin, &pair.dir.join("data"), &pair.dir);
        pair.start_replica().await?;
        Ok(pair)
    }

    async fn pg_ctl(&self, args: Vec<String>, what: &'static str) -> Result<()> {
        let mut c = pg_command(&self.bin, "pg_ctl");
        c.arg("-D").arg(self.dir.join("data")).args(args);
        tokio::task::spawn_blocking(move || run(c, what)).await?
    }

    /// Starts the replica (again), waiting until it accepts connections.
    pub async fn start_replica(&self) -> Result<()> {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log").display().to_string();
        let args = ["-o", &opts, "-l", &log, "-w", "-t", "60", "start"];
        let started = self
            .pg_ctl(args.map(String::from).to_vec(), "pg_ctl start (replica)")
            .await;
        started.map_err(|e| {
            let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
            e.context(log)
        })
    }

    /// Stops the replica as a crash would (`pg_ctl stop -m immediate`).
    pub async fn stop_replica(&self) -> Result<()> {
        let args = ["-m", "immediate", "-w", "stop"];
        self.pg_ctl(args.map(String::from).to_vec(), "pg_ctl stop (replica)")
            .await
    }

    /// Pauses the replica's replay, returning once it has stopped replaying.
    pub async fn pause_replay(&self) -> Result<()> {
        let pool = sqlx::PgPool::connect(&self.replica_url).await?;
        sqlx::query("SELECT pg_wal_replay_pause()")
            .execute(&pool)
            .await?;
        for _ in 0..100 {
            let (state,): (String,) = sqlx::query_as("SELECT pg_get_wal_replay_pause_state()")
                .fetch_one(&pool)
                .await?;
            if state == "paused" {
                pool.close().await;
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        bail!("the replica's replay did not pause within 2 s")
    }

    pub async fn resume_replay(&self) -> Result<()> {
        let pool = sqlx::PgPool::connect(&self.replica_url).await?;
        sqlx::query("SELECT pg_wal_replay_resume()")
            .execute(&pool)
            .await?;
        pool.close().await;
        Ok(())
    }
}

impl Drop for ReplicaPair {
    fn drop(&mut self) {
        let mut c = pg_command(&self.bin, "pg_ctl");
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"]);
        let _ = c.output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `pg_basebackup -R` of the primary on `port` into `dir/data`: it starts as a hot standby.
fn base_backup(bin: &Path, dir: &Path, port: u16) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    if is_root() {
        let mut c = std::process::Command::new("chown");
        c.args(["-R", "postgres:postgres"]).arg(dir);
        run(c, "chown")?;
    }
    let mut c = pg_command(bin, "pg_basebackup");
    c.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-U",
        "postgres",
        "-D",
    ])
    .arg(dir.join("data"))
    .args(["-R", "-X", "stream", "-c", "fast", "--no-sync"]);
    run(c, "pg_basebackup")
}

/// A server over its own copy of the demo county on the primary, reading its reports from the
/// pair's replica as `opts` says; the pair is returned with it so that the test can stop,
/// start, pause and resume the replica.
pub async fn spawn_replica_app(opts: ReplicaOptions) -> Result<(TestApp, ReplicaPair)> {
    let pair = ReplicaPair::start().await?;
    let dir = tempfile::tempdir()?;
    let store = Store::open_with(&pair.primary_url, test_options(dir.path()))
        .await
        .with_context(|| format!("open {}", pair.primary_url))?
        .with_read_replica(&pair.replica_url, opts)
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let served = store.clone();
    tokio::spawn(async move {
        let _ = taizhang_web::serve_with(served, listener, Default::default()).await;
    });
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let app = TestApp {
        addr,
        base: format!("http://{addr}"),
        store,
        db_url: pair.primary_url.clone(),
        client,
        backend: Backend::Postgres,
        _dir: dir,
    };
    Ok((app, pair))
}
