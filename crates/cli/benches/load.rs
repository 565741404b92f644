//! Benchmark: the real `taizhang serve` on 127.0.0.1 (a free port) under load from a bounded
//! client in this process, over a generated database.
//!
//! - `read` (200 concurrent clients by default, logged in): the bulletin API of a township and of
//!   the county, the organisation page and the records page, round robin, and — when the county
//!   lies below a region (`BENCH_REGION`, or the first region above it) — the region's bulletin
//!   API read by a `region_viewer` of that region; prints p50/p99 per target, the errors, and the
//!   server's peak RSS (`VmHWM` of `/proc/PID/status`).
//! - `write`: single-record writes (`POST /api/v1/records`) with 1 and with 16 concurrent
//!   clients; prints records/s and p50/p99.
//!
//! `cargo bench -p taizhang --bench load`; environment:
//! - `TAIZHANG_BENCH_DB`: serve this database (it gains an account `loadbench` and, in `write`
//!   mode, records; run it on a copy; the server inherits `TAIZHANG_DATA_DIR` for the keys);
//!   otherwise `gen --scale county --seed 1` (`BENCH_GEN_SCALE`: `test`, `county`, `city`) into a
//!   fresh SQLite file (`BENCH_BACKENDS=postgres` for a fresh PostgreSQL database instead);
//! - `BENCH_LOAD_MODE` (`read,write` default), `BENCH_LOAD_CLIENTS` (200),
//!   `BENCH_LOAD_REQUESTS` (20,000 in all), `BENCH_LOAD_SECONDS` (60: the bound on each phase),
//!   `BENCH_WRITE_SECONDS` (20 per concurrency).

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use taizhang_demo::gen::{generate, GenOptions, Scale};
use taizhang_domain::Role;
use taizhang_store::{Actor, NewUser, Store};
use taizhang_testkit::{fresh_store, Backend};

