//! [`EntityCache`] and its builder: which entities are cached, how many rows, for how long,
//! and under which [`InvalidationStrategy`].

use super::invalidation::{InvalidationStrategy, Mode};
use super::query_cache::{QueryCache, QueryStore};
use super::repository::CachedRepository;
use super::state::{State, Store};
use super::stats::{CacheStats, Counters};
use super::store::EntityStore;
use super::listener;
use crate::db::Db;
use crate::entity::{Entity, HasPrimaryKey};
use crate::error::{OrmkitError, Result};
use crate::transaction::Tx;
use sqlx::PgPool;
use std::any::TypeId;
use std::collections::HashMap;
use std::hash::Hash;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
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

/// Settings of one cached entity; unset values come from the builder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntityOptions {
    max_capacity: Option<u64>,
    time_to_live: Option<Duration>,
    write_through: Option<bool>,
}

impl EntityOptions {
    /// The builder's settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most this many rows of the entity.
    pub fn max_capacity(mut self, rows: u64) -> Self {
        self.max_capacity = Some(rows);
        self
    }

    /// Entries expire this long after they were loaded (also under `strong`, as a bound on
    /// rows changed without ormkit).
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.time_to_live = Some(ttl);
        self
    }

    /// Whether `insert` on a pool puts the new row in the cache.
    pub fn write_through(mut self, on: bool) -> Self {
        self.write_through = Some(on);
        self
    }
}

type MakeStore = fn(u64, Option<Duration>, bool, Arc<Counters>) -> Arc<dyn Store>;

fn make_store<T: HasPrimaryKey + Clone + Sync>(
    capacity: u64,
    ttl: Option<Duration>,
    write_through: bool,
    counters: Arc<Counters>,
) -> Arc<dyn Store>
where
    T::Id: Hash + Eq,
{
    Arc::new(EntityStore::<T>::new(capacity, ttl, write_through, counters))
}

/// Builds an [`EntityCache`]: `EntityCache::builder()…build(&pool).await`. Only the
/// entities named with [`entity`](Self::entity) are cached; the others read through to the
/// database (their writes still announce themselves).
#[derive(Debug, Clone)]
pub struct EntityCacheBuilder {
    strategy: InvalidationStrategy,
    max_capacity: u64,
    time_to_live: Option<Duration>,
    write_through: bool,
    query_capacity: Option<u64>,
    channel: String,
    application_name: String,
    entities: Vec<(TypeId, EntityOptions, MakeStore)>,
}

impl EntityCacheBuilder {
    /// How entries are invalidated; [`InvalidationStrategy::strong`] by default.
    pub fn strategy(mut self, strategy: InvalidationStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Rows per entity, unless its options say otherwise (default 10 000).
    pub fn max_capacity(mut self, rows: u64) -> Self {
        self.max_capacity = rows;
        self
    }

    /// A time to live for every entity (none by default under `strong`; `eventual`'s TTL
    /// always applies).
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.time_to_live = Some(ttl);
        self
    }

    /// Whether `insert` on a pool writes the new row into the cache (default off).
    pub fn write_through(mut self, on: bool) -> Self {
        self.write_through = on;
        self
    }

    /// Caches `T` with the builder's settings.
    pub fn entity<T: HasPrimaryKey + Clone + Sync>(self) -> Self
    where
        T::Id: Hash + Eq,
    {
        self.entity_with::<T>(EntityOptions::new())
    }

    /// Caches `T` with its own settings.
    pub fn entity_with<T: HasPrimaryKey + Clone + Sync>(mut self, options: EntityOptions) -> Self
    where
        T::Id: Hash + Eq,
    {
        self.entities.retain(|(ty, ..)| *ty != TypeId::of::<T>());
        self.entities
            .push((TypeId::of::<T>(), options, make_store::<T> as MakeStore));
        self
    }

    /// Turns the [`QueryCache`] on, holding at most `results` query results (off by default).
    pub fn query_cache(mut self, results: u64) -> Self {
        self.query_capacity = Some(results);
        self
    }

