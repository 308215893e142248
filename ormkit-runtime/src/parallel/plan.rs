//! How a bulk call's rows are cut into chunks: one statement, by default one transaction, each.

use super::ParallelExecutor;
use crate::entity::{columns_of, sets_columns, InsertModel as _, Table};
use std::ops::Range;

/// Bounds of the default rows per `COPY`: each COPY is a transaction, and each commit costs a
/// WAL flush (≈2 ms here), so by default the rows are split evenly over `max_parallel`
/// statements rather than cut into small chunks; the upper bound limits what one failing
/// chunk takes back.
pub(super) const COPY_CHUNK_MIN: usize = 10_000;
pub(super) const COPY_CHUNK_MAX: usize = 1_000_000;

/// Rows per statement of the chunked writes and deletes, unless set.
pub(super) const DEFAULT_CHUNK: usize = 1000;
/// The fewest ids one `bulk_fetch_by_id` statement gets by default. A statement costs a pool
/// acquire, a round trip and a plan (≈0.1 ms here, the decoding of about 100 rows), so
/// smaller chunks lose more than their concurrency wins.
pub(super) const FETCH_CHUNK_MIN: usize = 2_500;

/// Ids per `bulk_fetch_by_id` statement by default: the ids split evenly over as many
/// statements as may run at once (`max_parallel`, and no more than the pool's connections),
/// but no statement with fewer than [`FETCH_CHUNK_MIN`] ids. Under 5 000 ids: one statement.
pub(super) fn fetch_chunk(ids: usize, max_parallel: usize, pool_connections: usize) -> usize {
    let statements = (ids / FETCH_CHUNK_MIN)
        .min(max_parallel)
        .min(pool_connections)
        .max(1);
    ids.div_ceil(statements).max(1)
}

/// Consecutive input rows that one statement writes (they set the same columns).
#[derive(Debug, Clone)]
pub(super) struct Chunk {
    pub(super) rows: Range<usize>,
    pub(super) columns: Vec<u16>,
}
/// `0..len` in chunks of at most `max`.
pub(super) fn plain_chunks(len: usize, max: usize) -> Vec<Chunk> {
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
pub(super) fn column_chunks<T: Table>(rows: &[T::Insert], max: usize) -> Vec<Chunk> {
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

impl ParallelExecutor<'_> {
    /// Ids per `bulk_fetch_by_id` statement: as set, else by [`fetch_chunk`].
    pub(super) fn ids_per_statement(&self, ids: usize) -> usize {
        self.chunk_size.unwrap_or_else(|| {
            let connections = self.pool.options().get_max_connections();
            fetch_chunk(ids, self.max_parallel, connections as usize)
        })
    }

    /// Rows per `COPY`: as set, else the rows split evenly over `max_parallel` statements,
    /// within [`COPY_CHUNK_MIN`] and [`COPY_CHUNK_MAX`].
    pub(super) fn rows_per_copy(&self, rows: usize) -> usize {
        self.copy_chunk_size.unwrap_or_else(|| {
            rows.div_ceil(self.max_parallel)
                .clamp(COPY_CHUNK_MIN, COPY_CHUNK_MAX)
        })
    }

    /// Rows per statement of the chunked writes and deletes.
    pub(super) fn rows_per_statement(&self) -> usize {
        self.chunk_size.unwrap_or(DEFAULT_CHUNK)
    }
}

#[cfg(test)]
mod tests {
    use super::fetch_chunk;

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
