//! Existing Diesel and sqlx projects' migration directories, applied as they are.

use ormkit::migrate::Migrator;
use ormkit::sqlx;

use crate::support::*;

/// Diesel's layout: dashed versions, its initial setup migration (PL/pgSQL in dollar
/// quotes), `metadata.toml` turning transactions off for both scripts.
pub(crate) fn diesel_project() -> Dir {
    let dir = Dir::new();
    dir.add(
        "00000000000000_diesel_initial_setup",
        r#"-- This file was automatically created by Diesel to setup helper functions
-- and other internal bookkeeping.
CREATE OR REPLACE FUNCTION diesel_manage_updated_at(_tbl regclass) RETURNS VOID AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s
                    FOR EACH ROW EXECUTE PROCEDURE diesel_set_updated_at()', _tbl);
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION diesel_set_updated_at() RETURNS trigger AS $$
BEGIN
    IF (
        NEW IS DISTINCT FROM OLD AND
        NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at
    ) THEN
        NEW.updated_at := current_timestamp;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"#,
        Some(
            "DROP FUNCTION IF EXISTS diesel_manage_updated_at(_tbl regclass);\n\
             DROP FUNCTION IF EXISTS diesel_set_updated_at();\n",
        ),
    )
    .add(
        "2019-02-26-002946_create_users",
        "CREATE TABLE users (\n  id SERIAL PRIMARY KEY,\n  name VARCHAR NOT NULL,\n  \
         updated_at TIMESTAMP NOT NULL DEFAULT now()\n);\nSELECT diesel_manage_updated_at('users');\n",
        Some("DROP TABLE users;\n"),
    )
    .add(
        "2019-03-01-101010_index_users",
        "CREATE INDEX CONCURRENTLY users_name_idx ON users (name);\n",
        Some("DROP INDEX CONCURRENTLY users_name_idx;\n"),
    )
    .write(
        "2019-03-01-101010_index_users/metadata.toml",
        "run_in_transaction = false\n",
    );
    dir
}

/// sqlx's flat layout: a simple `.sql`, an `.up.sql`/`.down.sql` pair, `-- no-transaction`.
pub(crate) fn sqlx_project() -> Dir {
    let dir = Dir::new();
    dir.write(
        "20220101000000_accounts.sql",
        "CREATE TABLE accounts (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE);\n",
    )
    .write(
        "20220102000000_payments.up.sql",
        "CREATE TABLE payments (id BIGSERIAL PRIMARY KEY, account_id BIGINT NOT NULL REFERENCES accounts (id));\n\
         COMMENT ON TABLE payments IS 'It''s; tricky';\n",
    )
    .write("20220102000000_payments.down.sql", "DROP TABLE payments;\n")
    .write(
        "20220103000000_payments_index.up.sql",
        "-- no-transaction\nCREATE INDEX CONCURRENTLY payments_account_idx ON payments (account_id);\n",
    )
    .write(
        "20220103000000_payments_index.down.sql",
        "-- no-transaction\nDROP INDEX CONCURRENTLY payments_account_idx;\n",
    );
    dir
}

#[tokio::test]
async fn a_diesel_project_applies_unchanged_and_reverts() {
    let db = TestDb::new().await;
    let empty = db.catalog().await;
    let dir = diesel_project();
    let migrator = Migrator::from_dir(&db.pool, dir.path()).unwrap();
    let report = migrator.migrate_up().await.unwrap();
    let versions: Vec<&str> = report.steps.iter().map(|s| s.version.as_str()).collect();
    assert_eq!(
        versions,
        ["00000000000000", "2019-02-26-002946", "2019-03-01-101010"]
    );
    assert!(db.table_exists("users_name_idx").await);
    // Diesel's trigger helper works.
    db.exec("INSERT INTO users (name, updated_at) VALUES ('a', '2000-01-01'); UPDATE users SET name = 'b'")
        .await;
    let bumped: bool = sqlx::query_scalar("SELECT updated_at > '2001-01-01' FROM users")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(bumped);
    assert!(migrator.status().await.unwrap().is_up_to_date());

    // An all-zero version is an ordinary one: down to it keeps Diesel's setup…
    let report = migrator.migrate_down_to("00000000000000").await.unwrap();
    assert_eq!(report.steps.len(), 2);
    assert_eq!(report.current_version.as_deref(), Some("00000000000000"));
    assert_eq!(
        db.tracking_rows().await,
        [("00000000000000".to_owned(), true)]
    );
    // …and `0` reverts everything, that one included.
    let report = migrator.migrate_down_to("0").await.unwrap();
    assert_eq!(report.steps.len(), 1);
    assert_eq!(report.current_version, None);
    assert_eq!(db.tracking_rows().await, []);
    let helper: bool =
        sqlx::query_scalar("SELECT to_regproc('diesel_manage_updated_at') IS NOT NULL")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(!helper, "Diesel's setup was not reverted");
    assert_eq!(db.catalog().await, empty);
}

#[tokio::test]
async fn a_sqlx_project_applies_unchanged_and_reverts_what_has_down_scripts() {
    let db = TestDb::new().await;
    let dir = sqlx_project();
    let migrator = Migrator::from_dir(&db.pool, dir.path()).unwrap();
    assert_eq!(migrator.migrate_up().await.unwrap().steps.len(), 3);
    assert!(db.table_exists("payments_account_idx").await);
    let comment: String = sqlx::query_scalar("SELECT obj_description('payments'::regclass)")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(comment, "It's; tricky");

    // The first migration has no down script: refused up front, the others stay.
    let err = migrator.migrate_down_to("0").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("20220101000000_accounts (no down script)"),
        "{err}"
    );
    assert!(db.table_exists("payments_account_idx").await);
    let report = migrator.migrate_down_to("20220101000000").await.unwrap();
    assert_eq!(report.steps.len(), 2);
    assert!(!db.table_exists("payments").await && db.table_exists("accounts").await);
}
