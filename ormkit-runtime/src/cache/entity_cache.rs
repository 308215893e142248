//! [`EntityCache`]: the handle applications keep, with statistics, `clear`, `sync` and the
//! transaction helper.

use super::invalidation::InvalidationStrategy;
use super::options::EntityCacheBuilder;
use super::query_cache::QueryCache;
use super::repository::CachedRepository;
use super::state::State;
use super::stats::CacheStats;
use super::store::EntityStore;
use crate::db::Db;
use crate::entity::{Entity, HasPrimaryKey};
use crate::error::Result;
use crate::transaction::Tx;
use sqlx::PgPool;
use std::any::TypeId;
use std::future::Future;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// A cache of rows by primary key, shared by every [`CachedRepository`] made from it. Cheap
/// to clone (a handle); its background tasks stop when the last handle is dropped.
///
/// ```ignore
/// let cache = EntityCache::builder()
///     .strategy(InvalidationStrategy::strong())
///     .max_capacity(50_000)
///     .entity::<User>()
///     .build(&pool)
///     .await?;
/// let users = cache.repository::<User>(&pool);
/// let ada = users.find_by_id(id).await?; // the database once, then memory
/// ```
#[derive(Clone)]
pub struct EntityCache {
    shared: Arc<Shared>,
}

struct Shared {
    state: Arc<State>,
    queries: QueryCache,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl std::fmt::Debug for EntityCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntityCache")
            .field("strategy", &self.shared.state.strategy)
            .field("channel", &self.shared.state.channel)
            .field("live", &self.is_live())
            .finish_non_exhaustive()
    }
}

impl EntityCache {
    /// A builder: `strong()`, 10 000 rows per entity, no entity cached yet, query cache off.
    pub fn builder() -> EntityCacheBuilder {
        EntityCacheBuilder::new()
    }

    pub(crate) fn from_parts(
        state: Arc<State>,
        queries: QueryCache,
        tasks: Vec<JoinHandle<()>>,
    ) -> Self {
        EntityCache {
            shared: Arc::new(Shared {
                state,
                queries,
                tasks,
            }),
        }
    }

    /// A [`CachedRepository`] of `T` over a pool, a connection or a transaction.
    pub fn repository<'a, T: HasPrimaryKey + Clone + Sync>(
        &'a self,
        db: impl Into<Db<'a>>,
    ) -> CachedRepository<'a, T> {
        CachedRepository::new(db, self)
    }

    pub(crate) fn state(&self) -> &Arc<State> {
        &self.shared.state
    }

    pub(crate) fn store<T: HasPrimaryKey + Clone + Sync>(&self) -> Option<Arc<EntityStore<T>>> {
        let store = self.shared.state.entity_store(TypeId::of::<T>())?;
        store.into_any().downcast::<EntityStore<T>>().ok()
    }

    /// Whether rows of `T` are cached (it was named on the builder).
    pub fn is_cached<T: 'static>(&self) -> bool {
        self.shared.state.entity_store(TypeId::of::<T>()).is_some()
    }

    /// The strategy it was built with.
    pub fn strategy(&self) -> InvalidationStrategy {
        self.shared.state.strategy
    }

    /// Whether entries are being served: always under `eventual`; under `strong`, while the
    /// listener is subscribed (otherwise every read goes to the database).
    pub fn is_live(&self) -> bool {
        self.shared.state.serving()
    }

    /// The query-result cache (a pass-through unless the builder turned it on).
    pub fn queries(&self) -> &QueryCache {
        &self.shared.queries
    }

    /// Counters since the cache was built (entity reads; the query cache has its own).
    pub fn stats(&self) -> CacheStats {
        let state = &self.shared.state;
        state.counters.snapshot(state.entries())
    }

    /// Drops every entry, entity rows and query results: no read after this returns
    /// anything loaded before it.
    pub fn clear(&self) {
        self.shared.state.flush();
    }

    /// Under `strong`, waits until this instance has applied every notification committed
    /// before the call (a `NOTIFY` of its own, delivered after them): reads that start after
    /// it returns see every write that committed before it started. Immediate under
    /// `eventual` and while the listener is not subscribed (reads bypass the cache then).
    /// [`OrmkitError::Cache`](crate::OrmkitError::Cache) if the round trip exceeds the strategy's timeout.
    pub async fn sync(&self) -> Result<()> {
        self.shared.state.sync().await
    }

    /// [`transaction`](crate::transaction) and then, under `strong`, [`sync`](Self::sync):
    /// once it returns, this instance no longer serves rows the transaction's
    /// [`CachedRepository`] writes replaced (if the round trip fails, the cache is cleared
    /// instead).
    pub async fn transaction<R, F, Fut>(&self, pool: &PgPool, f: F) -> Result<R>
    where
        F: FnMut(Tx) -> Fut,
        Fut: Future<Output = Result<R>>,
    {
        let out = crate::transaction(pool, f).await?;
        if self.shared.state.strategy.is_strong() && self.sync().await.is_err() {
            self.clear();
        }
        Ok(out)
    }

    /// Invalidates one row in this instance (for a write made without a
    /// [`CachedRepository`], once it has committed). Other instances are not told.
    pub async fn invalidate<T: HasPrimaryKey + Clone + Sync>(&self, id: &T::Id) {
        match super::invalidation::key_hash(T::META.qualified(), id) {
            Ok(hash) => self.shared.state.invalidate_key(hash, T::META.qualified()),
            // Not expected for any key type; invalidating everything is always safe.
            Err(_) => self.shared.state.flush(),
        }
        if let Some(store) = self.store::<T>() {
            store.cache.invalidate(id).await;
        }
    }

    /// Invalidates the cached query results over `T`'s table in this instance.
    pub fn invalidate_table<T: Entity>(&self) {
        self.shared.state.invalidate_table(T::META.qualified());
    }

    /// Runs moka's pending maintenance now (evictions, expirations), so that
    /// [`stats`](Self::stats) is exact.
    pub async fn run_pending_tasks(&self) {
        self.shared.state.run_pending_tasks().await;
    }
}
