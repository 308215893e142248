//! Two application instances (two pools, two caches) under `strong()`: concurrent writers
//! and readers never read a row older than one committed before the read started (in the
//! sense the cache documents), and a killed listener flushes, bypasses, then recovers.

use super::support::*;
use ormkit::cache::EntityCache;
use ormkit::sqlx::{Connection as _, PgPool};
use ormkit::{count_statements, OrmkitError};
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

async fn warm(pool: &PgPool) -> anyhow::Result<()> {
    let max = pool.options().get_max_connections();
    let held = futures::future::try_join_all((0..max).map(|_| pool.acquire())).await?;
    drop(held);
    while pool.num_idle() < max as usize {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    Ok(())
}

#[tokio::test]
async fn a_killed_listener_flushes_bypasses_and_recovers() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool_b = second_pool(&db).await?;
    let cache_a = strong_cache(&db.pool, "ormkit_it_kill_a").await?;
    let cache_b = strong_cache(&pool_b, "ormkit_it_kill_b").await?;
    let ada = seed(&db.pool, 1).await?.remove(0);
    let users_a = cache_a.repository::<User>(&db.pool);
    let users_b = cache_b.repository::<User>(&pool_b);
    users_b.get(ada.id).await?;
    let (_, statements) = count_statements(users_b.get(ada.id)).await;
    assert_eq!(statements, 0, "cached");
    let flushes = cache_b.stats().flushes;

    // Keep B's listener from coming back for a while: no new connection to this database.
    // The pools keep the connections they have; open all of them first (a connection being
    // returned is not idle yet, and a pool opens another rather than wait for it).
    warm(&db.pool).await?;
    warm(&pool_b).await?;
    let database: String = ormkit::sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&db.pool)
        .await?;
    let server = (*db.pool.connect_options()).clone().database("postgres");
    let mut admin = ormkit::sqlx::PgConnection::connect_with(&server).await?;
    let allow = |on: bool| format!("ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS {on}");
    ormkit::sqlx::query(&allow(false))
        .execute(&mut admin)
        .await?;
    let killed: i64 = ormkit::sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE application_name = 'ormkit_it_kill_b' AND query LIKE 'LISTEN%'",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(killed, 1);
    wait_live(&cache_b, false).await?;
    let down = cache_b.stats();
    assert_eq!(down.disconnects, 1);
    assert!(down.flushes > flushes, "flushed on loss");

    // A write B cannot hear about: B reads the database until it has re-subscribed.
    users_a.update(karma(ada.id, 2)).await?;
    for _ in 0..2 {
        let (row, statements) = count_statements(users_b.get(ada.id)).await;
        assert_eq!((row?.karma, statements), (Some(2), 1), "bypassed, fresh");
    }
    assert!(cache_b.stats().bypassed >= 2);

    ormkit::sqlx::query(&allow(true))
        .execute(&mut admin)
        .await?;
    wait_live(&cache_b, true).await?;
    assert!(
        cache_b.stats().flushes > down.flushes,
        "flushed again on re-subscribing"
    );
    let (row, statements) = count_statements(users_b.get(ada.id)).await;
    assert_eq!((row?.karma, statements), (Some(2), 1), "loaded");
    let (_, statements) = count_statements(users_b.get(ada.id)).await;
    assert_eq!(statements, 0, "cached again");

    // And notifications flow again.
    users_a.update(karma(ada.id, 3)).await?;
    cache_b.sync().await?;
    assert_eq!(users_b.get(ada.id).await?.karma, Some(3));
    Ok(())
}
