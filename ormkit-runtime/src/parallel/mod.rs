//! [`ParallelExecutor`]: many rows at once. Fetches by key in chunks of one `= ANY($1)`
//! statement each, run concurrently up to a limit; inserts through binary `COPY` (or a
//! multi-row `INSERT … RETURNING` when the stored rows must come back); updates and deletes in
//! chunks. Each chunk is its own transaction, and a failing chunk says which rows it held.

mod copy;

pub use copy::CopyRows;

use crate::entity::{Entity, HasPrimaryKey, InsertModel, PatchModel, Table};
use crate::error::{OrmkitError, Result};
use crate::ident::quote_ident;
use crate::query::select::{encode_err, table_name};
use crate::query::SqlValue;
use crate::Repository;
use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use sqlx::postgres::PgHasArrayType;
use sqlx::PgPool;
use std::collections::HashMap;
use std::hash::Hash;

/// What [`ParallelExecutor::bulk_fetch_by_id`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkFetch<T, K> {
    /// One entry per requested id, in the caller's order: the row, or `None`.
    pub rows: Vec<Option<T>>,
    /// The ids no row has, in the caller's order.
    pub missing: Vec<K>,
}

/// Runs bulk reads and writes over a pool, up to `max_parallel` statements at once.
#[derive(Debug, Clone)]
pub struct ParallelExecutor<'p> {
    pool: &'p PgPool,
    max_parallel: usize,
    chunk_size: usize,
    copy_chunk_size: usize,
}

fn chunk_error<T: Entity>(first: usize, last: usize, err: OrmkitError) -> OrmkitError {
    OrmkitError::Query {
        table: table_name::<T>(),
        message: format!(
            "the chunk of rows {first}..={last} failed (nothing of it was written): {err}"
        ),
    }
}

impl<'p> ParallelExecutor<'p> {
    /// At most `max_parallel` concurrent statements (at least 1); chunks of 1000 rows (25 000
    /// per COPY).
    pub fn new(pool: &'p PgPool, max_parallel: usize) -> Self {
        ParallelExecutor {
            pool,
            max_parallel: max_parallel.max(1),
            chunk_size: 1000,
            copy_chunk_size: 25_000,
        }
    }

    /// Rows per `COPY` statement in [`bulk_insert`](Self::bulk_insert) (default 25 000).
    pub fn copy_chunk_size(mut self, rows: usize) -> Self {
        self.copy_chunk_size = rows.max(1);
        self
    }

    /// Rows per statement (default 1000).
    pub fn chunk_size(mut self, rows: usize) -> Self {
        self.chunk_size = rows.max(1);
        self
    }

    /// The rows with these ids, in the caller's order, with the ids that have none. One
    /// `= ANY($1)` statement per chunk, chunks concurrently.
    pub async fn bulk_fetch_by_id<T>(&self, ids: Vec<T::Id>) -> Result<BulkFetch<T, T::Id>>
    where
        T: HasPrimaryKey + Clone,
        T::Id: SqlValue + PgHasArrayType + Hash + Eq,
    {
        let [key] = T::META.primary_key else {
            return Err(OrmkitError::Query {
                table: table_name::<T>(),
                message: "bulk_fetch_by_id needs a single-column primary key".into(),
            });
        };
        let sql = format!(
            "SELECT {} FROM {} WHERE {} = ANY($1)",
            T::META.select_list,
            T::META.qualified,
            quote_ident(key)
        );
        let chunks: Vec<Vec<T::Id>> = ids.chunks(self.chunk_size).map(<[_]>::to_vec).collect();
        let found: Vec<Vec<T>> = stream::iter(chunks)
            .map(|chunk| {
                let sql = &sql;
                async move {
                    crate::stats::record_statement();
                    let rows = sqlx::query_as::<_, T>(sql)
                        .bind(chunk)
                        .fetch_all(self.pool)
                        .await?;
                    Ok::<_, OrmkitError>(rows)
                }
            })
            .buffer_unordered(self.max_parallel)
            .try_collect()
            .await?;
        let mut by_id: HashMap<T::Id, T> =
            found.into_iter().flatten().map(|r| (r.id(), r)).collect();
        let mut missing = Vec::new();
        let mut rows = Vec::with_capacity(ids.len());
        let mut seen: HashMap<T::Id, usize> = HashMap::new();
        for id in &ids {
            *seen.entry(id.clone()).or_default() += 1;
        }
        for id in ids {
            let left = seen.get_mut(&id).map_or(0, |n| {
                *n -= 1;
                *n
            });
            let row = if left == 0 {
                by_id.remove(&id)
            } else {
                by_id.get(&id).cloned()
            };
            if row.is_none() {
                missing.push(id);
            }
            rows.push(row);
        }
        Ok(BulkFetch { rows, missing })
    }

