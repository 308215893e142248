//! [`CachedRepository`]: a [`Repository`](crate::Repository) with a cache in front of its
//! key reads and a hook on its writes. Every method runs the repository's own
//! implementation (`crate::repository`); the cache only adds the `pg_notify` that a write
//! sends in its own statement, and the local invalidation after it.

use super::entity_cache::EntityCache;
use super::invalidation::{key_hash, key_payload, table_payload};
use super::state::State;
use super::stats::bump;
use super::store::EntityStore;
use crate::db::Db;
use crate::entity::{HasPrimaryKey, PatchModel};
use crate::error::Result;
use crate::repository::{self as repo, encode_err};
use crate::statement::Notify;
use futures::future::BoxFuture;
use std::sync::Arc;

/// A [`Repository`](crate::Repository) whose key reads go through an [`EntityCache`], with
/// every method the repository has.
///
/// - Reads by key on a pool or a [`Cluster`](crate::Cluster) use the cache; reads on a
///   transaction or a connection always go to the database (a transaction must see its own
///   writes, and its rows must not be published before it commits). On a cluster the cache
///   is filled from the primary, never a replica: a replica may not yet have replayed a write
///   whose invalidation this instance has already applied, and a fill from it would put the
///   old row back. So do reads of an entity the cache was not told to
///   cache, and reads that are not by key (`find_all`, `count`).
/// - Under `strong`, each write carries `pg_notify(channel, table + key hash)` in its own
///   statement (`… RETURNING …, pg_notify(…)`): it is sent if and only if the write commits.
/// - `update` and `delete` then invalidate the key in this instance; on a pool the write has
///   committed by then, so a read that starts after the call returns sees it. In a
///   transaction, use [`EntityCache::transaction`] for the same guarantee after commit.
/// - `upsert` announces and invalidates the key of the row it stored, which only its
///   `RETURNING` tells: under `strong` its `pg_notify` is a second statement in the write's
///   transaction (see [`CachedRepository::upsert`]).
/// - `insert` and `insert_many` invalidate the table's cached query results and, when
///   write-through is on and they ran on a pool, put the new rows in the cache.
pub struct CachedRepository<'a, T: HasPrimaryKey> {
    db: Db<'a>,
    cache: &'a EntityCache,
    store: Option<Arc<EntityStore<T>>>,
}

