//! ormkit's schema layer: plain data shared by the code generator, the CLI and the runtime.
//!
//! Without default features this crate is plain data, depending on serde and thiserror
//! only: the [`model`], identifiers ([`ident`]), the one [`Migration`] type (embedded or
//! read from a directory) and the SQL lexer ([`sql::lex`]) that every reader of SQL text in
//! ormkit shares. Each feature adds one step of the pipeline:
//!
//! | feature | what it adds | extra dependencies |
//! | --- | --- | --- |
//! | `checksum` | `migrations::{checksum, digest, normalise}`, `MigrationScript::new` | sha2, hex |
//! | `migrations` | discovery, the statement splitter, applying scripts (implies `checksum`) | toml, sqlx |
//! | `introspect` | `introspect`: reading the model from a live PostgreSQL catalog; `statement_shape`: a prepared statement's signature | sqlx |
//! | `lock` | `schema_lock`: the canonical `schema.lock` text, its fingerprint, drift (implies `checksum`) | serde_json |
//! | `diff` | `schema_lock::short_diff` (implies `lock`) | similar |
//! | default | all of the above | |

pub mod ident;
#[cfg(feature = "introspect")]
pub mod introspect;
pub mod migrations;
pub mod model;
#[cfg(feature = "lock")]
pub mod schema_lock;
pub mod sql;
#[cfg(feature = "introspect")]
pub mod statement_shape;

// The modules' former names, which other crates still use: `describe` and `lock` also
// named files that meant something else in the code generator and the runtime.
#[cfg(feature = "lock")]
pub use schema_lock as lock;
#[cfg(feature = "introspect")]
pub use statement_shape as describe;

pub use ident::{push_quoted, quote_ident, quote_ident_if_needed, QualifiedName};
#[cfg(feature = "introspect")]
pub use introspect::{introspect, IntrospectError, IntrospectOptions};
pub use migrations::{Migration, MigrationScript};
pub use model::*;
#[cfg(feature = "lock")]
pub use schema_lock::{
    LockError, LockedMigration, LockedQuery, MigrationDrift, QueryColumn, QueryParam, SchemaLock,
    LOCK_FORMAT,
};