    /// The `LISTEN`/`NOTIFY` channel (default `ormkit_cache`); every instance sharing data
    /// must use the same one.
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// The `application_name` of the listener's connection (default `ormkit_cache_listener`).
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// Builds the cache; with `strong`, returns once its listener is subscribed on `pool`'s
    /// server. Needs a tokio runtime.
    pub async fn build(self, pool: &PgPool) -> Result<EntityCache> {
        if self.channel.is_empty() || self.channel.len() > 63 {
            return Err(OrmkitError::Cache {
                message: format!("invalid channel name {:?} (1 to 63 bytes)", self.channel),
            });
        }
        let eventual_ttl = self.strategy.ttl();
        let shortest = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let counters = Arc::new(Counters::default());
        let mut entities = HashMap::new();
        let mut total = 0;
        for (ty, options, make) in self.entities {
            let capacity = options.max_capacity.unwrap_or(self.max_capacity);
            let ttl = shortest(options.time_to_live.or(self.time_to_live), eventual_ttl);
            let write_through = options.write_through.unwrap_or(self.write_through);
            total += capacity;
            entities.insert(ty, make(capacity, ttl, write_through, Arc::clone(&counters)));
        }
        let query_ttl = shortest(self.time_to_live, eventual_ttl);
        let query_store = self
            .query_capacity
            .map(|capacity| Arc::new(QueryStore::new(capacity, query_ttl)));
        let extra: Vec<Arc<dyn Store>> = query_store
            .iter()
            .map(|s| Arc::clone(s) as Arc<dyn Store>)
            .collect();
        // About four cached rows per stripe counter: a write makes few innocent entries reload.
        let stripes = usize::try_from(total / 4)
            .unwrap_or(1 << 16)
            .clamp(1024, 1 << 16);
        let names = (self.channel, self.application_name);
        let state = State::new(self.strategy, pool.clone(), names, stripes, entities, extra, counters);
        let state = Arc::new(state);
        let mut tasks = Vec::new();
        if let Mode::Strong { heartbeat, .. } = self.strategy.mode {
            tasks.push(listener::start(&state).await?);
            if let Some(every) = heartbeat {
                tasks.push(tokio::spawn(listener::heartbeat(Arc::clone(&state), every)));
            }
        }
        let queries = QueryCache::new(Arc::clone(&state), query_store);
        Ok(EntityCache {
            shared: Arc::new(Shared {
                state,
                queries,
                tasks,
            }),
        })
    }
}

impl EntityCache {
    /// A builder: `strong()`, 10 000 rows per entity, no entity cached yet, query cache off.
    pub fn builder() -> EntityCacheBuilder {
        EntityCacheBuilder {
            strategy: InvalidationStrategy::strong(),
            max_capacity: 10_000,
            time_to_live: None,
            write_through: false,
            query_capacity: None,
            channel: "ormkit_cache".into(),
            application_name: "ormkit_cache_listener".into(),
            entities: Vec::new(),
        }
    }

    /// A [`CachedRepository`] of `T` over a pool, a connection or a transaction.
    pub fn repository<'a, T: HasPrimaryKey + Clone + Sync>(
        &'a self,
        db: impl Into<Db<'a>>,
    ) -> CachedRepository<'a, T>
    where
        T::Id: Hash + Eq,
    {
        CachedRepository::new(db, self)
    }

    pub(crate) fn state(&self) -> &Arc<State> {
        &self.shared.state
    }

    pub(crate) fn store<T: HasPrimaryKey + Clone + Sync>(&self) -> Option<Arc<EntityStore<T>>>
    where
        T::Id: Hash + Eq,
    {
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
    /// [`OrmkitError::Cache`] if the round trip exceeds the strategy's timeout.
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
    pub async fn invalidate<T: HasPrimaryKey + Clone + Sync>(&self, id: &T::Id)
    where
        T::Id: Hash + Eq,
    {
        let hash = super::invalidation::key_hash(T::META.qualified, &format!("{id:?}"));
        self.shared.state.invalidate_key(hash, T::META.qualified);
        if let Some(store) = self.store::<T>() {
            store.cache.invalidate(id).await;
        }
    }

    /// Invalidates the cached query results over `T`'s table in this instance.
    pub fn invalidate_table<T: Entity>(&self) {
        self.shared.state.invalidate_table(T::META.qualified);
    }

    /// Runs moka's pending maintenance now (evictions, expirations), so that
    /// [`stats`](Self::stats) is exact.
    pub async fn run_pending_tasks(&self) {
        self.shared.state.run_pending_tasks().await;
    }
}
