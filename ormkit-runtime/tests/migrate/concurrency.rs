//! Migrators racing each other: the polled lock, CREATE INDEX CONCURRENTLY, the timeout.

use std::time::Duration;

use ormkit::migrate::{MigrateError, Migrator, LOCK_KEY};
use ormkit::sqlx::{self, PgPool};

use crate::support::*;

/// Waits (polling the catalog) until `sql` returns true; panics after a minute so that a
/// regression fails instead of hanging.
async fn wait_until(pool: &PgPool, sql: &str) {
    for _ in 0..1200 {
        let done: bool = sqlx::query_scalar(sql).fetch_one(pool).await.unwrap();
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {sql}");
}

/// Awaits `future`, failing instead of hanging if it never completes.
async fn guarded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), future)
        .await
        .expect("a migrator hung (a CREATE INDEX CONCURRENTLY deadlock?)")
}

// The migrators run as concurrent futures of one test task: each holds its own
// connections, so they race in the database exactly as separate processes would (the
// ormkit-cli tests race real processes).

#[tokio::test]
async fn create_index_concurrently_completes_while_another_migrator_waits_for_the_lock() {
    let db = TestDb::new().await;
    let dir = Dir::new();
    dir.add(
        "1_items",
        "CREATE TABLE items (id int, name text);\n\
         INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 1000) g;",
        None,
    )
    // Holds the first migrator until the second one is polling for the lock.
    .add(
        "2_gate",
        "-- ormkit:no-transaction\nSELECT pg_advisory_lock(4242);\nSELECT pg_advisory_unlock(4242);",
        None,
    )
    .add(
        "3_index",
        "-- ormkit:no-transaction\nCREATE INDEX CONCURRENTLY items_name_idx ON items (name);",
        None,
    );
    let mut gate = db.pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(4242)")
        .execute(&mut *gate)
        .await
        .unwrap();
    let first_is_gated = "SELECT EXISTS (SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted)";
    // A backend that asked for the migration lock and holds none: the second migrator.
    let second_is_polling = "SELECT EXISTS (SELECT 1 FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
          AND a.query LIKE '%advisory_lock($1)%'
          AND NOT EXISTS (SELECT 1 FROM pg_locks l
                          WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted))";

    let first = Migrator::from_dir(&db.pool, dir.path()).unwrap();
    let second = Migrator::from_dir(&db.pool, dir.path()).unwrap();
    let (first, second, ()) = guarded(async {
        tokio::join!(
            first.migrate_up(),
            async {
                wait_until(&db.pool, first_is_gated).await;
                second.migrate_up().await
            },
            async {
                wait_until(&db.pool, first_is_gated).await;
                wait_until(&db.pool, second_is_polling).await;
                // Now the first migrator goes on to CREATE INDEX CONCURRENTLY while the
                // second keeps polling.
                sqlx::query("SELECT pg_advisory_unlock(4242)")
                    .execute(&mut *gate)
                    .await
                    .unwrap();
            }
        )
    })
    .await;
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.steps.len(), 3);
    assert!(second.steps.is_empty(), "{second:?}");
    let valid: bool = sqlx::query_scalar(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_name_idx'::regclass",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(valid);
    let rows = db.tracking_rows().await;
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|(_, success)| *success));
}

#[tokio::test]
async fn eight_concurrent_migrators_apply_each_migration_once() {
    let db = TestDb::new().await;
    let migrators: Vec<Migrator> = (0..8)
        .map(|_| Migrator::new(&db.pool, reference_embedded()))
        .collect();
    let runs = futures::future::join_all(migrators.iter().map(Migrator::migrate_up));
    let mut applied = Vec::new();
    for report in guarded(runs).await {
        applied.extend(report.unwrap().steps.into_iter().map(|s| s.version));
    }
    applied.sort();
    let mut expected: Vec<String> = reference_embedded()
        .iter()
        .map(|m| m.version.to_string())
        .collect();
    expected.sort();
    assert_eq!(applied, expected, "each migration exactly once");
    assert_eq!(db.tracking_rows().await.len(), reference_embedded().len());
}

#[tokio::test]
async fn waiting_for_the_lock_times_out_naming_the_holder_and_touching_nothing() {
    let db = TestDb::new().await;
    let mut holder = db.pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *holder)
        .await
        .unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    let migrator =
        Migrator::new(&db.pool, reference_embedded()).lock_timeout(Duration::from_millis(200));
    let err = migrator.migrate_up().await.unwrap_err();
    match &err {
        MigrateError::LockTimeout { holder, key, .. } => {
            assert_eq!(*holder, Some(pid));
            assert_eq!(*key, LOCK_KEY);
        }
        other => panic!("expected a lock timeout, got {other}"),
    }
    assert!(
        err.to_string()
            .contains(&format!("held by backend pid {pid}")),
        "{err}"
    );
    assert!(!db.table_exists("_ormkit_migrations").await);
    // `status` reads without the lock.
    assert_eq!(
        migrator.status().await.unwrap().pending().count(),
        reference_embedded().len()
    );

    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *holder)
        .await
        .unwrap();
    assert_eq!(
        migrator.migrate_up().await.unwrap().steps.len(),
        reference_embedded().len()
    );
}
