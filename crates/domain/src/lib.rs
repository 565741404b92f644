//! taizhang's domain: the types and rules of the organisation graph, people, ledgers and
//! bulletins. Nothing here does I/O, so every rule is unit-tested in microseconds.

pub mod access;
pub mod audit;
pub mod builtin;
pub mod bulletin;
pub mod clock;
pub mod dashboard;
pub mod gender;
pub mod id_number;
pub mod ids;
pub mod import;
pub mod jobs;
pub mod ledger;
pub mod money;
pub mod org;
pub mod overdue;
pub mod period;
pub mod person;
pub mod phone;
pub mod phrasing;
pub mod region;
pub mod rollup;
pub mod scoring;
pub mod search;
pub mod text;

pub use access::{Action, Role, Scope};
pub use clock::{Clock, FixedClock};
pub use gender::Gender;
pub use id_number::IdNumber;
pub use ids::{
    AuditSeq, CountyId, LedgerTypeId, LinkId, OrgId, PersonId, PositionId, RecordId, UserId,
};
pub use money::Money;
pub use overdue::OverdueStatus;
pub use period::{check_date, check_date_field, MAX_DATE, MIN_DATE};
pub use phone::Phone;
pub use region::{RegionId, RegionLevel};
