//! A throwaway PostgreSQL cluster for tests: `initdb` and `pg_ctl` on a temporary directory and a
//! free loopback port, shared by the tests of one process, each test in its own database. A small
//! watchdog stops the cluster and removes its files when the test process ends.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::OnceCell;

pub struct PgCluster {
    pub port: u16,
    dir: PathBuf,
}

static SHARED: OnceCell<PgCluster> = OnceCell::const_new();
static NEXT_DB: AtomicU32 = AtomicU32::new(1);

fn bin_dir() -> Result<PathBuf> {
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

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// PostgreSQL refuses to run as root: run its tools as the `postgres` user then.
fn pg_command(bin: &Path, tool: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

impl PgCluster {
    pub async fn shared() -> Result<&'static PgCluster> {
        SHARED
            .get_or_try_init(|| async { tokio::task::spawn_blocking(PgCluster::start).await? })
            .await
    }

    fn start() -> Result<PgCluster> {
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
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
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
        Ok(PgCluster { port, dir })
    }

    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A new, empty database; returns its URL.
    pub async fn create_database(&self) -> Result<String> {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::SeqCst)
        );
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&self.admin_url()).await?;
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await?;
        c.close().await?;
        Ok(format!(
            "postgres://postgres@127.0.0.1:{}/{name}",
            self.port
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Stops the cluster once this process is gone (tests have no global teardown).
fn spawn_watchdog(bin: &Path, data: &Path, dir: &Path) {
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
