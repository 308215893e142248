//! Switching from Diesel or sqlx: their recorded history adopted, so only new migrations run.

use ormkit::migrate::{ForeignHistory, MigrateError, Migrator};

use crate::layouts::{diesel_project, sqlx_project};
use crate::support::*;

/// Diesel's tracking table, as its CLI creates it.
const DIESEL_TABLE: &str = "CREATE TABLE __diesel_schema_migrations (
    version VARCHAR(50) PRIMARY KEY NOT NULL,
    run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)";

/// sqlx's tracking table, as `sqlx migrate run` creates it.
const SQLX_TABLE: &str = "CREATE TABLE _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)";

#[tokio::test]
async fn a_diesel_history_is_adopted_and_only_new_migrations_run() {
    let db = TestDb::new().await;
    let dir = diesel_project();
    // What `diesel migration run` left after the first two migrations.
    db.exec(DIESEL_TABLE).await;
    for stem in [
        "00000000000000_diesel_initial_setup",
        "2019-02-26-002946_create_users",
    ] {
        let up = std::fs::read_to_string(dir.path().join(stem).join("up.sql")).unwrap();
        db.exec(&up).await;
    }
    db.exec(
        "INSERT INTO __diesel_schema_migrations (version)
         VALUES ('00000000000000'), ('20190226002946')",
    )
    .await;

    let migrator = Migrator::from_dir(&db.pool, dir.path()).unwrap();
    let adopted = migrator
        .import_history(ForeignHistory::Diesel)
        .await
        .unwrap();
    assert_eq!(
        adopted,
        [
            "00000000000000_diesel_initial_setup",
            "2019-02-26-002946_create_users"
        ]
    );
    let report = migrator.migrate_up().await.unwrap();
    let ran: Vec<&str> = report.steps.iter().map(|s| s.version.as_str()).collect();
    assert_eq!(ran, ["2019-03-01-101010"], "only the new migration runs");
    assert!(db.table_exists("users_name_idx").await);
    assert!(migrator.status().await.unwrap().is_up_to_date());

    // Once ormkit keeps the history, another import is refused.
    let err = migrator
        .import_history(ForeignHistory::Diesel)
        .await
        .unwrap_err();
    assert!(
        matches!(err, MigrateError::HistoryImport { tool: "diesel", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("already records"), "{err}");
}

#[tokio::test]
async fn a_sqlx_history_is_adopted_and_only_new_migrations_run() {
    let db = TestDb::new().await;
    let dir = sqlx_project();
    db.exec(SQLX_TABLE).await;
    let up = std::fs::read_to_string(dir.path().join("20220101000000_accounts.sql")).unwrap();
    db.exec(&up).await;
    db.exec(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (20220101000000, 'accounts', true, '\\x00', 3000000)",
    )
    .await;

    let migrator = Migrator::from_dir(&db.pool, dir.path()).unwrap();
    let adopted = migrator.import_history(ForeignHistory::Sqlx).await.unwrap();
    assert_eq!(adopted, ["20220101000000_accounts"]);
    let report = migrator.migrate_up().await.unwrap();
    let ran: Vec<&str> = report.steps.iter().map(|s| s.version.as_str()).collect();
    assert_eq!(ran, ["20220102000000", "20220103000000"]);
    let status = migrator.status().await.unwrap();
    assert!(status.is_up_to_date(), "{status}");
}

#[tokio::test]
async fn imports_that_cannot_be_trusted_are_refused_and_record_nothing() {
    let db = TestDb::new().await;
    let dir = sqlx_project();
    let migrator = Migrator::from_dir(&db.pool, dir.path()).unwrap();
    // The refusal's message, after checking that it is one.
    let refused = || async {
        let err = migrator
            .import_history(ForeignHistory::Sqlx)
            .await
            .unwrap_err();
        assert!(matches!(err, MigrateError::HistoryImport { .. }), "{err}");
        err.to_string()
    };

    // No table at all.
    let err = refused().await;
    assert!(err.contains("no table _sqlx_migrations"), "{err}");

    // A failed (dirty) migration.
    db.exec(SQLX_TABLE).await;
    db.exec(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (20220101000000, 'accounts', true, '\\x00', 0),
                (20220103000000, 'payments index', false, '\\x00', 0)",
    )
    .await;
    let err = refused().await;
    assert!(err.contains("failed migration(s) 20220103000000"), "{err}");

    // A version no file has, unless missing files are ignored.
    db.exec(
        "UPDATE _sqlx_migrations SET success = true;
         INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (20211231000000, 'gone', true, '\\x00', 0)",
    )
    .await;
    let err = refused().await;
    assert!(err.contains("version(s) 20211231000000"), "{err}");
    assert!(db.tracking_rows().await.is_empty(), "nothing was recorded");

    let adopted = Migrator::from_dir(&db.pool, dir.path())
        .unwrap()
        .ignore_missing(true)
        .import_history(ForeignHistory::Sqlx)
        .await
        .unwrap();
    assert_eq!(
        adopted,
        ["20220101000000_accounts", "20220103000000_payments_index"]
    );
}
