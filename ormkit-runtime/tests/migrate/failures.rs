//! Failing migrations: in a transaction they leave nothing but the error; outside one they
//! are recorded as failed until repaired.

use ormkit::migrate::{MigrateError, MigrationState, Migrator};

use crate::support::*;

fn states(status: &ormkit::migrate::StatusReport) -> Vec<&'static str> {
    status.migrations.iter().map(|m| m.state.label()).collect()
}

#[tokio::test]
async fn a_failing_migration_in_the_middle_of_a_batch_leaves_only_the_error() {
    let db = TestDb::new().await;
    let dir = Dir::new();
    dir.add("20240101000000_first", "CREATE TABLE first (id int);", None)
        .add(
            "20240102000000_broken",
            "CREATE TABLE broken (id int);\n\nINSERT INTO broken SELECT * FROM no_such_table;\n",
            None,
        )
        .add("20240103000000_third", "CREATE TABLE third (id int);", None);
    let migrator = Migrator::from_dir(&db.pool, dir.path()).unwrap();
    let err = migrator.migrate_up().await.unwrap_err();
    assert!(matches!(err, MigrateError::Script(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("20240102000000_broken/up.sql:3"), "{text}");
    assert!(text.contains("42P01"), "{text}");
    assert!(
        text.contains("relation \"no_such_table\" does not exist"),
        "{text}"
    );

    assert!(db.table_exists("first").await);
    assert!(
        !db.table_exists("broken").await,
        "the failed migration left a trace"
    );
    assert!(!db.table_exists("third").await);
    assert_eq!(
        db.tracking_rows().await,
        [("20240101000000".to_owned(), true)]
    );
    let status = migrator.status().await.unwrap();
    assert_eq!(states(&status), ["applied", "pending", "pending"]);
    assert_eq!(status.current_version.as_deref(), Some("20240101000000"));

    // Fixed, the batch goes on from there.
    dir.add(
        "20240102000000_broken",
        "CREATE TABLE broken (id int);",
        None,
    );
    assert_eq!(
        migrator_for(&db, &dir)
            .migrate_up()
            .await
            .unwrap()
            .steps
            .len(),
        2
    );
}

fn migrator_for(db: &TestDb, dir: &Dir) -> Migrator {
    Migrator::from_dir(&db.pool, dir.path()).unwrap()
}

#[tokio::test]
async fn a_broken_no_transaction_migration_stays_failed_until_repaired() {
    let db = TestDb::new().await;
    let dir = Dir::new();
    dir.add("1_items", "CREATE TABLE items (id int, name text);", None)
        .add(
            "2_indexes",
            "-- ormkit:no-transaction\n\
             CREATE INDEX CONCURRENTLY items_id_idx ON items (id);\n\
             CREATE INDEX CONCURRENTLY items_name_idx ON no_such_table (name);\n",
            Some("-- ormkit:no-transaction\nDROP INDEX CONCURRENTLY items_id_idx;"),
        )
        .add("3_later", "CREATE TABLE later (id int);", None);
    let err = migrator_for(&db, &dir).migrate_up().await.unwrap_err();
    assert!(matches!(err, MigrateError::Partial { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("2_indexes/up.sql:3") && text.contains("42P01"),
        "{text}"
    );
    assert!(
        text.contains("recorded as failed") && text.contains("migrate repair"),
        "{text}"
    );
    // The statement before the failing one stays: that is what a person must look at.
    assert!(db.table_exists("items_id_idx").await);
    assert!(!db.table_exists("later").await);

    let status = migrator_for(&db, &dir).status().await.unwrap();
    assert_eq!(states(&status), ["applied", "failed", "pending"]);
    assert!(status.to_string().contains("1 failed"), "{status}");

    // Nothing runs while a migration is failed, up or down.
    for result in [
        migrator_for(&db, &dir).migrate_up().await,
        migrator_for(&db, &dir).migrate_down().await,
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, MigrateError::Failed { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("migration 2_indexes is recorded as failed"),
            "{err}"
        );
    }

    // A person drops the half-done index and fixes the script, then repairs.
    db.exec("DROP INDEX items_id_idx").await;
    dir.add(
        "2_indexes",
        "-- ormkit:no-transaction\n\
         CREATE INDEX CONCURRENTLY items_id_idx ON items (id);\n\
         CREATE INDEX CONCURRENTLY items_name_idx ON items (name);\n",
        None,
    );
    let repaired = migrator_for(&db, &dir).repair().await.unwrap();
    assert_eq!(repaired, ["2_indexes"]);
    let status = migrator_for(&db, &dir).status().await.unwrap();
    assert_eq!(status.migrations[1].state, MigrationState::Pending);
    let report = migrator_for(&db, &dir).migrate_up().await.unwrap();
    assert_eq!(report.steps.len(), 2);
    assert!(db.table_exists("items_name_idx").await && db.table_exists("later").await);
    assert!(migrator_for(&db, &dir).repair().await.unwrap().is_empty());
}

/// A tracking table made before `down_started_at` existed: `status` reads it as it is
/// (changing nothing), and the next run adds the column.
#[tokio::test]
async fn a_tracking_table_from_before_down_started_at_is_read_and_upgraded() {
    let db = TestDb::new().await;
    let dir = Dir::new();
    dir.add("1_a", "CREATE TABLE a (id int);", Some("DROP TABLE a;"))
        .add("2_b", "CREATE TABLE b (id int);", Some("DROP TABLE b;"));
    let migrator = migrator_for(&db, &dir);
    let checksum = migrator.migrations()[0].up.checksum.to_string();
    db.exec(&format!(
        "CREATE TABLE a (id int);
         CREATE TABLE _ormkit_migrations (
             version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now(),
             execution_ms bigint NOT NULL DEFAULT 0, success boolean NOT NULL);
         INSERT INTO _ormkit_migrations (version, name, checksum, success)
             VALUES ('1', 'a', '{checksum}', true)"
    ))
    .await;
    let column = "SELECT count(*) FROM information_schema.columns
                  WHERE table_name = '_ormkit_migrations' AND column_name = 'down_started_at'";
    let count = |db: &TestDb| {
        let pool = db.pool.clone();
        async move {
            ormkit::sqlx::query_scalar::<_, i64>(column)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let status = migrator.status().await.unwrap();
    assert_eq!(states(&status), ["applied", "pending"]);
    assert_eq!(count(&db).await, 0, "status changed the table");
    assert_eq!(migrator.migrate_up().await.unwrap().steps.len(), 1);
    assert_eq!(count(&db).await, 1);
    assert_eq!(migrator.migrate_down_to("0").await.unwrap().steps.len(), 2);
}
