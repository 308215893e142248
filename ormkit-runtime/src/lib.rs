//! ormkit: a compile-time safe async ORM for PostgreSQL, on sqlx.
//!
//! The schema is the source of truth: `ormkit-codegen` (a build-dependency) applies a
//! crate's migrations to a scratch PostgreSQL at build time and generates typed entities;
//! this crate is what that generated code and the application use at run time.
//!
//! ```ignore
//! // src/main.rs (build.rs calls `ormkit_codegen::generate()`)
//! ormkit::include_entities!();
//! use entities::{users, NewUser, User};
//!
//! let repo = ormkit::Repository::<User>::new(&pool);
//! let alice = repo.insert(NewUser::new("alice@example.com".into())).await?;
//! let again = repo.find_by_id(alice.id).await?;
//! ```

mod column;
pub mod cache;
mod db;
mod entity;
mod error;
mod id;
mod meta;
pub mod metrics;
pub mod migrate;
mod migration;
pub mod parallel;
pub mod pg_type;
mod pool;
pub mod query;
mod relation;
mod repository;
mod stats;
mod transaction;
pub mod validate;

pub use column::{Assignment, Column, Order, ReadOnly, SqlOrd, SqlText, Writable};
pub use db::Db;
pub use entity::{Entity, HasPrimaryKey, InsertModel, KeyValue, PatchModel, Table, ValueSink};
pub use error::{sqlstate_category, sqlstate_is_retryable, ErrorCategory, OrmkitError, Result};
pub use id::Id;
pub use meta::{ColumnMeta, EntityMeta, ForeignKeyMeta, RelationKind};
pub use migration::EmbeddedMigration;
pub use parallel::{BulkFetch, ParallelExecutor};
pub use pool::{create_smart_pool, create_smart_pool_with, PoolConfig, POOL_ENV_VARS};
pub use query::{CursorPage, Expr, IntoValue, Page, Select, Selection};
pub use relation::{BelongsTo, HasMany, KeyText};
pub use repository::Repository;
pub use stats::count_statements;
pub use transaction::{
    transaction, transaction_with, IsolationLevel, RetryPolicy, TransactionOptions, Tx,
};

/// Identifier quoting shared with the code generator.
pub mod ident {
    pub use ormkit_schema::{quote_ident, quote_ident_if_needed};
}

// Crates the generated code names, re-exported so an application depends on `ormkit` alone.
pub use chrono;
pub use ipnetwork;
pub use rust_decimal;
pub use serde;
pub use serde_json;
pub use sqlx;
pub use time;
pub use uuid;

/// Includes the entities `build.rs` generated (`$OUT_DIR/ormkit_entities.rs`): a module
/// `entities` unless the build script chose another name.
///
/// ```ignore
/// ormkit::include_entities!();
/// ```
#[macro_export]
macro_rules! include_entities {
    () => {
        include!(concat!(env!("OUT_DIR"), "/ormkit_entities.rs"));
    };
    ($file:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $file));
    };
}
