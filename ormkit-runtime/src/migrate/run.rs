//! Running one step, up or down, with its tracking row, its timeouts and its lock retries.
//!
//! A normal script runs in a transaction that also writes (or deletes) the tracking row, so
//! the two commit or roll back together; when its `lock_timeout` ends it (55P03) nothing of
//! it is applied, so it runs again after a pause, up to the retry limit. A no-transaction
//! script cannot share a transaction: its row is written as failed first and marked
//! successful once the last statement ran, so a failure (or a killed process) leaves a row
//! that says so. When one of its statements times out waiting for a lock, only that
//! statement is retried (the ones before it stay applied and never run twice), and only if
//! a failure leaves nothing behind: a `… CONCURRENTLY` statement is never retried, since a
//! failed one can leave an invalid index.

use std::time::{Duration, Instant};

use ormkit_schema::migrations::{
    advise_diesel_table, execute_script, execute_statements, split_statements, ApplyError,
    Migration, MigrationError, MigrationScript,
};
use sqlx::{Connection, PgConnection};

use super::blockers::{LockWait, Seen, Watch};
use super::error::MigrateError;
use super::history::History;
use super::report::Direction;
use super::settings::ScriptSettings;

/// SQLSTATE 55P03: `lock_timeout` ended the statement.
const LOCK_NOT_AVAILABLE: &str = "55P03";
/// SQLSTATE 57014: the statement was cancelled (by `statement_timeout`, among others).
const QUERY_CANCELED: &str = "57014";

/// What every step of a run shares: where it records, how long statements may wait, who
/// watches for blockers.
pub(crate) struct Runner<'a> {
    pub(crate) history: &'a History,
    pub(crate) settings: ScriptSettings,
    pub(crate) watch: Watch,
    /// Whether Diesel's table was created (`Migrator::diesel_compat`); when not, a script
    /// that fails for want of it says to.
    pub(crate) diesel_compat: bool,
}

