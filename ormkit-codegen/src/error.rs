//! [`CodegenError`]: everything that stops code generation, with what a person needs to act.

use ormkit_schema::migrations::MigrationError;
use ormkit_schema::schema_lock::refresh_command;
use std::path::PathBuf;

/// Code generation failed.
///
/// Messages include their cause's text, so no variant also returns it from `source()`:
/// build scripts print `{err}`, the CLI `{err:#}`, and each shows every cause once.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum CodegenError {
    /// Migrations could not be discovered or applied.
    #[error(transparent)]
    Migration(#[from] MigrationError),
    /// The scratch PostgreSQL could not be set up.
    #[error("scratch PostgreSQL: {0}")]
    Scratch(ormkit_build_support::Error),
    /// Connecting to the scratch database failed.
    #[error("could not connect to the scratch database ({target}): {error}")]
    Connect {
        /// What was being connected to.
        target: String,
        /// The driver's error.
        error: sqlx::Error,
    },
    /// Reading the catalog failed.
    #[error("introspection failed: {0}")]
    Introspect(ormkit_schema::IntrospectError),
    /// The lock file could not be parsed.
    #[error(transparent)]
    Lock(#[from] ormkit_schema::LockError),
    /// Offline, and there is no lock to generate from.
    #[error("{path} does not exist and no database is available ({reason}); create the lock with `{}` where PostgreSQL is available, or set ORMKIT_SCRATCH_URL", refresh_command())]
    LockMissing {
        /// Where the lock was expected.
        path: PathBuf,
        /// Why there is no database.
        reason: String,
    },
    /// Offline, and the lock exists but only a database could rebuild it (`ormkit-cli lock`).
    #[error("rebuilding {path} needs PostgreSQL to apply the migrations to, and none is available ({reason}); run it where PostgreSQL is available, or set ORMKIT_SCRATCH_URL (an offline `lock --check` compares the lock with the migrations without one)")]
    NeedsDatabase {
        /// The lock file.
        path: PathBuf,
        /// Why there is no database.
        reason: String,
    },
    /// Offline, and the migrations changed since the lock was made.
    #[error("{path} is stale: migrations changed since it was written ({drift}); refresh it with `{}` where PostgreSQL is available", refresh_command())]
    StaleLock {
        /// The lock file.
        path: PathBuf,
        /// Which migrations were added, removed or changed.
        drift: ormkit_schema::MigrationDrift,
    },
    /// `ORMKIT_LOCKED=1` and the committed lock differs from the one the migrations give.
    #[error("{path} differs from the schema the migrations produce: {summary} (ORMKIT_LOCKED=1 forbids that); refresh it with `{}`:\n{diff}", refresh_command())]
    LockedMismatch {
        /// The lock file.
        path: PathBuf,
        /// What changed, in one line: `2 migrations added (…), 1 query changed (…)`.
        summary: String,
        /// A short unified diff, committed → fresh.
        diff: String,
    },
    /// A column's type has no Rust mapping.
    #[error("{owner}: type `{sql_type}` has no Rust mapping ({note}); add an override in build.rs, e.g. `Config::new().type_override(\"{sql_type}\", \"String\")` or `.column_override(\"{owner}\", \"MyType\")`")]
    UnmappedType {
        /// `schema.table.column` (or the composite field).
        owner: String,
        /// The PostgreSQL type.
        sql_type: String,
        /// Why there is no mapping.
        note: String,
    },
    /// An override's Rust type does not parse.
    #[error("override for `{key}`: `{value}` is not a Rust type: {message}")]
    InvalidOverride {
        /// The overridden type or column.
        key: String,
        /// The text given.
        value: String,
        /// What syn said.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A required environment variable is missing (`OUT_DIR` outside a build script).
    #[error("environment variable {name} is not set ({hint})")]
    Env {
        /// The variable.
        name: &'static str,
        /// What to do instead.
        hint: &'static str,
    },
    /// A query file is malformed (a missing name or kind, a duplicate name, …).
    #[error("{location}: {message}")]
    Query {
        /// `file:line`.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// A query failed to prepare on the scratch database.
    #[error("{location}: query `{name}` does not prepare: {message} (SQLSTATE {sqlstate})")]
    QueryPrepare {
        /// `file:line:column` of the position PostgreSQL reported (the query's start when it
        /// reported none).
        location: String,
        /// The query's name.
        name: String,
        /// PostgreSQL's message, with its detail and hint.
        message: String,
        /// The SQLSTATE.
        sqlstate: String,
    },
    /// A query's result or parameters cannot be typed as asked.
    #[error("{location}: query `{name}`: {message}")]
    QueryType {
        /// `file:line`.
        location: String,
        /// The query's name.
        name: String,
        /// What is wrong, and what to do.
        message: String,
    },
    /// Offline, and query files changed since the lock was made.
    #[error("{path} is stale: queries changed since it was written ({changes}); refresh it with `{}` where PostgreSQL is available", refresh_command())]
    StaleQueries {
        /// The lock file.
        path: PathBuf,
        /// Which queries were added, removed or changed (`file:name`).
        changes: String,
    },
    /// The generated code did not parse: a bug in ormkit-codegen.
    #[error("ormkit-codegen produced invalid Rust (please report this bug): {0}")]
    Render(String),
}

/// `Debug` prints the message, as `Display` does: a build script's `generate().unwrap()` (or
/// `main() -> Result<…>`) then shows what failed and what to do, not the variant's fields.
/// The message already holds every cause's text (no variant has a `source()`).
impl std::fmt::Debug for CodegenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// `Result` with [`CodegenError`].
pub type Result<T, E = CodegenError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CodegenError {
    let path = path.into();
    move |error| CodegenError::Io { path, error }
}

impl From<ormkit_build_support::Error> for CodegenError {
    fn from(err: ormkit_build_support::Error) -> Self {
        CodegenError::Scratch(err)
    }
}

impl From<ormkit_schema::IntrospectError> for CodegenError {
    fn from(err: ormkit_schema::IntrospectError) -> Self {
        CodegenError::Introspect(err)
    }
}
