//! Starts a real taizhang server on a random loopback port over a fresh database — a SQLite file
//! in a temporary directory, or a database in a PostgreSQL cluster that this kit starts itself
//! (`initdb` + `pg_ctl` on a temporary directory and a free port) or that `TAIZHANG_TEST_PG`
//! names — holding the small demo county. The county is seeded once per backend and copied for
//! each test (see `template`). Tests talk to the server over HTTP like any client.

pub mod browser;
mod postgres;
mod replica;
mod template;

use anyhow::{Context, Result};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::Value;
use std::net::SocketAddr;
use taizhang_store::audit::{AuditKey, MacAlg};
use taizhang_store::{Actor, Store, StoreOptions};

pub use postgres::{PgCluster, SHARED_CLUSTER_ENV};
pub use replica::{spawn_replica_app, ReplicaPair};
pub use template::DEMO_MONTHS;

/// The password of every demo user in tests.
pub const PASSWORD: &str = "demo-password-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub store: Store,
    pub db_url: String,
    pub client: Client,
    pub backend: Backend,
    _dir: tempfile::TempDir,
}

/// Runs each named async test function (taking a `TestApp`) once per backend.
#[macro_export]
macro_rules! each_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::spawn_app($crate::Backend::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::spawn_app($crate::Backend::Postgres).await).await
                }
            )*
        }
    };
}

/// A fresh, empty database of the given backend (migrated), and its URL.
pub async fn fresh_store(backend: Backend) -> Result<(Store, String, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let url = match backend {
        Backend::Sqlite => format!(
            "sqlite://{}",
            dir.path().join(template::SQLITE_FILE).display()
        ),
        Backend::Postgres => PgCluster::shared().await?.create_database().await?,
    };
    let store = Store::open_with(&url, test_options(dir.path()))
        .await
        .with_context(|| format!("open {url}"))?;
    Ok((store, url, dir))
}

/// A database of the given backend holding the demo county (scale 0, `DEMO_MONTHS` months,
/// every user's password `PASSWORD`), not opened: for tests that hand it to a `taizhang` child
/// process. Returns its URL and the temporary directory that holds the SQLite file and the data
/// directory.
pub async fn seeded_database(backend: Backend) -> Result<(String, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let url = match backend {
        Backend::Sqlite => template::copy_sqlite_into(dir.path()).await?,
        Backend::Postgres => template::copy_postgres().await?,
    };
    Ok((url, dir))
}

/// A store over a database holding the demo county (see `seeded_database`).
pub async fn seeded_store(backend: Backend) -> Result<(Store, String, tempfile::TempDir)> {
    let (url, dir) = seeded_database(backend).await?;
    let store = Store::open_with(&url, test_options(dir.path()))
        .await
        .with_context(|| format!("open {url}"))?;
    Ok((store, url, dir))
}

/// The audit key every test store shares, so that a county copied between test databases keeps
/// a verifiable chain (as it does between databases of one deployment).
pub fn test_audit_key() -> AuditKey {
    AuditKey::new(
        MacAlg::HmacSha256,
        b"taizhang test audit key, 32+ bytes long".to_vec(),
    )
    .expect("long enough")
}

/// The field-encryption key every test store shares, for the same reason.
pub fn test_field_key() -> taizhang_store::crypto::FieldKey {
    taizhang_store::crypto::FieldKey::new(
        taizhang_store::crypto::Cipher::Aes256Gcm,
        b"taizhang test field key, 32+ bytes long".to_vec(),
    )
    .expect("long enough")
}

/// The test keys as the binary reads them from its environment, for tests that run `taizhang`
/// as a child process over a test store.
pub fn test_key_env() -> Vec<(&'static str, String)> {
    vec![
        ("TAIZHANG_AUDIT_KEY", test_audit_key().to_hex()),
        ("TAIZHANG_FIELD_KEY", test_field_key().to_hex()),
    ]
}

