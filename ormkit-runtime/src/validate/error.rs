//! [`ValidationError`]: why validation could not run, or found the database unusable.

use ormkit_schema::{IntrospectError, LockError};

use super::finding::ValidationReport;

/// Validation failed to run, or ([`ValidationError::Drift`]) ran and found errors. `Debug`
/// prints the message and its causes (see [`OrmkitError`](crate::OrmkitError)).
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// No connection could be had.
    #[error("connecting to the database: {0}")]
    Database(#[source] sqlx::Error),

    /// Reading the catalog failed.
    #[error("reading the database catalog: {0}")]
    Introspect(#[source] IntrospectError),

    /// The expected lock is not a valid `schema.lock`.
    #[error(transparent)]
    Lock(LockError),

    /// The database differs from the expected schema in ways the code would trip over.
    #[error(
        "the database does not match the schema the code was built for: {}",
        summary(.0)
    )]
    Drift(Box<ValidationReport>),
}

/// The error findings on one line, then the number of warnings.
fn summary(report: &ValidationReport) -> String {
    let errors: Vec<String> = report.errors().map(ToString::to_string).collect();
    let warnings = report.warnings().count();
    let mut text = errors.join("; ");
    if warnings > 0 {
        text.push_str(&format!(" (and {warnings} warning(s))"));
    }
    text
}
