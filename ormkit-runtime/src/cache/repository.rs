//! [`CachedRepository`]: `find_by_id` through the cache; `insert`, `update` and `delete`
//! that announce themselves in the statement that writes.

use super::entity_cache::EntityCache;
use super::invalidation::{key_hash, key_payload, table_payload};
use super::state::State;
use super::stats::bump;
use super::store::{fetch_row, EntityStore};
use crate::db::{with_executor, Db};
use crate::entity::{HasPrimaryKey, InsertModel, KeyValue, PatchModel};
use crate::error::{OrmkitError, Result};
use crate::ident::quote_ident;
use crate::query::select::{encode_err, table_name};
use futures::future::BoxFuture;
use sqlx::postgres::PgArguments;
use sqlx::Arguments as _;
use std::fmt::Write as _;
use std::hash::Hash;
use std::sync::Arc;

/// A [`Repository`](crate::Repository) whose `find_by_id` reads through an [`EntityCache`].
///
/// - Reads on a pool use the cache; reads on a transaction or a connection always go to the
///   database (a transaction must see its own writes, and its rows must not be published
///   before it commits). So do reads of an entity the cache was not told to cache.
/// - Under `strong`, each write carries `pg_notify(channel, table + key hash)` in its own
///   statement (`… RETURNING …, pg_notify(…)`): it is sent if and only if the write commits.
/// - `update` and `delete` then invalidate the key in this instance; on a pool the write has
///   committed by then, so a read that starts after the call returns sees it. In a
///   transaction, use [`EntityCache::transaction`] for the same guarantee after commit.
/// - `insert` invalidates the table's cached query results and, when write-through is on
///   and it ran on a pool, puts the new row in the cache.
pub struct CachedRepository<'a, T: HasPrimaryKey> {
    db: Db<'a>,
    cache: &'a EntityCache,
    store: Option<Arc<EntityStore<T>>>,
}

