//! Migrations: the one [`Migration`] type, and (with features) discovery, normalisation,
//! checksums and application of migration files.
//!
//! [`Migration`] and [`MigrationScript`] are plain data, always available: the runtime and
//! the generated `MIGRATIONS` use them with no feature at all. The rest is the one
//! implementation shared by the build-time code generator (which replays migrations into a
//! scratch database to introspect the schema) and the runtime migrator:
//!
//! - `checksum` feature: `normalise`, `checksum` and `digest` identify script contents
//!   independently of line endings and byte-order marks;
//! - `migrations` feature: `discover` finds migrations in Diesel's directory layout and
//!   sqlx's flat layouts and orders them by the digits of their versions; `apply_script` and
//!   `execute_script` run scripts, in a transaction or statement by statement (split by
//!   `split_statements`) for `-- ormkit:no-transaction` scripts, and report failures as
//!   `file:line` with PostgreSQL's SQLSTATE.
//!
#![cfg_attr(feature = "migrations", doc = "```no_run")]
#![cfg_attr(not(feature = "migrations"), doc = "```ignore")]
//! use ormkit_schema::migrations::{apply_script, discover, MigrationError};
//!
//! # async fn run(conn: &mut sqlx::PgConnection) -> Result<(), MigrationError> {
//! for migration in discover("migrations".as_ref())? {
//!     apply_script(conn, &migration, &migration.up).await?;
//! }
//! # Ok(())
//! # }
//! ```

mod migration;

#[cfg(feature = "migrations")]
mod apply;
#[cfg(feature = "checksum")]
mod checksum;
#[cfg(feature = "migrations")]
mod diesel;
#[cfg(feature = "migrations")]
mod discover;
#[cfg(feature = "migrations")]
mod error;
#[cfg(feature = "migrations")]
mod split;

pub use migration::{Migration, MigrationScript, VersionKey, NO_TRANSACTION_MARKERS};

#[cfg(feature = "migrations")]
pub use apply::{apply_script, execute_script, execute_statements};
#[cfg(feature = "checksum")]
pub use checksum::{checksum, digest, normalise};
#[cfg(feature = "migrations")]
pub use diesel::{advise_diesel_table, DIESEL_TABLE, DIESEL_TABLE_DDL};
#[cfg(feature = "migrations")]
pub use discover::{discover, discover_with_warnings, Discovery, DiscoveryWarning};
#[cfg(feature = "migrations")]
pub use error::{ApplyError, MigrationError};
#[cfg(feature = "migrations")]
pub use split::{split_statements, Statement};
