//! [`ParallelExecutor`]: many rows at once. Fetches by key in chunks of one `= ANY($1)`
//! statement each, run concurrently up to a limit; inserts through binary `COPY`, or through
//! `INSERT … SELECT * FROM unnest(…) RETURNING` when the stored rows must come back or
//! conflicts must be handled (`ON CONFLICT`); updates and deletes in chunks. Each chunk is its
//! own transaction, and a failing chunk says which rows it held.

mod copy;
mod unnest;

pub use copy::CopyRows;
pub use unnest::OnConflict;

use crate::db::with_executor;
use crate::entity::{Entity, HasPrimaryKey, InsertModel, PatchModel, Table};
use crate::error::{OrmkitError, Result};
use crate::ident::quote_ident;
use crate::query::select::{encode_err, table_name};
use crate::query::SqlValue;
use crate::Repository;
use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use sqlx::postgres::{PgArguments, PgHasArrayType};
use sqlx::{Arguments as _, PgConnection, PgPool};
use std::collections::hash_map::{Entry, HashMap};
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
    copy_chunk_size: Option<usize>,
}

/// Bounds of the default rows per `COPY`: each COPY is a transaction, and each commit costs a
/// WAL flush (≈2 ms here), so by default the rows are split evenly over `max_parallel`
/// statements rather than cut into small chunks; the upper bound limits what one failing
/// chunk takes back.
const COPY_CHUNK_MIN: usize = 10_000;
const COPY_CHUNK_MAX: usize = 1_000_000;

fn chunk_error<T: Entity>(first: usize, last: usize, err: OrmkitError) -> OrmkitError {
    OrmkitError::Query {
        table: table_name::<T>(),
        message: format!(
            "the chunk of rows {first}..={last} failed (nothing of it was written): {err}"
        ),
    }
}

impl<'p> ParallelExecutor<'p> {
    /// At most `max_parallel` concurrent statements (at least 1); chunks of 1000 rows, and
    /// for `COPY` the rows split evenly over `max_parallel` statements (10 000 to 1 000 000
    /// rows each).
    pub fn new(pool: &'p PgPool, max_parallel: usize) -> Self {
        ParallelExecutor {
            pool,
            max_parallel: max_parallel.max(1),
            chunk_size: 1000,
            copy_chunk_size: None,
        }
    }

    /// Rows per `COPY` statement in [`bulk_insert`](Self::bulk_insert), instead of the rows
    /// split evenly over `max_parallel` statements.
    pub fn copy_chunk_size(mut self, rows: usize) -> Self {
        self.copy_chunk_size = Some(rows.max(1));
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
        let found: Vec<Vec<T>> = stream::iter(ids.chunks(self.chunk_size))
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
        let (rows, missing) = in_callers_order(found.into_iter().flatten().collect(), ids);
        Ok(BulkFetch { rows, missing })
    }

