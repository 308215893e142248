//! ormkit's schema layer: plain data shared by the code generator, the CLI and the runtime.
//!
//! - [`migrations`]: discovery, normalisation, checksums and application of migration files;
//! - [`model`]: the schema model (tables, views, types) as plain data;
//! - [`mod@introspect`]: reading that model from a live PostgreSQL catalog;
//! - [`lock`]: the canonical `schema.lock` text and its fingerprint.

pub mod ident;
pub mod introspect;
pub mod lock;
pub mod migrations;
pub mod model;

pub use ident::{quote_ident, quote_ident_if_needed, QualifiedName};
pub use introspect::{introspect, IntrospectError, IntrospectOptions};
pub use lock::{LockError, LockedMigration, MigrationDrift, SchemaLock, LOCK_FORMAT};
pub use model::*;
