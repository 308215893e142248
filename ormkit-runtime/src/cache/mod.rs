//! The entity cache: rows by primary key in a [`moka`] cache, in front of the database,
//! with invalidation whose promises are stated exactly here.
//!
//! ```ignore
//! use ormkit::{EntityCache, InvalidationStrategy};
//!
//! let cache = EntityCache::builder()
//!     .strategy(InvalidationStrategy::strong())
//!     .entity::<User>()             // per-entity opt-in
//!     .max_capacity(100_000)        // rows per entity
//!     .query_cache(1_000)           // the QueryCache is off unless asked for
//!     .build(&pool)
//!     .await?;
//! let users = cache.repository::<User>(&pool);
//! let ada = users.get(ada_id).await?;       // the database once…
//! let again = users.get(ada_id).await?;     // …then memory
//! users.update(patch).await?;               // NOTIFY in the same statement; key invalidated
//! ```
//!
//! # Consistency
//!
//! A *write* here is an `insert`, `update` or `delete` through a [`CachedRepository`].
//!
//! **[`InvalidationStrategy::strong`]** — the write's statement itself sends
//! `pg_notify(channel, table + key hash)`, so the notification exists if and only if the
//! write commits (a rollback sends nothing). Every instance holds one `LISTEN`ing connection
//! and applies notifications in commit order (PostgreSQL delivers notifications of different
//! transactions in commit order). What is guaranteed, for a write W that commits at time C:
//!
//! 1. *The writing instance*: a read that starts after the call that wrote W returned (on a
//!    pool) — or after [`EntityCache::transaction`] returned (in a transaction) — never
//!    returns the row as it was before W.
//! 2. *Every other instance*: a read that starts after the instance's listener has applied
//!    W's notification never returns the row as it was before W.
//!    [`EntityCache::sync`] waits for exactly that point (a barrier `NOTIFY` of its own, which
//!    arrives after every notification committed before it), so "W committed, then
//!    `sync()` returned, then the read started" never reads the old row.
//! 3. Between C and the delivery in (2) — a network hop plus the listener task's
//!    scheduling, typically under a millisecond on one host — another instance may still
//!    return the old row. That window
//!    is not closed: closing it would cost a database round trip per read, which is what the
//!    cache exists to avoid. "Strong" means (1) + (2), not linearizability.
//! 4. *Lost listener*: when the listener's connection is lost (or the heartbeat's barrier
//!    does not come back within the timeout), the instance stops serving entries and flushes
//!    them; until it has subscribed again, every read goes to the database; after `LISTEN`
//!    succeeds it flushes once more and serves again. A silently dead connection goes
//!    unnoticed for at most the heartbeat interval plus the timeout (1 s + 5 s by default).
//! 5. A load racing a write cannot resurrect the old row: an entry records counters read
//!    before its statement was sent, and an invalidation bumps them after the commit (see
//!    `state.rs`); readers never accept an entry loaded before they started if an
//!    invalidation they must respect came in between.
//!
//! Writes not made through a [`CachedRepository`] (plain `Repository`, `Select::update`,
//! SQL, other programs) are not announced; give such entities a time to live, or call
//! [`EntityCache::invalidate`] / [`EntityCache::clear`].
//!
//! **[`InvalidationStrategy::eventual`]`(ttl)`** — no notifications. An entry is served for
//! at most `ttl` after the statement that loaded it was sent, so a read reflects every write
//! committed at least `ttl` before it started, from any source. Writes through this
//! instance's repositories still invalidate locally.
//!
//! Invalidation is by counter stripes: a write makes the entries sharing its key's stripe
//! (a few, with about four cached rows per stripe) reload on their next read, and an
//! announced key's entry stays in memory, never served, until it is read or evicted.
//! Absent rows are never cached. Reads inside a transaction or on a connection bypass the
//! cache. Keys are published by a hash of their table's name and their
//! [stable encoding](crate::key) (PostgreSQL's binary form of each key part), which does not
//! depend on the build or the ormkit version: instances of different builds of one schema
//! understand each other.

mod entity_cache;
mod invalidation;
mod listener;
mod options;
mod query_cache;
mod repository;
mod state;
mod stats;
mod store;

pub use entity_cache::EntityCache;
pub use invalidation::InvalidationStrategy;
pub use options::{EntityCacheBuilder, EntityOptions};
pub use query_cache::QueryCache;
pub use repository::CachedRepository;
pub use stats::CacheStats;
