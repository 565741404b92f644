//! Records (台账记录) of a ledger type for an organisation, and the files attached to them.

use crate::{audit, today, Actor, OrgName, PersonName, Store, StoreError, StoreResult};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use taizhang_domain::{PersonId, RecordId};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Record {
    #[schema(value_type = i64)]
    pub id: RecordId,
    pub ledger_type: String,
    pub ledger_type_name: String,
    pub type_version: i64,
    pub org: OrgName,
    pub occurred_on: NaiveDate,
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    /// People named in people fields, with their names, for display.
    pub people: Vec<PersonName>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub voided_at: Option<DateTime<Utc>>,
    /// 1 as entered; each correction adds one. An edit names the version it was made from.
    pub version: i64,
    pub edited_by: Option<String>,
    pub edited_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewRecord {
    pub ledger_type: String,
    pub org: String,
    pub occurred_on: NaiveDate,
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// A correction of a record: its organisation, date and fields as they should be, the version
/// the form was opened on (an edit of an older version is refused as stale) and why.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct RecordEdit {
    /// The version the correction was made from (the record's `version` when the form opened).
    pub version: i64,
    pub org: String,
    pub occurred_on: NaiveDate,
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Why it is corrected (1–200 characters): shown in the history and the audit log.
    pub reason: String,
}

/// One version of a record, as it was written: the first as entered, each later one by a
/// correction with its reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordVersion {
    pub version: i64,
    pub org: OrgName,
    pub occurred_on: NaiveDate,
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    pub type_version: i64,
    pub written_by: Option<String>,
    pub written_at: DateTime<Utc>,
    /// Why this version replaced the one before it; `None` for the first.
    pub reason: Option<String>,
    /// The people its people fields name, with their names.
    pub people: Vec<PersonName>,
}

/// Which records to list: the ones behind a bulletin figure, or a ledger's page.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordQuery {
    /// Organisation subtree, as a code or `o{id}`; defaults to the caller's organisation.
    pub org: Option<String>,
    pub ledger_type: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only records whose choice field `field` has the value `option`.
    #[param(max_length = 40)]
    #[schema(max_length = 40)]
    pub field: Option<String>,
    #[param(max_length = 40)]
    #[schema(max_length = 40)]
    pub option: Option<String>,
    /// Only records naming this person.
    #[param(value_type = Option<i64>)]
    #[schema(value_type = Option<i64>)]
    pub person: Option<PersonId>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordPage {
    pub total: i64,
    pub records: Vec<Record>,
}

forward! {
    /// Many records in one transaction: all go in, or none (used by the demo generator).
    pub async fn create_records(&self, actor: &Actor, new: Vec<NewRecord>) -> StoreResult<usize>
        => records::create_records(actor, &new, today());

    pub async fn record(&self, actor: &Actor, id: RecordId) -> StoreResult<Record>
        => records::record(actor, id.get());

    /// A page of the list with its total. A subtree's list is counted from its rollups and
    /// reads only the days that hold the page, when the rollups give it exactly.
    pub async fn records(&self, actor: &Actor, q: &RecordQuery) -> StoreResult<RecordPage>
        => records::records(actor, q);

    /// The page as the rollups give it, or `None` where they cannot give it exactly (a field,
    /// option or person filter; a subtree not wholly in the caller's scope for the period).
    pub async fn records_by_rollups(&self, actor: &Actor, q: &RecordQuery) -> StoreResult<Option<RecordPage>>
        => records::records_by_rollups(actor, q);

    /// The same page counted and read from the records alone: what the rollups' answer is
    /// checked against.
    pub async fn records_scanned(&self, actor: &Actor, q: &RecordQuery) -> StoreResult<RecordPage>
        => records::records_scanned(actor, q);

    /// Every version of a record the caller may see, oldest first, the current one last.
    pub async fn record_history(&self, actor: &Actor, id: RecordId) -> StoreResult<Vec<RecordVersion>>
        => record_edits::record_history(actor, id.get());

    pub async fn void_record(&self, actor: &Actor, id: RecordId, reason: &str) -> StoreResult<Record>
        => records::void_record(actor, id.get(), reason);

    /// The list's records (newest first) after the last one's date and id: the export's pages.
    pub async fn records_after(
        &self,
        actor: &Actor,
        q: &RecordQuery,
        after: Option<(NaiveDate, RecordId)>,
        limit: i64,
    ) -> StoreResult<Vec<Record>> => records::records_after(actor, q, after.map(|(d, id)| (d, id.get())), limit);
}

impl Store {
    /// Checks the record on a read connection, then takes the write connection only for its
    /// inserts, for at most the store's write bound ([`crate::WRITE_BOUND`]): past it, `Busy`.
    pub async fn create_record(&self, actor: &Actor, new: NewRecord) -> StoreResult<Record> {
        dispatch!(
            self,
            records::create_record(actor, &new, today(), self.write_bound)
        )
    }

    /// Corrects a record: the current version is kept in its history, the record takes the new
    /// values as its next version, and its rollups move from the old values to the new in the
    /// same transaction. Checked like a new record, on a read connection first.
    pub async fn edit_record(
        &self,
        actor: &Actor,
        id: RecordId,
        edit: RecordEdit,
    ) -> StoreResult<Record> {
        dispatch!(
            self,
            record_edits::edit_record(actor, id.get(), &edit, today(), self.write_bound)
        )
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
        let file_name = taizhang_domain::text::FILE_NAME.check(file_name)?;
        // Content-addressed per uploader: the same bytes from someone else get another id, so an
        // id reveals nothing about other people's files.
        let mut keyed = format!(
            "{}:{}:",
            actor.county_id,
            actor.user_id.map_or(0, |u| u.get())
        )
        .into_bytes();
        keyed.extend_from_slice(bytes);
        let id = audit::sha256_hex(&keyed);
        let dir = self.data_dir.join("attachments").join(&id[..2]);
        crate::files::create_private_dir_async(&dir).await?;
        let path = dir.join(&id);
        if tokio::fs::metadata(&path).await.is_err() {
            let tmp = dir.join(format!("{id}.tmp"));
            let _ = tokio::fs::remove_file(&tmp).await;
            crate::files::write_private_async(&tmp, bytes.to_vec()).await?;
            tokio::fs::rename(&tmp, &path).await?;
        }
        dispatch!(
            self,
            records::insert_attachment(actor, &id, &file_name, content_type, bytes.len() as i64)
        )?;
        Ok(id)
    }

    /// An attachment's file name and media type, if a record the caller may see references it
    /// (or the caller uploaded it): what a page needs to show it as a thumbnail or a link.
    pub async fn attachment_info(&self, actor: &Actor, id: &str) -> StoreResult<(String, String)> {
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::NotFound);
        }
        dispatch!(self, records::attachment_meta(actor, id))
    }

    /// An attachment's metadata and bytes, if a record the caller may see references it (or the
    /// caller uploaded it).
    pub async fn attachment(
        &self,
        actor: &Actor,
        id: &str,
    ) -> StoreResult<(String, String, Vec<u8>)> {
        let (name, ctype) = self.attachment_info(actor, id).await?;
        let bytes =
            tokio::fs::read(self.data_dir.join("attachments").join(&id[..2]).join(id)).await?;
        Ok((name, ctype, bytes))
    }
}