pub fn test_options(dir: &std::path::Path) -> StoreOptions {
    StoreOptions {
        data_dir: Some(dir.join("data")),
        audit_key: Some(test_audit_key()),
        field_key: Some(test_field_key()),
    }
}

/// A server over its own copy of the small demo county.
pub async fn spawn_app(backend: Backend) -> TestApp {
    try_spawn_app(backend).await.expect("test app starts")
}

pub async fn try_spawn_app(backend: Backend) -> Result<TestApp> {
    try_spawn_app_with(backend, AppOptions::default()).await
}

/// How a test server is configured, where a test needs other than the defaults.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    pub web: taizhang_web::WebOptions,
    /// How long a record write may hold the write connection (`Store::with_write_bound`).
    pub write_bound: Option<std::time::Duration>,
}

/// A server over its own copy of the small demo county, configured.
pub async fn spawn_app_with(backend: Backend, opts: AppOptions) -> TestApp {
    try_spawn_app_with(backend, opts)
        .await
        .expect("test app starts")
}

pub async fn try_spawn_app_with(backend: Backend, opts: AppOptions) -> Result<TestApp> {
    let (store, db_url, dir) = seeded_store(backend).await?;
    let store = match opts.write_bound {
        Some(bound) => store.with_write_bound(bound),
        None => store,
    };
    serve_store(store, db_url, dir, backend, opts.web).await
}

/// A server over a fresh database holding one new county founded on `founded` (as `taizhang
/// init` makes it: its 县委 and the built-in ledger types, nothing else) with the accounts `admin` (系统管理员 at the
/// 县委) and `anquan` (安全管理员), each with the password `PASSWORD` and no second factor.
pub async fn spawn_fresh_county(
    backend: Backend,
    code: &str,
    name: &str,
    founded: chrono::NaiveDate,
) -> Result<TestApp> {
    use taizhang_domain::Role;
    let (store, db_url, dir) = fresh_store(backend).await?;
    let county = store.create_county(code, name, founded).await?;
    let actor = Actor::system(county.id, "test");
    for (username, display, role) in [
        ("admin", "系统管理员", Role::Admin),
        ("anquan", "安全管理员", Role::SecAdmin),
    ] {
        let user = taizhang_store::NewUser {
            username: username.into(),
            display_name: format!("{name}{display}"),
            password: PASSWORD.into(),
            role,
            org_id: county.root_org_id,
            person_id: None,
            must_change_password: false,
        };
        store.create_user(&actor, user).await?;
    }
    let settings = taizhang_store::SecuritySettings {
        totp_required_for_admins: false,
        ..taizhang_store::SecuritySettings::default()
    };
    store.update_security_settings(&actor, &settings).await?;
    serve_store(
        store,
        db_url,
        dir,
        backend,
        taizhang_web::WebOptions::default(),
    )
    .await
}

