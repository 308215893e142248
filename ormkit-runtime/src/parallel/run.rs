//! Running a bulk call's chunks: their statements and transactions, and what a failure leaves.

use super::plan::column_chunks;
use super::plan::Chunk;
use super::{copy, report, unnest, BulkError, ParallelExecutor};
use crate::db::{Db, Exclusive};
use crate::entity::{HasPrimaryKey, Table};
use crate::error::{OrmkitError, Result};
use crate::key::KeyPart;
use crate::repository::{self as repo, encode_err, table_name};
use crate::statement::span::{Batch, Endpoint};
use crate::statement::{self, copy_in, Done, Op, Statement};
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt as _};
use sqlx::postgres::PgArguments;
use sqlx::{Arguments as _, PgConnection};
use std::collections::hash_map::{Entry, HashMap};
use std::hash::Hash;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::Instrument as _;

/// From how many rows given to a bulk write they are freed on tokio's blocking pool.
const FREE_APART_ROWS: usize = 4096;

/// Frees rows a bulk write was given. Many rows with strings, arrays and JSON take tens of
/// milliseconds to free (100 000 users rows: ≈24 ms here); on a runtime worker that would stall
/// every task scheduled on it, and the caller, who has the call's answer already. So from
/// [`FREE_APART_ROWS`] rows on they are freed on tokio's blocking pool.
pub(super) fn free_apart<T: Send + 'static>(rows: Vec<T>) {
    if std::mem::needs_drop::<T>() && rows.len() >= FREE_APART_ROWS {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            drop(runtime.spawn_blocking(move || drop(rows)));
            return;
        }
    }
    drop(rows);
}
/// The statements of one chunk, on the chunk's connection (in its transaction).
pub(super) trait ChunkWork: Sync {
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
impl ParallelExecutor<'_> {
    pub(super) async fn insert_chunks<T: Table>(
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
    /// Runs `work` for every chunk and returns the outputs in chunk order, or a
    /// [`BulkError`] saying what was and was not written; in one span for the whole call.
    pub(super) async fn write_chunks<T: Table, W: ChunkWork>(
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

pub(super) fn single_key<T: HasPrimaryKey>(what: &str) -> Result<&'static str> {
    match T::META.primary_key {
        [key] => Ok(key),
        _ => Err(OrmkitError::Query {
            table: table_name::<T>(),
            message: format!("{what} needs a single-column primary key"),
        }),
    }
}
pub(super) struct CopyWork<'r, T: Table> {
    pub(super) rows: &'r [T::Insert],
    /// The pool's server, for the COPY statements' spans.
    pub(super) endpoint: Endpoint,
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

pub(super) struct UnnestWork<'r, T: Table> {
    pub(super) rows: &'r [T::Insert],
    pub(super) types: &'r HashMap<Vec<u16>, Vec<unnest::ColumnType>>,
    pub(super) conflict: &'r str,
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

pub(super) struct UpdateWork<'r, T: HasPrimaryKey> {
    pub(super) patches: &'r [T::Patch],
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

pub(super) struct DeleteWork<'r, T: HasPrimaryKey> {
    pub(super) ids: &'r [T::Id],
    pub(super) sql: String,
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
pub(super) fn in_callers_order<T, K>(found: Vec<T>, ids: Vec<K>) -> (Vec<Option<T>>, Vec<K>)
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
    use super::{free_apart, FREE_APART_ROWS};
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
}