    /// Inserts `rows` through binary `COPY`, chunks concurrently, each in its own
    /// transaction; the number of rows written. No row limit, no parameter limit. Rows that set
    /// different columns (some `None` defaults, some not) go in separate COPY statements.
    pub async fn bulk_insert<T: Table>(&self, rows: Vec<T::Insert>) -> Result<u64> {
        let chunk_size = self.copy_chunk_size.unwrap_or_else(|| {
            rows.len()
                .div_ceil(self.max_parallel)
                .clamp(COPY_CHUNK_MIN, COPY_CHUNK_MAX)
        });
        let jobs = column_chunks::<T>(rows, chunk_size);
        let written: Vec<u64> = stream::iter(jobs)
            .map(|job| async move {
                let (first, last) = job.span();
                self.copy_chunk::<T>(&job.columns, job.rows)
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

    /// Inserts `rows` and returns them as stored, in order. Each chunk is one
    /// `INSERT … SELECT * FROM unnest($1::t1[], …) RETURNING …` (one array parameter per
    /// column, so no parameter limit) in its own transaction, chunks concurrently. Rows that
    /// set an array-typed column, which `unnest` would flatten, go in multi-row
    /// `INSERT … VALUES` statements instead.
    pub async fn bulk_insert_returning<T: Table>(&self, rows: Vec<T::Insert>) -> Result<Vec<T>> {
        self.insert_chunks::<T>(rows, String::new()).await
    }

    /// Inserts `rows`, resolving conflicts on a unique constraint as `conflict` says (skip, or
    /// update the named columns from the proposed row), and returns the rows written —
    /// inserted or updated — in input order (skipped rows are absent). The same statements as
    /// [`bulk_insert_returning`](Self::bulk_insert_returning), with `ON CONFLICT`. Two rows of
    /// one chunk that conflict with each other under `do_update` are an error of that chunk
    /// (PostgreSQL cannot update a row twice in one statement).
    pub async fn bulk_upsert<T: Table>(
        &self,
        rows: Vec<T::Insert>,
        conflict: &OnConflict<T>,
    ) -> Result<Vec<T>> {
        self.insert_chunks::<T>(rows, conflict.clause()).await
    }

    async fn insert_chunks<T: Table>(
        &self,
        rows: Vec<T::Insert>,
        conflict: String,
    ) -> Result<Vec<T>> {
        let jobs = column_chunks::<T>(rows, self.chunk_size);
        // The types of every distinct set of written columns, read once for all chunks.
        let mut types: HashMap<Vec<&'static str>, Vec<unnest::ColumnType>> = HashMap::new();
        let mut conn = self.pool.acquire().await?;
        for job in &jobs {
            if let Entry::Vacant(slot) = types.entry(job.columns.clone()) {
                let found = unnest::column_types(&mut conn, T::META.qualified, slot.key()).await?;
                slot.insert(found);
            }
        }
        drop(conn);
        let (types, conflict) = (&types, &conflict);
        let results: Vec<Vec<T>> = stream::iter(jobs)
            .map(|job| async move {
                let (first, last) = job.span();
                let work = async {
                    let mut tx = self.pool.begin().await?;
                    let types = &types[&job.columns];
                    let stored =
                        insert_returning::<T>(&mut tx, &job.columns, types, job.rows, conflict)
                            .await?;
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

/// Consecutive rows that set the same columns: one statement's worth.
struct ColumnChunk<I> {
    /// The index of its first row among all rows.
    first: usize,
    columns: Vec<&'static str>,
    rows: Vec<I>,
}

impl<I> ColumnChunk<I> {
    /// The indexes of its first and last rows, for errors.
    fn span(&self) -> (usize, usize) {
        (self.first, self.first + self.rows.len().saturating_sub(1))
    }
}

/// `rows` cut into [`ColumnChunk`]s of at most `max` rows.
fn column_chunks<T: Table>(rows: Vec<T::Insert>, max: usize) -> Vec<ColumnChunk<T::Insert>> {
    let mut chunks: Vec<ColumnChunk<T::Insert>> = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        let mut columns = Vec::new();
        row.set_columns(&mut columns);
        match chunks.last_mut() {
            Some(chunk) if chunk.columns == columns && chunk.rows.len() < max => {
                chunk.rows.push(row)
            }
            _ => chunks.push(ColumnChunk {
                first: i,
                columns,
                rows: vec![row],
            }),
        }
    }
    chunks
}

/// Inserts rows that all set `columns` (of `types`) on `conn` and returns them as stored: one
/// `unnest` statement, or, when a column is an array (which `unnest` would flatten), multi-row
/// `VALUES` statements.
async fn insert_returning<T: Table>(
    conn: &mut PgConnection,
    columns: &[&'static str],
    types: &[unnest::ColumnType],
    rows: Vec<T::Insert>,
    conflict: &str,
) -> Result<Vec<T>> {
    if columns.is_empty() || types.iter().any(|t| t.is_array) {
        let repo = Repository::<T>::new(&mut *conn);
        return repo.insert_many_with(rows, conflict).await;
    }
    let mut arrays = unnest::ColumnArrays::new(types);
    let mut names = Vec::with_capacity(columns.len());
    for row in rows {
        names.clear();
        arrays.begin_row();
        row.bind_columns(&mut names, &mut arrays)
            .map_err(encode_err::<T>)?;
    }
    let sql = unnest::insert_sql::<T>(columns, types, conflict);
    let mut args = PgArguments::default();
    for param in arrays.into_params() {
        args.add(param).map_err(encode_err::<T>)?;
    }
    let query = sqlx::query_as_with::<_, T, _>(&sql, args);
    let db = crate::db::Db::from(&mut *conn);
    Ok(with_executor!(
        &db,
        (T::META, "insert", crate::metrics::rows_vec),
        |e| query.fetch_all(e).await
    )?)
}

/// `found` rearranged in the order of `ids` (`None` where a row is missing), and the missing
/// ids. A row asked for more than once is cloned for all but its last request; otherwise
/// rows are moved, and each id costs one hash look-up.
fn in_callers_order<T, K>(found: Vec<T>, ids: Vec<K>) -> (Vec<Option<T>>, Vec<K>)
where
    T: HasPrimaryKey<Id = K> + Clone,
    K: Hash + Eq,
{
    let index: HashMap<K, usize> = found.iter().enumerate().map(|(i, r)| (r.id(), i)).collect();
    let positions: Vec<Option<usize>> = ids.iter().map(|id| index.get(id).copied()).collect();
    // The last request for each row takes it; earlier ones (duplicates) clone it.
    let mut claimed = vec![false; found.len()];
    let mut last = vec![false; positions.len()];
    for (i, pos) in positions.iter().enumerate().rev() {
        if let Some(pos) = *pos {
            if !claimed[pos] {
                claimed[pos] = true;
                last[i] = true;
            }
        }
    }
    let mut slots: Vec<Option<T>> = found.into_iter().map(Some).collect();
    let mut rows = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for ((id, pos), last) in ids.into_iter().zip(positions).zip(last) {
        let row = match pos {
            Some(pos) if last => slots[pos].take(),
            Some(pos) => slots[pos].clone(),
            None => None,
        };
        if row.is_none() {
            missing.push(id);
        }
        rows.push(row);
    }
    (rows, missing)
}
