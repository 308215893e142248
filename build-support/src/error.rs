//! The error type of the scratch PostgreSQL.

use std::io;
use std::path::PathBuf;

/// What to do when no usable local PostgreSQL installation is available.
pub(crate) const INSTALL_HINT: &str =
    "install the PostgreSQL server package (e.g. postgresql-15), \
     set ORMKIT_PG_BINDIR to its bin directory, or set ORMKIT_SCRATCH_URL to a server URL";

/// What to do when a PostgreSQL server named by a URL cannot be used.
pub(crate) const SERVER_HINT: &str = "check that the server in ORMKIT_SCRATCH_URL (or DATABASE_URL) \
     is running and that its user may CREATE DATABASE, or unset both to use a local throwaway cluster";

/// Errors of the scratch PostgreSQL.
///
/// Messages are lowercase, carry the failing tool's stderr (and the server log
/// where there is one) and end with a hint saying what to install or set. They include
/// their cause's text, so no variant also returns it from `source()`: each cause is printed
/// once, by `{err}` and by chain printers (anyhow's `{err:#}`) alike.
#[non_exhaustive]
#[derive(thiserror::Error)]
pub enum Error {
    /// A PostgreSQL tool could not be started at all (e.g. it does not exist).
    #[error("could not run {program}: {error}\nhint: {hint}")]
    Spawn {
        /// The program's path.
        program: String,
        /// Why it could not be started.
        error: io::Error,
        /// What to do about it.
        hint: &'static str,
    },

    /// A PostgreSQL tool ran and failed.
    #[error("{tool} failed ({status}): {stderr}\nhint: {hint}")]
    Tool {
        /// The tool's name, e.g. `initdb`.
        tool: String,
        /// How it exited, e.g. `exit 1`.
        status: String,
        /// What it printed (stderr, else stdout), trimmed.
        stderr: String,
        /// What to do about it.
        hint: &'static str,
    },

    /// The throwaway server did not start; carries the server log.
    #[error(
        "the throwaway postgresql server did not start ({status})\n\
         server log:\n{log}\nhint: {hint}"
    )]
    ServerStart {
        /// What happened, e.g. `exit 1` or `not ready after 60 s`.
        status: String,
        /// The server's log output.
        log: String,
        /// What to do about it.
        hint: &'static str,
    },

    /// The throwaway PgBouncer did not start; carries its log.
    #[error(
        "the throwaway pgbouncer did not start ({status})\n\
         pgbouncer log:\n{log}\nhint: check that the pgbouncer package works (pgbouncer --version)"
    )]
    PgBouncerStart {
        /// What happened, e.g. `exit 1` or `not listening after 30 s`.
        status: String,
        /// PgBouncer's log output.
        log: String,
    },

    /// A file system operation failed.
    #[error("{context}: {error}")]
    Io {
        /// What was being done, e.g. `could not create directory /tmp/x`.
        context: String,
        /// The underlying error.
        error: io::Error,
    },

    /// A database URL could not be parsed or rewritten.
    #[error("invalid database url {url}: {reason}\nhint: set ORMKIT_SCRATCH_URL (or DATABASE_URL) to a url like postgres://user@host:5432/postgres")]
    InvalidUrl {
        /// The URL, with any password redacted.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Talking to a PostgreSQL server failed.
    #[error("could not {action} on {server}: {error}\nhint: {hint}")]
    Database {
        /// What was being done, e.g. `create temporary database ormkit_scratch_1`.
        action: String,
        /// The server, e.g. `127.0.0.1:5432`.
        server: String,
        /// The underlying error.
        error: sqlx::Error,
        /// What to do about it.
        hint: &'static str,
    },

    /// Running as root, but no unprivileged user exists to run PostgreSQL as.
    #[error(
        "postgresql refuses to run as root and neither a `postgres` nor a `nobody` user exists\n\
         hint: create a `postgres` system user, run as a regular user, or set ORMKIT_SCRATCH_URL"
    )]
    NoUnprivilegedUser,

    /// The PostgreSQL installation is too old for throwaway clusters.
    #[error(
        "postgresql {version} is too old for a throwaway cluster: 10 or newer is required\n\
         hint: install a newer PostgreSQL server package (e.g. postgresql-15) and set \
         ORMKIT_PG_BINDIR to its bin directory, or set ORMKIT_SCRATCH_URL"
    )]
    UnsupportedVersion {
        /// The installation's version.
        version: String,
    },

    /// The template data directory exists but cannot be used.
    #[error("the postgresql template directory {} is unusable: {reason}\nhint: remove it or set ORMKIT_PG_TEMPLATE_DIR to another location", path.display())]
    Template {
        /// The template directory.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },

    /// The test certificates of a TLS cluster could not be made.
    #[error("could not make the test certificates of the TLS cluster: {details}")]
    Certificates {
        /// What the certificate generator said.
        details: String,
    },

    /// The operation does not apply to this kind of scratch database.
    #[error("not supported: {0}")]
    Unsupported(String),

    /// Tearing down a scratch database left something behind.
    #[error("cleanup of {what} failed: {details}")]
    Cleanup {
        /// What was being cleaned up.
        what: String,
        /// Every step that failed, one a line.
        details: String,
    },
}

/// `Debug` prints the message, as `Display` does: a build script's `generate().unwrap()` (or
/// `main() -> Result<…>`) then shows what failed and what to do, not the variant's fields.
/// The message already holds every cause's text (no variant has a `source()`).
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Error {
    /// `Ok` when tearing down `what` left no `problems`, else an [`Error::Cleanup`] listing
    /// them.
    pub(crate) fn cleanup(what: impl FnOnce() -> String, problems: Vec<String>) -> Result<()> {
        if problems.is_empty() {
            return Ok(());
        }
        Err(Error::Cleanup {
            what: what(),
            details: problems.join("\n"),
        })
    }

    /// An [`Error::Io`] with the given context.
    pub(crate) fn io(context: impl Into<String>, error: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            error,
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
