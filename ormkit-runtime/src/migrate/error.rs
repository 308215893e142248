//! [`MigrateError`]: everything the Migrator refuses or fails at.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ormkit_schema::migrations::MigrationError;

use super::blockers::Blocker;
use super::report::Direction;

/// Why a Migrator call failed. Every message names the migration, the file, the versions or
/// the checksums involved, and what to do next. Messages include their cause's text, so no
/// variant also returns it from `source()`: each cause is printed once, by `{err}` and by
/// chain printers (anyhow's `{err:#}`) alike. `Debug` prints the same text (see
/// [`OrmkitError`](crate::OrmkitError)).
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The migrations could not be read: an unreadable directory or file, a misnamed file,
    /// two migrations with one version, …
    #[error(transparent)]
    Load(Box<MigrationError>),

    /// Connecting or a bookkeeping statement (lock, tracking table) failed.
    #[error("{action}: {error}")]
    Database {
        /// What the Migrator was doing, e.g. `reading _ormkit_migrations`.
        action: &'static str,
        /// The driver error (in the message, not `source()`).
        error: sqlx::Error,
    },

    /// The Migrator's own connection could not be made: an [`OrmkitError::Connect`]
    /// (`host:port`, and the cause: refused, TLS, password, missing database…).
    ///
    /// [`OrmkitError::Connect`]: crate::OrmkitError::Connect
    #[error("the Migrator could not connect: {0}")]
    Connect(Box<crate::OrmkitError>),

    /// Another migrator held the lock for longer than the timeout.
    #[error(
        "timed out after {waited:?} waiting for the migration lock (advisory lock {key}{}): \
         another migrator is running on this database; wait for it, or raise the lock timeout",
        holder.map(|pid| format!(", held by backend pid {pid}")).unwrap_or_default()
    )]
    LockTimeout {
        /// How long the Migrator polled.
        waited: Duration,
        /// The advisory lock key.
        key: i64,
        /// The server process id of the session holding the lock, when it could be read.
        holder: Option<i32>,
    },

    /// A migration script failed. A script run in a transaction was rolled back with its
    /// tracking row: the database is as before the migration.
    #[error(transparent)]
    Script(Box<MigrationError>),

    /// A migration's statements could not take their locks within the run's
    /// `lock_timeout` (SQLSTATE 55P03), in every attempt: each attempt's transaction was
    /// rolled back, so nothing of it is applied.
    #[error(
        "{error}; migration {migration} timed out waiting for {} in each of its {attempts} \
         attempt(s) (lock_timeout {} ms), held by {}; each attempt was rolled back, so nothing \
         of it is applied; end the blocking session(s) or wait for them, then run it again, or \
         raise --statement-lock-timeout / --lock-retries (Migrator::statement_lock_timeout, \
         Migrator::lock_retries)",
        waiting_for.as_deref().unwrap_or("a lock"),
        lock_timeout.as_millis(),
        super::blockers::list(blockers)
    )]
    LockConflict {
        /// `<version>_<name>`.
        migration: String,
        /// How many times it ran.
        attempts: u32,
        /// The `lock_timeout` each attempt had.
        lock_timeout: Duration,
        /// What it waited for, e.g. `AccessExclusiveLock on items`, when it was seen.
        waiting_for: Option<String>,
        /// The sessions that held it, as last seen while the migration waited.
        blockers: Vec<Blocker>,
        /// The last attempt's error (file, line, SQLSTATE 55P03).
        error: Box<MigrationError>,
    },

    /// A no-transaction script failed partway: the statements before the failing one stay
    /// applied, and the migration is recorded as failed.
    #[error(
        "{error}; the {} script ran outside a transaction: {}, the failing statement and those \
         after it did not run{}; migration {migration} is recorded as failed; inspect the \
         database, then run `ormkit-cli migrate repair`",
        direction.script(),
        describe_applied(applied_lines),
        note.as_ref().map(|note| format!("; {note}")).unwrap_or_default()
    )]
    Partial {
        /// `<version>_<name>`.
        migration: String,
        /// Whether its up or its down script failed.
        direction: Direction,
        /// The first line of each statement that ran and stays applied, in order.
        applied_lines: Vec<u32>,
        /// When a lock timeout ended it: the sessions that held the lock.
        blockers: Vec<Blocker>,
        /// More about the failure: the lock it waited for and whether it was retried.
        note: Option<String>,
        /// The failing statement's error.
        error: Box<MigrationError>,
    },

    /// A migration is recorded as failed (a no-transaction script broke partway, or its
    /// process died); nothing runs until it is repaired.
    #[error(
        "migration {migration} is recorded as failed: its {} script started {} outside a \
         transaction and did not finish; inspect the database and {} by hand, then run \
         `ormkit-cli migrate repair` (Migrator::repair) so it is pending again",
        direction.script(),
        started.format("%Y-%m-%d %H:%M:%S UTC"),
        match direction {
            Direction::Up => "complete or undo it",
            Direction::Down => "finish reverting it",
        }
    )]
    Failed {
        /// `<version>_<name>`.
        migration: String,
        /// Whether its up or its down script failed.
        direction: Direction,
        /// When that script started.
        started: DateTime<Utc>,
    },

    /// An applied migration's up script changed since it was applied.
    #[error(
        "migration {migration} was applied with checksum {applied} but {} now has checksum \
         {current}: an applied migration must not change; restore the file and put the change \
         in a new migration",
        file.display()
    )]
    ChecksumMismatch {
        /// `<version>_<name>`.
        migration: String,
        /// The changed file.
        file: PathBuf,
        /// The checksum recorded when it was applied.
        applied: String,
        /// The checksum of the file now.
        current: String,
    },

    /// A migration recorded as applied has no file any more.
    #[error(
        "migration {migration} is applied to the database but missing from the migrations; \
         restore its file, or go on without it with --ignore-missing (Migrator::ignore_missing)"
    )]
    MissingFile {
        /// `<version>_<name>` as recorded.
        migration: String,
    },

    /// A pending migration is older than the newest applied one.
    #[error(
        "migration {} is pending but older than the newest applied migration {newest_applied}; \
         give it a newer version, or apply it anyway with --out-of-order (Migrator::out_of_order)",
        file.display()
    )]
    OutOfOrder {
        /// The pending migration's directory or file.
        file: PathBuf,
        /// `<version>_<name>` of the newest applied migration.
        newest_applied: String,
    },

    /// Steps to revert have no down script (or no file at all); nothing was reverted.
    #[error("cannot revert {}; nothing was reverted", migrations.join(", "))]
    Irreversible {
        /// Each step that cannot be reverted: `<version>_<name> (no down script)` or
        /// `<version>_<name> (file missing)`.
        migrations: Vec<String>,
    },

    /// A target version names no migration.
    #[error("version {version} is not a known migration (neither a file nor an applied row)")]
    UnknownVersion {
        /// The version asked for.
        version: String,
    },

    /// Another tool's history could not be imported; nothing was recorded.
    #[error("importing {tool}'s migration history: {message}")]
    HistoryImport {
        /// `diesel` or `sqlx`.
        tool: &'static str,
        /// Why, and what to do.
        message: String,
    },

    /// A target version is not made of digits and dashes.
    #[error("{version:?} is not a migration version: expected digits and dashes")]
    InvalidVersion {
        /// The text given.
        version: String,
    },

    /// The Migrator needs sessions of its own (its advisory lock, its session settings) and
    /// its pool goes through a transaction-mode pooler, with no direct URL (or an invalid one).
    #[error("{message}")]
    SessionRequired {
        /// The variable or option to set: `ORMKIT_DIRECT_URL` or `Migrator::direct_url`.
        origin: &'static str,
        /// What happened and what to do.
        message: String,
    },
}

impl MigrateError {
    /// A [`MigrateError::Database`] for `action`.
    pub(crate) fn db(action: &'static str) -> impl FnOnce(sqlx::Error) -> MigrateError {
        move |error| MigrateError::Database { action, error }
    }
}

/// `statements 1–2 (lines 2, 4) stay applied` / `no statement before it ran`.
fn describe_applied(lines: &[u32]) -> String {
    match lines {
        [] => "no statement before the failing one ran".to_owned(),
        [line] => format!("statement 1 (line {line}) stays applied"),
        lines => {
            let shown: Vec<String> = lines.iter().map(u32::to_string).collect();
            format!(
                "statements 1–{} (lines {}) stay applied",
                lines.len(),
                shown.join(", ")
            )
        }
    }
}

impl From<MigrationError> for MigrateError {
    /// Reading migrations failed.
    fn from(err: MigrationError) -> Self {
        MigrateError::Load(Box::new(err))
    }
}
