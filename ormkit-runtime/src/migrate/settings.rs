//! How long a migration's statements may wait for locks and run, and how lock timeouts are
//! retried.

use std::time::Duration;

use sqlx::PgConnection;

use super::error::MigrateError;

/// The default `lock_timeout` of every migration's statements: a migration that cannot take
/// its locks within it gives up (and is retried) instead of queueing behind a long
/// transaction, while every query of the application queues behind *it*.
pub const DEFAULT_STATEMENT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times a migration whose lock timeout ended it is run again, by default.
pub const DEFAULT_LOCK_RETRIES: u32 = 3;
/// The first pause before a retry, by default; it doubles with every retry.
pub const DEFAULT_LOCK_RETRY_BACKOFF: Duration = Duration::from_secs(1);
/// The longest pause between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The per-migration settings of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScriptSettings {
    /// PostgreSQL's `lock_timeout` for every statement; zero waits without limit.
    pub(crate) lock_timeout: Duration,
    /// PostgreSQL's `statement_timeout`; `None` keeps the server's.
    pub(crate) statement_timeout: Option<Duration>,
    /// Runs after the first that a lock timeout may trigger.
    pub(crate) lock_retries: u32,
    /// The pause before the first retry.
    pub(crate) backoff: Duration,
}

impl Default for ScriptSettings {
    fn default() -> Self {
        ScriptSettings {
            lock_timeout: DEFAULT_STATEMENT_LOCK_TIMEOUT,
            statement_timeout: None,
            lock_retries: DEFAULT_LOCK_RETRIES,
            backoff: DEFAULT_LOCK_RETRY_BACKOFF,
        }
    }
}

impl ScriptSettings {
    /// Sets the timeouts on the session, before each migration (a script may have changed
    /// them: they are the run's, not a script's).
    pub(crate) async fn apply(&self, conn: &mut PgConnection) -> Result<(), MigrateError> {
        let statement_timeout = self.statement_timeout.map(millis);
        sqlx::query(
            "SELECT pg_catalog.set_config('lock_timeout', $1, false),
                    CASE WHEN $2::text IS NULL THEN NULL
                         ELSE pg_catalog.set_config('statement_timeout', $2, false) END",
        )
        .bind(millis(self.lock_timeout))
        .bind(statement_timeout)
        .execute(conn)
        .await
        .map_err(MigrateError::db(
            "setting lock_timeout and statement_timeout",
        ))?;
        Ok(())
    }

    /// The pause before retry number `retry` (1-based): the backoff, doubled each time, at
    /// most 30 s.
    pub(crate) fn pause(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }
}

/// A duration as PostgreSQL's milliseconds setting; zero stays zero (no limit), anything
/// else is at least 1 ms.
fn millis(duration: Duration) -> String {
    let ms = duration.as_millis();
    let ms = if ms == 0 && !duration.is_zero() {
        1
    } else {
        ms
    };
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_a_ceiling() {
        let settings = ScriptSettings::default();
        let pauses: Vec<u64> = (1..=7).map(|n| settings.pause(n).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(settings.pause(u32::MAX), MAX_BACKOFF);
    }
}
