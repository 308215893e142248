//! Connection pools: the smart pool, what ormkit keeps about a pool, and its connections' care.
//!
//! sqlx's `PgPool` has no room for ormkit's facts about a pool; `registry` keeps them by the
//! pool's identity, and the files beside it are those facts (`health`, `lane`, `pooler`) and
//! what uses them (`smart` builds the pool, `direct` reaches past a pooler, `tx` begins a
//! transaction that is safe to drop).

#[cfg(any(feature = "migrations", feature = "cache"))]
pub(crate) mod direct;
pub(crate) mod health;
pub(crate) mod lane;
pub(crate) mod pooler;
pub(crate) mod registry;
#[cfg(feature = "smart-pool")]
mod smart;
#[cfg(feature = "orm")]
pub(crate) mod tx;

#[cfg(any(feature = "migrations", feature = "cache"))]
pub use direct::DIRECT_URL_ENV;
pub use pooler::Pooler;
#[cfg(feature = "smart-pool")]
pub use smart::{create_smart_pool, create_smart_pool_with, PoolConfig, POOL_ENV_VARS};
