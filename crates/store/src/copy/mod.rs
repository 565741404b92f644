//! Moving a county's data between databases (SQLite → PostgreSQL and back) without loss: every
//! table is copied row by row with its ids, then counted and checksummed on both sides.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;

use crate::backend::{postgres, sqlite};
use crate::{Backend, Store, StoreError, StoreResult};

/// The type of a column, as both backends store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    I64,
    Text,
    Date,
    Ts,
    Bool,
    Json,
}

/// A value read from either backend.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    I64(i64),
    Text(String),
    Date(NaiveDate),
    Ts(DateTime<Utc>),
    Bool(bool),
    Json(Value),
}

pub(crate) struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Col)],
    /// Columns that order the rows the same way on both backends.
    pub order: &'static str,
    /// Identity columns whose sequence must follow the copied ids on PostgreSQL.
    pub identity: Option<&'static str>,
}

use Col::*;

/// Every table, parents before children.
pub(crate) const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "counties",
        columns: &[
            ("id", I64),
            ("code", Text),
            ("name", Text),
            ("root_org_id", I64),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "orgs",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("kind", Text),
            ("name", Text),
            ("code", Text),
            ("established_on", Date),
            ("dissolved_on", Date),
            ("created_at", Ts),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "org_edges",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("child_id", I64),
            ("parent_id", I64),
            ("valid_from", Date),
            ("valid_to", Date),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "org_closure",
        columns: &[
            ("county_id", I64),
            ("ancestor_id", I64),
            ("descendant_id", I64),
            ("depth", I64),
            ("valid_from", Date),
            ("valid_to", Date),
        ],
        order: "ancestor_id, descendant_id, valid_from",
        identity: None,
    },
    TableSpec {
        name: "people",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("org_id", I64),
            ("name", Text),
            ("gender", Text),
            ("id_number_enc", Text),
            ("id_number_bidx", Text),
            ("phone_enc", Text),
            ("phone_bidx", Text),
            ("birth_date", Date),
            ("party_member", Bool),
            ("retired", Bool),
            ("created_at", Ts),
            ("updated_at", Ts),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "positions",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("person_id", I64),
            ("org_id", I64),
            ("title", Text),
            ("valid_from", Date),
            ("valid_to", Date),
            ("created_at", Ts),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "org_links",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("kind", Text),
            ("from_org_id", I64),
            ("from_person_id", I64),
            ("to_org_id", I64),
            ("via_org_id", I64),
            ("role", Text),
            ("note", Text),
            ("valid_from", Date),
            ("valid_to", Date),
            ("created_at", Ts),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "users",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("username", Text),
            ("display_name", Text),
            ("password_hash", Text),
            ("role", Text),
            ("org_id", I64),
            ("person_id", I64),
            ("disabled", Bool),
            ("created_at", Ts),
            ("password_changed_at", I64),
            ("must_change_password", Bool),
            ("totp_secret_enc", Text),
            ("totp_last_step", I64),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "county_settings",
        columns: &[("county_id", I64), ("name", Text), ("value", Text)],
        order: "county_id, name",
        identity: None,
    },
    TableSpec {
        name: "ledger_types",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("key", Text),
            ("name", Text),
            ("current_version", I64),
            ("created_at", Ts),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "ledger_type_versions",
        columns: &[
            ("county_id", I64),
            ("ledger_type_id", I64),
            ("version", I64),
            ("definition", Json),
            ("created_at", Ts),
        ],
        order: "ledger_type_id, version",
        identity: None,
    },
    TableSpec {
        name: "ledger_records",
        columns: &[
            ("id", I64),
            ("county_id", I64),
            ("ledger_type_id", I64),
            ("type_version", I64),
            ("org_id", I64),
            ("occurred_on", Date),
            ("fields", Json),
            ("created_by", I64),
            ("created_at", Ts),
            ("voided_at", Ts),
            ("void_reason", Text),
        ],
        order: "id",
        identity: Some("id"),
    },
    TableSpec {
        name: "record_people",
        columns: &[
            ("county_id", I64),
            ("record_id", I64),
            ("field_key", Text),
            ("person_id", I64),
        ],
        order: "record_id, field_key, person_id",
        identity: None,
    },
    TableSpec {
        name: "record_facts",
        columns: &[
            ("county_id", I64),
            ("record_id", I64),
            ("field_key", Text),
            ("num_value", I64),
            ("option_value", Text),
        ],
        order: "record_id, field_key, num_value, option_value",
        identity: None,
    },
    TableSpec {
        name: "attachments",
        columns: &[
            ("id", Text),
            ("county_id", I64),
            ("file_name", Text),
            ("content_type", Text),
            ("size_bytes", I64),
            ("created_by", I64),
            ("created_at", Ts),
        ],
        order: "id",
        identity: None,
    },
    TableSpec {
        name: "record_attachments",
        columns: &[
            ("county_id", I64),
            ("record_id", I64),
            ("attachment_id", Text),
        ],
        order: "record_id, attachment_id",
        identity: None,
    },
    TableSpec {
        name: "audit_log",
        columns: &[
            ("seq", I64),
            ("county_id", I64),
            ("at", Ts),
            ("actor_user_id", I64),
            ("actor", Text),
            ("action", Text),
            ("entity", Text),
            ("entity_id", Text),
            ("before_json", Json),
            ("after_json", Json),
            ("prev_hash", Text),
            ("hash", Text),
        ],
        order: "county_id, seq",
        identity: None,
    },
    crate::jobs::JOBS_TABLE,
];

