//! [`MigrateError`]: everything the Migrator refuses or fails at.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ormkit_schema::migrations::MigrationError;

/// Why a Migrator call failed. Every message names the migration, the file, the versions or
/// the checksums involved, and what to do next. Messages include their cause's text, so no
/// variant also returns it from `source()`: each cause is printed once, by `{err}` and by
/// chain printers (anyhow's `{err:#}`) alike.
#[derive(Debug, thiserror::Error)]
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

    /// A no-transaction script failed partway: the statements before the failing one stay
    /// applied, and the migration is recorded as failed.
    #[error(
        "{source}; the script ran outside a transaction, so the statements before the failing \
         one stay applied: migration {migration} is recorded as failed; inspect the database, \
         then run `ormkit-cli migrate repair`"
    )]
    Partial {
        /// `<version>_<name>`.
        migration: String,
        /// The script's error.
        #[source]
        source: Box<MigrationError>,
    },

    /// A migration is recorded as failed (a no-transaction script broke partway, or its
    /// process died); nothing runs until it is repaired.
    #[error(
        "migration {migration} is recorded as failed (started {}): it ran outside a \
         transaction and did not finish; inspect the database and complete or undo it by hand, \
         then run `ormkit-cli migrate repair` (Migrator::repair) so it is pending again",
        started.format("%Y-%m-%d %H:%M:%S UTC")
    )]
    Failed {
        /// `<version>_<name>`.
        migration: String,
        /// When it started.
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
}

impl MigrateError {
    /// A [`MigrateError::Database`] for `action`.
    pub(crate) fn db(action: &'static str) -> impl FnOnce(sqlx::Error) -> MigrateError {
        move |error| MigrateError::Database { action, error }
    }
}

impl From<MigrationError> for MigrateError {
    /// Reading migrations failed.
    fn from(err: MigrationError) -> Self {
        MigrateError::Load(Box::new(err))
    }
}
