//! What an auditor may ask the log for: entries of one person, in a range of days, of one action,
//! about one kind of object or one object — each checked with a stable code — and pages by
//! `seq` in either direction.
//!
//! Days are China Standard Time, the calendar cadres keep: `from` 2026-03-01 starts at
//! 2026-03-01 00:00 in Beijing (2026-02-28 16:00 UTC), `to` 2026-03-31 takes in the whole of
//! that day in Beijing.

use crate::clock::CHINA_STANDARD_TIME;
use crate::ledger::FieldError;
use crate::period::{check_date_field, parse_date, PeriodError};
use crate::text::{TextRule, AUDIT_ACTION, AUDIT_ACTOR, AUDIT_ENTITY, AUDIT_ENTITY_ID};
use chrono::{DateTime, Days, NaiveDate, Utc};

/// Entries on one page at most.
pub const MAX_PAGE: i64 = 500;

/// The filters as typed (a query string or the page's form); blank means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilterInput {
    pub actor: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
}

/// The filters once checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The acting user's name, exactly.
    pub actor: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
}

impl AuditFilter {
    /// Checks every filter; all the errors at once, each under its field.
    pub fn parse(input: &AuditFilterInput) -> Result<AuditFilter, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut text =
            |rule: TextRule, v: &Option<String>| match rule.check(v.as_deref().unwrap_or("")) {
                Ok(t) => (!t.is_empty()).then_some(t),
                Err(e) => {
                    errors.push(e);
                    None
                }
            };
        let actor = text(AUDIT_ACTOR, &input.actor);
        let action = text(AUDIT_ACTION, &input.action);
        let entity = text(AUDIT_ENTITY, &input.entity);
        let entity_id = text(AUDIT_ENTITY_ID, &input.entity_id);
        let mut day = |field: &str, v: &Option<String>| match day_of(field, v.as_deref()) {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let from = day("from", &input.from);
        let to = day("to", &input.to);
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                let e = PeriodError::Reversed;
                errors.push(FieldError::new("to", e.code(), e.to_string()));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AuditFilter {
            actor,
            from,
            to,
            action,
            entity,
            entity_id,
        })
    }

    /// The first instant taken in: `from` at 00:00 in China.
    pub fn since(&self) -> Option<DateTime<Utc>> {
        self.from.map(china_midnight)
    }

    /// The first instant no longer taken in: the day after `to` at 00:00 in China.
    pub fn until(&self) -> Option<DateTime<Utc>> {
        self.to
            .map(|t| china_midnight(t.checked_add_days(Days::new(1)).unwrap_or(t)))
    }
}

fn day_of(field: &str, v: Option<&str>) -> Result<Option<NaiveDate>, FieldError> {
    let v = v.unwrap_or("").trim();
    if v.is_empty() {
        return Ok(None);
    }
    let d = parse_date(v)
        .map_err(|_| FieldError::new(field, "date.invalid", "日期格式应为 YYYY-MM-DD"))?;
    check_date_field(field, d).map(Some)
}

fn china_midnight(d: NaiveDate) -> DateTime<Utc> {
    let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    (local - CHINA_STANDARD_TIME).and_utc()
}

/// Where a page starts: the newest entries, those older than `before` or newer than `after`
/// (each a `seq`). Either way a page lists newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditCursor {
    Newest,
    Before(i64),
    After(i64),
}

impl AuditCursor {
    pub fn new(before: Option<i64>, after: Option<i64>) -> Result<AuditCursor, FieldError> {
        let bad = |field: &str| {
            FieldError::new(
                field,
                "audit.bad_cursor",
                "翻页位置应为正整数（审计日志序号）",
            )
        };
        match (before, after) {
            (Some(_), Some(_)) => Err(FieldError::new(
                "after",
                "audit.both_cursors",
                "翻页只能向前或向后之一（before 与 after 不能同时给出）",
            )),
            (Some(b), None) if b < 1 => Err(bad("before")),
            (None, Some(a)) if a < 0 => Err(bad("after")),
            (Some(b), None) => Ok(AuditCursor::Before(b)),
            (None, Some(a)) => Ok(AuditCursor::After(a)),
            (None, None) => Ok(AuditCursor::Newest),
        }
    }

