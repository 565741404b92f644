//! The integration tests of the server, in one test binary (one link, one PostgreSQL template
//! and one SQLite template for all of them): each module starts real servers over copies of the
//! demo county, on SQLite and on PostgreSQL.

mod accounts;
mod api;
mod audit_log;
mod audit_names;
mod backends;
mod browser;
mod bulk;
mod bulk_atomic;
mod bulletin_documents;
mod dashboard;
mod error_pages;
mod export;
mod hardening_accounts;
mod hardening_audit;
mod hardening_input;
mod hardening_writes;
mod idempotency;
mod imports;
mod imports_people;
mod jobs;
mod overdue;
mod pages;
mod people_edits;
mod personal_data;
mod record_edits;
mod record_pages;
mod regions;
mod replica;
mod rollups;
mod round_trip;
mod scope;
mod scope_writes;
mod search;
mod security;
mod streaming;
mod type_editor;
