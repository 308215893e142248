//! Migration files: discovery, normalisation, checksums and application.
//!
//! This is the one implementation shared by the build-time code generator (which replays
//! migrations into a scratch database to introspect the schema) and the runtime migrator.
//!
//! - [`discover`](fn@discover) finds migrations in Diesel's directory layout and sqlx's flat
//!   layouts and orders them by the digits of their versions;
//! - [`normalise`], [`checksum`](fn@checksum) and [`digest`] identify script contents
//!   independently of line endings and byte-order marks;
//! - [`apply_script`] and [`execute_script`] run scripts, in a transaction or statement by
//!   statement (split by [`split_statements`]) for `-- ormkit:no-transaction` scripts, and
//!   report failures as `file:line` with PostgreSQL's SQLSTATE.
//!
//! ```no_run
//! use ormkit_schema::migrations::{apply_script, discover, MigrationError};
//!
//! # async fn run(conn: &mut sqlx::PgConnection) -> Result<(), MigrationError> {
//! for migration in discover("migrations".as_ref())? {
//!     apply_script(conn, &migration, &migration.up).await?;
//! }
//! # Ok(())
//! # }
//! ```

mod apply;
mod checksum;
mod discover;
mod error;
mod migration;
mod split;

pub use apply::{apply_script, execute_script};
pub use checksum::{checksum, digest, normalise};
pub use discover::discover;
pub use error::{ApplyError, MigrationError};
pub use migration::{Migration, MigrationScript, VersionKey, NO_TRANSACTION_MARKERS};
pub use split::{split_statements, Statement};