    /// Inserts `rows` through binary `COPY`, chunks concurrently, each in its own
    /// transaction; the number of rows written. No row limit, no parameter limit. Rows that set
    /// different columns (some `None` defaults, some not) go in separate COPY statements.
    pub async fn bulk_insert<T: Table>(&self, rows: Vec<T::Insert>) -> Result<u64> {
        // Group consecutive rows by the columns they set, then chunk each group.
        let mut groups: Vec<(Vec<&'static str>, Vec<T::Insert>)> = Vec::new();
        for row in rows {
            let mut columns = Vec::new();
            row.set_columns(&mut columns);
            match groups.last_mut() {
                Some((cols, group)) if *cols == columns && group.len() < self.copy_chunk_size => {
                    group.push(row)
                }
                _ => groups.push((columns, vec![row])),
            }
        }
        let mut jobs = Vec::new();
        let mut first = 0;
        for (columns, group) in groups {
            let mut group = group.into_iter().peekable();
            while group.peek().is_some() {
                let chunk: Vec<T::Insert> = group.by_ref().take(self.copy_chunk_size).collect();
                let len = chunk.len();
                jobs.push((first, columns.clone(), chunk));
                first += len;
            }
        }
        let written: Vec<u64> = stream::iter(jobs)
            .map(|(first, columns, chunk)| async move {
                let last = first + chunk.len().saturating_sub(1);
                self.copy_chunk::<T>(&columns, chunk)
                    .await
                    .map_err(|e| chunk_error::<T>(first, last, e))
            })
            .buffer_unordered(self.max_parallel)
            .try_collect()
            .await?;
        Ok(written.into_iter().sum())
    }

    async fn copy_chunk<T: Table>(
        &self,
        columns: &[&'static str],
        chunk: Vec<T::Insert>,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        // The column types' shapes, for the OIDs sqlx leaves to be filled in.
        let oids: Vec<i64> = sqlx::query_scalar(
            "SELECT a.atttypid::int8 FROM unnest($2::text[]) WITH ORDINALITY AS c(name, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = $1::regclass AND a.attname = c.name
             ORDER BY c.ord",
        )
        .bind(T::META.qualified)
        .bind(columns.iter().map(|c| c.to_string()).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        let mut shapes = Vec::with_capacity(oids.len());
        for oid in oids {
            shapes.push(copy::load_shape(&mut tx, oid as u32).await?);
        }
        let list: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        if list.is_empty() {
            // COPY needs columns; rows of defaults only are INSERT … DEFAULT VALUES.
            let sql = format!("INSERT INTO {} DEFAULT VALUES", T::META.qualified);
            for _ in 0..chunk.len() {
                sqlx::query(&sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            return Ok(chunk.len() as u64);
        }
        let statement = format!(
            "COPY {} ({}) FROM STDIN WITH (FORMAT binary)",
            T::META.qualified,
            list.join(", ")
        );
        crate::stats::record_statement();
        let mut copy = tx.copy_in_raw(&statement).await?;
        let mut data = CopyRows::new(shapes);
        let mut names = Vec::with_capacity(columns.len());
        let mut failed = None;
        for row in chunk {
            names.clear();
            data.begin_row();
            if let Err(e) = row.bind_columns(&mut names, &mut data) {
                failed = Some(encode_err::<T>(e));
                break;
            }
            // Send while encoding, so the server works in parallel.
            if data.buffered() >= 1 << 19 {
                copy.send(data.take()).await?;
            }
        }
        if let Some(err) = failed {
            copy.abort("ormkit: a value could not be encoded").await?;
            return Err(err);
        }
        let rows = data.rows();
        copy.send(data.finish()).await?;
        let written = copy.finish().await?;
        debug_assert_eq!(written, rows as u64);
        tx.commit().await?;
        Ok(written)
    }

    /// Inserts `rows` and returns them as stored, in order, in multi-row
    /// `INSERT … RETURNING` statements (chunks in their own transactions, concurrently).
    pub async fn bulk_insert_returning<T: Table>(&self, rows: Vec<T::Insert>) -> Result<Vec<T>> {
        let mut chunks = Vec::new();
        let mut rows = rows.into_iter().peekable();
        let mut first = 0;
        while rows.peek().is_some() {
            let chunk: Vec<T::Insert> = rows.by_ref().take(self.chunk_size).collect();
            let len = chunk.len();
            chunks.push((first, chunk));
            first += len;
        }
        let results: Vec<Vec<T>> = stream::iter(chunks)
            .map(|(first, chunk)| async move {
                let last = first + chunk.len().saturating_sub(1);
                let work = async {
                    let mut tx = self.pool.begin().await?;
                    let stored = Repository::<T>::new(&mut tx).insert_many(chunk).await?;
                    tx.commit().await?;
                    Ok::<_, OrmkitError>(stored)
                };
                work.await.map_err(|e| chunk_error::<T>(first, last, e))
            })
            .buffered(self.max_parallel)
            .try_collect()
            .await?;
        Ok(results.into_iter().flatten().collect())
    }

    /// Applies `patches` (each through `Repository::update`, chunk by chunk in a transaction,
    /// chunks concurrently); how many rows existed and were updated.
    pub async fn bulk_update<T: HasPrimaryKey>(&self, patches: Vec<T::Patch>) -> Result<u64> {
        let mut chunks = Vec::new();
        let mut patches = patches.into_iter().peekable();
        let mut first = 0;
        while patches.peek().is_some() {
            let chunk: Vec<T::Patch> = patches.by_ref().take(self.chunk_size).collect();
            let len = chunk.len();
            chunks.push((first, chunk));
            first += len;
        }
        let counts: Vec<u64> = stream::iter(chunks)
            .map(|(first, chunk)| async move {
                let last = first + chunk.len().saturating_sub(1);
                let work = async {
                    let mut tx = self.pool.begin().await?;
                    let mut n = 0;
                    {
                        let repo = Repository::<T>::new(&mut tx);
                        for patch in chunk {
                            if !patch.is_empty() && repo.update(patch).await?.is_some() {
                                n += 1;
                            }
                        }
                    }
                    tx.commit().await?;
                    Ok::<_, OrmkitError>(n)
                };
                work.await.map_err(|e| chunk_error::<T>(first, last, e))
            })
            .buffer_unordered(self.max_parallel)
            .try_collect()
            .await?;
        Ok(counts.into_iter().sum())
    }

    /// Deletes the rows with these ids, one `= ANY($1)` statement per chunk; how many were
    /// deleted.
    pub async fn bulk_delete<T>(&self, ids: Vec<T::Id>) -> Result<u64>
    where
        T: HasPrimaryKey,
        T::Id: SqlValue + PgHasArrayType,
    {
        let [key] = T::META.primary_key else {
            return Err(OrmkitError::Query {
                table: table_name::<T>(),
                message: "bulk_delete needs a single-column primary key".into(),
            });
        };
        let sql = format!(
            "DELETE FROM {} WHERE {} = ANY($1)",
            T::META.qualified,
            quote_ident(key)
        );
        let chunks: Vec<Vec<T::Id>> = ids.chunks(self.chunk_size).map(<[_]>::to_vec).collect();
        let counts: Vec<u64> = stream::iter(chunks)
            .map(|chunk| {
                let sql = &sql;
                async move {
                    crate::stats::record_statement();
                    let done = sqlx::query(sql).bind(chunk).execute(self.pool).await?;
                    Ok::<_, OrmkitError>(done.rows_affected())
                }
            })
            .buffer_unordered(self.max_parallel)
            .try_collect()
            .await?;
        Ok(counts.into_iter().sum())
    }
}
