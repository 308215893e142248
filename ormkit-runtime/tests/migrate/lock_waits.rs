//! Migrations blocked by another session's table lock: a lock timeout per statement,
//! retries with backoff, the blocking sessions named while waiting and in the error; the
//! statement timeout; a failed no-transaction down.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ormkit::migrate::{LockWait, MigrateError, MigrationState, Migrator};
use ormkit::sqlx::postgres::{PgConnectOptions, PgConnection};
use ormkit::sqlx::{self, Connection};

use crate::support::*;

const BLOCKER_APP: &str = "ormkit-test-blocker";

/// A session of its own, named [`BLOCKER_APP`], holding `ACCESS EXCLUSIVE` on `table` in an
/// open transaction; returns it and its backend pid.
async fn block(db: &TestDb, table: &str) -> (PgConnection, i32) {
    let options: PgConnectOptions = db.url().parse().unwrap();
    let mut conn = PgConnection::connect_with(&options.application_name(BLOCKER_APP))
        .await
        .unwrap();
    let pid = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql(&format!(
        "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    (conn, pid)
}

/// The events a Migrator reports to `on_lock_wait`, collected.
#[derive(Clone, Default)]
struct Waits(Arc<Mutex<Vec<LockWait>>>);

impl Waits {
    fn observe(&self, migrator: Migrator) -> Migrator {
        let waits = self.clone();
        migrator.on_lock_wait(move |wait| waits.0.lock().unwrap().push(wait.clone()))
    }

    fn all(&self) -> Vec<LockWait> {
        self.0.lock().unwrap().clone()
    }

    fn retries(&self) -> usize {
        self.all().iter().filter(|w| w.retry_in.is_some()).count()
    }
}

/// A Migrator with a short statement lock timeout and quick retries.
fn quick(db: &TestDb, dir: &Dir, retries: u32) -> Migrator {
    Migrator::from_dir(&db.pool, dir.path())
        .unwrap()
        .statement_lock_timeout(Duration::from_millis(300))
        .lock_retries(retries)
        .lock_retry_backoff(Duration::from_millis(50))
}

async fn column_exists(db: &TestDb, table: &str, column: &str) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns
                        WHERE table_name = $1 AND column_name = $2)",
    )
    .bind(table)
    .bind(column)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

/// Awaits `future`, failing instead of hanging.
async fn guarded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("a migrator waited for a lock without end")
}

#[tokio::test]
async fn a_migration_behind_a_table_lock_times_out_naming_the_blocker() {
    let db = TestDb::new().await;
    db.exec("CREATE TABLE items (id int)").await;
    let dir = Dir::new();
    dir.add(
        "1_nickname",
        "CREATE TABLE side (id int);\nALTER TABLE items ADD COLUMN nickname text;\n",
        None,
    );
    let (mut blocker, pid) = block(&db, "items").await;
    let waits = Waits::default();
    let err = guarded(waits.observe(quick(&db, &dir, 2)).migrate_up())
        .await
        .unwrap_err();

    let MigrateError::LockConflict {
        attempts,
        blockers,
        waiting_for,
        ..
    } = &err
    else {
        panic!("expected a lock conflict, got {err}");
    };
    assert_eq!(*attempts, 3);
    assert!(
        blockers
            .iter()
            .any(|b| b.pid == pid && b.application_name == BLOCKER_APP),
        "{blockers:?}"
    );
    let blocker_row = blockers.iter().find(|b| b.pid == pid).unwrap();
    assert_eq!(blocker_row.state.as_deref(), Some("idle in transaction"));
    assert!(blocker_row.since.is_some());
    assert!(
        blocker_row
            .query
            .as_deref()
            .unwrap()
            .contains("LOCK TABLE items"),
        "{blocker_row:?}"
    );
    assert_eq!(waiting_for.as_deref(), Some("AccessExclusiveLock on items"));
    let text = err.to_string();
    for expected in [
        format!("pid {pid} (application_name \"{BLOCKER_APP}\""),
        "1_nickname/up.sql:2: ERROR 55P03".to_owned(),
        "in each of its 3 attempt(s)".to_owned(),
        "nothing of it is applied".to_owned(),
        "--statement-lock-timeout".to_owned(),
    ] {
        assert!(text.contains(&expected), "{expected:?} not in: {text}");
    }

    // While it waited, it said whom for; each retry was announced.
    assert_eq!(waits.retries(), 2);
    let all = waits.all();
    assert!(
        all.iter()
            .all(|w| w.migration == "1_nickname" && w.blockers.iter().any(|b| b.pid == pid)),
        "{all:?}"
    );
    assert!(all.iter().any(|w| w.retry_in.is_none()), "{all:?}");

    // Every attempt rolled back: nothing is applied, nothing recorded.
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    assert!(!db.table_exists("side").await);
    assert!(!column_exists(&db, "items", "nickname").await);
    assert_eq!(db.tracking_rows().await, []);
}

