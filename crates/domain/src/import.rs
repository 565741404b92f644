//! Spreadsheet imports (导入): what a sheet is imported into, whether a file goes in whole or
//! only its valid rows, and where an import is in its life. The sheet reading is in the office
//! crate, the rows go in through the store's bulk path, and the jobs worker runs it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How a file with bad rows is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// All or nothing: one bad row and no row is written (the default).
    All,
    /// The valid rows are written; the bad ones come back to be fixed.
    Valid,
}

impl ImportMode {
    pub fn key(self) -> &'static str {
        match self {
            ImportMode::All => "all",
            ImportMode::Valid => "valid",
        }
    }

    pub fn label_cn(self) -> &'static str {
        match self {
            ImportMode::All => "全部正确才导入",
            ImportMode::Valid => "只导入正确的行",
        }
    }
}

impl FromStr for ImportMode {
    type Err = crate::org::UnknownKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(ImportMode::All),
            "valid" => Ok(ImportMode::Valid),
            _ => Err(crate::org::UnknownKey(s.to_string())),
        }
    }
}

/// Where an import is:
///
/// ```text
/// queued ─▶ checking ─┬─ a bad row, all or nothing ─▶ refused (nothing written)
///                     └─▶ writing ─▶ done
/// any ─ the file cannot be read, or the job gave up ─▶ failed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    Queued,
    /// Reading and checking every row.
    Checking,
    /// Writing the rows that passed.
    Writing,
    Done,
    /// All or nothing, and some rows failed their checks: nothing was written.
    Refused,
    /// The file could not be read (not a sheet, no header, too large …).
    Failed,
}

impl ImportState {
    pub const ALL: &'static [ImportState] = &[
        ImportState::Queued,
        ImportState::Checking,
        ImportState::Writing,
        ImportState::Done,
        ImportState::Refused,
        ImportState::Failed,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ImportState::Queued => "queued",
            ImportState::Checking => "checking",
            ImportState::Writing => "writing",
            ImportState::Done => "done",
            ImportState::Refused => "refused",
            ImportState::Failed => "failed",
        }
    }

    pub fn label_cn(self) -> &'static str {
        match self {
            ImportState::Queued => "排队中",
            ImportState::Checking => "正在检查",
            ImportState::Writing => "正在写入",
            ImportState::Done => "已完成",
            ImportState::Refused => "未导入（有错误行）",
            ImportState::Failed => "失败",
        }
    }

    /// Whether the import will not change any more.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            ImportState::Done | ImportState::Refused | ImportState::Failed
        )
    }
}

impl FromStr for ImportState {
    type Err = crate::org::UnknownKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImportState::ALL
            .iter()
            .copied()
            .find(|k| k.key() == s)
            .ok_or_else(|| crate::org::UnknownKey(s.to_string()))
    }
}

impl fmt::Display for ImportState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// What a sheet is imported into. Stored as `ledger:<type key>`, `orgs` or `people`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImportTarget {
    /// Records of one ledger type.
    Ledger(String),
    /// Organisations, each placed under its parent (导入组织).
    Orgs,
    /// Party members, each in their branch (导入党员).
    People,
}

impl ImportTarget {
    pub fn key(&self) -> String {
        match self {
            ImportTarget::Ledger(k) => format!("ledger:{k}"),
            ImportTarget::Orgs => "orgs".to_string(),
            ImportTarget::People => "people".to_string(),
        }
    }

    /// What the pages call it: 导入组织, 导入党员, 导入台账.
    pub fn label_cn(&self) -> &'static str {
        match self {
            ImportTarget::Ledger(_) => "导入台账",
            ImportTarget::Orgs => "导入组织",
            ImportTarget::People => "导入党员",
        }
    }

    /// The kind of target alone (`ledger`, `orgs`, `people`): how saved mappings and the API's
    /// `target` name it.
    pub fn kind(&self) -> &'static str {
        match self {
            ImportTarget::Ledger(_) => "ledger",
            ImportTarget::Orgs => "orgs",
            ImportTarget::People => "people",
        }
    }
}

impl FromStr for ImportTarget {
    type Err = crate::org::UnknownKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("ledger", k)) if !k.is_empty() && k.len() <= 64 => {
                Ok(ImportTarget::Ledger(k.to_string()))
            }
            None if s == "orgs" => Ok(ImportTarget::Orgs),
            None if s == "people" => Ok(ImportTarget::People),
            _ => Err(crate::org::UnknownKey(s.to_string())),
        }
    }
}

/// The largest file an import takes: a million rows of a ledger fit well within it.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

/// Rows checked and written together: one transaction each, and the progress the page shows.
pub const IMPORT_BATCH_ROWS: usize = 20_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_stay_stable() {
        for s in ImportState::ALL {
            assert_eq!(s.key().parse::<ImportState>().ok(), Some(*s));
        }
        for m in [ImportMode::All, ImportMode::Valid] {
            assert_eq!(m.key().parse::<ImportMode>().ok(), Some(m));
        }
        let t: ImportTarget = "ledger:visit".parse().expect("target");
        assert_eq!(t, ImportTarget::Ledger("visit".into()));
        assert_eq!(t.key(), "ledger:visit");
        assert!("ledger:".parse::<ImportTarget>().is_err());
        for t in [ImportTarget::Orgs, ImportTarget::People] {
            assert_eq!(t.key().parse::<ImportTarget>().ok(), Some(t.clone()));
        }
        assert_eq!(ImportTarget::Orgs.key(), "orgs");
        assert_eq!(ImportTarget::People.key(), "people");
        assert!("orgs:x".parse::<ImportTarget>().is_err());
        assert!("members".parse::<ImportTarget>().is_err());
        assert!("nonsense".parse::<ImportMode>().is_err());
    }

    #[test]
    fn only_the_last_states_are_finished() {
        let finished: Vec<&str> = ImportState::ALL
            .iter()
            .filter(|s| s.is_finished())
            .map(|s| s.key())
            .collect();
        assert_eq!(finished, ["done", "refused", "failed"]);
    }
}
