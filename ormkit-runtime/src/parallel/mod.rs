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
//!
//! [`OrmkitError::Bulk`]: crate::OrmkitError::Bulk

mod copy;
mod plan;
mod report;
mod run;
mod unnest;

pub use crate::conflict::OnConflict;
pub use report::BulkError;

use plan::{column_chunks, plain_chunks};
use run::{free_apart, in_callers_order, single_key, CopyWork, DeleteWork, UpdateWork};

use crate::db::Db;
use crate::entity::{HasPrimaryKey, Table};
use crate::error::Result;
use crate::key::KeyPart;
use crate::repository::encode_err;
use crate::statement::span::{Batch, Endpoint};
use crate::statement::{self, Op, Statement};
use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use sqlx::postgres::PgArguments;
use sqlx::{Arguments as _, PgPool};
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
    /// Set by [`chunk_size`](ParallelExecutor::chunk_size); `None`:
    /// [`DEFAULT_CHUNK`](plan::DEFAULT_CHUNK), and for `bulk_fetch_by_id` the rule of
    /// [`fetch_chunk`](plan::fetch_chunk).
    chunk_size: Option<usize>,
    copy_chunk_size: Option<usize>,
    atomic: bool,
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
        let chunk_size = self.ids_per_statement(ids.len());
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
        let chunk_size = self.rows_per_copy(rows.len());
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
}