#[tokio::test]
async fn a_blocker_released_during_the_retries_lets_the_migration_through() {
    let db = TestDb::new().await;
    db.exec("CREATE TABLE items (id int)").await;
    let dir = Dir::new();
    dir.add(
        "1_nickname",
        "ALTER TABLE items ADD COLUMN nickname text;",
        None,
    );
    let (mut blocker, _) = block(&db, "items").await;
    let (retrying, mut retried) = tokio::sync::mpsc::unbounded_channel();
    let migrator = quick(&db, &dir, 20).on_lock_wait(move |wait| {
        if wait.retry_in.is_some() {
            let _ = retrying.send(());
        }
    });
    let (report, ()) = guarded(async {
        tokio::join!(migrator.migrate_up(), async {
            // The first attempt timed out; end the blocking transaction meanwhile.
            retried.recv().await.unwrap();
            sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
        })
    })
    .await;
    let report = report.unwrap();
    assert_eq!(report.steps.len(), 1);
    assert!(column_exists(&db, "items", "nickname").await);
    assert_eq!(db.tracking_rows().await, [("1".to_owned(), true)]);
}

#[tokio::test]
async fn a_no_transaction_statement_is_retried_alone_and_never_runs_twice() {
    let db = TestDb::new().await;
    db.exec("CREATE TABLE items (id int)").await;
    let dir = Dir::new();
    // Running `CREATE TABLE side` twice would fail: the retry must start at the ALTER.
    dir.add(
        "1_outside",
        "-- ormkit:no-transaction\nCREATE TABLE side (id int);\n\
         ALTER TABLE items ADD COLUMN nickname text;\nCREATE TABLE after (id int);\n",
        None,
    );
    let (mut blocker, pid) = block(&db, "items").await;
    let (retrying, mut retried) = tokio::sync::mpsc::unbounded_channel();
    let migrator = quick(&db, &dir, 20).on_lock_wait(move |wait| {
        if wait.retry_in.is_some() {
            let _ = retrying.send(wait.blockers.iter().any(|b| b.pid == pid));
        }
    });
    let (report, ()) = guarded(async {
        tokio::join!(migrator.migrate_up(), async {
            assert!(retried.recv().await.unwrap(), "the retry names the blocker");
            sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
        })
    })
    .await;
    report.unwrap();
    assert!(db.table_exists("side").await && db.table_exists("after").await);
    assert!(column_exists(&db, "items", "nickname").await);
    assert_eq!(db.tracking_rows().await, [("1".to_owned(), true)]);
}

