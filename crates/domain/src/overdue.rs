//! Where an organisation stands with a periodic piece of work it has not recorded yet.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Ordered as the overdue list shows them: 已逾期 before 待完成.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OverdueStatus {
    /// 已逾期: the deadline has passed without a record.
    Overdue,
    /// 待完成: the period is open (or its deadline not yet passed) and nothing is recorded.
    Due,
}

impl OverdueStatus {
    pub const ALL: &'static [OverdueStatus] = &[OverdueStatus::Overdue, OverdueStatus::Due];

    /// Overdue once `as_of` is past the deadline `due_on`, due until then.
    pub fn on(as_of: NaiveDate, due_on: NaiveDate) -> OverdueStatus {
        if as_of > due_on {
            OverdueStatus::Overdue
        } else {
            OverdueStatus::Due
        }
    }

    /// The JSON and URL form: "overdue", "due".
    pub fn key(self) -> &'static str {
        match self {
            OverdueStatus::Overdue => "overdue",
            OverdueStatus::Due => "due",
        }
    }

    pub fn label_cn(self) -> &'static str {
        match self {
            OverdueStatus::Overdue => "已逾期",
            OverdueStatus::Due => "待完成",
        }
    }
}

impl fmt::Display for OverdueStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for OverdueStatus {
    type Err = crate::org::UnknownKey;

    /// Reads the JSON and URL form back, as a filter of the overdue list takes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OverdueStatus::ALL
            .iter()
            .copied()
            .find(|status| status.key() == s)
            .ok_or_else(|| crate::org::UnknownKey(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn overdue_only_after_the_deadline() {
        let due_on = d(2026, 4, 10);
        assert_eq!(OverdueStatus::on(d(2026, 4, 9), due_on), OverdueStatus::Due);
        assert_eq!(OverdueStatus::on(due_on, due_on), OverdueStatus::Due);
        assert_eq!(
            OverdueStatus::on(d(2026, 4, 11), due_on),
            OverdueStatus::Overdue
        );
    }

    #[test]
    fn overdue_sorts_first() {
        let mut v = vec![OverdueStatus::Due, OverdueStatus::Overdue];
        v.sort();
        assert_eq!(v, OverdueStatus::ALL);
    }

    #[test]
    fn serde_and_labels_match_the_api() {
        for s in OverdueStatus::ALL {
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.key())
            );
        }
        assert_eq!(
            serde_json::from_str::<OverdueStatus>("\"overdue\"").unwrap(),
            OverdueStatus::Overdue
        );
        assert_eq!(OverdueStatus::Overdue.label_cn(), "已逾期");
        assert_eq!(OverdueStatus::Due.label_cn(), "待完成");
        assert_eq!(OverdueStatus::Due.to_string(), "due");
    }

    #[test]
    fn url_keys_read_back() {
        for s in OverdueStatus::ALL {
            assert_eq!(s.key().parse::<OverdueStatus>(), Ok(*s));
        }
        assert!("已逾期".parse::<OverdueStatus>().is_err());
        assert!("".parse::<OverdueStatus>().is_err());
    }
}
