//! People and their positions; 身份证号 and phone numbers are encrypted per field and masked
//! unless a role that may see them asks (audited).

use crate::{crypto, Actor, OrgName, PersonName, Store, StoreResult};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use taizhang_domain::ledger::FieldError;
use taizhang_domain::org::PositionTitle;
use taizhang_domain::person::{check_profile, CheckedPerson, PartyProfile, ProfileInput};
use taizhang_domain::{Gender, IdNumber, OrgId, PersonId, PositionId};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Person {
    #[schema(value_type = i64)]
    pub id: PersonId,
    pub name: String,
    // Documented as the plain string it was before the enum ("男" or "女").
    #[schema(value_type = Option<String>)]
    pub gender: Option<Gender>,
    pub org: OrgName,
    /// Masked (3708**********123X) unless the caller may see personal data whole.
    pub id_number: Option<String>,
    /// Masked (138****5678) unless the caller may see personal data whole.
    pub phone: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub party_member: bool,
    pub retired: bool,
    /// 民族, 学历, 人员类别, 入党日期, 转正日期.
    #[serde(flatten)]
    pub profile: PartyProfile,
    pub positions: Vec<Position>,
    /// 1 as registered; each edit adds one (an edit names the version it was made from).
    pub version: i64,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewPerson {
    /// 1–30 characters, without control or bidirectional characters.
    #[schema(max_length = 30)]
    pub name: String,
    /// The organisation the person belongs to (branch or unit), as a code or `o{id}`.
    pub org: String,
    #[serde(default)]
    pub gender: Option<String>,
    #[serde(default)]
    pub id_number: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub party_member: bool,
    #[serde(default)]
    pub retired: bool,
    /// 民族: a full name (汉族) or without its final 族 (汉).
    #[serde(default)]
    pub ethnicity: Option<String>,
    /// 学历: a key (`bachelor`) or its name (大学本科, 本科).
    #[serde(default)]
    pub education: Option<String>,
    /// 人员类别: `full` / `probationary` (正式党员 / 预备党员); only for a Party member.
    #[serde(default)]
    pub member_category: Option<String>,
    /// 入党日期: at eighteen or older, not after today; only for a Party member.
    #[serde(default)]
    pub joined_on: Option<NaiveDate>,
    /// 转正日期: not before 入党日期; none for a 预备党员.
    #[serde(default)]
    pub confirmed_on: Option<NaiveDate>,
}

impl NewPerson {
    /// The profile as given, checked against the person it belongs to: their birth date from
    /// the 身份证号 bounds 入党日期, and only a member has a member's dates and category.
    pub(crate) fn checked_profile(
        &self,
        person: &CheckedPerson,
        today: NaiveDate,
    ) -> Result<PartyProfile, Vec<FieldError>> {
        let input = ProfileInput {
            ethnicity: self.ethnicity.as_deref(),
            education: self.education.as_deref(),
            category: self.member_category.as_deref(),
            joined_on: self.joined_on,
            confirmed_on: self.confirmed_on,
        };
        let birth = person.id_number.as_ref().map(IdNumber::birth_date);
        check_profile(input, birth, self.party_member, today)
    }
}

/// An edit of a person: their particulars as they should be, the version the form was opened on
/// (an edit of an older version is refused as stale) and why.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PersonEdit {
    /// The version the edit was made from (the person's `version` when the form opened).
    pub version: i64,
    #[schema(max_length = 30)]
    pub name: String,
    /// The organisation the person belongs to, as a code or `o{id}`.
    pub org: String,
    #[serde(default)]
    pub gender: Option<String>,
    /// Absent or null: kept as it is; empty: removed; else the new 身份证号.
    #[serde(default)]
    pub id_number: Option<String>,
    /// Absent or null: kept as it is; empty: removed; else the new phone number.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub party_member: bool,
    #[serde(default)]
    pub retired: bool,
    #[serde(default)]
    pub ethnicity: Option<String>,
    #[serde(default)]
    pub education: Option<String>,
    #[serde(default)]
    pub member_category: Option<String>,
    #[serde(default)]
    pub joined_on: Option<NaiveDate>,
    #[serde(default)]
    pub confirmed_on: Option<NaiveDate>,
    /// Why it is edited (1–200 characters): shown in the history and the audit log.
    pub reason: String,
}

