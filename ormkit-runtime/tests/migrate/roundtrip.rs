//! The reference migrations up to the committed schema and down to an empty database.

use ormkit::migrate::{Direction, MigrationState, Migrator};

use crate::support::*;

#[tokio::test]
async fn reference_migrations_round_trip_to_an_empty_schema_and_back() {
    let db = TestDb::new().await;
    let empty = db.catalog().await;
    let migrator = Migrator::from_dir(&db.pool, reference_dir()).unwrap();
    let versions: Vec<String> = migrator
        .migrations()
        .iter()
        .map(|m| m.version.to_string())
        .collect();
    let all = reference_embedded().len();
    assert_eq!(versions.len(), all);

    let report = migrator.migrate_up().await.unwrap();
    assert_eq!(report.steps.len(), all);
    assert!(report.steps.iter().all(|s| s.direction == Direction::Up));
    assert_eq!(
        report.current_version.as_deref(),
        versions.last().map(String::as_str)
    );
    // The schema is exactly the one the committed lock describes.
    assert_eq!(db.model_like_lock().await, reference_lock().schema);
    let migrated = db.catalog().await;
    let status = migrator.status().await.unwrap();
    assert!(status.is_up_to_date(), "{status}");

    // Nothing left to do: a second run is a no-op.
    assert!(migrator.migrate_up().await.unwrap().steps.is_empty());

    let report = migrator.migrate_down_to("0").await.unwrap();
    let reverted: Vec<String> = report.steps.iter().map(|s| s.version.clone()).collect();
    let mut newest_first = versions.clone();
    newest_first.reverse();
    assert_eq!(reverted, newest_first);
    assert_eq!(report.current_version, None);
    assert_eq!(
        db.catalog().await,
        empty,
        "down did not restore the empty catalog"
    );
    assert!(db.tracking_rows().await.is_empty());

    // And up again gives the identical catalog.
    migrator.migrate_up().await.unwrap();
    assert_eq!(db.catalog().await, migrated);
}

#[tokio::test]
async fn embedded_migrations_step_up_and_down_and_agree_with_the_directory() {
    let db = TestDb::new().await;
    let empty = db.catalog().await;
    let embedded = Migrator::new(&db.pool, reference_embedded());
    let third = embedded.migrations()[2].version.to_string();

    let report = embedded.migrate_up_to(&third).await.unwrap();
    assert_eq!(report.steps.len(), 3);
    assert_eq!(report.current_version.as_deref(), Some(third.as_str()));
    let status = embedded.status().await.unwrap();
    let states: Vec<&str> = status.migrations.iter().map(|m| m.state.label()).collect();
    let mut expected = vec!["applied"; 3];
    expected.resize(reference_embedded().len(), "pending");
    assert_eq!(states, expected);
    assert!(status.migrations[0].applied_at.is_some() && status.migrations[0].duration.is_some());
    let pending = reference_embedded().len() - 3;
    assert_eq!(status.pending().count(), pending);
    let table = status.to_string();
    assert!(table.starts_with("VERSION"), "{table}");
    assert!(
        table.contains(&format!(
            "current version: 20240101000200; 3 applied, {pending} pending"
        )),
        "{table}"
    );

    embedded.migrate_up().await.unwrap();
    // The same migrations read from files have the same checksums: all applied.
    let from_dir = Migrator::from_dir(&db.pool, reference_dir()).unwrap();
    let status = from_dir.status().await.unwrap();
    assert!(status.is_up_to_date(), "{status}");
    assert!(status
        .migrations
        .iter()
        .all(|m| m.state == MigrationState::Applied && m.reversible));

    // One step at a time down to nothing.
    for expected_left in (0..reference_embedded().len()).rev() {
        let report = embedded.migrate_down().await.unwrap();
        assert_eq!(report.steps.len(), 1);
        assert_eq!(db.tracking_rows().await.len(), expected_left);
    }
    assert!(embedded.migrate_down().await.unwrap().steps.is_empty());
    assert_eq!(db.catalog().await, empty);
}
