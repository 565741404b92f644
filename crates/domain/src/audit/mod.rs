//! The audit log as an auditor reads it: Chinese names of actions, objects and fields
//! ([`names`]), an entry's before and after as changed fields ([`diff`]), and the checked
//! filters and paging of the log ([`filter`]). The store writes and hashes entries as before;
//! this only reads them.

pub mod diff;
pub mod filter;
pub mod names;

pub use diff::{diff, Change, Diff, DiffLine};
pub use filter::{AuditCursor, AuditFilter, AuditFilterInput, MAX_PAGE};
pub use names::{action_name, entity_name, field_label, ACTIONS, ENTITIES};