impl Runner<'_> {
    /// Applies `migration` and records it; returns how long its script took.
    pub(crate) async fn up(
        &mut self,
        conn: &mut PgConnection,
        migration: &Migration,
    ) -> Result<Duration, MigrateError> {
        let script = &migration.up;
        let took = if script.no_transaction {
            self.history.insert(conn, migration, 0, false).await?;
            let version = migration.version.as_ref();
            self.outside_transaction(conn, migration, script, Direction::Up, version)
                .await?
        } else {
            self.in_transaction(
                conn,
                migration,
                script,
                Direction::Up,
                migration.version.as_ref(),
            )
            .await?
        };
        crate::metrics::migration_ran("up", took);
        Ok(took)
    }

    /// Reverts `migration` (recorded as `recorded_version`) and removes its row; returns how
    /// long its down script took.
    pub(crate) async fn down(
        &mut self,
        conn: &mut PgConnection,
        migration: &Migration,
        recorded_version: &str,
    ) -> Result<Duration, MigrateError> {
        let Some(script) = &migration.down else {
            // The plan refuses such steps before anything runs.
            return Err(MigrateError::Irreversible {
                migrations: vec![format!("{migration} (no down script)")],
            });
        };
        let took = if script.no_transaction {
            self.history
                .mark_down_started(conn, recorded_version)
                .await?;
            self.outside_transaction(conn, migration, script, Direction::Down, recorded_version)
                .await?
        } else {
            self.in_transaction(conn, migration, script, Direction::Down, recorded_version)
                .await?
        };
        crate::metrics::migration_ran("down", took);
        Ok(took)
    }

    /// Runs `script` in a transaction with its tracking change, again after a lock timeout.
    async fn in_transaction(
        &mut self,
        conn: &mut PgConnection,
        migration: &Migration,
        script: &MigrationScript,
        direction: Direction,
        recorded_version: &str,
    ) -> Result<Duration, MigrateError> {
        let label = migration.to_string();
        let mut attempt = 1;
        loop {
            self.settings.apply(conn).await?;
            let mut tx = conn
                .begin()
                .await
                .map_err(commit_error(migration, script))?;
            let run = timed(execute_script(&mut tx, migration, script));
            let ((result, took), seen) = self.watch.run(&label, attempt, run).await;
            let err = match result {
                Ok(()) => {
                    match direction {
                        Direction::Up => {
                            self.history
                                .insert(&mut tx, migration, millis(took), true)
                                .await?
                        }
                        Direction::Down => self.history.delete(&mut tx, recorded_version).await?,
                    }
                    tx.commit().await.map_err(commit_error(migration, script))?;
                    return Ok(took);
                }
                Err(err) => err,
            };
            let _rolled_back = tx.rollback().await;
            if !is_lock_timeout(&err) {
                return Err(MigrateError::Script(Box::new(self.advise(err))));
            }
            if attempt > self.settings.lock_retries {
                return Err(MigrateError::LockConflict {
                    migration: label,
                    attempts: attempt,
                    lock_timeout: self.settings.lock_timeout,
                    waiting_for: seen.waiting_for,
                    blockers: seen.blockers,
                    error: Box::new(err),
                });
            }
            self.pause_before_retry(&label, attempt, took, seen).await;
            attempt += 1;
        }
    }

    /// Runs a no-transaction `script` statement by statement; a statement that a lock
    /// timeout ended without effect runs again, from where it stopped.
    async fn outside_transaction(
        &mut self,
        conn: &mut PgConnection,
        migration: &Migration,
        script: &MigrationScript,
        direction: Direction,
        recorded_version: &str,
    ) -> Result<Duration, MigrateError> {
        let label = migration.to_string();
        let statements = split_statements(&script.sql);
        let started = Instant::now();
        let mut from = 0;
        let mut attempt = 1;
        loop {
            self.settings.apply(conn).await?;
            let run = timed(execute_statements(conn, migration, script, from));
            let ((result, took), seen) = self.watch.run(&label, attempt, run).await;
            let err = match result {
                Ok(()) => {
                    let took = started.elapsed();
                    match direction {
                        Direction::Up => {
                            self.history
                                .set_outcome(conn, recorded_version, millis(took), true)
                                .await?
                        }
                        Direction::Down => self.history.delete(conn, recorded_version).await?,
                    }
                    return Ok(took);
                }
                Err(err) => err,
            };
            // The statements before the failing one ran (in this attempt or an earlier one).
            let failed = failed_statement(&err).unwrap_or(from + 1);
            let applied_lines: Vec<u32> = statements
                .iter()
                .take(failed - 1)
                .map(|statement| line_of(&script.sql, statement.offset))
                .collect();
            let failing = statements.get(failed - 1).map_or("", |s| s.sql);
            let note = if !is_lock_timeout(&err) {
                None
            } else if is_concurrently(failing) {
                Some(format!(
                    "it timed out waiting for {} (lock_timeout {} ms), held by {}; it was not \
                     retried: a failed `… CONCURRENTLY` statement can leave an invalid index \
                     behind (see pg_index.indisvalid), to drop before it runs again",
                    seen.waiting_for.as_deref().unwrap_or("a lock"),
                    self.settings.lock_timeout.as_millis(),
                    super::blockers::list(&seen.blockers)
                ))
            } else if attempt > self.settings.lock_retries {
                Some(format!(
                    "it timed out waiting for {} in each of {attempt} attempts (lock_timeout \
                     {} ms), held by {}",
                    seen.waiting_for.as_deref().unwrap_or("a lock"),
                    self.settings.lock_timeout.as_millis(),
                    super::blockers::list(&seen.blockers)
                ))
            } else {
                // Cancelled by its lock timeout, the statement had no effect: run it again.
                from = failed - 1;
                self.pause_before_retry(&label, attempt, took, seen).await;
                attempt += 1;
                continue;
            };
            let took = started.elapsed();
            // The row already says failed; if the connection is gone this cannot record
            // the time, which changes nothing that matters.
            if direction == Direction::Up {
                let _recorded = self
                    .history
                    .set_outcome(conn, recorded_version, millis(took), false)
                    .await;
            }
            let blockers = if is_lock_timeout(&err) {
                seen.blockers
            } else {
                Vec::new()
            };
            return Err(MigrateError::Partial {
                migration: label,
                direction,
                applied_lines,
                blockers,
                note,
                error: Box::new(self.advise(err)),
            });
        }
    }

    /// Reports an attempt that its lock timeout ended, and waits before the next one.
    async fn pause_before_retry(&self, label: &str, attempt: u32, waited: Duration, seen: Seen) {
        let pause = self.settings.pause(attempt);
        self.watch.report(&LockWait {
            migration: label.to_owned(),
            attempt,
            waited,
            waiting_for: seen.waiting_for,
            blockers: seen.blockers,
            retry_in: Some(pause),
        });
        tokio::time::sleep(pause).await;
    }

    /// Adds what the run's settings explain to a script's error: a statement timeout, or
    /// Diesel's table missing without [`Migrator::diesel_compat`](super::Migrator::diesel_compat).
    fn advise(&self, err: MigrationError) -> MigrationError {
        let mut err = if self.diesel_compat {
            err
        } else {
            advise_diesel_table(err, "--diesel-compat (Migrator::diesel_compat)")
        };
        if let (MigrationError::Apply(failure), Some(timeout)) =
            (&mut err, self.settings.statement_timeout)
        {
            let by_timeout = failure.sqlstate.as_deref() == Some(QUERY_CANCELED)
                && failure.message.contains("statement timeout");
            if by_timeout && failure.advice.is_none() {
                failure.advice = Some(format!(
                    "the statement ran longer than this run's statement_timeout ({} ms); \
                     raise it with --statement-timeout (Migrator::statement_timeout)",
                    timeout.as_millis()
                ));
            }
        }
        err
    }
}

