//! Two application instances (two pools, two caches) under `strong()`: concurrent writers
//! and readers never read a row older than one committed before the read started, in the
//! sense the cache documents.

use super::support::*;
use ormkit::cache::EntityCache;
use ormkit::sqlx::PgPool;
use ormkit::OrmkitError;
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;

const ROWS: usize = 6;
const ROUNDS: i32 = 40;

struct Shared {
    ids: Vec<UserId>,
    /// Per row, the latest karma whose write has returned (so has committed). Each row has
    /// one writer, writing increasing values: the value is monotonic.
    committed: Vec<AtomicI32>,
    done: AtomicBool,
    reads: AtomicU64,
    stale: AtomicU64,
    unsynced_stale: AtomicU64,
}

/// Writes `ROUNDS` increasing values to the rows `owned`, alternately on the pool and in a
/// transaction through `cache.transaction`.
async fn writer(cache: EntityCache, pool: PgPool, shared: Arc<Shared>, owned: Vec<usize>) {
    for value in 2..=ROUNDS {
        for &row in &owned {
            let id = shared.ids[row];
            if value % 2 == 0 {
                let users = cache.repository::<User>(&pool);
                users.update(karma(id, value)).await.unwrap();
            } else {
                let cache_in = cache.clone();
                cache
                    .transaction(&pool, |tx| {
                        let cache_in = cache_in.clone();
                        async move {
                            let users = cache_in.repository::<User>(&tx);
                            users.update(karma(id, value)).await?;
                            Ok::<_, OrmkitError>(())
                        }
                    })
                    .await
                    .unwrap();
            }
            shared.committed[row].store(value, SeqCst);
        }
    }
}

/// Reads every row in turn until the writers are done. A read of a row written by this
/// instance starts right away (guarantee 1); a read of a row written by the other instance
/// starts after `sync()` (guarantee 2). Either must return at least the value committed
/// before the read started. Reads of foreign rows without `sync` are counted, not judged.
async fn reader(cache: EntityCache, pool: PgPool, shared: Arc<Shared>, local: Vec<usize>) {
    let users = cache.repository::<User>(&pool);
    let mut turn = 0;
    while !shared.done.load(SeqCst) {
        let row = turn % ROWS;
        turn += 1;
        let floor = shared.committed[row].load(SeqCst);
        if !local.contains(&row) {
            let quick = users.get(shared.ids[row]).await.unwrap().karma.unwrap();
            if quick < floor {
                shared.unsynced_stale.fetch_add(1, SeqCst);
            }
            cache.sync().await.unwrap();
        }
        let read = users.get(shared.ids[row]).await.unwrap().karma.unwrap();
        shared.reads.fetch_add(1, SeqCst);
        if read < floor {
            shared.stale.fetch_add(1, SeqCst);
            eprintln!("stale read: row {row} gave {read}, {floor} had committed");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_read_a_row_older_than_a_committed_write() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool_b = second_pool(&db).await?;
    let cache_a = strong_cache(&db.pool, "ormkit_it_instance_a").await?;
    let cache_b = strong_cache(&pool_b, "ormkit_it_instance_b").await?;
    let shared = Arc::new(Shared {
        ids: seed(&db.pool, ROWS).await?.iter().map(|u| u.id).collect(),
        committed: (0..ROWS).map(|_| AtomicI32::new(1)).collect(),
        done: AtomicBool::new(false),
        reads: AtomicU64::new(0),
        stale: AtomicU64::new(0),
        unsynced_stale: AtomicU64::new(0),
    });
    let (rows_a, rows_b): (Vec<usize>, Vec<usize>) = (0..ROWS).partition(|r| r % 2 == 0);
    let mut readers = Vec::new();
    for (cache, pool, local) in [
        (&cache_a, &db.pool, &rows_a),
        (&cache_a, &db.pool, &rows_a),
        (&cache_b, &pool_b, &rows_b),
        (&cache_b, &pool_b, &rows_b),
    ] {
        let task = reader(
            cache.clone(),
            pool.clone(),
            Arc::clone(&shared),
            local.clone(),
        );
        readers.push(tokio::spawn(task));
    }
    let writers = [
        tokio::spawn(writer(
            cache_a.clone(),
            db.pool.clone(),
            Arc::clone(&shared),
            rows_a,
        )),
        tokio::spawn(writer(
            cache_b.clone(),
            pool_b.clone(),
            Arc::clone(&shared),
            rows_b,
        )),
    ];
    for task in writers {
        task.await?;
    }
    shared.done.store(true, SeqCst);
    for task in readers {
        task.await?;
    }
    let (a, b) = (cache_a.stats(), cache_b.stats());
    eprintln!(
        "reads {}, stale {}, foreign reads stale before sync {}; A {a:?}; B {b:?}",
        shared.reads.load(SeqCst),
        shared.stale.load(SeqCst),
        shared.unsynced_stale.load(SeqCst)
    );
    assert_eq!(shared.stale.load(SeqCst), 0, "no stale read after commit");
    assert!(shared.reads.load(SeqCst) > 100);
    assert!(a.hits > 0 && b.hits > 0, "the cache was used");
    assert!(
        a.invalidations >= (ROUNDS as u64 - 1) * ROWS as u64,
        "every write reached A"
    );
    assert!(
        b.invalidations >= (ROUNDS as u64 - 1) * ROWS as u64,
        "every write reached B"
    );
    Ok(())
}
