//! taizhang's domain: the types and rules of the organisation graph, people, ledgers and
//! bulletins. Nothing here does I/O, so every rule is unit-tested in microseconds.

pub mod access;
pub mod builtin;
pub mod bulletin;
pub mod id_number;
pub mod jobs;
pub mod ledger;
pub mod org;
pub mod period;
pub mod phone;
pub mod phrasing;

pub use access::{Action, Role, Scope};
pub use id_number::IdNumber;
pub use phone::Phone;
