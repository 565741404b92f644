//! Dynamic SQL with numbered placeholders (`$1`, `$2` …), which both SQLite and PostgreSQL accept.

use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(i64),
    Str(String),
    Date(NaiveDate),
    Time(DateTime<Utc>),
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
impl From<DateTime<Utc>> for Arg {
    fn from(v: DateTime<Utc>) -> Self {
        Arg::Time(v)
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

/// Fewer placeholders than this are left numbered: the search below is only worth it where
/// SQLite's own lookup of numbered placeholders (linear, at every bind) starts to cost.
const ANONYMOUS_FROM: usize = 16;

/// The statement with its numbered placeholders turned anonymous (`?`), for SQLite, when they
/// appear outside quotes exactly as `$1`, `$2` … `$n` in turn, each once, `n` being the number of
/// arguments. SQLite treats `$N` as a named parameter and finds each one by a linear search when
/// it is bound, so a statement of a thousand of them spends most of its time there; `?` binds by
/// position. Any other use (one placeholder used twice, out of order) is returned unchanged.
pub(crate) fn anonymous_placeholders(text: &str, args: usize) -> Option<String> {
    if args < ANONYMOUS_FROM {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut next, mut copied, mut i, mut quoted) = (1usize, 0usize, 0usize, false);
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'$' if !quoted && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let end = (i + 1..bytes.len())
                    .find(|&j| !bytes[j].is_ascii_digit())
                    .unwrap_or(bytes.len());
                if text[i + 1..end].parse::<usize>().ok() != Some(next) {
                    return None;
                }
                out.push_str(&text[copied..i]);
                out.push('?');
                copied = end;
                next += 1;
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if next != args + 1 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(n: usize) -> String {
        (1..=n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    #[test]
    fn placeholders_in_turn_become_anonymous() {
        let text = format!("SELECT '$1', x FROM t WHERE a IN ({})", numbered(20));
        let expected = format!(
            "SELECT '$1', x FROM t WHERE a IN ({})",
            vec!["?"; 20].join(", ")
        );
        assert_eq!(anonymous_placeholders(&text, 20), Some(expected));
    }

    #[test]
    fn any_other_use_is_left_numbered() {
        // Too few to matter.
        assert_eq!(anonymous_placeholders(&numbered(3), 3), None);
        // One used twice.
        assert_eq!(
            anonymous_placeholders(&format!("{}, $20", numbered(20)), 20),
            None
        );
        // Out of order.
        let swapped = numbered(20)
            .replacen("$1,", "$2,", 1)
            .replacen(" $2,", " $1,", 1);
        assert_eq!(anonymous_placeholders(&swapped, 20), None);
        // Fewer placeholders than arguments.
        assert_eq!(anonymous_placeholders(&numbered(19), 20), None);
    }
}
