//! [`QueryCache`]: results of whole queries, keyed by statement and parameters, dropped
//! whenever a table they read is written through ormkit. Off unless the builder turns it on.

use super::state::{State, Store};
use super::stats::{bump, CacheStats, Counters};
use super::store::{LoadTtl, Loaded};
use crate::error::{OrmkitError, Result};
use crate::meta::EntityMeta;
use futures::future::BoxFuture;
use moka::future::Cache;
use std::any::{Any, TypeId};
use std::fmt::Debug;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Loads that lose to invalidations this many times in a row run uncached.
const MAX_ATTEMPTS: usize = 4;

/// Caches query results. Get it from [`EntityCache::queries`](super::EntityCache::queries);
/// it follows the cache's strategy: a write through a
/// [`CachedRepository`](super::CachedRepository) to a table (in any instance, under
/// `strong`) drops every result that read it. Writes made otherwise (`Select::update`, plain
/// `Repository`, SQL) are not seen: call
/// [`EntityCache::invalidate_table`](super::EntityCache::invalidate_table) after them.
///
/// ```ignore
/// let active = cache.queries().get_or_load(&[User::META], "active users", &min_karma, || {
///     User::query().filter(users::KARMA.gte(Some(min_karma))).fetch_all(&pool)
/// }).await?;
/// ```
#[derive(Clone)]
pub struct QueryCache {
    state: Arc<State>,
    store: Option<Arc<QueryStore>>,
}

impl std::fmt::Debug for QueryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryCache")
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct QueryKey {
    ty: TypeId,
    statement: String,
    params: String,
}

/// The counters a result was loaded under: one generation pair and one per table read.
#[derive(Clone, PartialEq, Eq)]
struct Stamp {
    generation: u64,
    cleared: u64,
    tables: Vec<(usize, u64)>,
}

impl Stamp {
    fn covers(&self, start: &Stamp) -> bool {
        self.generation >= start.generation
            && self.cleared >= start.cleared
            && self
                .tables
                .iter()
                .zip(&start.tables)
                .all(|(a, b)| a.1 >= b.1)
    }
}

#[derive(Clone)]
struct QueryEntry {
    value: Arc<dyn Any + Send + Sync>,
    stamp: Arc<Stamp>,
    loaded_at: Instant,
}

impl Loaded for QueryEntry {
    fn loaded_at(&self) -> Instant {
        self.loaded_at
    }
}

pub(crate) struct QueryStore {
    cache: Cache<QueryKey, QueryEntry>,
    counters: Arc<Counters>,
    cleared: AtomicU64,
}

impl QueryStore {
    pub(crate) fn new(capacity: u64, ttl: Option<Duration>) -> Self {
        let counters = Arc::new(Counters::new("query"));
        let listener = Arc::clone(&counters);
        let mut builder = Cache::builder()
            .max_capacity(capacity)
            .eviction_listener(move |_, _, cause| listener.removed(cause));
        if let Some(ttl) = ttl {
            builder = builder.expire_after(LoadTtl(ttl));
        }
        QueryStore {
            cache: builder.build(),
            counters,
            cleared: AtomicU64::new(0),
        }
    }
}

impl Store for QueryStore {
    fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    fn run_pending_tasks(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.cache.run_pending_tasks())
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

impl QueryCache {
    pub(crate) fn new(state: Arc<State>, store: Option<Arc<QueryStore>>) -> Self {
        QueryCache { state, store }
    }

    /// Whether results are cached (the builder's `query_cache`); otherwise every call runs
    /// its query.
    pub fn is_enabled(&self) -> bool {
        self.store.is_some()
    }

    fn stamp(&self, store: &QueryStore, tables: &[usize]) -> Stamp {
        Stamp {
            generation: self.state.generation(),
            cleared: store.cleared.load(SeqCst),
            tables: tables
                .iter()
                .map(|&t| (t, self.state.table_epoch(t)))
                .collect(),
        }
    }

    /// The result of `load` for this statement and these parameters: cached while no table
    /// in `tables` has been written; concurrent misses on one key run `load` once.
    /// `statement` and `params` (by its `Debug` text) are the key, with the result's type;
    /// `tables` must list every table the query reads.
    pub async fn get_or_load<R, F, Fut>(
        &self,
        tables: &[&'static EntityMeta],
        statement: &str,
        params: &(impl Debug + ?Sized),
        load: F,
    ) -> Result<R>
    where
        R: Clone + Send + Sync + 'static,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<R>>,
    {
        let Some(store) = &self.store else {
            return load().await;
        };
        if !self.state.serving() {
            bump(&store.counters.bypassed);
            return load().await;
        }
        let tables: Vec<usize> = tables
            .iter()
            .map(|m| State::table_of(m.qualified()))
            .collect();
        let key = QueryKey {
            ty: TypeId::of::<R>(),
            statement: statement.to_owned(),
            params: format!("{params:?}"),
        };
        if let Some(entry) = store.cache.get(&key).await {
            if *entry.stamp == self.stamp(store, &tables) {
                if let Some(value) = entry.value.downcast_ref::<R>() {
                    bump(&store.counters.hits);
                    return Ok(value.clone());
                }
            }
            store.cache.invalidate(&key).await;
        }
        bump(&store.counters.misses);
        for _ in 0..MAX_ATTEMPTS {
            let start = self.stamp(store, &tables);
            let own_error: Mutex<Option<OrmkitError>> = Mutex::new(None);
            let init = async {
                let stamp = Arc::new(self.stamp(store, &tables));
                let loaded_at = Instant::now();
                bump(&store.counters.loads);
                match load().await {
                    Ok(value) => Ok(QueryEntry {
                        value: Arc::new(value),
                        stamp,
                        loaded_at,
                    }),
                    Err(err) => {
                        *own_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(err);
                        Err(())
                    }
                }
            };
            match store.cache.try_get_with(key.clone(), init).await {
                Ok(entry) if entry.stamp.covers(&start) => {
                    if let Some(value) = entry.value.downcast_ref::<R>() {
                        return Ok(value.clone());
                    }
                    store.cache.invalidate(&key).await;
                }
                Ok(_) => store.cache.invalidate(&key).await,
                Err(_) => {
                    let own = own_error.lock().unwrap_or_else(|e| e.into_inner()).take();
                    return match own {
                        Some(err) => Err(err),
                        None => load().await, // another caller's load failed: ours may not
                    };
                }
            }
        }
        load().await
    }

    /// Drops every cached result: no call after this returns one computed before it.
    pub fn clear(&self) {
        if let Some(store) = &self.store {
            store.cleared.fetch_add(1, SeqCst);
            store.cache.invalidate_all();
            bump(&store.counters.flushes);
        }
    }

    /// Counters since the cache was built (all zero when it is off). Table invalidations
    /// are counted in the entity cache's [`stats`](super::EntityCache::stats); `flushes`
    /// here counts [`clear`](Self::clear).
    pub fn stats(&self) -> CacheStats {
        self.store
            .as_ref()
            .map_or_else(CacheStats::default, |store| {
                store.counters.snapshot(store.cache.entry_count())
            })
    }
}