#[tokio::test]
async fn a_timed_out_no_transaction_script_says_what_ran_and_concurrently_is_not_retried() {
    let db = TestDb::new().await;
    db.exec("CREATE TABLE items (id int)").await;
    let dir = Dir::new();
    dir.add(
        "1_outside",
        "-- ormkit:no-transaction\nCREATE TABLE side (id int);\n\n\
         CREATE TABLE side2 (id int);\nALTER TABLE items ADD COLUMN nickname text;\n",
        None,
    )
    .add(
        "2_index",
        "-- ormkit:no-transaction\nCREATE INDEX CONCURRENTLY items_id ON items (id);\n",
        None,
    );
    let (mut blocker, pid) = block(&db, "items").await;
    let err = guarded(quick(&db, &dir, 1).migrate_up()).await.unwrap_err();
    let MigrateError::Partial {
        applied_lines,
        blockers,
        ..
    } = &err
    else {
        panic!("expected a partial failure, got {err}");
    };
    assert_eq!(applied_lines, &[2, 4]);
    assert!(blockers.iter().any(|b| b.pid == pid), "{blockers:?}");
    let text = err.to_string();
    for expected in [
        "1_outside/up.sql:5: ERROR 55P03",
        "statements 1–2 (lines 2, 4) stay applied",
        "in each of 2 attempts",
        BLOCKER_APP,
        "recorded as failed",
    ] {
        assert!(text.contains(expected), "{expected:?} not in: {text}");
    }
    assert!(db.table_exists("side2").await);
    assert_eq!(db.tracking_rows().await, [("1".to_owned(), false)]);

    // Finished by hand and repaired, the index migration is next: CONCURRENTLY is never
    // retried, since a failed one can leave an invalid index.
    db.exec("DROP TABLE side, side2").await;
    quick(&db, &dir, 1).repair().await.unwrap();
    dir.add(
        "1_outside",
        "-- ormkit:no-transaction\nCREATE TABLE side (id int);\n",
        None,
    );
    let waits = Waits::default();
    let err = guarded(waits.observe(quick(&db, &dir, 5)).migrate_up())
        .await
        .unwrap_err();
    assert_eq!(waits.retries(), 0, "{:?}", waits.all());
    let text = err.to_string();
    assert!(
        text.contains("2_index/up.sql:2: ERROR 55P03")
            && text.contains("was not retried")
            && text.contains("invalid index")
            && text.contains(&format!("pid {pid}")),
        "{text}"
    );
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
}

#[tokio::test]
async fn the_statement_timeout_is_the_runs_and_says_so() {
    let db = TestDb::new().await;
    let dir = Dir::new();
    dir.add(
        "1_slow",
        "CREATE TABLE t (id int);\nSELECT pg_sleep(5);\n",
        None,
    );
    let migrator = Migrator::from_dir(&db.pool, dir.path())
        .unwrap()
        .statement_timeout(Duration::from_millis(100));
    let err = guarded(migrator.migrate_up()).await.unwrap_err();
    assert!(matches!(err, MigrateError::Script(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("1_slow/up.sql:2: ERROR 57014")
            && text.contains("statement_timeout (100 ms)")
            && text.contains("--statement-timeout"),
        "{text}"
    );
    assert!(!db.table_exists("t").await);
}

#[tokio::test]
async fn a_failed_no_transaction_down_is_reported_as_such() {
    let db = TestDb::new().await;
    let dir = Dir::new();
    dir.add(
        "1_tables",
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int);",
        Some("-- ormkit:no-transaction\nDROP TABLE a;\nDROP TABLE no_such_table;\nDROP TABLE b;\n"),
    );
    let migrator = || Migrator::from_dir(&db.pool, dir.path()).unwrap();
    migrator().migrate_up().await.unwrap();
    let applied_at = migrator().status().await.unwrap().migrations[0]
        .applied_at
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    let err = migrator().migrate_down().await.unwrap_err();
    assert!(
        matches!(
            err,
            MigrateError::Partial {
                direction: ormkit::migrate::Direction::Down,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .contains("the down script ran outside a transaction"));
    let status = migrator().status().await.unwrap();
    let MigrationState::DownFailed { started } = status.migrations[0].state else {
        panic!("expected a failed down: {status}");
    };
    assert!(
        started > applied_at,
        "{started} is the up's time {applied_at}"
    );
    assert_eq!(status.migrations[0].applied_at, Some(applied_at));
    let table = status.to_string();
    assert!(table.contains("down failed"), "{table}");
    assert!(table.contains("1 down failed"), "{table}");

    let err = migrator().migrate_up().await.unwrap_err();
    let MigrateError::Failed {
        started: reported, ..
    } = &err
    else {
        panic!("expected a failed migration, got {err}");
    };
    assert_eq!(*reported, started);
    assert!(
        err.to_string().contains("its down script started")
            && err.to_string().contains("finish reverting"),
        "{err}"
    );

    // A person finishes reverting it; repaired, it is pending.
    db.exec("DROP TABLE b").await;
    assert_eq!(migrator().repair().await.unwrap(), ["1_tables"]);
    let status = migrator().status().await.unwrap();
    assert_eq!(status.migrations[0].state, MigrationState::Pending);
}
