use taizhang_domain::ledger::FieldError;

/// The store's one error type. The web layer maps each to an HTTP status and a stable code.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Missing, or outside the caller's scope: the two are deliberately indistinguishable.
    #[error("未找到")]
    NotFound,
    /// The caller's role does not allow the action.
    #[error("无权执行此操作")]
    Forbidden,
    #[error("用户名或密码错误")]
    BadCredentials,
    #[error("登录已失效，请重新登录")]
    SessionExpired,
    /// The password was right and the account has a second factor: the code is missing.
    #[error("请输入手机验证器上的6位动态口令")]
    SecondFactorRequired,
    /// A rule about the current state forbids the change (moving under a descendant, a code in use…).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The database is busy: the write connection could not be had, or a write held it longer
    /// than its bound and was rolled back. Nothing was changed; the caller may try again.
    #[error("系统繁忙，请稍后再试")]
    Busy,
    /// Input that breaks a rule, field by field.
    #[error("输入有误")]
    Invalid(Vec<FieldError>),
    #[error("配置错误：{0}")]
    Config(String),
    #[error("数据库结构版本{found}高于本程序支持的版本{supported}，请升级taizhang")]
    SchemaTooNew { found: i64, supported: i64 },
    /// Any other database error; a unique-constraint violation becomes a `Conflict` instead.
    #[error("数据库错误：{0}")]
    Database(sqlx::Error),
    #[error("文件错误：{0}")]
    Io(#[from] std::io::Error),
    #[error("内部错误：{0}")]
    Internal(String),
}

impl StoreError {
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> StoreError {
        StoreError::Invalid(vec![FieldError::new(field, code, message)])
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> StoreError {
        StoreError::Conflict {
            code,
            message: message.into(),
        }
    }
}

/// A domain rule broken by one field (a date outside the window, a name too long).
impl From<FieldError> for StoreError {
    fn from(e: FieldError) -> StoreError {
        StoreError::Invalid(vec![e])
    }
}

/// The code of the conflict a unique-constraint violation becomes.
pub const DUPLICATE: &str = "duplicate";

impl From<sqlx::Error> for StoreError {
    /// A unique constraint the checks before a write did not catch (two people entering the same
    /// 身份证号 at the same moment, say) is the caller's conflict, not a server failure.
    fn from(e: sqlx::Error) -> StoreError {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                tracing::info!(constraint = ?d.constraint(), "unique constraint violated");
                StoreError::conflict(
                    DUPLICATE,
                    "与已有数据重复（可能刚有人同时提交了相同内容），请刷新后核对",
                )
            }
            // Waiting for a connection past the pool's bound, or for SQLite's lock past its busy
            // timeout, is load, not a fault: nothing was written and the caller may try again.
            sqlx::Error::PoolTimedOut => StoreError::Busy,
            sqlx::Error::Database(d) if sqlite_busy(d.as_ref()) => StoreError::Busy,
            _ => StoreError::Database(e),
        }
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED, with any extended code.
fn sqlite_busy(d: &dyn sqlx::error::DatabaseError) -> bool {
    d.try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .and_then(sqlx::error::DatabaseError::code)
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

pub type StoreResult<T> = Result<T, StoreError>;
