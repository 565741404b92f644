//! taizhang's one data-access layer. Queries are written once (`queries.rs`) and compiled for
//! each backend with its own static types: SQLite (the embedded default) and PostgreSQL. Every
//! operation takes the caller's `Actor`, whose scope limits what it reads and writes; every write
//! appends to the audit log in the same transaction.

pub mod audit;
pub mod auth;
mod backup;
mod copy;
pub mod crypto;
mod error;
pub mod jobs;
pub mod model;
mod sqlbuild;
pub mod totp;

pub use backup::{BackupReport, RestoreReport, TableSum};
pub use copy::TableCopy;
pub use error::{StoreError, StoreResult};
pub use model::*;

use chrono::{Duration, NaiveDate, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::{Path, PathBuf};
use taizhang_domain::bulletin::{Bulletin, Grouping};
use taizhang_domain::ledger::LedgerTypeDef;
use taizhang_domain::period::DateRange;

/// A read pool and a write pool. SQLite allows one writer at a time, so its write pool holds a
/// single connection (writers queue in the process instead of failing with SQLITE_BUSY);
/// PostgreSQL uses one pool for both.
pub(crate) struct Pools<DB: sqlx::Database> {
    pub read: sqlx::Pool<DB>,
    pub write: sqlx::Pool<DB>,
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

/// A key read from the environment (hex), from a key file named by the environment, or from
/// `default_file` in the data directory, created with a random key on first start. Returns the
/// key and the path of its key file when this call created it.
fn resolve_key<K>(
    data_dir: &Path,
    (hex_var, file_var, default_file): (&str, &str, &str),
    parse: impl Fn(&str) -> Result<K, String>,
    random: impl Fn() -> (K, String),
) -> StoreResult<(K, Option<PathBuf>)> {
    if let Ok(hex_key) = std::env::var(hex_var) {
        return parse(&hex_key)
            .map(|k| (k, None))
            .map_err(StoreError::Config);
    }
    let path = std::env::var_os(file_var)
        .map(PathBuf::from)
        .unwrap_or_else(|| data_dir.join(default_file));
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text)
            .map(|k| (k, None))
            .map_err(|e| StoreError::Config(format!("{}：{e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (key, hex_text) = random();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            write_private(&path, &hex_text)?;
            tracing::info!(path = %path.display(), "created a new key file");
            Ok((key, Some(path)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The audit key (`TAIZHANG_AUDIT_KEY`, `TAIZHANG_AUDIT_KEY_FILE`, `audit.key`; algorithm from
/// `TAIZHANG_AUDIT_MAC`).
fn resolve_audit_key(
    opts: &StoreOptions,
    data_dir: &Path,
) -> StoreResult<(audit::AuditKey, Option<PathBuf>)> {
    if let Some(k) = &opts.audit_key {
        return Ok((k.clone(), None));
    }
    let alg = match std::env::var("TAIZHANG_AUDIT_MAC") {
        Ok(name) => audit::MacAlg::parse(&name).ok_or_else(|| {
            StoreError::Config(format!("未知的审计算法 {name}，可选 hmac-sha256、hmac-sm3"))
        })?,
        Err(_) => audit::MacAlg::HmacSha256,
    };
    resolve_key(
        data_dir,
        ("TAIZHANG_AUDIT_KEY", "TAIZHANG_AUDIT_KEY_FILE", "audit.key"),
        |text| audit::AuditKey::from_hex(alg, text),
        || {
            let k = audit::AuditKey::random(alg);
            let hex_text = k.to_hex();
            (k, hex_text)
        },
    )
}

/// The field-encryption key (`TAIZHANG_FIELD_KEY`, `TAIZHANG_FIELD_KEY_FILE`, `field.key`;
/// cipher from `TAIZHANG_FIELD_CIPHER` = `aes-256-gcm` | `sm4-gcm`).
fn resolve_field_key(
    opts: &StoreOptions,
    data_dir: &Path,
) -> StoreResult<(crypto::FieldKey, Option<PathBuf>)> {
    if let Some(k) = &opts.field_key {
        return Ok((k.clone(), None));
    }
    let cipher = match std::env::var("TAIZHANG_FIELD_CIPHER") {
        Ok(name) => crypto::Cipher::parse(&name).ok_or_else(|| {
            StoreError::Config(format!(
                "未知的字段加密算法 {name}，可选 aes-256-gcm、sm4-gcm"
            ))
        })?,
        Err(_) => crypto::Cipher::Aes256Gcm,
    };
    resolve_key(
        data_dir,
        ("TAIZHANG_FIELD_KEY", "TAIZHANG_FIELD_KEY_FILE", "field.key"),
        |text| crypto::FieldKey::from_hex(cipher, text),
        || {
            let k = crypto::FieldKey::random(cipher);
            let hex_text = k.to_hex();
            (k, hex_text)
        },
    )
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)?.write_all(text.as_bytes())
}

mod sqlite {
    #![allow(dead_code)]
    pub type DB = sqlx::Sqlite;
    pub const IS_PG: bool = false;
    pub const MIGRATIONS: &[(i64, &str, &str)] = &[
        (
            1,
            "foundation",
            include_str!("../migrations/sqlite/0001_foundation.sql"),
        ),
        (
            2,
            "login_protection",
            include_str!("../migrations/sqlite/0002_login_protection.sql"),
        ),
        (
            3,
            "accounts_and_field_encryption",
            include_str!("../migrations/sqlite/0003_accounts_and_field_encryption.sql"),
        ),
        (
            4,
            "drop_plaintext_personal_data",
            include_str!("../migrations/sqlite/0004_drop_plaintext_personal_data.sql"),
        ),
        (
            5,
            "jobs",
            include_str!("../migrations/sqlite/0005_jobs.sql"),
        ),
    ];
    include!("queries.rs");
    pub(crate) mod jobs {
        include!("jobs/sql.rs");
    }
}

mod postgres {
    #![allow(dead_code)]
    pub type DB = sqlx::Postgres;
    pub const IS_PG: bool = true;
    pub const MIGRATIONS: &[(i64, &str, &str)] = &[
        (
            1,
            "foundation",
            include_str!("../migrations/postgres/0001_foundation.sql"),
        ),
        (
            2,
            "login_protection",
            include_str!("../migrations/postgres/0002_login_protection.sql"),
        ),
        (
            3,
            "accounts_and_field_encryption",
            include_str!("../migrations/postgres/0003_accounts_and_field_encryption.sql"),
        ),
        (
            4,
            "drop_plaintext_personal_data",
            include_str!("../migrations/postgres/0004_drop_plaintext_personal_data.sql"),
        ),
        (
            5,
            "jobs",
            include_str!("../migrations/postgres/0005_jobs.sql"),
        ),
    ];
    include!("queries.rs");
    pub(crate) mod jobs {
        include!("jobs/sql.rs");
    }
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
    /// Set when opening created the audit key file (a first start).
    created_key: Option<PathBuf>,
    /// Set when opening created the field key file.
    created_field_key: Option<PathBuf>,
}

macro_rules! dispatch {
    ($self:expr, $f:ident($($a:expr),*)) => {
        match &$self.backend {
            Backend::Sqlite(p) => sqlite::$f(p, $($a),*).await,
            Backend::Postgres(p) => postgres::$f(p, $($a),*).await,
        }
    };
}

/// Today in China Standard Time, the calendar cadres work by.
pub fn today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
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
        let fingerprint = dispatch!(store, check_field_key())?;
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
            if dispatch!(store, audit_log_is_empty())? {
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
                let connect = SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(std::time::Duration::from_secs(30));
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(connect.clone())
                    .await?;
                let read = SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(connect)
                    .await?;
                Ok(Store {
                    backend: Backend::Sqlite(Pools {
                        read,
                        write,
                        audit_key,
                        field_key,
                    }),
                    data_dir,
                    created_key: created,
                    created_field_key,
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
                    .connect(&url)
                    .await?;
                Ok(Store {
                    backend: Backend::Postgres(Pools {
                        read: pool.clone(),
                        write: pool,
                        audit_key,
                        field_key,
                    }),
                    data_dir,
                    created_key: created,
                    created_field_key,
                })
            }
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
        dispatch!(self, migrate())
    }

    pub async fn schema_version(&self) -> StoreResult<i64> {
        dispatch!(self, schema_version())
    }

    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(p) => {
                p.read.close().await;
                p.write.close().await;
            }
            Backend::Postgres(p) => p.write.close().await,
        }
    }

    // ---- counties, users, sessions -------------------------------------------------------

    /// Creates a county with its root organisation and the built-in ledger types.
    pub async fn create_county(
        &self,
        code: &str,
        name: &str,
        established_on: NaiveDate,
    ) -> StoreResult<County> {
        dispatch!(self, create_county(code, name, established_on))
    }

    pub async fn county_by_code(&self, code: &str) -> StoreResult<County> {
        dispatch!(self, county_by_code(code))
    }

    pub async fn counties(&self) -> StoreResult<Vec<County>> {
        dispatch!(self, counties())
    }

    pub async fn create_user(&self, actor: &Actor, user: NewUser) -> StoreResult<User> {
        let hash = auth::hash_password(user.password.clone()).await?;
        dispatch!(self, create_user(actor, &user, &hash))
    }

    /// A new account with a random temporary password, returned once, to be changed at the
    /// first login.
    pub async fn create_user_with_temporary_password(
        &self,
        actor: &Actor,
        mut user: NewUser,
    ) -> StoreResult<(User, String)> {
        let password = auth::random_password();
        user.password = password.clone();
        user.must_change_password = true;
        Ok((self.create_user(actor, user).await?, password))
    }

    pub async fn users(&self, actor: &Actor) -> StoreResult<Vec<User>> {
        dispatch!(self, users(actor))
    }

    pub async fn update_user(
        &self,
        actor: &Actor,
        id: i64,
        change: &UserChange,
    ) -> StoreResult<User> {
        dispatch!(self, update_user(actor, id, change))
    }

    /// A new temporary password for an account (returned once); unlocks it and ends its sessions.
    pub async fn reset_password(&self, actor: &Actor, id: i64) -> StoreResult<(User, String)> {
        let password = auth::random_password();
        let hash = auth::hash_password(password.clone()).await?;
        let user = dispatch!(self, reset_password(actor, id, &hash))?;
        Ok((user, password))
    }

    pub async fn reset_totp(&self, actor: &Actor, id: i64) -> StoreResult<User> {
        dispatch!(self, reset_totp(actor, id))
    }

    pub async fn security_settings(&self, county_id: i64) -> StoreResult<SecuritySettings> {
        dispatch!(self, security_settings(county_id))
    }

    /// The settings as the security administrator reads them (the role is checked here).
    pub async fn security_settings_as(&self, actor: &Actor) -> StoreResult<SecuritySettings> {
        if !actor.role.allows(taizhang_domain::Action::ManageSecurity) {
            return Err(StoreError::Forbidden);
        }
        self.security_settings(actor.county_id).await
    }

    pub async fn update_security_settings(
        &self,
        actor: &Actor,
        new: &SecuritySettings,
    ) -> StoreResult<SecuritySettings> {
        dispatch!(self, update_security_settings(actor, new))
    }

    /// Checks a password (and the one-time code when the account has a second factor) and opens
    /// a session; the token is returned once and stored hashed. The session is a full one only
    /// when the password is current and an administrator has a second factor; otherwise it may
    /// only change the password or bind the second factor first.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        totp_code: Option<&str>,
    ) -> StoreResult<(Session, String)> {
        let found: Option<(i64, String, i64)> = dispatch!(self, user_password_hash(username))?;
        let now = Utc::now().timestamp();
        // Hash anyway when the user is unknown, so that timing does not reveal which names exist.
        let (user_id, hash, locked_until) = match found {
            Some(f) => f,
            None => (
                0,
                tokio::task::spawn_blocking(auth::dummy_hash)
                    .await
                    .map_err(|e| StoreError::Internal(e.to_string()))?,
                0,
            ),
        };
        let ok = auth::verify_password(password.to_string(), hash).await?;
        if user_id == 0 {
            dispatch!(self, audit_failed_login(username))?;
            return Err(StoreError::BadCredentials);
        }
        if locked_until > now {
            // While locked, even the right password does not open a session.
            dispatch!(self, audit_failed_login(username))?;
            return Err(StoreError::Locked {
                minutes: (locked_until - now + 59) / 60,
            });
        }
        if !ok {
            return Err(self.failed_login(user_id, now).await);
        }
        let (county_id, role, must_change, changed_at, secret_enc, last_step) =
            dispatch!(self, login_facts(user_id))?;
        let totp_enrolled = secret_enc.is_some();
        if let Some(secret_enc) = secret_enc {
            let Some(code) = totp_code.map(str::trim).filter(|c| !c.is_empty()) else {
                return Err(StoreError::SecondFactorRequired);
            };
            let secret = self
                .field_key()
                .decrypt("totp_secret", &secret_enc)
                .map_err(|_| StoreError::Internal("第二因素密钥无法解密".into()))?;
            let step = totp::verify(&secret, code, now, last_step);
            // A wrong or replayed code counts as a failed login, like a wrong password.
            match step {
                Some(step) if dispatch!(self, use_totp_step(user_id, step))? => {}
                _ => return Err(self.failed_login(user_id, now).await),
            }
        }
        dispatch!(self, reset_failed_logins(user_id))?;
        let settings = self.security_settings(county_id).await?;
        let role: taizhang_domain::Role = role
            .parse()
            .map_err(|_| StoreError::Internal(format!("unknown role {role}")))?;
        let expired = settings.password_max_age_days > 0
            && now - changed_at > settings.password_max_age_days * 86_400;
        let stage = if must_change || expired {
            SessionStage::ChangePassword
        } else if needs_second_factor(&settings, role, totp_enrolled) {
            SessionStage::EnrollTotp
        } else {
            SessionStage::Full
        };
        // A new token at every login: a session id never outlives the login that made it.
        let token = auth::new_token();
        let expires = Utc::now() + Duration::seconds(auth::ABSOLUTE_SECS);
        let session = dispatch!(
            self,
            open_session(user_id, &auth::token_hash(&token), expires, stage)
        )?;
        Ok((session, token))
    }

    /// Counts a failed login (a wrong password or one-time code); the error to answer with.
    async fn failed_login(&self, user_id: i64, now: i64) -> StoreError {
        match dispatch!(self, record_failed_login(user_id, now)) {
            Ok(true) => StoreError::Locked {
                minutes: auth::LOCKOUT_SECS / 60,
            },
            Ok(false) => StoreError::BadCredentials,
            Err(e) => e,
        }
    }

    pub async fn session(&self, token: &str) -> StoreResult<Session> {
        dispatch!(self, session_by_token(&auth::token_hash(token), Utc::now()))
    }

    pub async fn logout(&self, token: &str) -> StoreResult<()> {
        dispatch!(self, close_session(&auth::token_hash(token)))
    }

    /// Changes the session user's own password: the current one must be right, the new one must
    /// meet the policy and differ from it. Ends the user's other sessions.
    pub async fn change_password(
        &self,
        token: &str,
        current: &str,
        new: &str,
    ) -> StoreResult<Session> {
        let session = self.session(token).await?;
        let user_id = session.actor.user_id.ok_or(StoreError::Forbidden)?;
        let found: Option<(i64, String, i64)> =
            dispatch!(self, user_password_hash(&session.actor.username))?;
        let (_, hash, _) = found.ok_or(StoreError::SessionExpired)?;
        if !auth::verify_password(current.to_string(), hash.clone()).await? {
            return Err(StoreError::invalid(
                "current_password",
                "password.wrong",
                "当前密码不正确",
            ));
        }
        if auth::verify_password(new.to_string(), hash).await? {
            return Err(StoreError::invalid(
                "new_password",
                "password.reused",
                "新密码不能与当前密码相同",
            ));
        }
        let new_hash = auth::hash_password(new.to_string()).await?;
        let settings = self.security_settings(session.actor.county_id).await?;
        let (.., secret_enc, _) = dispatch!(self, login_facts(user_id))?;
        let next = if needs_second_factor(&settings, session.actor.role, secret_enc.is_some()) {
            SessionStage::EnrollTotp
        } else {
            SessionStage::Full
        };
        dispatch!(
            self,
            change_password(&auth::token_hash(token), user_id, &new_hash, next)
        )?;
        self.session(token).await
    }

    /// Binds a second factor to the session's user once a code from it has been typed back.
    pub async fn bind_totp(&self, token: &str, secret: &str, code: &str) -> StoreResult<Session> {
        let session = self.session(token).await?;
        let user_id = session.actor.user_id.ok_or(StoreError::Forbidden)?;
        let Some(step) = totp::verify(secret, code, Utc::now().timestamp(), 0) else {
            return Err(StoreError::invalid(
                "code",
                "totp.bad_code",
                "动态口令不正确：请核对手机时间，并输入验证器当前显示的6位数字",
            ));
        };
        let enc = self.field_key().encrypt("totp_secret", secret);
        dispatch!(
            self,
            bind_totp(&auth::token_hash(token), user_id, &enc, step)
        )?;
        self.session(token).await
    }

    /// For a county without any account: a new one-time setup code (valid 24 h, stored hashed)
    /// with which the person at the server's console creates the first security administrator.
    pub async fn setup_code(&self, county_id: i64) -> StoreResult<Option<String>> {
        if !dispatch!(self, county_needs_setup(county_id))? {
            return Ok(None);
        }
        let code = auth::new_token();
        let expires = Utc::now().timestamp() + 24 * 3600;
        dispatch!(
            self,
            put_setup_code(county_id, &auth::token_hash(&code), expires)
        )?;
        Ok(Some(code))
    }

    pub async fn complete_setup(
        &self,
        code: &str,
        username: &str,
        display_name: &str,
        password: &str,
    ) -> StoreResult<User> {
        let hash = auth::hash_password(password.to_string()).await?;
        dispatch!(
            self,
            complete_setup(
                &auth::token_hash(code.trim()),
                username,
                display_name,
                &hash
            )
        )
    }

    fn field_key(&self) -> &crypto::FieldKey {
        match &self.backend {
            Backend::Sqlite(p) => &p.field_key,
            Backend::Postgres(p) => &p.field_key,
        }
    }

    /// The actor a user would be, for jobs that act on a user's behalf (and for tests).
    pub async fn actor_for_user(&self, username: &str) -> StoreResult<Actor> {
        dispatch!(self, actor_for_username(username))
    }

    // ---- organisations -------------------------------------------------------------------

    pub async fn org(&self, actor: &Actor, org_ref: &str) -> StoreResult<Org> {
        dispatch!(self, org_by_ref(actor, org_ref))
    }

    pub async fn org_by_id(&self, actor: &Actor, id: i64) -> StoreResult<Org> {
        dispatch!(self, org_by_id(actor, id))
    }

    pub async fn children(
        &self,
        actor: &Actor,
        id: i64,
        include_dissolved: bool,
    ) -> StoreResult<Vec<Org>> {
        dispatch!(self, children(actor, id, include_dissolved))
    }

    /// Ancestors from the root down, limited to what the caller may see.
    pub async fn ancestors(&self, actor: &Actor, id: i64) -> StoreResult<Vec<Org>> {
        dispatch!(self, ancestors(actor, id))
    }

    pub async fn org_history(&self, actor: &Actor, id: i64) -> StoreResult<Vec<OrgEdge>> {
        dispatch!(self, org_history(actor, id))
    }

    /// The roots of the caller's scope, for its home page.
    pub async fn scope_roots(&self, actor: &Actor) -> StoreResult<Vec<Org>> {
        dispatch!(self, scope_roots(actor))
    }

    pub async fn search_orgs(&self, actor: &Actor, q: &str, limit: i64) -> StoreResult<Vec<Org>> {
        dispatch!(self, search_orgs(actor, q, limit))
    }

    pub async fn create_org(
        &self,
        actor: &Actor,
        parent_ref: &str,
        new: NewOrg,
    ) -> StoreResult<Org> {
        dispatch!(self, create_org(actor, parent_ref, &new))
    }

    pub async fn rename_org(&self, actor: &Actor, id: i64, name: &str) -> StoreResult<Org> {
        dispatch!(self, rename_org(actor, id, name))
    }

    pub async fn move_org(
        &self,
        actor: &Actor,
        id: i64,
        new_parent_ref: &str,
        on: NaiveDate,
    ) -> StoreResult<Org> {
        dispatch!(self, move_org(actor, id, new_parent_ref, on))
    }

    pub async fn dissolve_org(&self, actor: &Actor, id: i64, on: NaiveDate) -> StoreResult<Org> {
        dispatch!(self, dissolve_org(actor, id, on))
    }

    // ---- cross-links ---------------------------------------------------------------------

    pub async fn create_link(&self, actor: &Actor, new: NewLink) -> StoreResult<Link> {
        dispatch!(self, create_link(actor, &new))
    }

    pub async fn end_link(&self, actor: &Actor, id: i64, on: NaiveDate) -> StoreResult<Link> {
        dispatch!(self, end_link(actor, id, on))
    }

    /// Links touching an organisation (from or to it), or all links of a kind in scope.
    pub async fn links(
        &self,
        actor: &Actor,
        org_id: Option<i64>,
        kind: Option<taizhang_domain::org::LinkKind>,
    ) -> StoreResult<Vec<Link>> {
        dispatch!(self, links(actor, org_id, kind))
    }

    // ---- people and positions -------------------------------------------------------------

    pub async fn create_person(&self, actor: &Actor, new: NewPerson) -> StoreResult<Person> {
        dispatch!(self, create_person(actor, &new))
    }

    /// A person with personal data masked.
    pub async fn person(&self, actor: &Actor, id: i64) -> StoreResult<Person> {
        dispatch!(self, person(actor, id, false))
    }

    /// A person with 身份证号 and phone whole, for a role that may see them; the view is audited.
    pub async fn person_revealed(&self, actor: &Actor, id: i64) -> StoreResult<Person> {
        dispatch!(self, person(actor, id, true))
    }

    /// A fingerprint of the field key, to check two databases share it before copying.
    pub fn field_key_fingerprint(&self) -> String {
        crypto::key_fingerprint(self.field_key())
    }

    pub async fn people(
        &self,
        actor: &Actor,
        org_id: Option<i64>,
        q: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(i64, Vec<Person>)> {
        dispatch!(self, people(actor, org_id, q, limit, offset))
    }

    pub async fn add_position(&self, actor: &Actor, new: NewPosition) -> StoreResult<Position> {
        dispatch!(self, add_position(actor, &new))
    }

    pub async fn end_position(
        &self,
        actor: &Actor,
        id: i64,
        on: NaiveDate,
    ) -> StoreResult<Position> {
        dispatch!(self, end_position(actor, id, on))
    }

    pub async fn positions_in(&self, actor: &Actor, org_id: i64) -> StoreResult<Vec<Position>> {
        dispatch!(self, positions_in(actor, org_id))
    }

    // ---- ledger types and records -----------------------------------------------------------

    pub async fn ledger_types(&self, actor: &Actor) -> StoreResult<Vec<LedgerType>> {
        dispatch!(self, ledger_types(actor))
    }

    pub async fn ledger_type(&self, actor: &Actor, key: &str) -> StoreResult<LedgerType> {
        dispatch!(self, ledger_type(actor, key))
    }

    pub async fn create_ledger_type(
        &self,
        actor: &Actor,
        def: LedgerTypeDef,
    ) -> StoreResult<LedgerType> {
        dispatch!(self, create_ledger_type(actor, &def))
    }

    /// Saves a new version of a type; existing records keep the version they were made with.
    pub async fn update_ledger_type(
        &self,
        actor: &Actor,
        def: LedgerTypeDef,
    ) -> StoreResult<LedgerType> {
        dispatch!(self, update_ledger_type(actor, &def))
    }

    pub async fn create_record(&self, actor: &Actor, new: NewRecord) -> StoreResult<Record> {
        dispatch!(self, create_record(actor, &new, today()))
    }

    /// Many records in one transaction: all go in, or none (used by the demo generator).
    pub async fn create_records(&self, actor: &Actor, new: Vec<NewRecord>) -> StoreResult<usize> {
        dispatch!(self, create_records(actor, &new, today()))
    }

    pub async fn record(&self, actor: &Actor, id: i64) -> StoreResult<Record> {
        dispatch!(self, record(actor, id))
    }

    pub async fn records(&self, actor: &Actor, q: &RecordQuery) -> StoreResult<RecordPage> {
        dispatch!(self, records(actor, q))
    }

    pub async fn void_record(&self, actor: &Actor, id: i64, reason: &str) -> StoreResult<Record> {
        dispatch!(self, void_record(actor, id, reason))
    }

    /// Stores a file content-addressed under the data directory and returns its id (SHA-256).
    pub async fn save_attachment(
        &self,
        actor: &Actor,
        file_name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> StoreResult<String> {
        // Nothing reaches the disk for a caller that may not record.
        if !actor.role.allows(taizhang_domain::Action::RecordEntry) {
            return Err(StoreError::Forbidden);
        }
        // Content-addressed per uploader: the same bytes from someone else get another id, so an
        // id reveals nothing about other people's files.
        let mut keyed = format!("{}:{}:", actor.county_id, actor.user_id.unwrap_or(0)).into_bytes();
        keyed.extend_from_slice(bytes);
        let id = audit::sha256_hex(&keyed);
        let dir = self.data_dir.join("attachments").join(&id[..2]);
        tokio::fs::create_dir_all(&dir).await?;
        let path = dir.join(&id);
        if tokio::fs::metadata(&path).await.is_err() {
            let tmp = dir.join(format!("{id}.tmp"));
            tokio::fs::write(&tmp, bytes).await?;
            tokio::fs::rename(&tmp, &path).await?;
        }
        dispatch!(
            self,
            insert_attachment(actor, &id, file_name, content_type, bytes.len() as i64)
        )?;
        Ok(id)
    }

    /// An attachment's metadata and bytes, if a record the caller may see references it (or the
    /// caller uploaded it).
    pub async fn attachment(
        &self,
        actor: &Actor,
        id: &str,
    ) -> StoreResult<(String, String, Vec<u8>)> {
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::NotFound);
        }
        let (name, ctype): (String, String) = dispatch!(self, attachment_meta(actor, id))?;
        let bytes =
            tokio::fs::read(self.data_dir.join("attachments").join(&id[..2]).join(id)).await?;
        Ok((name, ctype, bytes))
    }

    // ---- overdue lists and bulletins -----------------------------------------------------------

    pub async fn overdue(
        &self,
        actor: &Actor,
        org_ref: &str,
        as_of: NaiveDate,
    ) -> StoreResult<Vec<OverdueItem>> {
        dispatch!(self, overdue(actor, org_ref, as_of))
    }

    pub async fn bulletin(
        &self,
        actor: &Actor,
        org_ref: &str,
        range: DateRange,
        grouping: Grouping,
    ) -> StoreResult<Bulletin> {
        dispatch!(self, bulletin(actor, org_ref, range, grouping))
    }

    // ---- audit -------------------------------------------------------------------------------

    pub async fn audit_entries(
        &self,
        actor: &Actor,
        entity: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(i64, Vec<AuditEntry>)> {
        dispatch!(self, audit_entries(actor, entity, limit, offset))
    }

    /// Walks the county's audit chain; returns the number of entries, or the first broken one.
    pub async fn verify_audit_chain(&self, county_id: i64) -> StoreResult<Result<i64, i64>> {
        dispatch!(self, verify_audit_chain(county_id))
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
        let county_id = county.as_ref().map(|c| c.id);
        let rows = dispatch!(self, export_tables(county_id))?;
        match &target.backend {
            Backend::Sqlite(p) => sqlite::import_tables(p, &rows).await?,
            Backend::Postgres(p) => postgres::import_tables(p, &rows).await?,
        }
        // The files behind the attachment rows travel too.
        for (table, rows) in &rows {
            if table.name != "attachments" {
                continue;
            }
            for row in rows {
                if let Some(copy::Val::Text(id)) = row.first() {
                    let rel = Path::new("attachments")
                        .join(&id[..2.min(id.len())])
                        .join(id);
                    let from = self.data_dir.join(&rel);
                    if tokio::fs::metadata(&from).await.is_ok() {
                        let to = target.data_dir.join(&rel);
                        if let Some(dir) = to.parent() {
                            tokio::fs::create_dir_all(dir).await?;
                        }
                        tokio::fs::copy(&from, &to).await?;
                    }
                }
            }
        }
        let source = dispatch!(self, table_checksums(county_id))?;
        let after = dispatch!(target, table_checksums(county_id))?;
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

    /// Refreshes the planner's statistics after a bulk load.
    pub async fn analyze(&self) -> StoreResult<()> {
        dispatch!(self, analyze())
    }

    pub async fn table_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        dispatch!(self, table_counts())
    }
}

/// An administrator without a bound second factor, where the county requires one.
fn needs_second_factor(
    settings: &SecuritySettings,
    role: taizhang_domain::Role,
    totp_enrolled: bool,
) -> bool {
    settings.totp_required_for_admins && role.is_administrator() && !totp_enrolled
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
