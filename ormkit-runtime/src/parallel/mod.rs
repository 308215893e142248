//! [`ParallelExecutor`]: many rows at once. Fetches by key in chunks of one `= ANY($1)`
//! statement each, run concurrently up to a limit; inserts through binary `COPY`, or through
//! `INSERT … SELECT * FROM unnest(…) RETURNING` when the stored rows must come back or
//! conflicts must be handled (`ON CONFLICT`); updates and deletes in chunks.
//!
//! # Failures
//!
//! By default each chunk is its own transaction, and chunks run concurrently: a load of
//! millions of rows is not one huge transaction, and one bad row costs its chunk, not the
//! whole load. When a chunk fails, chunks not yet started are not sent, chunks already
//! running finish (each commits or fails on its own), and the call returns
//! [`OrmkitError::Bulk`] with a [`BulkError`] that keeps the database's error (SQLSTATE,
//! constraint, category), names the failing row when PostgreSQL does (COPY reports the
//! line), and lists exactly which input rows were committed and which were never sent.
//! [`atomic`](ParallelExecutor::atomic) runs every chunk, one after the other, in one
//! transaction instead: all or nothing.
//!
//! Every statement goes through ormkit's executor (one span, metrics and count each). A
//! chunk's connection goes back to the pool only in a state the protocol knows; a chunk
//! cancelled mid-COPY or failing on the connection closes it instead.

mod copy;
mod report;
mod unnest;

pub use crate::conflict::OnConflict;
pub use report::BulkError;

use crate::db::{Db, Exclusive};
use crate::entity::{columns_of, sets_columns, HasPrimaryKey, InsertModel, Table};
use crate::error::{OrmkitError, Result};
use crate::key::KeyPart;
use crate::repository::{self as repo, encode_err, table_name};
use crate::statement::span::{Batch, Endpoint};
use crate::statement::{self, copy_in, Done, Op, Statement};
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use sqlx::postgres::PgArguments;
use sqlx::{Arguments as _, PgConnection, PgPool};
use std::collections::hash_map::{Entry, HashMap};
use std::hash::Hash;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::Instrument as _;

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
    /// Set by [`chunk_size`](ParallelExecutor::chunk_size); `None`: [`DEFAULT_CHUNK`], and for
    /// `bulk_fetch_by_id` the rule of [`fetch_chunk`].
    chunk_size: Option<usize>,
    copy_chunk_size: Option<usize>,
    atomic: bool,
}

/// Bounds of the default rows per `COPY`: each COPY is a transaction, and each commit costs a
/// WAL flush (≈2 ms here), so by default the rows are split evenly over `max_parallel`
/// statements rather than cut into small chunks; the upper bound limits what one failing
/// chunk takes back.
const COPY_CHUNK_MIN: usize = 10_000;
const COPY_CHUNK_MAX: usize = 1_000_000;

/// Rows per statement of the chunked writes and deletes, unless set.
const DEFAULT_CHUNK: usize = 1000;

/// From how many rows given to a bulk write they are freed on tokio's blocking pool.
const FREE_APART_ROWS: usize = 4096;

/// Frees rows a bulk write was given. Many rows with strings, arrays and JSON take tens of
/// milliseconds to free (100 000 users rows: ≈24 ms here); on a runtime worker that would stall
/// every task scheduled on it, and the caller, who has the call's answer already. So from
/// [`FREE_APART_ROWS`] rows on they are freed on tokio's blocking pool.
fn free_apart<T: Send + 'static>(rows: Vec<T>) {
    if std::mem::needs_drop::<T>() && rows.len() >= FREE_APART_ROWS {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            drop(runtime.spawn_blocking(move || drop(rows)));
            return;
        }
    }
    drop(rows);
}

/// The fewest ids one `bulk_fetch_by_id` statement gets by default. A statement costs a pool
/// acquire, a round trip and a plan (≈0.1 ms here, the decoding of about 100 rows), so
/// smaller chunks lose more than their concurrency wins.
const FETCH_CHUNK_MIN: usize = 2_500;

/// Ids per `bulk_fetch_by_id` statement by default: the ids split evenly over as many
/// statements as may run at once (`max_parallel`, and no more than the pool's connections),
/// but no statement with fewer than [`FETCH_CHUNK_MIN`] ids. Under 5 000 ids: one statement.
fn fetch_chunk(ids: usize, max_parallel: usize, pool_connections: usize) -> usize {
    let statements = (ids / FETCH_CHUNK_MIN)
        .min(max_parallel)
        .min(pool_connections)
        .max(1);
    ids.div_ceil(statements).max(1)
}

