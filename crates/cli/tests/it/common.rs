//! The real `taizhang serve` as an operator starts it: a child process on a free loopback port,
//! its standard output and error captured in a file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A copy of the demo county in a database of the given backend, not opened, so that only the
/// child process writes to it. Returns the URL and the temporary directory that holds the SQLite
/// file, the data directory and the logs.
pub async fn seeded_database(backend: taizhang_testkit::Backend) -> (String, tempfile::TempDir) {
    taizhang_testkit::seeded_database(backend)
        .await
        .expect("seeded database")
}

/// The environment every child gets: the test stores' audit key, and the test's own data
/// directory (never the working tree).
pub fn child_env(dir: &Path) -> Vec<(&'static str, String)> {
    let mut env = taizhang_testkit::test_key_env();
    env.push(("TAIZHANG_DATA_DIR", dir.join("data").display().to_string()));
    env
}

pub struct Serve {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl Serve {
    /// Starts `taizhang serve` and waits (bounded) until `/healthz` answers. The port is chosen
    /// free just before; should another process take it first, the child exits and is retried.
    pub async fn start(
        db_url: &str,
        dir: &Path,
        log: PathBuf,
        extra_env: &[(&str, &str)],
    ) -> Serve {
        let client = reqwest::Client::new();
        for _attempt in 0..3 {
            let port = free_port();
            let out = File::options()
                .create(true)
                .append(true)
                .open(&log)
                .expect("log file");
            let err = out.try_clone().expect("log file");
            let mut child = Command::new(env!("CARGO_BIN_EXE_taizhang"))
                .args(["serve", "--db", db_url, "--listen"])
                .arg(format!("127.0.0.1:{port}"))
                .envs(child_env(dir))
                .envs(extra_env.iter().copied())
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .expect("spawn taizhang serve");
            let base = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
                    if r.status().is_success() {
                        return Serve { child, base, log };
                    }
                }
                if child.try_wait().expect("child status").is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "taizhang serve did not answer within 120 s:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        panic!(
            "taizhang serve exited before answering, three times:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// SIGKILL: no shutdown code runs, exactly like a power cut to the process (not to the disk).
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }

    /// SIGINT, the graceful stop (`taizhang serve` stops on ctrl-c); waits for the exit.
    pub fn interrupt(&mut self) {
        let ok = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -INT");
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().expect("child status").is_none() {
            if Instant::now() > deadline {
                self.kill9();
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