impl<T: HasPrimaryKey> std::fmt::Debug for CachedRepository<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedRepository")
            .field("table", &T::META.qualified)
            .field("cached", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

fn where_key<T: HasPrimaryKey>(sql: &mut String, first: usize) {
    sql.push_str(" WHERE ");
    for (i, column) in T::META.primary_key.iter().enumerate() {
        if i > 0 {
            sql.push_str(" AND ");
        }
        let _ = write!(sql, "{} = ${}", quote_ident(column), first + i);
    }
}

impl<'a, T> CachedRepository<'a, T>
where
    T: HasPrimaryKey + Clone + Sync,
    T::Id: Hash + Eq,
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

    /// The row with key `id`, or `None`: from the cache when it may be served, else from
    /// the database (filling the cache; concurrent misses on one key send one statement).
    pub async fn find_by_id(&self, id: T::Id) -> Result<Option<T>> {
        let state = self.state();
        let mut stale = false;
        if let (Db::Pool(_), Some(store)) = (&self.db, &self.store) {
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
            let (Db::Pool(pool), Some(store)) = (&self.db, &self.store) else {
                if self.store.is_some() {
                    bump(&state.counters.bypassed);
                }
                return fetch_row::<T>(&self.db, id).await;
            };
            if !state.serving() {
                bump(&state.counters.bypassed);
                return fetch_row::<T>(&self.db, id).await;
            }
            if stale {
                store.cache.invalidate(&id).await;
            }
            bump(&state.counters.misses);
            store.load(state, pool, id).await
        })
    }

    /// The row with key `id`, or [`OrmkitError::EntityNotFound`].
    pub async fn get(&self, id: T::Id) -> Result<T> {
        let key = format!("{id:?}");
        self.find_by_id(id)
            .await?
            .ok_or_else(|| OrmkitError::EntityNotFound {
                table: table_name::<T>(),
                key,
            })
    }

    /// Binds the channel and `payload` and returns the `RETURNING` item that sends them,
    /// under `strong`; nothing under `eventual`.
    fn announce(&self, args: &mut PgArguments, payload: impl FnOnce() -> String) -> Result<String> {
        let state = self.state();
        if !state.strategy.is_strong() {
            return Ok(String::new());
        }
        let first = args.len() + 1;
        args.add(state.channel.clone()).map_err(encode_err::<T>)?;
        args.add(payload()).map_err(encode_err::<T>)?;
        Ok(format!(
            "pg_notify(${first}, ${}) AS \"ormkit.notify\"",
            first + 1
        ))
    }

    /// Inserts one row and returns it as stored; see the type's documentation for the cache.
    pub async fn insert(&self, new: T::Insert) -> Result<T> {
        let mut columns = Vec::new();
        let mut args = PgArguments::default();
        new.bind_columns(&mut columns, &mut args)
            .map_err(encode_err::<T>)?;
        let mut sql = format!("INSERT INTO {}", T::META.qualified);
        if columns.is_empty() {
            sql.push_str(" DEFAULT VALUES");
        } else {
            let names: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
            let values: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
            let _ = write!(
                sql,
                " ({}) VALUES ({})",
                names.join(", "),
                values.join(", ")
            );
        }
        let notify = self.announce(&mut args, || table_payload(T::META.qualified))?;
        let _ = write!(sql, " RETURNING {}", T::META.select_list);
        if !notify.is_empty() {
            let _ = write!(sql, ", {notify}");
        }
        let state = self.state();
        let mark = state.mark();
        let query = sqlx::query_as_with::<_, T, _>(&sql, args);
        let row = with_executor!(
            &self.db,
            (T::META, "insert", crate::metrics::rows_one),
            |e| query.fetch_one(e).await
        )?;
        state.invalidate_table(T::META.qualified);
        if let (Db::Pool(_), Some(store)) = (&self.db, &self.store) {
            if store.write_through {
                store.write_through(state, &mark, &row).await;
            }
        }
        Ok(row)
    }

    /// Writes the fields set in `patch` and returns the stored row (`None` if no row has its
    /// key), then invalidates that key. An empty patch is an error and writes nothing.
    pub async fn update(&self, patch: T::Patch) -> Result<Option<T>> {
        let mut columns = Vec::new();
        let mut args = PgArguments::default();
        let key = patch
            .bind_changes(&mut columns, &mut args)
            .map_err(encode_err::<T>)?;
        if columns.is_empty() {
            return Err(OrmkitError::EmptyPatch {
                table: table_name::<T>(),
                key: format!("{key:?}"),
            });
        }
        let hash = key_hash(T::META.qualified, &format!("{key:?}"));
        key.clone().bind_key(&mut args).map_err(encode_err::<T>)?;
        let mut sql = format!("UPDATE {} SET ", T::META.qualified);
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "{} = ${}", quote_ident(column), i + 1);
        }
        where_key::<T>(&mut sql, columns.len() + 1);
        let notify = self.announce(&mut args, || key_payload(hash, T::META.qualified))?;
        let _ = write!(sql, " RETURNING {}", T::META.select_list);
        if !notify.is_empty() {
            let _ = write!(sql, ", {notify}");
        }
        let query = sqlx::query_as_with::<_, T, _>(&sql, args);
        let row = with_executor!(
            &self.db,
            (T::META, "update", crate::metrics::rows_opt),
            |e| query.fetch_optional(e).await
        )?;
        self.invalidate_local(hash, &key).await;
        Ok(row)
    }

    /// Deletes the row with key `id` (whether there was one), then invalidates that key.
    pub async fn delete(&self, id: T::Id) -> Result<bool> {
        let hash = key_hash(T::META.qualified, &format!("{id:?}"));
        let mut args = PgArguments::default();
        id.clone().bind_key(&mut args).map_err(encode_err::<T>)?;
        let mut sql = format!("DELETE FROM {}", T::META.qualified);
        where_key::<T>(&mut sql, 1);
        let notify = self.announce(&mut args, || key_payload(hash, T::META.qualified))?;
        if !notify.is_empty() {
            let _ = write!(sql, " RETURNING {notify}");
        }
        let query = sqlx::query_with(&sql, args);
        let done = with_executor!(
            &self.db,
            (T::META, "delete", crate::metrics::rows_done),
            |e| query.execute(e).await
        )?;
        self.invalidate_local(hash, &id).await;
        Ok(done.rows_affected() > 0)
    }

    async fn invalidate_local(&self, hash: u64, key: &T::Id) {
        self.state().invalidate_key(hash, T::META.qualified);
        if let Some(store) = &self.store {
            store.cache.invalidate(key).await;
        }
    }
}