/// Consecutive input rows that one statement writes (they set the same columns).
#[derive(Debug, Clone)]
struct Chunk {
    rows: Range<usize>,
    columns: Vec<u16>,
}

/// The statements of one chunk, on the chunk's connection (in its transaction).
trait ChunkWork: Sync {
    type Out: Send;
    /// What the chunk's statements do (for the batch's span).
    const OP: Op;
    /// How many statements the chunks send: one per chunk.
    fn statements(&self, chunks: &[Chunk]) -> usize {
        chunks.len()
    }
    fn run<'c>(
        &'c self,
        conn: &'c mut PgConnection,
        chunk: &'c Chunk,
    ) -> BoxFuture<'c, Result<Self::Out>>;
}

impl<'p> ParallelExecutor<'p> {
    /// At most `max_parallel` concurrent statements (at least 1); chunks of 1000 rows, and
    /// for `COPY` the rows split evenly over `max_parallel` statements (10 000 to 1 000 000
    /// rows each); each chunk commits on its own.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, AuditLog, NewAuditLog, NewUser, User, UserPatch};
    /// use ormkit::ParallelExecutor;
    ///
    /// let exec = ParallelExecutor::new(&pool, 4); // up to 4 statements (connections) at once
    /// let logs = (0..5000).map(|i| NewAuditLog::new(format!("event {i}"))).collect();
    /// assert_eq!(exec.bulk_insert::<AuditLog>(logs).await?, 5000);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(pool: &'p PgPool, max_parallel: usize) -> Self {
        ParallelExecutor {
            pool,
            max_parallel: max_parallel.max(1),
            chunk_size: None,
            copy_chunk_size: None,
            atomic: false,
        }
    }

    /// Rows per `COPY` statement in [`bulk_insert`](Self::bulk_insert), instead of the rows
    /// split evenly over `max_parallel` statements.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, AuditLog, NewAuditLog, NewUser, User, UserPatch};
    /// let exec = ormkit::ParallelExecutor::new(&pool, 2).copy_chunk_size(1000);
    /// let logs = (0..2500).map(|i| NewAuditLog::new(format!("event {i}"))).collect();
    /// // Three COPY statements (1000, 1000, 500 rows), each its own transaction.
    /// assert_eq!(exec.bulk_insert::<AuditLog>(logs).await?, 2500);
    /// # Ok(())
    /// # }
    /// ```
    pub fn copy_chunk_size(mut self, rows: usize) -> Self {
        self.copy_chunk_size = Some(rows.max(1));
        self
    }

    /// Rows per statement (default 1000; for [`bulk_fetch_by_id`](Self::bulk_fetch_by_id)
    /// the default follows the input size and the pool, see there).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, AuditLog, NewAuditLog, NewUser, User, UserPatch};
    /// // `bulk_fetch_by_id`, `bulk_delete`: ids per `= ANY($1)`; `bulk_insert_returning`,
    /// // `bulk_upsert`: rows per unnest statement; `bulk_update`: patches per transaction.
    /// let exec = ormkit::ParallelExecutor::new(&pool, 2).chunk_size(100);
    /// let news = (0..250).map(|i| NewUser::new(format!("u{i}@example.com"))).collect();
    /// assert_eq!(exec.bulk_insert_returning::<User>(news).await?.len(), 250);
    /// # Ok(())
    /// # }
    /// ```
    pub fn chunk_size(mut self, rows: usize) -> Self {
        self.chunk_size = Some(rows.max(1));
        self
    }

    /// Rows per statement of the chunked writes and deletes.
    fn rows_per_statement(&self) -> usize {
        self.chunk_size.unwrap_or(DEFAULT_CHUNK)
    }

    /// All or nothing: every write's chunks run one after the other in one transaction, so a
    /// failure leaves nothing written (default: off, each chunk commits on its own and
    /// chunks run concurrently; see the [module documentation](self)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, AuditLog, NewAuditLog, NewUser, User, UserPatch};
    /// use ormkit::OrmkitError;
    ///
    /// let exec = ormkit::ParallelExecutor::new(&pool, 2).chunk_size(2).atomic(true);
    /// let mut news: Vec<NewUser> = (0..5).map(|i| NewUser::new(format!("a{i}@example.com"))).collect();
    /// news.push(NewUser::new("a0@example.com".into())); // a duplicate, in the last chunk
    /// let Err(OrmkitError::Bulk(failure)) = exec.bulk_insert_returning::<User>(news).await else {
    ///     panic!("the duplicate fails the call");
    /// };
    /// assert_eq!(failure.failed(), 4..6);
    /// assert!(failure.committed().is_empty()); // all or nothing
    /// assert_eq!(User::query().count(&pool).await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn atomic(mut self, atomic: bool) -> Self {
        self.atomic = atomic;
        self
    }

    /// The rows with these ids, in the caller's order, with the ids that have none. One
    /// `= ANY($1)` statement per chunk, chunks concurrently.
    ///
    /// Unless [`chunk_size`](Self::chunk_size) is set, the ids are split evenly over as many
    /// statements as may run at once — `max_parallel`, and no more than the pool's
    /// `max_connections` — with at least 2 500 ids a statement: under 5 000 ids are one
    /// statement, 10 000 ids with `max_parallel` 2 are two of 5 000, with `max_parallel` 8
    /// four of 2 500. A statement costs an acquire, a round trip and a plan (about the decoding
    /// of 100 rows), so smaller chunks lose; a few concurrent statements win because the
    /// server's work and the decoding of rows overlap (measured on 2 cores: BENCHMARKS.md).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, AuditLog, NewAuditLog, NewUser, User, UserPatch};
    /// use ormkit_tests::entities::UserId;
    ///
    /// let exec = ormkit::ParallelExecutor::new(&pool, 4);
    /// let news = (0..3).map(|i| NewUser::new(format!("f{i}@example.com"))).collect();
    /// let stored = exec.bulk_insert_returning::<User>(news).await?;
    /// let wanted = vec![stored[2].id, UserId::new(-1), stored[0].id];
    /// let found = exec.bulk_fetch_by_id::<User>(wanted).await?;
    /// assert_eq!(found.rows[0].as_ref(), Some(&stored[2])); // the caller's order
    /// assert_eq!(found.rows[1], None);
    /// assert_eq!(found.missing, vec![UserId::new(-1)]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bulk_fetch_by_id<T>(&self, ids: Vec<T::Id>) -> Result<BulkFetch<T, T::Id>>
    where
        T: HasPrimaryKey + Clone,
        T::Id: KeyPart,
    {
        let key = single_key::<T>("bulk_fetch_by_id")?;
        let sql = statement::select_any(T::META, key);
        let db = Db::Pool(self.pool);
        let chunk_size = self.chunk_size.unwrap_or_else(|| {
            let connections = self.pool.options().get_max_connections();
            fetch_chunk(ids.len(), self.max_parallel, connections as usize)
        });
        let statements = ids.len().div_ceil(chunk_size);
        let batch = Batch::start(T::META, Op::Select, statements, || db.endpoint());
        let found: Result<Vec<Vec<T>>> = stream::iter(ids.chunks(chunk_size))
            .map(|chunk| {
                let (sql, db) = (&sql, &db);
                async move {
                    let mut args = PgArguments::default();
                    args.add(chunk).map_err(encode_err::<T>)?;
                    db.run(Statement::new(T::META, Op::Select, sql.clone(), args))
                        .await
                }
            })
            .buffer_unordered(self.max_parallel)
            .try_collect()
            .instrument(batch.span().clone())
            .await;
        batch.finish(&found);
        let (rows, missing) = in_callers_order(found?.into_iter().flatten().collect(), ids);
        Ok(BulkFetch { rows, missing })
    }

    /// Inserts `rows` through binary `COPY`, chunks concurrently, each in its own
    /// transaction (or all in one, [`atomic`](Self::atomic)); the number of rows written. No
    /// row limit, no parameter limit. Rows that set different columns (some `None` defaults,
    /// some not) go in separate COPY statements. Many rows (4 096 or more) are freed on tokio's
    /// blocking pool once written, so that freeing them stalls neither the caller nor the
    /// runtime's other tasks; [`bulk_insert_slice`](Self::bulk_insert_slice) takes them lent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, AuditLog, NewAuditLog, NewUser, User, UserPatch};
    /// use ormkit::OrmkitError;
    ///
    /// // Without `atomic`, a failing chunk costs itself only: the error says exactly which input
    /// // rows were committed, which failed and which were never sent.
    /// let exec = ormkit::ParallelExecutor::new(&pool, 1).copy_chunk_size(2);
    /// let mut news: Vec<NewUser> = (0..6).map(|i| NewUser::new(format!("c{i}@example.com"))).collect();
    /// news[3] = NewUser::new("c0@example.com".into()); // a duplicate in the second chunk
    /// let Err(OrmkitError::Bulk(failure)) = exec.bulk_insert::<User>(news).await else {
    ///     panic!("the duplicate fails its chunk");
    /// };
    /// assert_eq!(failure.committed(), &[0..2]);
    /// assert_eq!(failure.failed(), 2..4);
    /// assert_eq!(failure.not_attempted(), &[4..6]);
    /// assert_eq!(failure.source().sqlstate().as_deref(), Some("23505"));
    /// assert_eq!(User::query().count(&pool).await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bulk_insert<T: Table>(&self, rows: Vec<T::Insert>) -> Result<u64> {
        let written = self.bulk_insert_slice::<T>(&rows).await;
        free_apart(rows);
        written
    }

    /// [`bulk_insert`](Self::bulk_insert) of rows the caller keeps: the same COPY statements,
    /// and the rows are neither cloned nor freed here.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{AuditLog, NewAuditLog};
    /// let logs: Vec<NewAuditLog> = (0..3).map(|i| NewAuditLog::new(format!("line {i}"))).collect();
    /// let exec = ormkit::ParallelExecutor::new(&pool, 2);
    /// assert_eq!(exec.bulk_insert_slice::<AuditLog>(&logs).await?, 3);
    /// assert_eq!(logs[2].message, "line 2", "still ours");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bulk_insert_slice<T: Table>(&self, rows: &[T::Insert]) -> Result<u64> {
        let chunk_size = self.copy_chunk_size.unwrap_or_else(|| {
            rows.len()
                .div_ceil(self.max_parallel)
                .clamp(COPY_CHUNK_MIN, COPY_CHUNK_MAX)
        });
        let chunks = column_chunks::<T>(rows, chunk_size);
        let written = self
            .write_chunks::<T, _>(
                chunks,
                &CopyWork::<T> {
                    rows,
                    endpoint: Endpoint::of(self.pool),
                },
            )
            .await?;
        Ok(written.into_iter().sum())
    }

    /// Inserts `rows` and returns them as stored, in order. Each chunk is one
    /// `INSERT … SELECT * FROM unnest($1::t1[], …) RETURNING …` (one array parameter per
    /// column, so no parameter limit) in its own transaction, chunks concurrently. Rows that
    /// set an array-typed column, which `unnest` would flatten, go in multi-row
    /// `INSERT … VALUES` statements instead.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, AuditLog, NewAuditLog, NewUser, User, UserPatch};
    /// let exec = ormkit::ParallelExecutor::new(&pool, 2);
    /// let news = (0..3).map(|i| NewUser::new(format!("r{i}@example.com"))).collect();
    /// let stored = exec.bulk_insert_returning::<User>(news).await?;
    /// assert_eq!(stored[1].email, "r1@example.com"); // identities and defaults filled in
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bulk_insert_returning<T: Table>(&self, rows: Vec<T::Insert>) -> Result<Vec<T>> {
        let stored = self.insert_chunks::<T>(&rows, String::new()).await;
        free_apart(rows);
        stored
    }

    /// Inserts `rows`, resolving conflicts on a unique constraint as `conflict` says (skip, or
    /// update the named columns from the proposed row), and returns the rows written —
    /// inserted or updated — in input order (skipped rows are absent). The same statements as
    /// [`bulk_insert_returning`](Self::bulk_insert_returning), with `ON CONFLICT`. Two rows of
    /// one chunk that conflict with each other under `do_update` are an error of that chunk
    /// (PostgreSQL cannot update a row twice in one statement).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, AuditLog, NewAuditLog, NewUser, User, UserPatch};
    /// use ormkit::OnConflict;
    ///
    /// let exec = ormkit::ParallelExecutor::new(&pool, 2);
    /// exec.bulk_insert_returning::<User>(vec![NewUser::new("ada@example.com".into())]).await?;
    /// let mut ada = NewUser::new("ada@example.com".into());
    /// ada.display_name = Some("Ada".into());
    /// let news = vec![ada, NewUser::new("grace@example.com".into())];
    /// let update = OnConflict::on(users::EMAIL).do_update(users::DISPLAY_NAME);
    /// let written = exec.bulk_upsert::<User>(news, &update).await?;
    /// assert_eq!(written[0].display_name.as_deref(), Some("Ada")); // updated
    /// assert_eq!(written[1].email, "grace@example.com"); // inserted
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bulk_upsert<T: Table>(
        &self,
        rows: Vec<T::Insert>,
        conflict: &OnConflict<T>,
    ) -> Result<Vec<T>> {
        let stored = self.insert_chunks::<T>(&rows, conflict.clause()).await;
        free_apart(rows);
        stored
    }

    async fn insert_chunks<T: Table>(
        &self,
        rows: &[T::Insert],
        conflict: String,
    ) -> Result<Vec<T>> {
        let chunks = column_chunks::<T>(rows, self.rows_per_statement());
        // The types of every distinct set of written columns, read once for all chunks.
        let mut types: HashMap<Vec<u16>, Vec<unnest::ColumnType>> = HashMap::new();
        if !chunks.is_empty() {
            let mut conn = Exclusive::acquire(self.pool).await?;
            let outcome = async {
                let mut tx = conn.begin().await?;
                for chunk in &chunks {
                    if let Entry::Vacant(slot) = types.entry(chunk.columns.clone()) {
                        let found = unnest::column_types::<T>(&mut tx, slot.key()).await?;
                        slot.insert(found);
                    }
                }
                Ok(tx.commit().await?)
            }
            .await;
            conn.settle(&outcome);
            outcome?;
        }
        let work = UnnestWork::<T> {
            rows,
            types: &types,
            conflict: &conflict,
        };
        let stored = self.write_chunks::<T, _>(chunks, &work).await?;
        Ok(stored.into_iter().flatten().collect())
    }

    /// Applies `patches` (each one `UPDATE … WHERE <key>`, a chunk of them per transaction,
    /// chunks concurrently); how many rows existed and were updated. Empty patches are
    /// skipped.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, AuditLog, NewAuditLog, NewUser, User, UserPatch};
    /// let exec = ormkit::ParallelExecutor::new(&pool, 2);
    /// let news = (0..3).map(|i| NewUser::new(format!("p{i}@example.com"))).collect();
    /// let stored = exec.bulk_insert_returning::<User>(news).await?;
    /// let patches = stored.iter().map(|u| UserPatch::new(u.id).karma(Some(5))).collect();
    /// assert_eq!(exec.bulk_update::<User>(patches).await?, 3);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bulk_update<T: HasPrimaryKey>(&self, patches: Vec<T::Patch>) -> Result<u64> {
        let chunks = plain_chunks(patches.len(), self.rows_per_statement());
        let counts = self
            .write_chunks::<T, _>(chunks, &UpdateWork::<T> { patches: &patches })
            .await;
        free_apart(patches);
        Ok(counts?.into_iter().sum())
    }

    /// Deletes the rows with these ids, one `= ANY($1)` statement per chunk; how many were
    /// deleted.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, AuditLog, NewAuditLog, NewUser, User, UserPatch};
    /// let exec = ormkit::ParallelExecutor::new(&pool, 2);
    /// let news = (0..3).map(|i| NewUser::new(format!("d{i}@example.com"))).collect();
    /// let ids = exec.bulk_insert_returning::<User>(news).await?.into_iter().map(|u| u.id).collect();
    /// assert_eq!(exec.bulk_delete::<User>(ids).await?, 3);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bulk_delete<T>(&self, ids: Vec<T::Id>) -> Result<u64>
    where
        T: HasPrimaryKey,
        T::Id: KeyPart,
    {
        let key = single_key::<T>("bulk_delete")?;
        let work = DeleteWork::<T> {
            ids: &ids,
            sql: statement::delete_any(T::META, key),
        };
        let chunks = plain_chunks(ids.len(), self.rows_per_statement());
        let counts = self.write_chunks::<T, _>(chunks, &work).await?;
        Ok(counts.into_iter().sum())
    }

    /// Runs `work` for every chunk and returns the outputs in chunk order, or a
    /// [`BulkError`] saying what was and was not written; in one span for the whole call.
    async fn write_chunks<T: Table, W: ChunkWork>(
        &self,
        chunks: Vec<Chunk>,
        work: &W,
    ) -> Result<Vec<W::Out>> {
        let statements = work.statements(&chunks);
        let batch = Batch::start(T::META, W::OP, statements, || Endpoint::of(self.pool));
        let result = self
            .run_chunks::<T, W>(chunks, work)
            .instrument(batch.span().clone())
            .await;
        batch.finish(&result);
        result
    }

    async fn run_chunks<T: Table, W: ChunkWork>(
        &self,
        chunks: Vec<Chunk>,
        work: &W,
    ) -> Result<Vec<W::Out>> {
        if self.atomic {
            return self.write_atomically::<T, W>(chunks, work).await;
        }
        let failed = AtomicBool::new(false);
        let outcomes: Vec<(usize, Option<Result<W::Out>>)> =
            stream::iter(chunks.iter().enumerate())
                .map(|(i, chunk)| {
                    let failed = &failed;
                    async move {
                        if failed.load(Ordering::SeqCst) {
                            return (i, None);
                        }
                        let outcome = self.write_chunk(work, chunk).await;
                        if outcome.is_err() {
                            failed.store(true, Ordering::SeqCst);
                        }
                        (i, Some(outcome))
                    }
                })
                // Every chunk runs to its end: none is dropped in the middle of its statements.
                .buffer_unordered(self.max_parallel)
                .collect()
                .await;
        let mut slots: Vec<Option<Result<W::Out>>> = (0..chunks.len()).map(|_| None).collect();
        for (i, outcome) in outcomes {
            slots[i] = outcome;
        }
        if !failed.load(Ordering::SeqCst) {
            return Ok(slots.into_iter().flatten().flatten().collect());
        }
        let mut committed = Vec::new();
        let mut not_attempted = Vec::new();
        let mut errors = Vec::new();
        for (chunk, slot) in chunks.iter().zip(slots) {
            match slot {
                Some(Ok(_)) => committed.push(chunk.rows.clone()),
                Some(Err(err)) => errors.push((chunk, err)),
                None => not_attempted.push(chunk.rows.clone()),
            }
        }
        let mut errors = errors.into_iter();
        let Some((first, source)) = errors.next() else {
            return Err(OrmkitError::Query {
                table: table_name::<T>(),
                message: "a chunk failed without an error".into(),
            });
        };
        Err(bulk_error::<T>(
            first,
            source,
            errors.map(|(c, _)| c.rows.clone()).collect(),
            committed,
            not_attempted,
        ))
    }

    /// One chunk in its own transaction on its own connection.
    async fn write_chunk<W: ChunkWork>(&self, work: &W, chunk: &Chunk) -> Result<W::Out> {
        let mut conn = Exclusive::acquire(self.pool).await?;
        let outcome = async {
            let mut tx = conn.begin().await?;
            let out = work.run(&mut tx, chunk).await?;
            tx.commit().await?;
            Ok(out)
        }
        .await;
        conn.settle(&outcome);
        outcome
    }

    async fn write_atomically<T: Table, W: ChunkWork>(
        &self,
        chunks: Vec<Chunk>,
        work: &W,
    ) -> Result<Vec<W::Out>> {
        let mut conn = Exclusive::acquire(self.pool).await?;
        let mut failure = None;
        let outcome: Result<Vec<W::Out>> = async {
            let mut tx = conn.begin().await?;
            let mut outs = Vec::with_capacity(chunks.len());
            for (i, chunk) in chunks.iter().enumerate() {
                match work.run(&mut tx, chunk).await {
                    Ok(out) => outs.push(out),
                    Err(err) => {
                        failure = Some(i);
                        return Err(err);
                    }
                }
            }
            tx.commit().await?;
            Ok(outs)
        }
        .await;
        conn.settle(&outcome);
        match (outcome, failure) {
            (Ok(outs), _) => Ok(outs),
            (Err(source), Some(i)) => {
                let later = chunks[i + 1..].iter().map(|c| c.rows.clone()).collect();
                let earlier = chunks[..i].iter().map(|c| c.rows.clone()).collect();
                // Rolled back: the chunks before the failing one were sent but not kept.
                Err(bulk_error::<T>(
                    &chunks[i],
                    source,
                    earlier,
                    Vec::new(),
                    later,
                ))
            }
            (Err(err), None) => Err(err),
        }
    }
}