const USER: &str = "loadbench";
const REGION_USER: &str = "loadregion";
const PASSWORD: &str = "load-Bench-password-1";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(url: &str, env: &[(&'static str, String)], log: &Path) -> Server {
        let port = free_port();
        let out = std::fs::File::create(log).expect("log");
        let err = out.try_clone().expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_taizhang"))
            .args(["serve", "--db", url, "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn taizhang serve");
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = Client::new();
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await {
                if r.status().is_success() {
                    return server;
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "taizhang serve exited ({status}):\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "taizhang serve did not answer in 600 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// (VmRSS, VmHWM) in kB.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The database, its county (id, code, root id), a township's id, and the server's environment.
struct Target {
    url: String,
    env: Vec<(&'static str, String)>,
    county: i64,
    code: String,
    root: i64,
    town: i64,
    year: i32,
    /// The region above the county whose bulletin a `region_viewer` reads, if there is one.
    region: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

async fn prepare() -> Target {
    let (store, url, env, dir) = match std::env::var("TAIZHANG_BENCH_DB") {
        Ok(url) => {
            let url = db_url(&url);
            let store = Store::open(&url).await.expect("open TAIZHANG_BENCH_DB");
            (store, url, Vec::new(), None)
        }
        Err(_) => {
            let backend = match std::env::var("BENCH_BACKENDS").as_deref() {
                Ok("postgres") => Backend::Postgres,
                _ => Backend::Sqlite,
            };
            let (store, url, dir) = fresh_store(backend).await.expect("store");
            let t = Instant::now();
            let scale: Scale = std::env::var("BENCH_GEN_SCALE")
                .unwrap_or_else(|_| "county".into())
                .parse()
                .expect("BENCH_GEN_SCALE: test, county or city");
            let opts = GenOptions {
                scale,
                years: 1,
                seed: 1,
                tree_only: false,
            };
            let s = generate(&store, &opts, &mut |_| {}).await.expect("gen");
            println!(
                "generated county: {} organisations, {} people, {} records in {:.0} s ({url})",
                s.orgs,
                s.people,
                s.records,
                t.elapsed().as_secs_f64()
            );
            let mut env = taizhang_testkit::test_key_env();
            env.push((
                "TAIZHANG_DATA_DIR",
                dir.path().join("data").display().to_string(),
            ));
            (store, url, env, Some(dir))
        }
    };
    let counties = store.counties().await.expect("counties");
    let county = counties
        .iter()
        .find(|c| c.code == "370828")
        .or(counties.first())
        .cloned()
        .expect("a county");
    let actor = Actor::system(county.id, "bench");
    let user = NewUser {
        username: USER.into(),
        display_name: "负载测试".into(),
        password: PASSWORD.into(),
        role: Role::Manager,
        org_id: county.root_org_id,
        person_id: None,
        must_change_password: false,
    };
    if let Err(e) = store.create_user(&actor, user).await {
        println!("account {USER} not created ({e}); using the existing one");
    }
    let region = match std::env::var("BENCH_REGION") {
        Ok(code) => Some(code),
        Err(_) => {
            let mut above = None;
            for r in store.regions().await.expect("regions") {
                let (_, below) = store
                    .region_counties(&actor, &r.code)
                    .await
                    .expect("region counties");
                if below.iter().any(|c| c.id == county.id) {
                    above = Some(r.code);
                    break;
                }
            }
            above
        }
    };
    if let Some(code) = &region {
        if let Err(e) = store
            .create_region_user_with_password(&actor, code, REGION_USER, "负载测试（市）", PASSWORD)
            .await
        {
            println!("account {REGION_USER} not created ({e}); using the existing one");
        }
    }
    store.close().await;
    // The township with the most records, and the year of the latest record.
    let town_sql = "SELECT '', o.id FROM org_edges e JOIN orgs o ON o.id = e.child_id
        JOIN org_closure c ON c.ancestor_id = o.id JOIN ledger_records r ON r.org_id = c.descendant_id
        WHERE e.parent_id = $1 AND e.valid_to IS NULL GROUP BY o.id ORDER BY COUNT(*) DESC, o.id LIMIT 1";
    let year_sql = "SELECT COALESCE(MAX(CAST(occurred_on AS TEXT)), '2025'), CAST(0 AS BIGINT) FROM ledger_records WHERE county_id = $1";
    let town = one(&url, town_sql, county.root_org_id.get()).await.1;
    let year = one(&url, year_sql, county.id.get())
        .await
        .0
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(2025);
    Target {
        url,
        env,
        county: county.id.get(),
        code: county.code,
        root: county.root_org_id.get(),
        town,
        year,
        region,
        _dir: dir,
    }
}

/// The first (text, integer) row of a query with `$1` bound.
async fn one(url: &str, sql: &str, arg: i64) -> (String, i64) {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("postgres");
        let r = sqlx::query_as(sql)
            .bind(arg)
            .fetch_one(&pool)
            .await
            .expect(sql);
        pool.close().await;
        r
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite");
        let r = sqlx::query_as(sql)
            .bind(arg)
            .fetch_one(&pool)
            .await
            .expect(sql);
        pool.close().await;
        r
    }
}

async fn api_login(client: &Client, base: &str, user: &str) -> String {
    let r = client
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::OK, "API login of {user}");
    r.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string()
}

async fn login(client: &Client, base: &str) -> (String, String) {
    let token = api_login(client, base, USER).await;
    let r = client
        .post(format!("{base}/login"))
        .form(&[("username", USER), ("password", PASSWORD)])
        .send()
        .await
        .expect("form login");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "form login");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_string();
    (token, cookie)
}

#[derive(Default)]
struct Tally {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    errors: BTreeMap<String, u64>,
}

async fn read_load(t: &Target, server: &Server, client: &Client) {
    let clients = env_num("BENCH_LOAD_CLIENTS", 200);
    let total = env_num("BENCH_LOAD_REQUESTS", 20_000);
    let seconds = env_num("BENCH_LOAD_SECONDS", 60);
    let (token, cookie) = login(client, &server.base).await;
    let region_token = match &t.region {
        Some(_) => Some(api_login(client, &server.base, REGION_USER).await),
        None => None,
    };
    let (from, to) = (format!("{}-01-01", t.year), format!("{}-12-31", t.year));
    // (name, path, the bearer token for the API or `None` for the session cookie of a page)
    let mut targets: Vec<(&'static str, String, Option<String>)> = vec![
        (
            "bulletin API, township",
            format!(
                "/api/v1/bulletin?org=o{}&from={from}&to={to}&by=children",
                t.town
            ),
            Some(token.clone()),
        ),
        (
            "bulletin API, county",
            format!(
                "/api/v1/bulletin?org={}&from={from}&to={to}&by=children",
                t.code
            ),
            Some(token.clone()),
        ),
        (
            "organisation page, township",
            format!("/orgs/o{}", t.town),
            None,
        ),
        (
            "records page, township",
            format!("/records?org=o{}&from={from}&to={to}", t.town),
            None,
        ),
    ];
    if let (Some(code), Some(rt)) = (&t.region, region_token) {
        targets.push((
            "bulletin API, region",
            format!("/api/v1/regions/{code}/bulletin?from={from}&to={to}"),
            Some(rt),
        ));
    }
    let targets = Arc::new(targets);
    // Warm: each target once, checked.
    for (name, path, bearer) in targets.iter() {
        let req = client.get(format!("{}{path}", server.base));
        let req = match bearer {
            Some(b) => req.bearer_auth(b),
            None => req.header("cookie", &cookie),
        };
        let r = req.send().await.expect("warm request");
        assert_eq!(r.status(), StatusCode::OK, "{name}: {path}");
    }
    let issued = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, base, cookie) = (client.clone(), server.base.clone(), cookie.clone());
        let (targets, issued, tally) = (targets.clone(), issued.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine: Vec<(&'static str, Duration)> = Vec::new();
            let mut errors: Vec<String> = Vec::new();
            loop {
                let n = issued.fetch_add(1, Ordering::SeqCst);
                if n >= total || Instant::now() > deadline {
                    break;
                }
                let (name, path, bearer) = &targets[(n % targets.len() as u64) as usize];
                let req = client.get(format!("{base}{path}"));
                let req = match bearer {
                    Some(b) => req.bearer_auth(b),
                    None => req.header("cookie", &cookie),
                };
                let t = Instant::now();
                match req.send().await {
                    Ok(r) => {
                        let status = r.status();
                        let body = r.bytes().await;
                        if status == StatusCode::OK && body.is_ok() {
                            mine.push((name, t.elapsed()));
                        } else if status == StatusCode::SERVICE_UNAVAILABLE {
                            // The report gate's "busy, retry after": counted apart.
                            errors.push(format!("{name}: 503 busy"));
                        } else {
                            errors.push(format!("{name}: {status}"));
                        }
                    }
                    Err(e) => errors.push(format!("{name}: {e}")),
                }
            }
            let mut tl = tally.lock().expect("tally");
            for (name, d) in mine {
                tl.latencies.entry(name).or_default().push(d);
            }
            for e in errors {
                *tl.errors.entry(e).or_insert(0) += 1;
            }
        }));
    }
    let sampler = {
        let (peak, pid) = (peak_rss.clone(), server.child.id());
        tokio::spawn(async move {
            loop {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let rss = status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                peak.fetch_max(rss, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    for task in tasks {
        task.await.expect("client task");
    }
    let elapsed = start.elapsed();
    sampler.abort();
    let (rss, hwm) = server.memory();
    let tl = tally.lock().expect("tally");
    let done: usize = tl.latencies.values().map(Vec::len).sum();
    let errors: u64 = tl.errors.values().sum();
    println!(
        "read load: {clients} clients, {done} answered in {:.1} s ({:.0} requests/s), {errors} errors",
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64()
    );
    let mut all = Vec::new();
    for (name, v) in &tl.latencies {
        let mut v = v.clone();
        v.sort();
        println!(
            "  {name:<30} {:>6} requests  p50 {:>8.1} ms  p99 {:>8.1} ms  max {:>8.1} ms",
            v.len(),
            ms(percentile(&v, 0.5)),
            ms(percentile(&v, 0.99)),
            ms(percentile(&v, 1.0))
        );
        all.extend(v);
    }
    all.sort();
    println!(
        "  {:<30} {:>6} requests  p50 {:>8.1} ms  p99 {:>8.1} ms",
        "all",
        all.len(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99))
    );
    for (e, n) in &tl.errors {
        println!("  error ×{n}: {e}");
    }
    println!(
        "  server RSS: now {} MB, sampled peak {} MB, VmHWM {} MB",
        rss / 1024,
        peak_rss.load(Ordering::SeqCst) / 1024,
        hwm / 1024
    );
}

async fn write_load(t: &Target, server: &Server, client: &Client) {
    let seconds = env_num("BENCH_WRITE_SECONDS", 20);
    let (token, _) = login(client, &server.base).await;
    let day = chrono::NaiveDate::from_ymd_opt(t.year, 6, 15).expect("date");
    let serial = Arc::new(AtomicU64::new(0));
    for clients in [1u64, 16] {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (client, base, token, serial) = (
                client.clone(),
                server.base.clone(),
                token.clone(),
                serial.clone(),
            );
            let town = t.town;
            tasks.push(tokio::spawn(async move {
                let mut ok = Vec::new();
                let mut errors = Vec::new();
                while Instant::now() < deadline {
                    let n = serial.fetch_add(1, Ordering::SeqCst);
                    let body = json!({"ledger_type": "visit", "org": format!("o{town}"), "occurred_on": day,
                        "fields": {"category": "脱贫户", "households": 1 + n % 40, "problems_found": n % 5,
                                   "topics": ["村情民意"], "visitors": [], "notes": format!("load write {n}.")}});
                    let t = Instant::now();
                    match client
                        .post(format!("{base}/api/v1/records"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                    {
                        Ok(r) if r.status() == StatusCode::CREATED => {
                            let _ = r.bytes().await;
                            ok.push(t.elapsed());
                        }
                        Ok(r) => errors.push(format!("{} {}", r.status(), r.text().await.unwrap_or_default())),
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                (ok, errors)
            }));
        }
        let mut all = Vec::new();
        let mut errors = Vec::new();
        for task in tasks {
            let (ok, e) = task.await.expect("writer");
            all.extend(ok);
            errors.extend(e);
        }
        let elapsed = start.elapsed();
        all.sort();
        println!(
            "single-record writes, {clients:>2} client(s): {} records in {:.1} s = {:.1} records/s, p50 {:.1} ms, p99 {:.1} ms, {} errors{}",
            all.len(),
            elapsed.as_secs_f64(),
            all.len() as f64 / elapsed.as_secs_f64(),
            ms(percentile(&all, 0.5)),
            ms(percentile(&all, 0.99)),
            errors.len(),
            errors.first().map(|e| format!(" (first: {e})")).unwrap_or_default()
        );
    }
}

/// `TAIZHANG_BENCH_DB` as a URL: a bare path is a SQLite file.
fn db_url(given: &str) -> String {
    if given.starts_with("sqlite:") || given.starts_with("postgres") {
        given.to_string()
    } else {
        format!("sqlite://{given}")
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("load: bench");
        return;
    }
    let mode = std::env::var("BENCH_LOAD_MODE").unwrap_or_else(|_| "read,write".into());
    let t = prepare().await;
    let log = std::env::temp_dir().join(format!("taizhang-load-{}.log", std::process::id()));
    let server = Server::start(&t.url, &t.env, &log).await;
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(256)
        .build()
        .expect("client");
    println!(
        "serving {} (county {} id {}, root o{}, township o{}, year {}, region {}) at {}",
        t.url,
        t.code,
        t.county,
        t.root,
        t.town,
        t.year,
        t.region.as_deref().unwrap_or("none"),
        server.base
    );
    if mode.contains("read") {
        read_load(&t, &server, &client).await;
    }
    if mode.contains("write") {
        write_load(&t, &server, &client).await;
    }
    drop(server);
    // The server's own account of what went wrong, if anything did.
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for line in text.lines().filter(|l| l.contains("ERROR")) {
        let key: String = line.chars().skip(40).take(160).collect();
        *seen.entry(key).or_insert(0) += 1;
    }
    for (line, n) in seen.iter().take(5) {
        println!("  server log ERROR ×{n}: {line}");
    }
    let _ = std::fs::remove_file(&log);
}