    /// From the text of a query string: a value that is not a number is refused like a
    /// negative one.
    pub fn parse(before: Option<&str>, after: Option<&str>) -> Result<AuditCursor, FieldError> {
        let number = |field: &str, v: Option<&str>| match v.map(str::trim).filter(|v| !v.is_empty())
        {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                FieldError::new(
                    field,
                    "audit.bad_cursor",
                    "翻页位置应为正整数（审计日志序号）",
                )
            }),
        };
        AuditCursor::new(number("before", before)?, number("after", after)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, &str)]) -> AuditFilterInput {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(f, _)| *f == k)
                .map(|(_, v)| v.to_string())
        };
        AuditFilterInput {
            actor: get("actor"),
            from: get("from"),
            to: get("to"),
            action: get("action"),
            entity: get("entity"),
            entity_id: get("entity_id"),
        }
    }

    fn codes(r: Result<AuditFilter, Vec<FieldError>>) -> Vec<(String, String)> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn blank_filters_mean_any_and_values_are_trimmed() {
        assert_eq!(AuditFilter::parse(&input(&[])), Ok(AuditFilter::default()));
        let f = AuditFilter::parse(&input(&[
            ("actor", " admin "),
            ("action", ""),
            ("from", "2026-03-01"),
            ("to", "2026-03-31"),
            ("entity", "record"),
            ("entity_id", "19166"),
        ]))
        .unwrap();
        assert_eq!(f.actor.as_deref(), Some("admin"));
        assert_eq!(f.action, None);
        assert_eq!(f.entity_id.as_deref(), Some("19166"));
        assert_eq!(
            f.since().map(|t| t.to_rfc3339()),
            Some("2026-02-28T16:00:00+00:00".to_string())
        );
        assert_eq!(
            f.until().map(|t| t.to_rfc3339()),
            Some("2026-03-31T16:00:00+00:00".to_string())
        );
    }

    #[test]
    fn bad_filters_are_refused_each_under_its_field() {
        let r = AuditFilter::parse(&input(&[
            ("actor", &"a".repeat(41)),
            ("from", "2026-13-01"),
            ("to", "1900-01-01"),
            ("action", "lo\u{202E}gin"),
            ("entity_id", &"9".repeat(211)),
        ]));
        assert_eq!(
            codes(r),
            vec![
                ("actor".into(), "too_long".into()),
                ("action".into(), "bad_chars".into()),
                ("entity_id".into(), "too_long".into()),
                ("from".into(), "date.invalid".into()),
                ("to".into(), "date_out_of_range".into()),
            ]
        );
        let r = AuditFilter::parse(&input(&[("from", "2026-03-02"), ("to", "2026-03-01")]));
        let e = r.unwrap_err();
        assert_eq!(
            (
                e[0].field.as_str(),
                e[0].code.as_str(),
                e[0].message.as_str()
            ),
            ("to", "period.reversed", "开始日期不能晚于结束日期")
        );
    }

    #[test]
    fn pages_start_at_one_cursor_at_most() {
        assert_eq!(AuditCursor::new(None, None), Ok(AuditCursor::Newest));
        assert_eq!(AuditCursor::new(Some(9), None), Ok(AuditCursor::Before(9)));
        assert_eq!(AuditCursor::new(None, Some(0)), Ok(AuditCursor::After(0)));
        let code = |r: Result<AuditCursor, FieldError>| r.map_err(|e| (e.field, e.code)).err();
        assert_eq!(
            code(AuditCursor::new(Some(9), Some(3))),
            Some(("after".into(), "audit.both_cursors".into()))
        );
        assert_eq!(
            code(AuditCursor::new(Some(0), None)),
            Some(("before".into(), "audit.bad_cursor".into()))
        );
        assert_eq!(
            code(AuditCursor::parse(Some("x"), None)),
            Some(("before".into(), "audit.bad_cursor".into()))
        );
        assert_eq!(
            AuditCursor::parse(Some(" "), Some("12")),
            Ok(AuditCursor::After(12))
        );
    }
}
