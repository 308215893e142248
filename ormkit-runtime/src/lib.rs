// The doc examples run on the entities generated from the workspace's reference schema
// (`ormkit_tests`, an unpublished dev-dependency, which turns on `__workspace-doctests`).
// Without it, as in the published package, rustdoc collects no doctests rather than ones
// that cannot compile; the workspace's `cargo test` runs them all. First, so that it
// also drops the guide below (crate attributes before a false `cfg` would stay).
#![cfg_attr(all(doctest, not(feature = "__workspace-doctests")), cfg(any()))]
//! ormkit: a compile-time safe async ORM for PostgreSQL, on sqlx.
//!
//! The schema is the source of truth: `ormkit-codegen` (a build-dependency) applies a
//! crate's migrations to a scratch PostgreSQL at build time and generates typed entities;
//! this crate is what that generated code and the application use at run time.
//!
#![doc = include_str!("guide.md")]
//!
//! ## Features
//!
//! | feature | what it adds | extra dependencies |
//! | --- | --- | --- |
//! | `orm` | `Repository`, the query DSL, pagination, transactions, eager loading, the `Cluster` router over replicas | async-stream, base64, rand |
//! | `migrations` | the `Migrator` | sha2, hex, toml (ormkit-schema's `migrations`) |
//! | `validate` | `SchemaValidator` | sha2, hex (ormkit-schema's `introspect`, `lock`) |
//! | `cache` | `EntityCache`, `CachedRepository`, `QueryCache` (implies `orm`) | moka |
//! | `parallel` | `ParallelExecutor` (implies `orm`) | — |
//! | `smart-pool` | `create_smart_pool` | — |
//! | `performance` | `cache` + `parallel` + `smart-pool` | |
//! | `full` (default) | everything above | |
//! | `test` (opt-in, for dev-dependencies) | `#[ormkit::test]`, `ormkit::testing`: a migrated database per test | ormkit-macros, ormkit-build-support |
//!
//! Without `orm`, generated entities still compile (rows, models, metadata, typed IDs);
//! their `query()` constructors and the operators on typed columns are what `orm` adds.

pub mod column;
pub mod connect;
mod entity;
mod error;
pub mod id;
mod ident;
pub mod key;
mod macros;
mod meta;
pub mod metrics;
mod pg_type;
mod pool;
mod relation;
mod statement;
mod value_type;

#[cfg(feature = "cache")]
pub mod cache;
#[cfg(feature = "orm")]
pub mod checked;
#[cfg(feature = "orm")]
pub mod cluster;
#[cfg(feature = "orm")]
mod conflict;
#[cfg(feature = "orm")]
mod db;
#[cfg(feature = "migrations")]
pub mod migrate;
#[cfg(feature = "parallel")]
pub mod parallel;
#[cfg(feature = "orm")]
pub mod query;
#[cfg(feature = "orm")]
mod repository;
#[cfg(feature = "orm")]
mod stats;
#[cfg(feature = "test")]
pub mod testing;
mod tls;
#[cfg(feature = "orm")]
mod transaction;
#[cfg(feature = "validate")]
pub mod validate;

pub use column::{Column, QueryTable, ReadOnly, SqlMinMax, SqlOrd, SqlText, Writable};
pub use connect::{CertificateCheck, ConnectCause, ConnectTarget, DEFAULT_CONNECT_TIMEOUT};
pub use entity::{Entity, HasPrimaryKey, InsertModel, PatchModel, SqlValue, Table};
pub use error::{sqlstate_category, sqlstate_is_retryable, ErrorCategory, OrmkitError, Result};
pub use id::Id;
pub use key::{KeyPart, KeyValue};
pub use meta::{ColumnMeta, EntityMeta, EnumMeta, ForeignKeyMeta, RelationKind};
pub use ormkit_schema::migrations::{Migration, MigrationScript};
pub use pg_type::UnknownLabel;
pub use pool::Pooler;
#[cfg(any(feature = "migrations", feature = "cache"))]
pub use pool::DIRECT_URL_ENV;
pub use relation::{BelongsTo, HasMany, ManyToMany};

#[cfg(feature = "cache")]
pub use cache::{
    CacheStats, CachedRepository, EntityCache, EntityCacheBuilder, EntityOptions,
    InvalidationStrategy, QueryCache,
};
#[cfg(feature = "orm")]
pub use checked::{CheckedQuery, Params, QueryColumn};
#[cfg(feature = "orm")]
pub use cluster::{Cluster, ClusterBuilder, Lsn, ReplicaStatus};
#[cfg(feature = "orm")]
pub use conflict::OnConflict;
#[cfg(feature = "orm")]
pub use db::Db;
/// The stream checked queries and `Select::fetch` return.
#[cfg(feature = "orm")]
pub use futures::stream::BoxStream;
#[cfg(feature = "migrations")]
pub use migrate::{ForeignHistory, MigrateError, Migrator};
/// `#[ormkit::test]`: an async test with a pool on a fresh database of its own, cloned from
/// a template the migrations were applied to once (see [`testing`]).
#[cfg(feature = "test")]
pub use ormkit_macros::test;
#[cfg(feature = "parallel")]
pub use parallel::{BulkError, BulkFetch, ParallelExecutor};
#[cfg(feature = "smart-pool")]
pub use pool::{create_smart_pool, create_smart_pool_with, PoolConfig, POOL_ENV_VARS};
#[cfg(feature = "orm")]
pub use query::{Assignment, CursorPage, Expr, IntoValue, Order, Page, Select, Selection};
#[cfg(feature = "orm")]
pub use repository::Repository;
#[cfg(feature = "orm")]
pub use stats::count_statements;
pub use tls::connect_options;
#[cfg(feature = "orm")]
pub use transaction::{
    transaction, transaction_with, IsolationLevel, RetryPolicy, TransactionError,
    TransactionOptions, Tx,
};
#[cfg(feature = "validate")]
pub use validate::{SchemaValidator, ValidationError, ValidationReport};
pub use value_type::{AsDeclared, Nullable, Nullness, ValueType};

/// What generated code calls and applications do not: not part of ormkit's documented API,
/// and free to change with the code generator.
#[doc(hidden)]
pub mod __private {
    pub use crate::entity::{ColumnWriter, Position};
    /// The first of `items`, if any: an optional macro argument as an `Option`.
    pub const fn first(items: &[&'static str]) -> Option<&'static str> {
        match items {
            [first, ..] => Some(first),
            [] => None,
        }
    }

    /// What a model's `write` returns.
    pub type WriteResult = Result<(), sqlx::error::BoxDynError>;
    pub use crate::pg_type::{array_matches, type_matches, FieldValue};
}

/// Expands to an entity's `query()` constructor when ormkit's `orm` feature is on,
/// to nothing when it is off: `::ormkit::__with_orm!(User);`.
#[cfg(feature = "orm")]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_orm {
    ($entity:ident) => {
        impl $entity {
            /// A typed query over these rows.
            pub fn query() -> $crate::Select<Self> {
                $crate::Select::new()
            }

            /// A subquery over these rows, inside a query whose columns it may use (a
            /// correlated subquery): for `exists`, `not_exists`, `in_subquery`, `scalar`.
            pub fn subquery<O: $crate::query::Source>(
            ) -> $crate::Select<$crate::query::source::Scope<Self, O>> {
                $crate::query::subquery::sub()
            }
        }
    };
}

/// Expands to a generated entity's `query()` constructor when ormkit's `orm` feature is on
/// (it is off: nothing).
#[cfg(not(feature = "orm"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_orm {
    ($entity:ident) => {};
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