/// One version of a person's particulars as written: the first as registered, each later one
/// by an edit with its reason. 身份证号 and phone are always masked here.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonVersion {
    pub version: i64,
    pub name: String,
    pub org: OrgName,
    #[schema(value_type = Option<String>)]
    pub gender: Option<Gender>,
    /// Masked (3708**********123X).
    pub id_number: Option<String>,
    /// Masked (138****5678).
    pub phone: Option<String>,
    pub party_member: bool,
    pub retired: bool,
    #[serde(flatten)]
    pub profile: PartyProfile,
    /// Who wrote it; `None` for the version as first registered or imported.
    pub written_by: Option<String>,
    pub written_at: DateTime<Utc>,
    /// Why this version replaced the one before it; `None` for the first.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Position {
    #[schema(value_type = i64)]
    pub id: PositionId,
    pub person: PersonName,
    pub org: OrgName,
    pub title: PositionTitle,
    pub title_label: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewPosition {
    #[schema(value_type = i64)]
    pub person_id: PersonId,
    pub org: String,
    pub title: PositionTitle,
    pub valid_from: NaiveDate,
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
}

forward! {
    pub async fn create_person(&self, actor: &Actor, new: NewPerson) -> StoreResult<Person>
        => people::create_person(actor, &new);

    /// A person with personal data masked.
    pub async fn person(&self, actor: &Actor, id: PersonId) -> StoreResult<Person>
        => people::person(actor, id.get(), false);

    /// A person with 身份证号 and phone whole, for a role that may see them; the view is audited.
    pub async fn person_revealed(&self, actor: &Actor, id: PersonId) -> StoreResult<Person>
        => people::person(actor, id.get(), true);

    /// Edits a person in the caller's scope as a new version (stale, unchanged and reasonless
    /// edits refused); the replaced version is kept and the edit audited, personal data masked.
    pub async fn edit_person(&self, actor: &Actor, id: PersonId, edit: PersonEdit) -> StoreResult<Person>
        => person_edits::edit_person(actor, id.get(), &edit);

    /// Every version of a person the caller may see, oldest first, the current one last;
    /// 身份证号 and phone masked.
    pub async fn person_history(&self, actor: &Actor, id: PersonId) -> StoreResult<Vec<PersonVersion>>
        => person_edits::person_history(actor, id.get());

    pub async fn people(
        &self,
        actor: &Actor,
        org_id: Option<OrgId>,
        q: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(i64, Vec<Person>)> => people::people(actor, org_id.map(OrgId::get), q, limit, offset);

    pub async fn add_position(&self, actor: &Actor, new: NewPosition) -> StoreResult<Position>
        => people::add_position(actor, &new);

    pub async fn end_position(
        &self,
        actor: &Actor,
        id: PositionId,
        on: NaiveDate,
    ) -> StoreResult<Position> => people::end_position(actor, id.get(), on);

    pub async fn positions_in(&self, actor: &Actor, org_id: OrgId) -> StoreResult<Vec<Position>>
        => people::positions_in(actor, org_id.get());

    /// People in scope (of one organisation if named) with ids above `after`, by id: the
    /// export's pages. `whole` opens personal data, for a role that may see it.
    pub async fn people_after(
        &self,
        actor: &Actor,
        org_id: Option<OrgId>,
        whole: bool,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<Person>> => people::people_after(actor, org_id.map(OrgId::get), whole, after, limit);

    /// Positions (held and ended) in the caller's scope with ids above `after`, by id.
    pub async fn positions_after(&self, actor: &Actor, after: i64, limit: i64) -> StoreResult<Vec<Position>>
        => people::positions_after(actor, after, limit);
}

impl Store {
    /// A fingerprint of the field key, to check two databases share it before copying.
    pub fn field_key_fingerprint(&self) -> String {
        crypto::key_fingerprint(self.field_key())
    }
}
