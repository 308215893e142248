//! [`OrmkitError`]: the one error type of the runtime, with its SQLSTATE, a category for logs
//! and metrics, and whether retrying can help; and the readable `Debug` of ormkit's errors.

use std::fmt;

/// Everything that can go wrong in an ormkit call.
///
/// `Debug` prints what `Display` does, then each cause under `Caused by:` (anyhow's form),
/// because `fn main() -> Result<(), Box<dyn Error>>` reports an error with `Debug`;
/// `{:#?}` adds the driver's own error with all its fields.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum OrmkitError {
    /// The database (or the connection to it) failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A connection could not be made: where to (`host:port` or the socket path, database,
    /// user; never the password) and why (refused, unresolvable, timed out, TLS, certificate,
    /// password, missing database…).
    #[error("cannot connect to {target}: {cause}")]
    Connect {
        /// Where the connection was to go (boxed: it keeps every `Result` small).
        target: Box<crate::connect::ConnectTarget>,
        /// Why it could not be made.
        cause: crate::connect::ConnectCause,
        /// The driver's error, when there was one (not for a timeout).
        #[source]
        source: Option<sqlx::Error>,
    },
    /// No pooled connection came within the pool's acquire timeout, while the server was
    /// reachable: every connection stayed in use.
    #[error(
        "pool exhausted: no connection came free within {} ms (acquire_timeout); {in_use} of \
         {max_connections} connections were in use (raise PoolConfig::max_connections / \
         ORMKIT_POOL_MAX or PoolConfig::acquire_timeout, or hold connections for less time)",
        waited.as_millis()
    )]
    PoolExhausted {
        /// The pool's `max_connections`.
        max_connections: u32,
        /// Connections checked out when the wait ended.
        in_use: u32,
        /// How long the caller waited.
        waited: std::time::Duration,
    },
    /// A row that had to exist does not.
    #[error("{table}: no row with key {key}")]
    EntityNotFound {
        /// `schema.table`.
        table: String,
        /// The key looked for, as Debug prints it.
        key: String,
    },
    /// A value could not be bound as a parameter.
    #[error("{table}: could not bind a value: {source}")]
    Encode {
        /// `schema.table`.
        table: String,
        /// What the encoder said.
        #[source]
        source: sqlx::error::BoxDynError,
    },
    /// An update was asked to write nothing.
    #[error("{table}: the patch for key {key} sets no column; nothing was written")]
    EmptyPatch {
        /// `schema.table`.
        table: String,
        /// The key of the row.
        key: String,
    },
    /// A transaction could not be finished as asked (an unknown COMMIT outcome, a handle used
    /// after the end).
    #[error("transaction: {message}")]
    Transaction {
        /// What happened.
        message: String,
        /// The driver error behind it, if any.
        #[source]
        source: Option<sqlx::Error>,
    },
    /// A query was built in a way the database cannot run (an invalid cursor, keyset
    /// pagination over a nullable column, …).
    #[error("{table}: {message}")]
    Query {
        /// `schema.table`.
        table: String,
        /// What is wrong.
        message: String,
    },
    /// A setting (an `ORMKIT_*` variable, a pool option) has a value ormkit cannot use.
    #[error("configuration: {variable}: {message}")]
    Config {
        /// The variable or option at fault.
        variable: String,
        /// What is wrong with its value.
        message: String,
    },
    /// The entity cache could not keep its consistency promise for a call (a `sync` whose
    /// invalidation round trip timed out, …).
    #[error("cache: {message}")]
    Cache {
        /// What happened.
        message: String,
    },
    /// A bulk write of [`ParallelExecutor`](crate::ParallelExecutor) failed in part: which
    /// rows failed and why (the database error itself), and exactly which rows were
    /// committed anyway.
    #[cfg(feature = "parallel")]
    #[error(transparent)]
    Bulk(Box<crate::parallel::BulkError>),
    /// A Migrator run failed or was refused.
    #[cfg(feature = "migrations")]
    #[error(transparent)]
    Migration(Box<crate::migrate::MigrateError>),
    /// Schema validation could not run, or found errors.
    #[cfg(feature = "validate")]
    #[error(transparent)]
    Validation(Box<crate::validate::ValidationError>),
}

#[cfg(feature = "migrations")]
impl From<crate::migrate::MigrateError> for OrmkitError {
    fn from(err: crate::migrate::MigrateError) -> Self {
        OrmkitError::Migration(Box::new(err))
    }
}

#[cfg(feature = "validate")]
impl From<crate::validate::ValidationError> for OrmkitError {
    fn from(err: crate::validate::ValidationError) -> Self {
        OrmkitError::Validation(Box::new(err))
    }
}

