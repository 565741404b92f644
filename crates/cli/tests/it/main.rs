//! The integration tests of the `taizhang` binary, in one test binary: each module runs the real
//! binary (or its store) over SQLite and PostgreSQL.

mod backup;
mod bulk_crash;
mod cli;
mod common;
mod crash;
mod gen;
mod hardening_audit;
mod import;
mod logs;
mod region;
mod replica;