async fn serve_store(
    store: Store,
    db_url: String,
    dir: tempfile::TempDir,
    backend: Backend,
    web: taizhang_web::WebOptions,
) -> Result<TestApp> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let served = store.clone();
    tokio::spawn(async move {
        let _ = taizhang_web::serve_with(served, listener, web).await;
    });
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    Ok(TestApp {
        addr,
        base: format!("http://{addr}"),
        store,
        db_url,
        client,
        backend,
        _dir: dir,
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Logs in through the API and returns the bearer token.
    pub async fn token(&self, username: &str) -> String {
        let r = self
            .client
            .post(self.url("/api/v1/login"))
            .json(&serde_json::json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .expect("login request");
        assert_eq!(r.status(), StatusCode::OK, "login of {username}");
        r.json::<Value>().await.expect("login json")["token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r: Response = req.send().await.expect("request");
        let status = r.status();
        let text = r.text().await.expect("body");
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Runs SQL straight on the database, past the application (to age a session, fake a newer
    /// schema, tamper with the audit log).
    pub async fn execute_raw(&self, sql: &str) {
        if self.backend == Backend::Postgres {
            let pool = sqlx::PgPool::connect(&self.db_url).await.expect("connect");
            sqlx::query(sql).execute(&pool).await.expect("raw sql");
        } else {
            let pool = sqlx::SqlitePool::connect(&self.db_url)
                .await
                .expect("connect");
            sqlx::query(sql).execute(&pool).await.expect("raw sql");
        }
    }

    /// The single number a `SELECT COUNT(*) …` (or any one-integer query) answers, read straight
    /// from the database: an oracle for figures the application computes.
    pub async fn count_raw(&self, sql: &str) -> i64 {
        let (n,): (i64,) = if self.backend == Backend::Postgres {
            let pool = sqlx::PgPool::connect(&self.db_url).await.expect("connect");
            let n = sqlx::query_as(sql).fetch_one(&pool).await.expect(sql);
            pool.close().await;
            n
        } else {
            let pool = sqlx::SqlitePool::connect(&self.db_url)
                .await
                .expect("connect");
            let n = sqlx::query_as(sql).fetch_one(&pool).await.expect(sql);
            pool.close().await;
            n
        };
        n
    }

    /// Every byte the database keeps on disk (the SQLite file with its write-ahead log), or what
    /// `pg_dump` writes of a PostgreSQL database: what a stolen copy would hold.
    pub async fn raw_dump(&self) -> Vec<u8> {
        match self.backend {
            Backend::Postgres => postgres::pg_dump(&self.db_url).expect("pg_dump"),
            Backend::Sqlite => {
                let path = self.db_url.trim_start_matches("sqlite://");
                let mut bytes = Vec::new();
                for suffix in ["", "-wal", "-shm"] {
                    if let Ok(b) = std::fs::read(format!("{path}{suffix}")) {
                        bytes.extend(b);
                    }
                }
                bytes
            }
        }
    }

    /// The store-level actor of a demo user, for checks that bypass HTTP.
    pub async fn actor(&self, username: &str) -> Actor {
        self.store.actor_for_user(username).await.expect("actor")
    }

    /// Logs in through the login form and returns the session cookie.
    pub async fn browser_login(&self, username: &str) -> String {
        let r = self
            .client
            .post(self.url("/login"))
            .form(&[("username", username), ("password", PASSWORD)])
            .send()
            .await
            .expect("login form");
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "form login of {username}"
        );
        let cookie = r
            .headers()
            .get("set-cookie")
            .expect("session cookie")
            .to_str()
            .expect("ascii")
            .to_string();
        cookie.split(';').next().unwrap_or_default().to_string()
    }

    pub async fn page(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        let r = self
            .client
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .expect("page");
        let s = r.status();
        (s, r.text().await.unwrap_or_default())
    }

    /// The CSRF token a page carries in its forms.
    pub fn csrf_of(html: &str) -> String {
        let marker = "name=\"_csrf\" value=\"";
        html.split(marker)
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_default()
            .to_string()
    }
}

/// What a browser that does not follow redirects sees.
pub struct Reply {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The `name=value` pair of the cookie the answer sets, empty when it sets none.
    pub fn cookie(&self) -> String {
        self.headers
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .to_string()
    }
}

pub async fn send(req: reqwest::RequestBuilder) -> Reply {
    let r = req.send().await.expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    let location = headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let body = r.text().await.unwrap_or_default();
    Reply {
        status,
        location,
        headers,
        body,
    }
}

/// A form POST, `application/x-www-form-urlencoded`, with the session cookie.
pub async fn post_form(app: &TestApp, path: &str, cookie: &str, form: &[(&str, &str)]) -> Reply {
    send(
        app.client
            .post(app.url(path))
            .header("cookie", cookie)
            .form(form),
    )
    .await
}

/// The (field, code) pairs of an API validation error, in order.
pub fn field_codes(v: &Value) -> Vec<(String, String)> {
    v["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["field"].as_str().unwrap_or("").to_string(),
                        f["code"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `needle` occurs anywhere in `hay` (a raw dump, say).
pub fn contains_bytes(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