/// Writes `err` as anyhow's `Debug` does: the message, then under `Caused by:` each cause
/// whose text the lines above do not already hold (ormkit's messages often include their
/// cause's). `{:#?}` adds the first cause's own `Debug`: the driver's fields (SQLSTATE,
/// detail, position…).
fn write_report(
    err: &(dyn std::error::Error + 'static),
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    let mut shown = err.to_string();
    f.write_str(&shown)?;
    let mut causes = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !shown.contains(&text) {
            shown.push('\n');
            shown.push_str(&text);
            causes.push(text);
        }
        next = cause.source();
    }
    let indent = |text: &str| text.replace('\n', "\n       ");
    match causes.as_slice() {
        [] => {}
        [one] => write!(f, "\n\nCaused by:\n    {}", indent(one))?,
        many => {
            f.write_str("\n\nCaused by:")?;
            for (i, cause) in many.iter().enumerate() {
                write!(f, "\n    {i}: {}", indent(cause))?;
            }
        }
    }
    match err.source() {
        Some(source) if f.alternate() => write!(f, "\n\nDetails: {source:#?}"),
        _ => Ok(()),
    }
}

/// `Debug` as [`write_report`] for each error type a program's `?` can hand to `main`.
macro_rules! debug_as_report {
    ($($(#[$attr:meta])* $ty:ty),* $(,)?) => {$(
        $(#[$attr])*
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_report(self, f)
            }
        }
    )*};
}

debug_as_report!(
    OrmkitError,
    #[cfg(feature = "migrations")]
    crate::migrate::MigrateError,
    #[cfg(feature = "validate")]
    crate::validate::ValidationError,
    #[cfg(feature = "parallel")]
    crate::parallel::BulkError,
);

/// What kind of failure an error is, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCategory {
    /// The connection failed or could not be made (class 08, I/O, TLS, pool closed).
    Connection,
    /// No connection was free in time.
    PoolTimeout,
    /// A constraint refused the data (class 23).
    Constraint,
    /// Serialization failure (40001).
    Serialization,
    /// Deadlock (40P01).
    Deadlock,
    /// The server is short of a resource (class 53) or shutting down (57P01–57P03).
    Unavailable,
    /// A statement timed out or was cancelled (57014), or a lock was not available (55P03).
    Timeout,
    /// Bad SQL or a missing object (class 42).
    Syntax,
    /// Not allowed (42501, 28xxx).
    Permission,
    /// Bad data: conversion, encoding, out of range (class 22), or a row that failed to decode.
    Data,
    /// A required row does not exist.
    NotFound,
    /// A transaction whose COMMIT outcome is unknown, or misuse of a transaction.
    Transaction,
    /// The call itself was wrong (empty patch, invalid cursor).
    Usage,
    /// A write in a read-only transaction (25006).
    ReadOnly,
    /// A setting ormkit cannot use (an `ORMKIT_*` variable).
    Config,
    /// Anything else.
    Other,
    /// The entity cache (an invalidation round trip that timed out, …).
    Cache,
    /// A migration run failed or was refused.
    Migration,
    /// The live schema does not match the code (or validation could not run).
    Validation,
}

impl ErrorCategory {
    /// A stable lowercase name, for metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::Connection => "connection",
            ErrorCategory::PoolTimeout => "pool_timeout",
            ErrorCategory::Constraint => "constraint",
            ErrorCategory::Serialization => "serialization",
            ErrorCategory::Deadlock => "deadlock",
            ErrorCategory::Unavailable => "unavailable",
            ErrorCategory::Timeout => "timeout",
            ErrorCategory::Syntax => "syntax",
            ErrorCategory::Permission => "permission",
            ErrorCategory::Data => "data",
            ErrorCategory::NotFound => "not_found",
            ErrorCategory::Transaction => "transaction",
            ErrorCategory::Usage => "usage",
            ErrorCategory::ReadOnly => "read_only",
            ErrorCategory::Config => "config",
            ErrorCategory::Migration => "migration",
            ErrorCategory::Validation => "validation",
            ErrorCategory::Other => "other",
            ErrorCategory::Cache => "cache",
        }
    }
}

/// The category of a SQLSTATE, following PostgreSQL's error classes.
pub fn sqlstate_category(code: &str) -> ErrorCategory {
    match code {
        "40001" => ErrorCategory::Serialization,
        "40P01" => ErrorCategory::Deadlock,
        "57014" | "55P03" => ErrorCategory::Timeout,
        "57P01" | "57P02" | "57P03" => ErrorCategory::Unavailable,
        "42501" => ErrorCategory::Permission,
        "25006" => ErrorCategory::ReadOnly,
        _ => match code.get(..2) {
            Some("08") => ErrorCategory::Connection,
            Some("23") => ErrorCategory::Constraint,
            Some("53") => ErrorCategory::Unavailable,
            Some("42") => ErrorCategory::Syntax,
            Some("28") => ErrorCategory::Permission,
            Some("22") => ErrorCategory::Data,
            _ => ErrorCategory::Other,
        },
    }
}