/// Whether `err` is PostgreSQL's lock timeout.
fn is_lock_timeout(err: &MigrationError) -> bool {
    apply_error(err).is_some_and(|e| e.sqlstate.as_deref() == Some(LOCK_NOT_AVAILABLE))
}

/// The failing statement's 1-based number, when the error has one.
fn failed_statement(err: &MigrationError) -> Option<usize> {
    apply_error(err)
        .and_then(|e| e.statement)
        .filter(|n| *n > 0)
}

fn apply_error(err: &MigrationError) -> Option<&ApplyError> {
    match err {
        MigrationError::Apply(failure) => Some(failure),
        _ => None,
    }
}

/// Whether a statement works in several transactions (`CREATE INDEX CONCURRENTLY`,
/// `REINDEX … CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `DETACH PARTITION … CONCURRENTLY`):
/// a failure partway leaves something behind, so it is never run again by itself.
fn is_concurrently(sql: &str) -> bool {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| word.eq_ignore_ascii_case("concurrently"))
}

/// The 1-based line of byte `offset` in `sql`.
fn line_of(sql: &str, offset: usize) -> u32 {
    let before = sql.get(..offset).unwrap_or(sql);
    u32::try_from(before.matches('\n').count() + 1).unwrap_or(u32::MAX)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrently_is_found_as_a_word() {
        assert!(is_concurrently("create index concurrently i on t (c)"));
        assert!(is_concurrently("DROP INDEX\n  CONCURRENTLY i"));
        assert!(!is_concurrently(
            "alter table concurrently_used add column c int"
        ));
        assert!(!is_concurrently("lock table t"));
    }

    #[test]
    fn lines_are_counted_from_one() {
        assert_eq!(line_of("a;\nb;\nc", 0), 1);
        assert_eq!(line_of("a;\nb;\nc", 3), 2);
        assert_eq!(line_of("a", 99), 1);
    }
}