impl<T: HasPrimaryKey> std::fmt::Debug for CachedRepository<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedRepository")
            .field("table", &T::META.qualified())
            .field("cached", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a, T> CachedRepository<'a, T>
where
    T: HasPrimaryKey + Clone + Sync,
{
    /// A cached repository over a pool, a connection or a transaction.
    pub fn new(db: impl Into<Db<'a>>, cache: &'a EntityCache) -> Self {
        CachedRepository {
            db: db.into(),
            store: cache.store::<T>(),
            cache,
        }
    }

    fn state(&self) -> &'a State {
        self.cache.state()
    }

    /// Every row, in no particular order (from the database).
    pub async fn find_all(&self) -> Result<Vec<T>> {
        repo::find_all(&self.db).await
    }

    /// How many rows there are (from the database).
    pub async fn count(&self) -> Result<i64> {
        repo::count::<T>(&self.db).await
    }

    /// The row with key `id`, or `None`: from the cache when it may be served, else from
    /// the database (filling the cache; concurrent misses on one key send one statement).
    pub async fn find_by_id(&self, id: T::Id) -> Result<Option<T>> {
        let state = self.state();
        let mut stale = false;
        if let (Some(_), Some(store)) = (self.db.cache_pool(), &self.store) {
            if state.serving() {
                // The hit path, written out here: each async layer costs a move of moka's
                // (large) future.
                if let Some(entry) = store.cache.get(&id).await {
                    if store.servable(state, &entry) {
                        bump(&state.counters.hits);
                        return Ok(Some(entry.row.clone()));
                    }
                    stale = true;
                }
            }
        }
        // Boxed: the miss path's future is several kilobytes, and the hit path's future
        // would otherwise carry (and move) all of it on every call.
        self.find_uncached(id, stale).await
    }

    fn find_uncached(&self, id: T::Id, stale: bool) -> BoxFuture<'_, Result<Option<T>>> {
        Box::pin(async move {
            let state = self.state();
            let (Some(pool), Some(store)) = (self.db.cache_pool(), &self.store) else {
                if self.store.is_some() {
                    bump(&state.counters.bypassed);
                }
                return repo::find_by_id::<T>(&self.db, &id).await;
            };
            if !state.serving() {
                bump(&state.counters.bypassed);
                return repo::find_by_id::<T>(&self.db, &id).await;
            }
            if stale {
                store.cache.invalidate(&id).await;
            }
            bump(&state.counters.misses);
            store.load(state, pool, id).await
        })
    }

    /// The row with key `id`, or [`OrmkitError::EntityNotFound`](crate::OrmkitError::EntityNotFound).
    pub async fn get(&self, id: T::Id) -> Result<T> {
        let found = self.find_by_id(id.clone()).await?;
        found.ok_or_else(|| repo::not_found::<T>(&id))
    }

    /// Whether a row with key `id` exists: `true` from a servable cache entry, else from the
    /// database.
    pub async fn exists(&self, id: T::Id) -> Result<bool> {
        let state = self.state();
        if let (Some(_), Some(store)) = (self.db.cache_pool(), &self.store) {
            if state.serving() {
                if let Some(entry) = store.cache.get(&id).await {
                    if store.servable(state, &entry) {
                        bump(&state.counters.hits);
                        return Ok(true);
                    }
                }
            }
        }
        repo::exists::<T>(&self.db, &id).await
    }

    /// The `pg_notify` a write sends under `strong`; none under `eventual`.
    fn notify(&self, payload: impl FnOnce() -> String) -> Option<Notify> {
        let state = self.state();
        state.strategy.is_strong().then(|| Notify {
            channel: state.channel.clone(),
            payload: payload(),
        })
    }

    /// Inserts one row and returns it as stored; see the type's documentation for the cache.
    pub async fn insert(&self, new: T::Insert) -> Result<T> {
        let notify = self.notify(|| table_payload(T::META.qualified()));
        let mark = self.state().mark();
        let row = repo::insert(&self.db, &new, notify).await?;
        self.inserted(&mark, std::slice::from_ref(&row)).await;
        Ok(row)
    }

    /// Inserts several rows and returns them as stored, in order (as
    /// [`Repository::insert_many`](crate::Repository::insert_many)); see the type's
    /// documentation for the cache.
    pub async fn insert_many(&self, news: impl IntoIterator<Item = T::Insert>) -> Result<Vec<T>> {
        let news: Vec<T::Insert> = news.into_iter().collect();
        let notify = self.notify(|| table_payload(T::META.qualified()));
        let mark = self.state().mark();
        let rows = repo::insert_many(&self.db, &news, "", notify).await?;
        self.inserted(&mark, &rows).await;
        Ok(rows)
    }

    /// Inserts one row or, on conflict, updates it or leaves it (as
    /// [`Repository::upsert`](crate::Repository::upsert)); then invalidates the stored row's
    /// key. The key of a row an upsert updated is known only from what the statement returns,
    /// so under `strong` the `pg_notify` is a second statement in the same transaction,
    /// delivered if and only if the write commits: on a pool (or a cluster's primary) both
    /// run in a transaction of their own, on a [`Tx`](crate::Tx) in it. On a borrowed
    /// connection under `strong` nothing is sent and the call is refused: ormkit cannot tell
    /// whether that connection is in a transaction, and a notification sent apart from the
    /// write could be lost while the write stays.
    pub async fn upsert(
        &self,
        new: T::Insert,
        conflict: &crate::OnConflict<T>,
    ) -> Result<Option<T>> {
        let row = if !self.state().strategy.is_strong() {
            repo::upsert(&self.db, &new, conflict).await?
        } else {
            let new = &new;
            match &self.db {
                Db::Tx(tx) => self.upsert_announced(tx, new, conflict).await?,
                Db::Pool(pool) => {
                    crate::transaction(pool, |tx| async move {
                        self.upsert_announced(&tx, new, conflict).await
                    })
                    .await?
                }
                Db::Cluster(cluster) => {
                    cluster
                        .transaction(
                            |tx| async move { self.upsert_announced(&tx, new, conflict).await },
                        )
                        .await?
                }
                Db::Conn(_) => {
                    return Err(crate::OrmkitError::Query {
                        table: T::META.qualified().into(),
                        message: "CachedRepository::upsert under the strong strategy needs a pool \
                                  or an ormkit transaction (its invalidation is a second \
                                  statement in the write's transaction), not a borrowed \
                                  connection"
                            .into(),
                    })
                }
            }
        };
        if let Some(row) = &row {
            let key = row.id();
            let hash = key_hash(T::META.qualified(), &key).map_err(encode_err::<T>)?;
            self.invalidate_local(hash, &key).await;
        }
        Ok(row)
    }

    /// The upsert and, when it stored a row, the `pg_notify` of that row's key, both on `tx`.
    async fn upsert_announced(
        &self,
        tx: &crate::Tx,
        new: &T::Insert,
        conflict: &crate::OnConflict<T>,
    ) -> Result<Option<T>> {
        let db = Db::Tx(tx);
        let row = repo::upsert(&db, new, conflict).await?;
        if let Some(row) = &row {
            let hash = key_hash(T::META.qualified(), &row.id()).map_err(encode_err::<T>)?;
            if let Some(notify) = self.notify(|| key_payload(hash, T::META.qualified())) {
                repo::notify::<T>(&db, notify).await?;
            }
        }
        Ok(row)
    }

    async fn inserted(&self, mark: &super::state::WriteMark, rows: &[T]) {
        let state = self.state();
        state.invalidate_table(T::META.qualified());
        if let (Some(_), Some(store)) = (self.db.cache_pool(), &self.store) {
            if store.write_through {
                for row in rows {
                    store.write_through(state, mark, row).await;
                }
            }
        }
    }

    /// Writes the fields set in `patch` and returns the stored row (`None` if no row has its
    /// key), then invalidates that key. An empty patch is an error and writes nothing.
    pub async fn update(&self, patch: T::Patch) -> Result<Option<T>> {
        let key = patch.key();
        let hash = key_hash(T::META.qualified(), &key).map_err(encode_err::<T>)?;
        let notify = self.notify(|| key_payload(hash, T::META.qualified()));
        let row = repo::update(&self.db, &patch, notify).await?;
        self.invalidate_local(hash, &key).await;
        Ok(row)
    }

    /// Deletes the row with key `id` (whether there was one), then invalidates that key.
    pub async fn delete(&self, id: T::Id) -> Result<bool> {
        let hash = key_hash(T::META.qualified(), &id).map_err(encode_err::<T>)?;
        let notify = self.notify(|| key_payload(hash, T::META.qualified()));
        let deleted = repo::delete::<T>(&self.db, &id, notify).await?;
        self.invalidate_local(hash, &id).await;
        Ok(deleted)
    }

    async fn invalidate_local(&self, hash: u64, key: &T::Id) {
        self.state().invalidate_key(hash, T::META.qualified());
        if let Some(store) = &self.store {
            store.cache.invalidate(key).await;
        }
    }
}