fn bulk_error<T: Table>(
    chunk: &Chunk,
    source: OrmkitError,
    also_failed: Vec<Range<usize>>,
    committed: Vec<Range<usize>>,
    not_attempted: Vec<Range<usize>>,
) -> OrmkitError {
    let row = report::copy_line(&source)
        .filter(|&line| line >= 1 && line <= chunk.rows.len())
        .map(|line| chunk.rows.start + line - 1);
    OrmkitError::Bulk(Box::new(BulkError {
        table: table_name::<T>(),
        failed: chunk.rows.clone(),
        row,
        also_failed: report::merge(also_failed),
        committed: report::merge(committed),
        not_attempted: report::merge(not_attempted),
        source,
    }))
}

fn single_key<T: HasPrimaryKey>(what: &str) -> Result<&'static str> {
    match T::META.primary_key {
        [key] => Ok(key),
        _ => Err(OrmkitError::Query {
            table: table_name::<T>(),
            message: format!("{what} needs a single-column primary key"),
        }),
    }
}

/// `0..len` in chunks of at most `max`.
fn plain_chunks(len: usize, max: usize) -> Vec<Chunk> {
    (0..len)
        .step_by(max)
        .map(|start| Chunk {
            rows: start..(start + max).min(len),
            columns: Vec::new(),
        })
        .collect()
}

