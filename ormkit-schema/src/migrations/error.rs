//! The error type shared by migration discovery and application.

use std::path::PathBuf;

/// Everything that can go wrong while discovering, reading or applying migrations.
///
/// Every variant names the file or directory at fault, so that the message alone is enough
/// to find the problem. Messages include their cause's text, which is why no variant also
/// returns it from `source()`: each cause is printed once, by `{err}` and by chain printers
/// (anyhow's `{err:#}`) alike.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrationError {
    /// A directory could not be listed or a file could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// The directory or file that could not be read.
        path: PathBuf,
        /// The underlying I/O error (in the message, not `source()`).
        error: std::io::Error,
    },

    /// A migration file (or `metadata.toml`) is not valid UTF-8.
    #[error("{} is not valid UTF-8", path.display())]
    NotUtf8 {
        /// The offending file.
        path: PathBuf,
    },

    /// A directory named like a migration (`<version>_<name>`) has no `up.sql`.
    #[error("migration directory {} has no up.sql", path.display())]
    MissingUp {
        /// The migration directory.
        path: PathBuf,
    },

    /// A `.sql` file whose name does not follow the migration naming scheme; it would
    /// otherwise silently never run.
    #[error(
        "{} is not named like a migration: expected `<version>_<name>.sql`, \
         `<version>_<name>.up.sql` or `<version>_<name>.down.sql`, \
         where <version> is made of digits and dashes",
        path.display()
    )]
    UnrecognisedFile {
        /// The offending file.
        path: PathBuf,
    },

    /// A directory containing an `up.sql` whose name does not follow the migration naming
    /// scheme; it would otherwise silently never run.
    #[error(
        "{} contains up.sql but is not named like a migration directory: \
         expected `<version>_<name>`, where <version> is made of digits and dashes",
        path.display()
    )]
    UnrecognisedDirectory {
        /// The offending directory.
        path: PathBuf,
    },

    /// A `<version>_<name>.down.sql` file without the matching `<version>_<name>.up.sql`.
    #[error("{} has no matching {}", path.display(), expected_up.display())]
    OrphanDown {
        /// The down script.
        path: PathBuf,
        /// The up script that was expected next to it.
        expected_up: PathBuf,
    },

    /// Two migrations share the same version (compared by digits only, so
    /// `2019-02-26-002946` and `20190226002946` collide).
    #[error(
        "migrations {} and {} have the same version {version}",
        first.display(),
        second.display()
    )]
    DuplicateVersion {
        /// The first migration (directory or file).
        first: PathBuf,
        /// The second migration (directory or file).
        second: PathBuf,
        /// The version digits both share, without dashes or leading zeros.
        version: String,
    },

    /// A Diesel `metadata.toml` that cannot be parsed or has an invalid `run_in_transaction`.
    #[error("invalid {}: {message}", path.display())]
    InvalidMetadata {
        /// The `metadata.toml` file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// PostgreSQL rejected a statement of a migration script.
    #[error(transparent)]
    Apply(Box<ApplyError>),

    /// Running a migration script failed for a reason other than PostgreSQL rejecting it
    /// (lost connection, I/O error, protocol error...).
    #[error("migration {version}_{name} failed at {}: {error}", file.display())]
    Execute {
        /// The migration's version, as written.
        version: String,
        /// The migration's name.
        name: String,
        /// The script that was running.
        file: PathBuf,
        /// The underlying driver error (in the message, not `source()`).
        error: sqlx::Error,
    },
}

/// PostgreSQL's rejection of a migration script, located in the script's file.
///
/// Displays like psql would, prefixed with the migration and `file:line`, followed by
/// `DETAIL:` and `HINT:` lines when PostgreSQL sent them:
///
/// ```text
/// migration 20240101000000_create_users failed at migrations/20240101000000_create_users/up.sql:12: ERROR 42P01: relation "nope" does not exist
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "migration {version}_{name} failed at {}{}: ERROR{}: {message}{}{}{}",
    file.display(),
    line.map(|line| format!(":{line}")).unwrap_or_default(),
    sqlstate.as_ref().map(|code| format!(" {code}")).unwrap_or_default(),
    detail.as_ref().map(|detail| format!("\nDETAIL: {detail}")).unwrap_or_default(),
    hint.as_ref().map(|hint| format!("\nHINT: {hint}")).unwrap_or_default(),
    advice.as_ref().map(|advice| format!("\nhint: {advice}")).unwrap_or_default()
)]
pub struct ApplyError {
    /// The migration's version, as written.
    pub version: String,
    /// The migration's name.
    pub name: String,
    /// The script that failed.
    pub file: PathBuf,
    /// The 1-based line in `file` where PostgreSQL located the error, if it did; else the
    /// first line of the failing statement (see `statement`).
    pub line: Option<u32>,
    /// The 1-based column (in characters) matching `line`, when PostgreSQL gave a position.
    pub column: Option<u32>,
    /// The SQLSTATE code, e.g. `42P01`.
    pub sqlstate: Option<String>,
    /// PostgreSQL's primary error message.
    pub message: String,
    /// PostgreSQL's DETAIL field, if any.
    pub detail: Option<String>,
    /// PostgreSQL's HINT field, if any.
    pub hint: Option<String>,
    /// Which statement of the script failed (1-based, counting the statements
    /// `split_statements` finds), when known: for a script run statement by statement,
    /// always; for a script sent whole, from the statements PostgreSQL reported complete
    /// before the error.
    pub statement: Option<usize>,
    /// ormkit's own advice, shown as a lowercase `hint:` line (e.g. the
    /// `-- ormkit:no-transaction` marker for SQLSTATE 25001).
    pub advice: Option<String>,
}
