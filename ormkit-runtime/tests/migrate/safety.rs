//! The history checks: tampered, missing, out-of-order and CRLF-converted migrations,
//! missing down scripts and unknown targets — all refused (or accepted) before anything runs.

use ormkit::migrate::{MigrateError, MigrationState, Migrator};
use ormkit_schema::migrations::checksum;

use crate::support::*;

fn migrator(db: &TestDb, dir: &Dir) -> Migrator {
    Migrator::from_dir(&db.pool, dir.path()).unwrap()
}

fn three() -> Dir {
    let dir = Dir::new();
    dir.add(
        "20240101000000_a",
        "CREATE TABLE a (id int);\n",
        Some("DROP TABLE a;\n"),
    )
    .add(
        "20240102000000_b",
        "CREATE TABLE b (id int);\n",
        Some("DROP TABLE b;\n"),
    )
    .add(
        "20240103000000_c",
        "CREATE TABLE c (id int);\n",
        Some("DROP TABLE c;\n"),
    );
    dir
}

#[tokio::test]
async fn a_tampered_applied_migration_is_refused_naming_the_file_and_both_checksums() {
    let db = TestDb::new().await;
    let dir = three();
    migrator(&db, &dir)
        .migrate_up_to("20240102000000")
        .await
        .unwrap();
    let original = checksum("CREATE TABLE b (id int);\n");
    let tampered = "CREATE TABLE b (id bigint);\n";
    dir.write("20240102000000_b/up.sql", tampered);

    let err = migrator(&db, &dir).migrate_up().await.unwrap_err();
    assert!(
        matches!(err, MigrateError::ChecksumMismatch { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("20240102000000_b/up.sql"), "{text}");
    assert!(
        text.contains(&original) && text.contains(&checksum(tampered)),
        "{text}"
    );
    assert!(
        !db.table_exists("c").await,
        "ran despite the tampered history"
    );

    let status = migrator(&db, &dir).status().await.unwrap();
    assert_eq!(
        status.migrations[1].state,
        MigrationState::Modified {
            applied_checksum: original.clone(),
            file_checksum: checksum(tampered),
        }
    );
    assert!(status
        .to_string()
        .contains(&format!("was applied with checksum {original}")));

    dir.write("20240102000000_b/up.sql", "CREATE TABLE b (id int);\n");
    assert_eq!(
        migrator(&db, &dir).migrate_up().await.unwrap().steps.len(),
        1
    );
}

#[tokio::test]
async fn crlf_and_byte_order_mark_conversions_are_not_changes() {
    let db = TestDb::new().await;
    let dir = Dir::reference();
    migrator(&db, &dir).migrate_up().await.unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let up = entry.unwrap().path().join("up.sql");
        let text = std::fs::read_to_string(&up).unwrap();
        std::fs::write(&up, format!("\u{feff}{}", text.replace('\n', "\r\n"))).unwrap();
    }
    let converted = migrator(&db, &dir);
    let status = converted.status().await.unwrap();
    assert!(status.is_up_to_date(), "{status}");
    assert!(converted.migrate_up().await.unwrap().steps.is_empty());
    // They still run: down and up again from the converted files.
    converted.migrate_down_to("0").await.unwrap();
    assert_eq!(
        converted.migrate_up().await.unwrap().steps.len(),
        reference_embedded().len()
    );
}

#[tokio::test]
async fn an_applied_migration_without_its_file_is_refused_unless_ignored() {
    let db = TestDb::new().await;
    let dir = three();
    migrator(&db, &dir)
        .migrate_up_to("20240102000000")
        .await
        .unwrap();
    std::fs::remove_dir_all(dir.path().join("20240101000000_a")).unwrap();

    let err = migrator(&db, &dir).migrate_up().await.unwrap_err();
    assert!(matches!(err, MigrateError::MissingFile { .. }), "{err:?}");
    assert!(err.to_string().contains("20240101000000_a"), "{err}");
    assert!(!db.table_exists("c").await);

    let lenient = migrator(&db, &dir).ignore_missing(true);
    assert_eq!(lenient.migrate_up().await.unwrap().steps.len(), 1);
    let status = lenient.status().await.unwrap();
    assert_eq!(status.migrations[0].state, MigrationState::MissingFile);
    assert!(!status.migrations[0].reversible);
    // Going below it needs its down script: refused before anything is reverted.
    let err = lenient.migrate_down_to("0").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot revert 20240101000000_a (file missing); nothing was reverted"
    );
    assert!(db.table_exists("c").await && db.table_exists("b").await);
    assert_eq!(
        lenient
            .migrate_down_to("20240101000000")
            .await
            .unwrap()
            .steps
            .len(),
        2
    );
}

#[tokio::test]
async fn a_pending_migration_older_than_the_newest_applied_is_refused_unless_opted_in() {
    let db = TestDb::new().await;
    let dir = three();
    let late = dir.path().join("20240102000000_b");
    let park = tempfile::tempdir().unwrap();
    let parked = park.path().join("b");
    std::fs::rename(&late, &parked).unwrap();
    migrator(&db, &dir).migrate_up().await.unwrap();
    std::fs::rename(&parked, &late).unwrap();

    let err = migrator(&db, &dir).migrate_up().await.unwrap_err();
    assert!(matches!(err, MigrateError::OutOfOrder { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("20240102000000_b") && text.contains("20240103000000_c"),
        "{text}"
    );
    assert!(text.contains("--out-of-order"), "{text}");
    assert!(!db.table_exists("b").await);

    let report = migrator(&db, &dir)
        .out_of_order(true)
        .migrate_up()
        .await
        .unwrap();
    assert_eq!(report.steps[0].version, "20240102000000");
    assert!(migrator(&db, &dir).status().await.unwrap().is_up_to_date());
}

#[tokio::test]
async fn a_missing_down_script_is_reported_before_anything_is_reverted() {
    let db = TestDb::new().await;
    let dir = three();
    std::fs::remove_file(dir.path().join("20240102000000_b/down.sql")).unwrap();
    migrator(&db, &dir).migrate_up().await.unwrap();

    let err = migrator(&db, &dir).migrate_down_steps(3).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot revert 20240102000000_b (no down script); nothing was reverted"
    );
    assert!(
        db.table_exists("c").await,
        "reverted a step before refusing"
    );
    assert_eq!(db.tracking_rows().await.len(), 3);
    // The step above it can be reverted on its own.
    assert_eq!(
        migrator(&db, &dir)
            .migrate_down()
            .await
            .unwrap()
            .steps
            .len(),
        1
    );
    let status = migrator(&db, &dir).status().await.unwrap();
    let reversible: Vec<bool> = status.migrations.iter().map(|m| m.reversible).collect();
    assert_eq!(reversible, [true, false, true]);
}

#[tokio::test]
async fn targets_must_name_known_versions() {
    let db = TestDb::new().await;
    let dir = three();
    let m = migrator(&db, &dir);
    for result in [
        m.migrate_up_to("20990101000000").await,
        m.migrate_down_to("5").await,
    ] {
        let err = result.unwrap_err();
        assert!(
            matches!(err, MigrateError::UnknownVersion { .. }),
            "{err:?}"
        );
    }
    let err = m.migrate_up_to("latest").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"latest\" is not a migration version: expected digits and dashes"
    );
    assert!(db.tracking_rows().await.is_empty());
}
