//! One entity's moka cache and the read-through that fills it: concurrent misses on a key
//! share one statement, and nothing older than the read that asked is ever returned.

use super::state::{Stamp, State, Store, WriteMark};
use super::stats::{bump, Counters};
use crate::db::Db;
use crate::entity::HasPrimaryKey;
use crate::error::{OrmkitError, Result};
use crate::repository::{encode_err, find_by_id as fetch_row};
use futures::future::BoxFuture;
use moka::future::Cache;
use sqlx::PgPool;
use std::any::Any;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Loads that lose to invalidations this many times in a row go to the database uncached.
const MAX_ATTEMPTS: usize = 4;

/// A cached row with the counters it was loaded under. Held in an `Arc`: moka clones values
/// on every read, and a pointer is cheaper to clone and to move than a row.
pub(crate) struct Entry<T> {
    pub(crate) row: T,
    pub(crate) stripe: usize,
    pub(crate) generation: u64,
    pub(crate) epoch: u64,
    /// When the statement that read it was sent.
    pub(crate) loaded_at: Instant,
}

/// A value that knows when the statement that produced it was sent.
pub(crate) trait Loaded {
    fn loaded_at(&self) -> Instant;
}

impl<T> Loaded for Arc<Entry<T>> {
    fn loaded_at(&self) -> Instant {
        self.loaded_at
    }
}

/// A time to live counted from the *load*, not from the insertion: an entry is gone `ttl`
/// after its statement was sent, so it never reflects the database as of more than `ttl`
/// ago. Enforced by moka's own read path, which reads the clock anyway: the hit path pays
/// no clock read of its own.
pub(crate) struct LoadTtl(pub(crate) Duration);

impl<K, V: Loaded> moka::Expiry<K, V> for LoadTtl {
    fn expire_after_create(&self, _: &K, value: &V, created_at: Instant) -> Option<Duration> {
        Some((value.loaded_at() + self.0).saturating_duration_since(created_at))
    }

    fn expire_after_update(
        &self,
        _: &K,
        value: &V,
        updated_at: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some((value.loaded_at() + self.0).saturating_duration_since(updated_at))
    }
}

/// Why a shared load produced no entry: moka hands the same error to every waiter.
enum Failure {
    Absent(Stamp),
    /// The real error went to the caller that ran the load.
    Failed,
}

/// The typed cache of one opted-in entity.
pub(crate) struct EntityStore<T: HasPrimaryKey> {
    pub(crate) cache: Cache<T::Id, Arc<Entry<T>>>,
    pub(crate) write_through: bool,
}

impl<T> EntityStore<T>
where
    T: HasPrimaryKey + Clone + Sync,
{
    pub(crate) fn new(
        capacity: u64,
        ttl: Option<Duration>,
        write_through: bool,
        counters: Arc<Counters>,
    ) -> Self {
        let mut builder = Cache::builder()
            .max_capacity(capacity)
            .eviction_listener(move |_, _, cause| counters.removed(cause));
        if let Some(ttl) = ttl {
            builder = builder.expire_after(LoadTtl(ttl));
        }
        EntityStore {
            cache: builder.build(),
            write_through,
        }
    }

    /// Whether `entry` may be served: loaded under the current counters (moka has already
    /// checked its time to live).
    pub(crate) fn servable(&self, state: &State, entry: &Entry<T>) -> bool {
        state.key_current(entry.generation, entry.stripe, entry.epoch)
    }

    /// The miss path: one shared load per key, returning only a row read after this call
    /// began (or concurrently with a write that this call overlapped).
    pub(crate) async fn load(&self, state: &State, pool: &PgPool, id: T::Id) -> Result<Option<T>> {
        let hash =
            super::invalidation::key_hash(T::META.qualified(), &id).map_err(encode_err::<T>)?;
        let (stripe, table) = (state.stripe_of(hash), State::table_of(T::META.qualified()));
        let db = Db::Pool(pool);
        for _ in 0..MAX_ATTEMPTS {
            let start = state.stamp(stripe, table);
            let own_error: Mutex<Option<OrmkitError>> = Mutex::new(None);
            let init = async {
                let stamp = state.stamp(stripe, table);
                let loaded_at = Instant::now();
                bump(&state.counters.loads);
                match fetch_row::<T>(&db, &id).await {
                    Ok(Some(row)) => Ok(Arc::new(Entry {
                        row,
                        stripe,
                        generation: stamp.generation,
                        epoch: stamp.key,
                        loaded_at,
                    })),
                    Ok(None) => Err(Failure::Absent(stamp)),
                    Err(err) => {
                        *own_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(err);
                        Err(Failure::Failed)
                    }
                }
            };
            match self.cache.try_get_with(id.clone(), init).await {
                Ok(entry) => {
                    let stamp = Stamp {
                        generation: entry.generation,
                        key: entry.epoch,
                        table: start.table,
                    };
                    if stamp.covers(&start) {
                        return Ok(Some(entry.row.clone()));
                    }
                    // Loaded before an invalidation this read must see: drop it, load again.
                    self.cache.invalidate(&id).await;
                }
                Err(failure) => match &*failure {
                    Failure::Absent(stamp) if stamp.covers(&start) => return Ok(None),
                    Failure::Absent(_) => {}
                    Failure::Failed => {
                        let own = own_error.lock().unwrap_or_else(|e| e.into_inner()).take();
                        return match own {
                            Some(err) => Err(err),
                            // Another caller's load failed: try on our own, for our own error.
                            None => fetch_row::<T>(&db, &id).await,
                        };
                    }
                },
            }
        }
        // Invalidated on every attempt: this key is being written continuously.
        fetch_row::<T>(&db, &id).await
    }

    /// Puts a row just written and committed, unless a key invalidation or a flush happened
    /// since `mark` (taken before the write was sent).
    pub(crate) async fn write_through(&self, state: &State, mark: &WriteMark, row: &T) {
        let id = row.id();
        let Ok(hash) = super::invalidation::key_hash(T::META.qualified(), &id) else {
            // A key that cannot be encoded cannot be announced either: do not cache it.
            return;
        };
        let stripe = state.stripe_of(hash);
        let stamp = state.stamp(stripe, State::table_of(T::META.qualified()));
        if !state.unchanged_since(mark, &stamp) {
            return;
        }
        let entry = Entry {
            row: row.clone(),
            stripe,
            generation: stamp.generation,
            epoch: stamp.key,
            loaded_at: mark.at,
        };
        self.cache.insert(id, Arc::new(entry)).await;
    }
}

impl<T> Store for EntityStore<T>
where
    T: HasPrimaryKey + Clone + Sync,
{
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
