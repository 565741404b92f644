//! The queries of every feature, compiled once per backend. Each feature keeps its SQL in
//! `<feature>/sql.rs`; the two modules below include those files with `#[path]` (listed once, in
//! `feature_queries!`), each after defining `DB` (the sqlx driver) and `IS_PG`, so one copy of
//! every query is type-checked against SQLite and against PostgreSQL. A feature's `sql.rs` starts
//! with `use super::*;` (its backend's plumbing from `common.rs`) and reaches another feature of
//! the same backend as `super::orgs::resolve_org`. Being ordinary module files, they are
//! formatted and linted like any other.
//!
//! Some functions serve one backend only (backup reads PostgreSQL and writes SQLite files), so
//! unused items are allowed here.

// Each feature's queries are loaded twice on purpose: once per backend.
#![allow(clippy::duplicate_mod)]

/// Every migration of the backend whose folder is named: (version, name, SQL).
macro_rules! migrations {
    ($dir:literal) => {
        &[
            (
                1,
                "foundation",
                include_str!(concat!("../../migrations/", $dir, "/0001_foundation.sql")),
            ),
            (
                2,
                "login_protection",
                include_str!(concat!(
                    "../../migrations/",
                    $dir,
                    "/0002_login_protection.sql"
                )),
            ),
            (
                3,
                "accounts_and_field_encryption",
                include_str!(concat!(
                    "../../migrations/",
                    $dir,
                    "/0003_accounts_and_field_encryption.sql"
                )),
            ),
            (
                4,
                "drop_plaintext_personal_data",
                include_str!(concat!(
                    "../../migrations/",
                    $dir,
                    "/0004_drop_plaintext_personal_data.sql"
                )),
            ),
            (
                5,
                "jobs",
                include_str!(concat!("../../migrations/", $dir, "/0005_jobs.sql")),
            ),
            (
                6,
                "accounts",
                include_str!(concat!("../../migrations/", $dir, "/0006_accounts.sql")),
            ),
            (
                7,
                "rollups",
                include_str!(concat!("../../migrations/", $dir, "/0007_rollups.sql")),
            ),
            (
                8,
                "subtree_rollups",
                include_str!(concat!(
                    "../../migrations/",
                    $dir,
                    "/0008_subtree_rollups.sql"
                )),
            ),
            (
                9,
                "regions",
                include_str!(concat!("../../migrations/", $dir, "/0009_regions.sql")),
            ),
            (
                10,
                "import_keys",
                include_str!(concat!("../../migrations/", $dir, "/0010_import_keys.sql")),
            ),
            (
                11,
                "imports",
                include_str!(concat!("../../migrations/", $dir, "/0011_imports.sql")),
            ),
            (
                12,
                "import_updates",
                include_str!(concat!(
                    "../../migrations/",
                    $dir,
                    "/0012_import_updates.sql"
                )),
            ),
            (
                13,
                "import_mappings",
                include_str!(concat!(
                    "../../migrations/",
                    $dir,
                    "/0013_import_mappings.sql"
                )),
            ),
            (
                14,
                "people_profile",
                include_str!(concat!(
                    "../../migrations/",
                    $dir,
                    "/0014_people_profile.sql"
                )),
            ),
            (
                15,
                "search_keys",
                include_str!(concat!("../../migrations/", $dir, "/0015_search_keys.sql")),
            ),
            (
                16,
                "record_versions",
                include_str!(concat!(
                    "../../migrations/",
                    $dir,
                    "/0016_record_versions.sql"
                )),
            ),
            (
                17,
                "person_versions",
                include_str!(concat!(
                    "../../migrations/",
                    $dir,
                    "/0017_person_versions.sql"
                )),
            ),
            (
                18,
                "idempotency_keys",
                include_str!(concat!(
                    "../../migrations/",
                    $dir,
                    "/0018_idempotency_keys.sql"
                )),
            ),
        ]
    };
}

/// Every feature's queries, loaded into the backend module that invokes it.
macro_rules! feature_queries {
    () => {
        pub(crate) mod common;
        pub(crate) use common::*;

        #[path = "../accounts/review_sql.rs"]
        pub(crate) mod account_review;
        #[path = "../accounts/sql.rs"]
        pub(crate) mod accounts;
        #[path = "../audit/sql.rs"]
        pub(crate) mod audit;
        #[path = "../bulk/sql.rs"]
        pub(crate) mod bulk;
        #[path = "../bulk/people_sql.rs"]
        pub(crate) mod bulk_people;
        #[path = "../bulletin/sql.rs"]
        pub(crate) mod bulletin;
        #[path = "../copy/sql.rs"]
        pub(crate) mod copy;
        #[path = "../counties/sql.rs"]
        pub(crate) mod counties;
        #[path = "../dashboard/sql.rs"]
        pub(crate) mod dashboard;
        #[path = "../idempotency/sql.rs"]
        pub(crate) mod idempotency;
        #[path = "../imports/people_sql.rs"]
        pub(crate) mod import_people;
        #[path = "../imports/sql.rs"]
        pub(crate) mod imports;
        #[path = "../jobs/sql.rs"]
        pub(crate) mod jobs;
        #[path = "../ledgers/sql.rs"]
        pub(crate) mod ledgers;
        #[path = "../links/sql.rs"]
        pub(crate) mod links;
        #[path = "../orgs/sql.rs"]
        pub(crate) mod orgs;
        #[path = "../orgs/bulk_sql.rs"]
        pub(crate) mod orgs_bulk;
        #[path = "../overdue/sql.rs"]
        pub(crate) mod overdue;
        #[path = "../people/sql.rs"]
        pub(crate) mod people;
        #[path = "../people/edit_sql.rs"]
        pub(crate) mod person_edits;
        #[path = "../records/edit_sql.rs"]
        pub(crate) mod record_edits;
        #[path = "../records/page_sql.rs"]
        pub(crate) mod record_pages;
        #[path = "../records/sql.rs"]
        pub(crate) mod records;
        #[path = "../regions/sql.rs"]
        pub(crate) mod regions;
        #[path = "../rollups/read_sql.rs"]
        pub(crate) mod rollup_reads;
        #[path = "../rollups/sql.rs"]
        pub(crate) mod rollups;
        #[path = "../search/sql.rs"]
        pub(crate) mod search;
        #[path = "../sessions/sql.rs"]
        pub(crate) mod sessions;
    };
}

#[path = "."]
#[allow(dead_code)]
pub(crate) mod sqlite {
    pub(crate) type DB = sqlx::Sqlite;
    /// Named, not `<DB as Database>::Row`, so that a struct shared by both backends can have a
    /// `FromRow` impl for each (coherence does not look through the projection).
    pub(crate) type Row = sqlx::sqlite::SqliteRow;
    pub(crate) const IS_PG: bool = false;
    pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = migrations!("sqlite");
    feature_queries!();
}

#[path = "."]
#[allow(dead_code)]
pub(crate) mod postgres {
    pub(crate) type DB = sqlx::Postgres;
    pub(crate) type Row = sqlx::postgres::PgRow;
    pub(crate) const IS_PG: bool = true;
    pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = migrations!("postgres");
    feature_queries!();
}
