//! Validation of a live database against the schema the code was generated for.
//!
//! [`SchemaValidator`] introspects the database with the code generator's own introspection
//! (`ormkit_schema::introspect`) and compares it with what the code expects: the lock
//! compiled into the binary ([`SchemaValidator::validate_lock`] with `entities::SCHEMA_LOCK`),
//! or the metadata of entities ([`SchemaValidator::validate_entity`],
//! [`SchemaValidator::validate_all`]). The [`ValidationReport`] lists every difference as a
//! [`Finding`]; errors are differences the code would trip over, warnings are differences it
//! tolerates (a column it does not know that inserts can leave out), so a deploy gate or a
//! health check can stop on errors only.
//!
//! ```no_run
//! # async fn run(pool: ormkit::sqlx::PgPool, lock: &str) -> Result<(), ormkit::validate::ValidationError> {
//! use ormkit::validate::SchemaValidator;
//!
//! let report = SchemaValidator::new(&pool).validate_lock(lock).await?;
//! println!("{report}");
//! report.into_result()?; // Err(ValidationError::Drift) when there are errors
//! # Ok(())
//! # }
//! ```

mod compare;
mod error;
mod expected;
mod finding;
mod validator;

pub use error::ValidationError;
pub use finding::{Finding, Severity, ValidationReport};
pub use validator::SchemaValidator;
