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
//! | `introspect` | `introspect`: reading the model from a live PostgreSQL catalog; `describe`: a prepared statement's signature | sqlx |
//! | `lock` | `lock`: the canonical `schema.lock` text, its fingerprint, drift (implies `checksum`) | serde_json |
//! | `diff` | `lock::short_diff` (implies `lock`) | similar |
//! | default | all of the above | |

#[cfg(feature = "introspect")]
pub mod describe;
pub mod ident;
#[cfg(feature = "introspect")]
pub mod introspect;
#[cfg(feature = "lock")]
pub mod lock;
pub mod migrations;
pub mod model;
pub mod sql;

pub use ident::{push_quoted, quote_ident, quote_ident_if_needed, QualifiedName};
#[cfg(feature = "introspect")]
pub use introspect::{introspect, IntrospectError, IntrospectOptions};
#[cfg(feature = "lock")]
pub use lock::{
    LockError, LockedMigration, LockedQuery, MigrationDrift, QueryColumn, QueryParam, SchemaLock,
    LOCK_FORMAT,
};
pub use migrations::{Migration, MigrationScript};
pub use model::*;