/// `rows` cut into chunks of at most `max` consecutive rows that set the same columns. A row
/// is checked against its chunk's columns in place: a list is made only where a chunk starts.
fn column_chunks<T: Table>(rows: &[T::Insert], max: usize) -> Vec<Chunk> {
    let mut chunks: Vec<Chunk> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if let Some(chunk) = chunks.last_mut() {
            if chunk.rows.len() < max && sets_columns(&chunk.columns, |w| row.write(w)) {
                chunk.rows.end = i + 1;
                continue;
            }
        }
        chunks.push(Chunk {
            rows: i..i + 1,
            columns: columns_of(|w| row.write(w)),
        });
    }
    chunks
}

struct CopyWork<'r, T: Table> {
    rows: &'r [T::Insert],
    /// The pool's server, for the COPY statements' spans.
    endpoint: Endpoint,
}

impl<T: Table> ChunkWork for CopyWork<'_, T> {
    type Out = u64;
    const OP: Op = Op::Copy;

    fn run<'c>(
        &'c self,
        conn: &'c mut PgConnection,
        chunk: &'c Chunk,
    ) -> BoxFuture<'c, Result<u64>> {
        Box::pin(async move {
            let rows = &self.rows[chunk.rows.clone()];
            if chunk.columns.is_empty() {
                // COPY needs columns; rows of defaults only are INSERT … DEFAULT VALUES.
                let db = Db::from(&mut *conn);
                for row in rows {
                    repo::insert::<T>(&db, row, None).await?;
                }
                return Ok(rows.len() as u64);
            }
            let types = unnest::column_types::<T>(conn, &chunk.columns).await?;
            if types.iter().any(|t| t.text_form) {
                // Binary COPY cannot take a type as text: one unnest statement instead.
                return insert_counted::<T>(conn, rows, &chunk.columns, &types).await;
            }
            let shapes = types
                .into_iter()
                .map(unnest::ColumnType::into_shape)
                .collect();
            let mut data = Some(copy::CopyRows::new(&chunk.columns, shapes));
            let mut next = rows.iter();
            let mut piece = copy::FIRST_PIECE;
            let sql = statement::copy_from_stdin(T::META, &chunk.columns);
            let statement = Statement::new(T::META, Op::Copy, sql, PgArguments::default());
            let written = copy_in(conn, self.endpoint.clone(), statement, |spare| {
                let Some(buffer) = data.as_mut() else {
                    return Ok(None);
                };
                // Encode a piece, then send it while the next one is encoded. The first pieces
                // are small, so that the server starts at once; they double up to half a
                // megabyte.
                while buffer.buffered() < piece {
                    match next.next() {
                        Some(row) => buffer.push_row(row)?,
                        None => return Ok(data.take().map(copy::CopyRows::finish)),
                    }
                }
                piece = (piece * 2).min(copy::LAST_PIECE);
                Ok(Some(buffer.take(spare)))
            })
            .await?;
            written.map_err(encode_err::<T>)
        })
    }
}