/// Whether a statement or transaction that failed with `code` may succeed if run again from
/// the start: serialization failures and deadlocks (PostgreSQL's own advice), connection
/// failures, too many connections (53300) and a server restarting (57P01–57P03).
/// Constraint violations, syntax errors and bad data never will.
pub fn sqlstate_is_retryable(code: &str) -> bool {
    matches!(
        code,
        "40001" | "40P01" | "53300" | "57P01" | "57P02" | "57P03" | "55P03"
    ) || (code.starts_with("08") && code != "08007")
}

impl OrmkitError {
    /// The SQLSTATE of a database error, if any.
    pub fn sqlstate(&self) -> Option<String> {
        match self {
            OrmkitError::Connect {
                source: Some(sqlx::Error::Database(db)),
                ..
            } => db.code().map(|c| c.into_owned()),
            #[cfg(feature = "parallel")]
            OrmkitError::Bulk(bulk) => bulk.source().sqlstate(),
            OrmkitError::Database(sqlx::Error::Database(db)) => db.code().map(|c| c.into_owned()),
            OrmkitError::Transaction {
                source: Some(sqlx::Error::Database(db)),
                ..
            } => db.code().map(|c| c.into_owned()),
            _ => None,
        }
    }

    /// The category of a driver error.
    pub fn category_of(err: &sqlx::Error) -> ErrorCategory {
        match err {
            sqlx::Error::Database(db) => db
                .code()
                .map_or(ErrorCategory::Other, |code| sqlstate_category(&code)),
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolClosed => {
                ErrorCategory::Connection
            }
            sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => ErrorCategory::Connection,
            sqlx::Error::PoolTimedOut => ErrorCategory::PoolTimeout,
            sqlx::Error::RowNotFound => ErrorCategory::NotFound,
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::Encode(_)
            | sqlx::Error::TypeNotFound { .. } => ErrorCategory::Data,
            _ => ErrorCategory::Other,
        }
    }

    /// What kind of failure this is.
    pub fn category(&self) -> ErrorCategory {
        match self {
            OrmkitError::Database(err) => Self::category_of(err),
            OrmkitError::Connect { .. } => ErrorCategory::Connection,
            OrmkitError::PoolExhausted { .. } => ErrorCategory::PoolTimeout,
            OrmkitError::EntityNotFound { .. } => ErrorCategory::NotFound,
            OrmkitError::Encode { .. } => ErrorCategory::Data,
            OrmkitError::Transaction { .. } => ErrorCategory::Transaction,
            OrmkitError::EmptyPatch { .. } | OrmkitError::Query { .. } => ErrorCategory::Usage,
            OrmkitError::Cache { .. } => ErrorCategory::Cache,
            OrmkitError::Config { .. } => ErrorCategory::Config,
            #[cfg(feature = "parallel")]
            OrmkitError::Bulk(bulk) => bulk.source().category(),
            #[cfg(feature = "migrations")]
            OrmkitError::Migration(_) => ErrorCategory::Migration,
            #[cfg(feature = "validate")]
            OrmkitError::Validation(_) => ErrorCategory::Validation,
        }
    }

    /// Whether running the same statement or transaction again may succeed. An unknown COMMIT
    /// outcome is never retryable: the first attempt may have committed.
    pub fn is_retryable(&self) -> bool {
        match self {
            // Retrying the whole call after a partial commit would write those rows twice;
            // the error says which rows to send again.
            #[cfg(feature = "parallel")]
            OrmkitError::Bulk(bulk) => bulk.committed().is_empty() && bulk.source().is_retryable(),
            OrmkitError::Database(sqlx::Error::Database(db)) => {
                db.code().is_some_and(|code| sqlstate_is_retryable(&code))
            }
            OrmkitError::Database(
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed,
            ) => true,
            OrmkitError::Connect { cause, .. } => cause.is_transient(),
            OrmkitError::PoolExhausted { .. } => true,
            _ => false,
        }
    }
}

impl OrmkitError {
    /// Whether the statement failed because its connection did (lost, reset, or the server
    /// shutting down): the signal that other pooled connections may be dead too.
    #[cfg_attr(not(feature = "orm"), allow(dead_code))]
    pub(crate) fn is_connection_failure(&self) -> bool {
        match self {
            OrmkitError::Database(sqlx::Error::Database(db)) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
            OrmkitError::Database(
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::WorkerCrashed,
            ) => true,
            // The server went away or stopped answering: its other connections are suspect.
            OrmkitError::Connect { cause, .. } => cause.is_transient(),
            _ => false,
        }
    }

