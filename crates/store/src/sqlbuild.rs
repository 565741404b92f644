//! Dynamic SQL with numbered placeholders (`$1`, `$2` …), which both SQLite and PostgreSQL accept.

use chrono::NaiveDate;

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(i64),
    Str(String),
    Date(NaiveDate),
    Bytes(Vec<u8>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}
/// Ids bind as their row id.
macro_rules! id_args {
    ($($id:ident),*) => {$(
        impl From<taizhang_domain::$id> for Arg {
            fn from(v: taizhang_domain::$id) -> Self {
                Arg::I64(v.get())
            }
        }
    )*};
}
id_args!(
    CountyId,
    OrgId,
    PersonId,
    PositionId,
    LinkId,
    RecordId,
    LedgerTypeId,
    UserId,
    AuditSeq
);

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Str(v.to_string())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Str(v)
    }
}
impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Self {
        Arg::Bytes(v)
    }
}
impl From<NaiveDate> for Arg {
    fn from(v: NaiveDate) -> Self {
        Arg::Date(v)
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    /// Adds a bound value and returns its placeholder.
    pub fn arg(&mut self, a: impl Into<Arg>) -> String {
        self.args.push(a.into());
        format!("${}", self.args.len())
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// `$3, $4, $5` for a list of values.
    pub fn list<T: Copy + Into<Arg>>(&mut self, values: &[T]) -> String {
        values
            .iter()
            .map(|v| self.arg(*v))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