/// Inserts `rows` (which set `columns`, of `types`) without returning them: one unnest
/// statement, or multi-row `VALUES` when a column is an array; the rows written.
async fn insert_counted<T: Table>(
    conn: &mut PgConnection,
    rows: &[T::Insert],
    columns: &[u16],
    types: &[unnest::ColumnType],
) -> Result<u64> {
    let db = Db::from(&mut *conn);
    if types.iter().any(|t| t.is_array) {
        let stored: Vec<T> = repo::insert_many::<T>(&db, rows, "", None).await?;
        return Ok(stored.len() as u64);
    }
    let args = unnest::arguments::<T>(rows, columns, types)?;
    let sql = unnest::insert_sql::<T>(columns, types, "", false);
    let Done(n) = db
        .run(Statement::new(T::META, Op::Insert, sql, args))
        .await?;
    Ok(n)
}

struct UnnestWork<'r, T: Table> {
    rows: &'r [T::Insert],
    types: &'r HashMap<Vec<u16>, Vec<unnest::ColumnType>>,
    conflict: &'r str,
}

impl<T: Table> ChunkWork for UnnestWork<'_, T> {
    type Out = Vec<T>;
    const OP: Op = Op::Insert;

    fn run<'c>(
        &'c self,
        conn: &'c mut PgConnection,
        chunk: &'c Chunk,
    ) -> BoxFuture<'c, Result<Vec<T>>> {
        Box::pin(async move {
            let rows = &self.rows[chunk.rows.clone()];
            let types = &self.types[&chunk.columns];
            let db = Db::from(&mut *conn);
            if chunk.columns.is_empty() || types.iter().any(|t| t.is_array) {
                return repo::insert_many::<T>(&db, rows, self.conflict, None).await;
            }
            let args = unnest::arguments::<T>(rows, &chunk.columns, types)?;
            let sql = unnest::insert_sql::<T>(&chunk.columns, types, self.conflict, true);
            db.run(Statement::new(T::META, Op::Insert, sql, args)).await
        })
    }
}

