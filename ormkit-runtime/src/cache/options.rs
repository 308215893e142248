//! [`EntityCacheBuilder`] and [`EntityOptions`]: which entities are cached, how many rows,
//! for how long, and under which [`InvalidationStrategy`].

use super::entity_cache::EntityCache;
use super::invalidation::{InvalidationStrategy, Mode};
use super::listener;
use super::query_cache::{QueryCache, QueryStore};
use super::state::{State, Store};
use super::stats::Counters;
use super::store::EntityStore;
use crate::entity::HasPrimaryKey;
use crate::error::{OrmkitError, Result};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::any::TypeId;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

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

/// The pool the listener's connection and `sync`'s barriers use: `pool` when its connections
/// are sessions of their own, else a small pool on the direct URL (see `crate::pool::pooler`).
fn session_pool(pool: &PgPool, direct: Option<&str>) -> Result<PgPool> {
    if direct.is_none() && crate::pool::pooler::sessions(pool) == crate::pool::pooler::Sessions::Own
    {
        return Ok(pool.clone());
    }
    let refusal = crate::pool::direct::SessionRequired {
        feature: "the entity cache's strong strategy (its LISTEN connection)",
        option: "EntityCacheBuilder::direct_url",
    };
    let options = crate::pool::direct::session_options(pool, direct, refusal).map_err(|err| {
        OrmkitError::Config {
            variable: err.origin().into(),
            message: err.to_string(),
        }
    })?;
    Ok(PgPoolOptions::new()
        .max_connections(2)
        .min_connections(0)
        .acquire_timeout(InvalidationStrategy::DEFAULT_TIMEOUT)
        .connect_lazy_with(options))
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
    Arc::new(EntityStore::<T>::new(
        capacity,
        ttl,
        write_through,
        counters,
    ))
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
    direct_url: Option<String>,
    entities: Vec<(TypeId, EntityOptions, MakeStore)>,
}

impl EntityCacheBuilder {
    pub(crate) fn new() -> Self {
        EntityCacheBuilder {
            strategy: InvalidationStrategy::strong(),
            max_capacity: 10_000,
            time_to_live: None,
            write_through: false,
            query_capacity: None,
            channel: "ormkit_cache".into(),
            application_name: "ormkit_cache_listener".into(),
            direct_url: None,
            entities: Vec::new(),
        }
    }

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

    /// A URL that reaches PostgreSQL directly, for the listener's `LISTEN` connection and the
    /// barriers of [`EntityCache::sync`] when the pool goes through a transaction-mode pooler
    /// (`PoolConfig::pooler`), where a session lasts one transaction and a `LISTEN` would
    /// hear nothing. Default: `ORMKIT_DIRECT_URL`; without either, building a `strong` cache
    /// on such a pool is refused. On other pools it replaces the pool's own URL for them.
    pub fn direct_url(mut self, url: impl Into<String>) -> Self {
        self.direct_url = Some(url.into());
        self
    }

    /// Builds the cache; with `strong`, returns once its listener is subscribed on `pool`'s
    /// server (or the direct URL's). Needs a tokio runtime.
    ///
    /// For a [`Cluster`](crate::Cluster), pass its primary
    /// ([`Cluster::primary`](crate::Cluster::primary)): a replica cannot `LISTEN`.
    ///
    /// # Errors
    ///
    /// [`OrmkitError::Config`] naming `ORMKIT_DIRECT_URL` when `strong` is asked for on a pool
    /// behind a transaction-mode pooler without a direct URL; the listener's first connection
    /// error.
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
        let counters = Arc::new(Counters::new("entity"));
        let mut entities = HashMap::new();
        let mut total = 0;
        for (ty, options, make) in self.entities {
            let capacity = options.max_capacity.unwrap_or(self.max_capacity);
            let ttl = shortest(options.time_to_live.or(self.time_to_live), eventual_ttl);
            let write_through = options.write_through.unwrap_or(self.write_through);
            total += capacity;
            entities.insert(
                ty,
                make(capacity, ttl, write_through, Arc::clone(&counters)),
            );
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
        let sessions = match self.strategy.mode {
            Mode::Strong { .. } => session_pool(pool, self.direct_url.as_deref())?,
            Mode::Eventual { .. } => pool.clone(),
        };
        let names = (self.channel, self.application_name);
        let state = State::new(
            self.strategy,
            sessions,
            names,
            stripes,
            entities,
            extra,
            counters,
        );
        let state = Arc::new(state);
        let mut tasks = Vec::new();
        if let Mode::Strong { heartbeat, .. } = self.strategy.mode {
            tasks.push(listener::start(&state).await?);
            if let Some(every) = heartbeat {
                tasks.push(tokio::spawn(listener::heartbeat(Arc::clone(&state), every)));
            }
        }
        let queries = QueryCache::new(Arc::clone(&state), query_store);
        Ok(EntityCache::from_parts(state, queries, tasks))
    }
}
