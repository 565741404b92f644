//! A unique-constraint violation reaches the caller as a conflict (409 in the web layer), not as
//! a database failure (500). The store's own checks catch duplicates first; this is the net under
//! them when two writers race (PostgreSQL), so it is exercised here on a bare table.

use sqlx::sqlite::SqlitePoolOptions;
use taizhang_store::StoreError;

#[tokio::test]
async fn a_unique_violation_is_a_conflict() {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .expect("in-memory database");
    sqlx::raw_sql("CREATE TABLE people (id_number_bidx TEXT UNIQUE)")
        .execute(&pool)
        .await
        .expect("table");
    let insert = "INSERT INTO people (id_number_bidx) VALUES ('x')";
    sqlx::raw_sql(insert)
        .execute(&pool)
        .await
        .expect("first row");
    let again = sqlx::raw_sql(insert)
        .execute(&pool)
        .await
        .expect_err("duplicate");
    match StoreError::from(again) {
        StoreError::Conflict { code, message } => {
            assert_eq!(code, "duplicate");
            assert!(message.contains("重复"), "{message}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn other_database_errors_stay_database_errors() {
    let pool = SqlitePoolOptions::new()
        .connect("sqlite::memory:")
        .await
        .expect("in-memory database");
    let err = sqlx::raw_sql("SELECT * FROM missing")
        .execute(&pool)
        .await
        .expect_err("no table");
    assert!(matches!(StoreError::from(err), StoreError::Database(_)));
}