struct UpdateWork<'r, T: HasPrimaryKey> {
    patches: &'r [T::Patch],
}

impl<T: HasPrimaryKey> ChunkWork for UpdateWork<'_, T> {
    type Out = u64;
    const OP: Op = Op::Update;

    /// One `UPDATE` per patch.
    fn statements(&self, chunks: &[Chunk]) -> usize {
        chunks.iter().map(|c| c.rows.len()).sum()
    }

    fn run<'c>(
        &'c self,
        conn: &'c mut PgConnection,
        chunk: &'c Chunk,
    ) -> BoxFuture<'c, Result<u64>> {
        Box::pin(async move {
            use crate::entity::PatchModel as _;
            let db = Db::from(&mut *conn);
            let mut n = 0;
            for patch in &self.patches[chunk.rows.clone()] {
                if !patch.is_empty() && repo::update::<T>(&db, patch, None).await?.is_some() {
                    n += 1;
                }
            }
            Ok(n)
        })
    }
}

struct DeleteWork<'r, T: HasPrimaryKey> {
    ids: &'r [T::Id],
    sql: String,
}

impl<T: HasPrimaryKey> ChunkWork for DeleteWork<'_, T>
where
    T::Id: KeyPart,
{
    type Out = u64;
    const OP: Op = Op::Delete;

    fn run<'c>(
        &'c self,
        conn: &'c mut PgConnection,
        chunk: &'c Chunk,
    ) -> BoxFuture<'c, Result<u64>> {
        Box::pin(async move {
            let mut args = PgArguments::default();
            args.add(&self.ids[chunk.rows.clone()])
                .map_err(encode_err::<T>)?;
            let Done(n) = Db::from(&mut *conn)
                .run(Statement::new(T::META, Op::Delete, self.sql.clone(), args))
                .await?;
            Ok(n)
        })
    }
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

