//! Embedded migrations are used as given: each script's no-transaction flag decides how it
//! runs (no marker in its text is needed or read), and the checksums written at build time
//! are what the history is recorded with and compared against.

use ormkit::migrate::{MigrateError, Migrator};
use ormkit::Migration;
use ormkit_schema::migrations::checksum;

use crate::support::*;

const TABLE: &str = "CREATE TABLE t (c int);\n";
const CREATE_INDEX: &str = "CREATE INDEX CONCURRENTLY t_c ON t (c);\n";
const DROP_INDEX: &str = "DROP INDEX CONCURRENTLY t_c;\n";

fn table() -> Migration {
    Migration::embedded(
        "1",
        "table",
        "1_table/up.sql",
        leak(&checksum(TABLE)),
        TABLE,
    )
}

/// `CREATE/DROP INDEX CONCURRENTLY` with neither script marked in its text, as Diesel's
/// `metadata.toml` leaves them; `flags` are the embedded (up, down) flags.
fn index(flags: (bool, bool)) -> Migration {
    let mut index = Migration::embedded(
        "2",
        "index",
        "2_index/up.sql",
        leak(&checksum(CREATE_INDEX)),
        CREATE_INDEX,
    )
    .with_down("2_index/down.sql", leak(&checksum(DROP_INDEX)), DROP_INDEX);
    if flags.0 {
        index = index.up_outside_transaction();
    }
    if flags.1 {
        index = index.down_outside_transaction();
    }
    index
}

/// The SQLSTATE of a script's failure, if the error is one.
fn sqlstate(err: &MigrateError) -> Option<&str> {
    match err {
        MigrateError::Script(source) => match source.as_ref() {
            ormkit_schema::migrations::MigrationError::Apply(failure) => {
                failure.sqlstate.as_deref()
            }
            _ => None,
        },
        _ => None,
    }
}

#[tokio::test]
async fn each_embedded_script_runs_as_its_own_flag_says() {
    let db = TestDb::new().await;
    let migrations = [table(), index((true, true))];
    let migrator = Migrator::new(&db.pool, &migrations);
    assert_eq!(migrator.migrate_up().await.unwrap().steps.len(), 2);
    assert!(db.table_exists("t_c").await);
    assert_eq!(migrator.migrate_down().await.unwrap().steps.len(), 1);
    assert!(!db.table_exists("t_c").await);

    // The down script's flag is its own: unflagged, it runs in a transaction and
    // PostgreSQL refuses DROP INDEX CONCURRENTLY there (25001), whatever the up script's.
    let migrations = [table(), index((true, false))];
    let migrator = Migrator::new(&db.pool, &migrations);
    migrator.migrate_up().await.unwrap();
    let err = migrator.migrate_down().await.unwrap_err();
    assert_eq!(sqlstate(&err), Some("25001"), "{err}");
    assert!(err.to_string().contains("2_index/down.sql"), "{err}");
    assert!(db.table_exists("t_c").await, "rolled back");

    // And the up script's flag is the up script's alone.
    let migrations = [table(), index((false, true))];
    let migrator = Migrator::new(&db.pool, &migrations);
    assert_eq!(migrator.migrate_down().await.unwrap().steps.len(), 1);
    let err = migrator.migrate_up().await.unwrap_err();
    assert_eq!(sqlstate(&err), Some("25001"), "{err}");
    assert!(err.to_string().contains("2_index/up.sql"), "{err}");
}

#[tokio::test]
async fn embedded_checksums_are_recorded_and_compared_as_given() {
    let db = TestDb::new().await;
    // Not the SHA-256 of the script: a Migrator that recomputed it would record and compare
    // another value.
    let given = "c0ffee".repeat(10) + "c0de";
    let migrations = [Migration::embedded(
        "1",
        "table",
        "1_table/up.sql",
        leak(&given),
        TABLE,
    )];
    Migrator::new(&db.pool, &migrations)
        .migrate_up()
        .await
        .unwrap();
    let recorded: String =
        ormkit::sqlx::query_scalar("SELECT checksum FROM _ormkit_migrations WHERE version = '1'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(recorded, given);

    // The same embedded list agrees with the history it wrote.
    let again = Migrator::new(&db.pool, &migrations);
    assert!(again.status().await.unwrap().is_up_to_date());
    assert!(again.migrate_up().await.unwrap().steps.is_empty());

    // The same script read from a directory is checksummed from its text, and differs.
    let dir = Dir::new();
    dir.add("1_table", TABLE, None);
    let err = Migrator::from_dir(&db.pool, dir.path())
        .unwrap()
        .migrate_up()
        .await
        .unwrap_err();
    assert!(
        matches!(err, MigrateError::ChecksumMismatch { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&given) && text.contains(&checksum(TABLE)),
        "{text}"
    );
}
