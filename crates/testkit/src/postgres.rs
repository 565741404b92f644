//! A throwaway PostgreSQL cluster for tests, each test in its own database. When
//! `TAIZHANG_TEST_PG` names a running cluster (the URL of its `postgres` database, as
//! `scripts/test` starts one for every test binary of a run), the tests use it; otherwise the
//! first test of a process starts one: `initdb` and `pg_ctl` on a temporary directory and a free
//! loopback port, and a small watchdog stops it and removes its files when the process ends.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::OnceCell;

/// A cluster this process started (its files go with the process).
pub(crate) struct StartedCluster {
    pub(crate) port: u16,
}

pub struct PgCluster {
    /// `postgres://user@host:port`, without a database.
    server: String,
}

/// The environment variable naming a running cluster to use instead of starting one.
pub const SHARED_CLUSTER_ENV: &str = "TAIZHANG_TEST_PG";

static SHARED: OnceCell<PgCluster> = OnceCell::const_new();
static NEXT_DB: AtomicU32 = AtomicU32::new(1);

pub(crate) fn bin_dir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    if let Some(dir) = found.pop() {
        return Ok(dir);
    }
    bail!("PostgreSQL server binaries not found: install Debian's `postgresql` package (or set PG_BIN)")
}

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// PostgreSQL refuses to run as root: run its tools as the `postgres` user then.
pub(crate) fn pg_command(bin: &Path, tool: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

pub(crate) fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

impl PgCluster {
    pub async fn shared() -> Result<&'static PgCluster> {
        SHARED
            .get_or_try_init(|| async {
                match std::env::var(SHARED_CLUSTER_ENV) {
                    Ok(url) if !url.is_empty() => PgCluster::running(&url),
                    _ => tokio::task::spawn_blocking(PgCluster::start).await?,
                }
            })
            .await
    }

    /// A cluster someone else started and stops, from the URL of one of its databases.
    fn running(url: &str) -> Result<PgCluster> {
        let Some((server, _database)) = url.rsplit_once('/') else {
            bail!("{SHARED_CLUSTER_ENV}={url} is not a postgres://user@host:port/database URL");
        };
        if !server.starts_with("postgres://") || server.len() <= "postgres://".len() {
            bail!("{SHARED_CLUSTER_ENV}={url} is not a postgres://user@host:port/database URL");
        }
        Ok(PgCluster {
            server: server.to_string(),
        })
    }

    fn start() -> Result<PgCluster> {
        PgCluster::start_with("").map(|(cluster, _)| cluster)
    }

    /// Starts a cluster of this process with `extra` server options (`-c name=value …`); returns
    /// it and its port. It is stopped and its files removed when the process ends.
    pub(crate) fn start_with(extra: &str) -> Result<(PgCluster, StartedCluster)> {
        let bin = bin_dir()?;
        let dir = std::env::temp_dir().join(format!(
            "taizhang-pg-{}-{}",
            std::process::id(),
            free_port()?
        ));
        std::fs::create_dir_all(&dir)?;
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()?
                .success();
            if !ok {
                bail!("chown of {} failed", dir.display());
            }
        }
        let data = dir.join("data");
        let out = pg_command(&bin, "initdb")
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ])
            .output()
            .context("run initdb")?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let port = free_port()?;
        let opts = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 {extra}",
            dir.display()
        );
        let out = pg_command(&bin, "pg_ctl")
            .args(["-D"])
            .arg(&data)
            .args(["-o", &opts, "-l"])
            .arg(dir.join("log"))
            .args(["-w", "-t", "60", "start"])
            .output()
            .context("run pg_ctl")?;
        if !out.status.success() {
            let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            bail!(
                "pg_ctl start failed: {}\n{log}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        spawn_watchdog(&bin, &data, &dir);
        let cluster = PgCluster {
            server: format!("postgres://postgres@127.0.0.1:{port}"),
        };
        Ok((cluster, StartedCluster { port }))
    }

    pub fn admin_url(&self) -> String {
        format!("{}/postgres", self.server)
    }

    /// A new, empty database; returns its URL.
    pub async fn create_database(&self) -> Result<String> {
        self.create_database_from(None).await
    }

    /// A new database, empty or a copy of `template` (to which nothing may be connected); returns
    /// its URL. Names carry the process id: test processes may share the cluster.
    pub(crate) async fn create_database_from(&self, template: Option<&str>) -> Result<String> {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::SeqCst)
        );
        let sql = match template {
            Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
            None => format!("CREATE DATABASE {name}"),
        };
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&self.admin_url()).await?;
        sqlx::raw_sql(&sql)
            .execute(&mut c)
            .await
            .with_context(|| sql.clone())?;
        c.close().await?;
        Ok(format!("{}/{name}", self.server))
    }
}

/// Stops the cluster once this process is gone (tests have no global teardown).
pub(crate) fn spawn_watchdog(bin: &Path, data: &Path, dir: &Path) {
    let pid = std::process::id();
    let stop = if is_root() {
        format!(
            "runuser -u postgres -- {} -D {} -m immediate stop",
            bin.join("pg_ctl").display(),
            data.display()
        )
    } else {
        format!(
            "{} -D {} -m immediate stop",
            bin.join("pg_ctl").display(),
            data.display()
        )
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {}",
        dir.display()
    );
    let _ = Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// The whole database as `pg_dump` writes it (plain SQL with the data), for tests that check what
/// a copy of the database would reveal.
pub fn pg_dump(url: &str) -> Result<Vec<u8>> {
    let out = pg_command(&bin_dir()?, "pg_dump")
        .arg("--data-only")
        .arg(url)
        .output()?;
    if !out.status.success() {
        bail!("pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(out.stdout)
}