#[cfg(test)]
mod tests {
    use super::{fetch_chunk, free_apart, FREE_APART_ROWS};
    use std::sync::mpsc;
    use std::thread::ThreadId;

    /// Says on which thread it was freed.
    struct Freed(Option<mpsc::Sender<ThreadId>>);

    impl Drop for Freed {
        fn drop(&mut self) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(std::thread::current().id());
            }
        }
    }

    fn rows(n: usize) -> (Vec<Freed>, mpsc::Receiver<ThreadId>) {
        let (tx, rx) = mpsc::channel();
        let mut rows: Vec<Freed> = (1..n).map(|_| Freed(None)).collect();
        rows.push(Freed(Some(tx)));
        (rows, rx)
    }

    #[test]
    fn many_given_rows_are_freed_on_the_blocking_pool_few_at_once() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let here = std::thread::current().id();
        runtime.block_on(async {
            let (few, freed) = rows(FREE_APART_ROWS - 1);
            free_apart(few);
            assert_eq!(freed.try_recv(), Ok(here), "freed at once, here");
            let (many, freed) = rows(FREE_APART_ROWS);
            free_apart(many);
            let on = freed
                .recv_timeout(std::time::Duration::from_secs(10))
                .expect("freed within 10 s");
            assert_ne!(on, here, "freed on another thread");
        });
        // Outside a runtime there is no blocking pool: freed at once.
        let (many, freed) = rows(FREE_APART_ROWS);
        free_apart(many);
        assert_eq!(freed.try_recv(), Ok(here));
    }

    #[test]
    fn fetch_chunks_follow_the_input_and_the_pool() {
        // Few ids: one statement, whatever may run at once.
        assert_eq!(fetch_chunk(0, 8, 50), 1);
        assert_eq!(fetch_chunk(2_500, 8, 50), 2_500);
        assert_eq!(fetch_chunk(4_999, 8, 50), 4_999);
        // Split evenly over `max_parallel` statements…
        assert_eq!(fetch_chunk(10_000, 2, 50), 5_000);
        assert_eq!(fetch_chunk(10_001, 2, 50), 5_001);
        // …of at least 2 500 ids each…
        assert_eq!(fetch_chunk(10_000, 8, 50), 2_500);
        assert_eq!(fetch_chunk(5_000, 8, 50), 2_500);
        // …and no more than the pool's connections.
        assert_eq!(fetch_chunk(100_000, 8, 3), 33_334);
        assert_eq!(fetch_chunk(100_000, 1, 50), 100_000);
    }
}
