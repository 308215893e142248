//! Running one step, up or down, with its tracking row.
//!
//! A normal script runs in a transaction that also writes (or deletes) the tracking row, so
//! the two commit or roll back together. A no-transaction script cannot share a transaction:
//! its row is written as failed first and marked successful once the last statement ran, so
//! a failure (or a killed process) leaves a row that says so.

use std::time::{Duration, Instant};

use ormkit_schema::migrations::{execute_script, Migration, MigrationError, MigrationScript};
use sqlx::{Connection, PgConnection};

use super::error::MigrateError;
use super::history::History;

/// Applies `migration` and records it; returns how long its script took.
pub(crate) async fn apply_up(
    conn: &mut PgConnection,
    history: &History,
    migration: &Migration,
) -> Result<Duration, MigrateError> {
    let took = up(conn, history, migration).await?;
    crate::metrics::migration_ran("up", took);
    Ok(took)
}

async fn up(
    conn: &mut PgConnection,
    history: &History,
    migration: &Migration,
) -> Result<Duration, MigrateError> {
    let script = &migration.up;
    if script.no_transaction {
        history.insert(conn, migration, 0, false).await?;
        let (result, took) = timed(execute_script(conn, migration, script)).await;
        return match result {
            Ok(()) => {
                history
                    .set_outcome(conn, &migration.version, millis(took), true)
                    .await?;
                Ok(took)
            }
            Err(source) => {
                Err(partial(conn, history, migration, &migration.version, took, source).await)
            }
        };
    }
    let mut tx = conn
        .begin()
        .await
        .map_err(commit_error(migration, script))?;
    let (result, took) = timed(execute_script(&mut tx, migration, script)).await;
    if let Err(err) = result {
        let _rolled_back = tx.rollback().await;
        return Err(MigrateError::Script(Box::new(err)));
    }
    history
        .insert(&mut tx, migration, millis(took), true)
        .await?;
    tx.commit().await.map_err(commit_error(migration, script))?;
    Ok(took)
}

/// Reverts `migration` (recorded as `recorded_version`) and removes its row; returns how
/// long its down script took.
pub(crate) async fn apply_down(
    conn: &mut PgConnection,
    history: &History,
    migration: &Migration,
    recorded_version: &str,
) -> Result<Duration, MigrateError> {
    let took = down(conn, history, migration, recorded_version).await?;
    crate::metrics::migration_ran("down", took);
    Ok(took)
}

async fn down(
    conn: &mut PgConnection,
    history: &History,
    migration: &Migration,
    recorded_version: &str,
) -> Result<Duration, MigrateError> {
    let Some(script) = &migration.down else {
        // The plan refuses such steps before anything runs.
        return Err(MigrateError::Irreversible {
            migrations: vec![format!("{migration} (no down script)")],
        });
    };
    if script.no_transaction {
        history
            .set_outcome(conn, recorded_version, 0, false)
            .await?;
        let (result, took) = timed(execute_script(conn, migration, script)).await;
        return match result {
            Ok(()) => {
                history.delete(conn, recorded_version).await?;
                Ok(took)
            }
            Err(source) => {
                Err(partial(conn, history, migration, recorded_version, took, source).await)
            }
        };
    }
    let mut tx = conn
        .begin()
        .await
        .map_err(commit_error(migration, script))?;
    let (result, took) = timed(execute_script(&mut tx, migration, script)).await;
    if let Err(err) = result {
        let _rolled_back = tx.rollback().await;
        return Err(MigrateError::Script(Box::new(err)));
    }
    history.delete(&mut tx, recorded_version).await?;
    tx.commit().await.map_err(commit_error(migration, script))?;
    Ok(took)
}

/// Records how long a broken no-transaction script ran (its row stays failed) and builds
/// the error.
async fn partial(
    conn: &mut PgConnection,
    history: &History,
    migration: &Migration,
    recorded_version: &str,
    took: Duration,
    source: MigrationError,
) -> MigrateError {
    // The row already says failed; if the connection is gone this cannot update it, which
    // changes nothing that matters.
    let _recorded = history
        .set_outcome(conn, recorded_version, millis(took), false)
        .await;
    MigrateError::Partial {
        migration: migration.to_string(),
        source: Box::new(source),
    }
}

/// BEGIN or COMMIT failed (a lost connection, a deferred constraint): the script's error.
fn commit_error<'a>(
    migration: &'a Migration,
    script: &'a MigrationScript,
) -> impl FnOnce(sqlx::Error) -> MigrateError + 'a {
    move |error| {
        MigrateError::Script(Box::new(MigrationError::Execute {
            version: migration.version.to_string(),
            name: migration.name.to_string(),
            file: script.path.as_ref().into(),
            error,
        }))
    }
}

async fn timed<T>(future: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let output = future.await;
    (output, started.elapsed())
}

/// Whole milliseconds, for the tracking table.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