    /// Whether the connection the failing call used is still in a state the protocol knows:
    /// the server answered with an error, or ormkit refused before sending anything. A lost
    /// connection, a protocol error or a decoding failure (rows may still be in flight) is
    /// not: such a connection must be closed, never reused.
    #[cfg_attr(not(feature = "parallel"), allow(dead_code))]
    pub(crate) fn leaves_connection_usable(&self) -> bool {
        match self {
            OrmkitError::Database(err) => matches!(err, sqlx::Error::Database(_)),
            OrmkitError::Encode { .. }
            | OrmkitError::EmptyPatch { .. }
            | OrmkitError::Query { .. }
            | OrmkitError::EntityNotFound { .. } => true,
            _ => false,
        }
    }
}

/// `Result` with [`OrmkitError`].
pub type Result<T, E = OrmkitError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_to_categories_and_retryability() {
        use ErrorCategory::*;
        let table: &[(&str, ErrorCategory, bool)] = &[
            ("40001", Serialization, true),
            ("40P01", Deadlock, true),
            ("08000", Connection, true),
            ("08003", Connection, true),
            ("08006", Connection, true),
            ("08007", Connection, false), // transaction resolution unknown
            ("53300", Unavailable, true),
            ("53100", Unavailable, false), // disk full
            ("57P01", Unavailable, true),
            ("57P02", Unavailable, true),
            ("57P03", Unavailable, true),
            ("57014", Timeout, false),
            ("55P03", Timeout, true),
            ("23505", Constraint, false),
            ("23503", Constraint, false),
            ("23514", Constraint, false),
            ("42P01", Syntax, false),
            ("42601", Syntax, false),
            ("42501", Permission, false),
            ("28P01", Permission, false),
            ("22012", Data, false),
            ("22P02", Data, false),
            ("25006", ReadOnly, false),
            ("XX000", Other, false),
        ];
        for &(code, category, retryable) in table {
            assert_eq!(sqlstate_category(code), category, "{code}");
            assert_eq!(sqlstate_is_retryable(code), retryable, "{code}");
        }
    }

    #[test]
    fn non_database_errors_have_categories() {
        let err = OrmkitError::Database(sqlx::Error::PoolTimedOut);
        assert_eq!(err.category(), ErrorCategory::PoolTimeout);
        assert!(err.is_retryable());
        let err = OrmkitError::Transaction {
            message: "unknown".into(),
            source: Some(sqlx::Error::Io(std::io::ErrorKind::BrokenPipe.into())),
        };
        assert_eq!(err.category(), ErrorCategory::Transaction);
        assert!(
            !err.is_retryable(),
            "an unknown COMMIT outcome is never retried"
        );
        assert_eq!(err.category().as_str(), "transaction");
    }

    #[test]
    fn debug_reads_like_display_with_the_causes_once() {
        // sqlx's text is already in the message: nothing more to say.
        let io = || std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the pipe broke");
        let err = OrmkitError::Database(sqlx::Error::Io(io()));
        assert_eq!(format!("{err:?}"), err.to_string());
        assert!(!format!("{err:?}").contains("Database("), "{err:?}");
        // A cause the message leaves out comes under "Caused by:".
        let err = OrmkitError::Transaction {
            message: "the COMMIT outcome is unknown".into(),
            source: Some(sqlx::Error::Io(io())),
        };
        assert_eq!(
            format!("{err:?}"),
            "transaction: the COMMIT outcome is unknown\n\nCaused by:\n    \
             error communicating with database: the pipe broke"
        );
        // `{:#?}` adds the driver's own error, fields and all.
        let pretty = format!("{err:#?}");
        assert!(
            pretty.starts_with(&format!("{err:?}\n\nDetails: Io(")),
            "{pretty}"
        );
        assert!(pretty.contains("BrokenPipe"), "{pretty}");
        let plain = OrmkitError::Cache {
            message: "timed out".into(),
        };
        assert_eq!(format!("{plain:#?}"), "cache: timed out");
    }

    #[cfg(feature = "migrations")]
    #[test]
    fn the_migrators_error_debugs_as_its_message() {
        let err = crate::migrate::MigrateError::LockTimeout {
            waited: std::time::Duration::from_secs(3),
            key: 42,
            holder: Some(7),
        };
        assert_eq!(format!("{err:?}"), err.to_string());
        assert!(
            format!("{err:?}").contains("held by backend pid 7"),
            "{err:?}"
        );
        let wrapped = OrmkitError::from(err);
        assert_eq!(format!("{wrapped:?}"), wrapped.to_string());
        assert!(
            !format!("{wrapped:?}").contains("LockTimeout"),
            "{wrapped:?}"
        );
    }
}