/// A running checksum over rows, independent of how each backend stores a value: instants are
/// taken to the microsecond (PostgreSQL's precision) and JSON with sorted keys.
#[derive(Default)]
pub(crate) struct Checksum(Sha256);

impl Checksum {
    pub fn row(&mut self, row: &[Val]) {
        for v in row {
            let text = match v {
                Val::Null => "\u{0}".to_string(),
                Val::I64(i) => i.to_string(),
                Val::Text(s) => s.clone(),
                Val::Date(d) => d.to_string(),
                Val::Ts(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                Val::Bool(b) => b.to_string(),
                Val::Json(j) => crate::audit::canonical_json(j),
            };
            self.0.update((text.len() as u64).to_le_bytes());
            self.0.update(text.as_bytes());
        }
        self.0.update(b"\n");
    }

    pub fn hex(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// What `copy` reports for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub table: String,
    pub source_rows: i64,
    pub target_rows: i64,
    pub source_checksum: String,
    pub target_checksum: String,
}

impl TableCopy {
    pub fn matches(&self) -> bool {
        self.source_rows == self.target_rows && self.source_checksum == self.target_checksum
    }
}

forward! {
    /// Refreshes the planner's statistics after a bulk load.
    pub async fn analyze(&self) -> StoreResult<()> => copy::analyze();

    pub async fn table_counts(&self) -> StoreResult<Vec<(String, i64)>> => copy::table_counts();
}

impl Store {
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
        let county_id = county.as_ref().map(|c| c.id.get());
        let rows = dispatch!(self, copy::export_tables(county_id))?;
        match &target.backend {
            Backend::Sqlite(p) => sqlite::copy::import_tables(p, &rows).await?,
            Backend::Postgres(p) => postgres::copy::import_tables(p, &rows).await?,
        }
        // The files behind the attachment rows travel too.
        for (table, rows) in &rows {
            if table.name != "attachments" {
                continue;
            }
            for row in rows {
                if let Some(Val::Text(id)) = row.first() {
                    let rel = Path::new("attachments")
                        .join(&id[..2.min(id.len())])
                        .join(id);
                    let from = self.data_dir.join(&rel);
                    if tokio::fs::metadata(&from).await.is_ok() {
                        let to = target.data_dir.join(&rel);
                        if let Some(dir) = to.parent() {
                            crate::files::create_private_dir_async(dir).await?;
                        }
                        let bytes = tokio::fs::read(&from).await?;
                        let _ = tokio::fs::remove_file(&to).await;
                        crate::files::write_private_async(&to, bytes).await?;
                    }
                }
            }
        }
        let source = dispatch!(self, copy::table_checksums(county_id))?;
        let after = dispatch!(target, copy::table_checksums(county_id))?;
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
}
