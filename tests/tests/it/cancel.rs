//! Cancellation: a future of ormkit's dropped at any await point never hands the pool's next
//! user a connection inside a transaction or in an unknown protocol state, and never makes a
//! later acknowledged write disappear.
//!
//! The harness is deterministic (no timers): [`DropAfter`] polls an entry point's future and
//! drops it at its k-th `Poll::Pending`, for k = 0, 1, 2, … until the future completes, and
//! that sweep runs again until every entry point has been cut at least [`sweep_cuts`] times
//! (1,000 unless `ORMKIT_TEST_CUTS` says). After every cut the same pool must commit a write
//! that another connection (not the pool's) sees, and every connection of the pool must be
//! outside any transaction block, as the server reports it (`pg_stat_activity` of the
//! backends the pool holds).

use ormkit::cache::{EntityCache, InvalidationStrategy};
use ormkit::metrics::pool_stats;
use ormkit::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use ormkit::sqlx::PgPool;
use ormkit::{
    IsolationLevel, OrmkitError, ParallelExecutor, PoolConfig, Pooler, Repository,
    TransactionOptions,
};
use ormkit_tests::cut::{sweep_cuts, DropAfter};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use std::collections::HashSet;
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What one entry point's sweeps did.
#[derive(Debug, Default)]
struct Swept {
    drops: usize,
    completions: usize,
    lost_writes: usize,
    in_transaction: usize,
    /// Rows read back that are not the ones written.
    wrong_rows: usize,
    /// Connections the pool opened (distinct backends seen): a cut that closes one costs one.
    backends: usize,
    millis: u128,
}

/// A unique email for one write.
fn email(what: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{what}{}@cancel.io", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Whether `email` is committed, as a connection outside the tested pool sees it.
async fn visible(admin: &PgPool, email: &str) -> anyhow::Result<bool> {
    let n: i64 = ormkit::sqlx::query_scalar("SELECT count(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(admin)
        .await?;
    Ok(n == 1)
}

/// Waits until every connection `pool` opened is back (idle in sqlx or parked in its lane):
/// nothing of the pool runs, no task still settles or closes one of its connections.
async fn quiescent(pool: &PgPool) -> anyhow::Result<()> {
    for _ in 0..100_000 {
        let stats = pool_stats(pool);
        if stats.idle == stats.size as usize {
            return Ok(());
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_micros(100)).await;
    }
    anyhow::bail!("the pool never settled: {:?}", pool_stats(pool))
}

/// What a connection outside the tested pool sees once the pool is quiescent: how many of
/// `emails` are committed, and how many backends of the pool (those named `application`) are
/// inside a transaction block or running a statement. A backend the pool just closed may
/// still be listed for a moment (its `Terminate` on the way): while more backends are listed
/// than the pool holds, a busy one is looked at again until it is gone (at most 10 s); one
/// the pool keeps stays.
async fn seen_from_outside(
    tested: &Tested<'_>,
    emails: &[&str],
    backends: &mut HashSet<i32>,
) -> anyhow::Result<(usize, usize)> {
    quiescent(tested.pool).await?;
    let (mut committed, mut stuck) = (0, 0);
    for _ in 0..2_000 {
        let (found, pids, busy): (i64, Vec<i32>, i64) = ormkit::sqlx::query_as(
            "SELECT (SELECT count(*) FROM users WHERE email = ANY($1)), \
                    coalesce(array_agg(pid), '{}'), \
                    count(*) FILTER (WHERE state <> 'idle' OR xact_start IS NOT NULL) \
             FROM pg_stat_activity WHERE application_name = $2",
        )
        .bind(emails)
        .bind(tested.application)
        .fetch_one(tested.admin)
        .await?;
        (committed, stuck) = (found as usize, busy as usize);
        // Every backend of a live connection is listed: more rows are closing ones.
        let closing = pids.len() > tested.pool.size() as usize;
        backends.extend(pids);
        if stuck == 0 || !closing {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok((committed, stuck))
}

/// A tested pool and what its sweeps check.
struct Tested<'a> {
    pool: &'a PgPool,
    admin: &'a PgPool,
    /// The `application_name` of the pool's connections.
    application: &'a str,
}

/// Cuts the futures `entry` makes at every await point, again and again until they were cut
/// [`sweep_cuts`] times. `entry(email)` writes `email` if it writes at all: `Ok(true)`
/// acknowledges that write. After every cut (and every completion): a write through the pool
/// is committed and reads back as written, and no backend of the pool is in a transaction.
async fn sweep<F, Fut>(tested: &Tested<'_>, entry: F) -> anyhow::Result<Swept>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let started = Instant::now();
    let mut swept = Swept::default();
    let users = Repository::<User>::new(tested.pool);
    let mut backends = HashSet::new();
    let cuts = sweep_cuts();
    while swept.drops < cuts {
        for k in 0.. {
            let written = email("entry");
            let outcome = DropAfter::new(entry(written.clone()), k).await;
            let completed = outcome.is_some();
            let wrote = match outcome {
                Some(result) => {
                    swept.completions += 1;
                    result?
                }
                None => {
                    swept.drops += 1;
                    false
                }
            };
            // The pool's next user: its write is committed, its reads are its own rows.
            let after = email("after");
            let inserted = users.insert(NewUser::new(after.clone())).await?;
            let read = users.get(inserted.id).await?;
            if inserted.email != after || read.email != after {
                swept.wrong_rows += 1;
            }
            // An acknowledged write of the entry point itself is committed too.
            let emails: Vec<&str> = if wrote {
                vec![&after, &written]
            } else {
                vec![&after]
            };
            let (committed, stuck) = seen_from_outside(tested, &emails, &mut backends).await?;
            swept.lost_writes += emails.len().saturating_sub(committed);
            swept.in_transaction += stuck;
            if completed {
                break;
            }
        }
    }
    swept.backends = backends.len();
    swept.millis = started.elapsed().as_millis();
    Ok(swept)
}

/// Asserts a sweep's outcome, and prints its numbers (`--nocapture`).
fn check(name: &str, swept: &Swept) {
    println!("cancel sweep {name}: {swept:?}");
    assert!(swept.drops >= sweep_cuts(), "{name}: {swept:?}");
    assert!(swept.completions > 0, "{name} never completed: {swept:?}");
    assert_eq!(swept.lost_writes, 0, "{name} lost writes: {swept:?}");
    assert_eq!(swept.wrong_rows, 0, "{name} read wrong rows: {swept:?}");
    assert_eq!(
        swept.in_transaction, 0,
        "{name} left connections in a transaction: {swept:?}"
    );
}

/// The `application_name` of one test's pool: the test's name and this process's id, so
/// that runs on one server (`DATABASE_URL`) never count each other's backends.
fn application(test: &str) -> String {
    format!("{test}-{}", std::process::id())
}

/// The test database's URL with `application_name` set (TLS as the URL says).
fn named(db: &TestDb, application: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(db.url())?;
    url.query_pairs_mut()
        .append_pair("application_name", application);
    Ok(url.into())
}

/// A plain sqlx pool of one connection (sqlx's defaults: a ping before each acquire).
async fn plain_pool(db: &TestDb, application: &str) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(&named(db, application)?)?;
    Ok(PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?)
}

/// A smart pool of one connection: every user shares the connection a cut left behind.
async fn smart_pool(db: &TestDb, application: &str, pooler: Pooler) -> anyhow::Result<PgPool> {
    let config = PoolConfig {
        max_connections: 1,
        min_connections: 0,
        pooler,
        ..PoolConfig::default()
    };
    Ok(ormkit::create_smart_pool_with(&named(db, application)?, &config).await?)
}

/// Runs `entry` through [`sweep`] on `pool` and checks the outcome.
async fn sweep_and_check<F, Fut>(
    db: &TestDb,
    pool: &PgPool,
    application: &str,
    entry: F,
) -> anyhow::Result<()>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let tested = Tested {
        pool,
        admin: &db.pool,
        application,
    };
    let swept = sweep(&tested, entry).await?;
    check(application, &swept);
    Ok(())
}

/// A transaction that inserts `email` with `options`.
async fn insert_in_transaction(
    pool: &PgPool,
    options: TransactionOptions,
    email: String,
) -> anyhow::Result<bool> {
    ormkit::transaction_with(pool, options, |tx| {
        let email = email.clone();
        async move {
            Repository::<User>::new(&tx)
                .insert(NewUser::new(email))
                .await?;
            Ok::<_, OrmkitError>(())
        }
    })
    .await?;
    Ok(true)
}

#[tokio::test]
async fn an_empty_transaction_cut_while_beginning_never_swallows_the_next_write(
) -> anyhow::Result<()> {
    // The reproduction of sqlx's uncounted BEGIN: a plain sqlx pool of one connection.
    let db = TestDb::new().await?;
    let application = &application("cancel-empty-transaction");
    let pool = plain_pool(&db, application).await?;
    sweep_and_check(&db, &pool, application, |_| async {
        ormkit::transaction(&pool, |_tx| async { Ok::<_, OrmkitError>(()) }).await?;
        Ok(false)
    })
    .await
}

#[tokio::test]
async fn a_transaction_cut_anywhere_never_loses_a_write() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let application = &application("cancel-transaction");
    let pool = smart_pool(&db, application, Pooler::Direct).await?;
    sweep_and_check(&db, &pool, application, |email| {
        insert_in_transaction(&pool, TransactionOptions::default(), email)
    })
    .await
}

#[tokio::test]
async fn a_transaction_with_options_cut_anywhere_never_loses_a_write() -> anyhow::Result<()> {
    // Serializable, with SET LOCAL timeouts: more statements between BEGIN and COMMIT.
    let db = TestDb::new().await?;
    let application = &application("cancel-transaction-with");
    let pool = smart_pool(&db, application, Pooler::Direct).await?;
    let options = TransactionOptions {
        isolation: IsolationLevel::Serializable,
        statement_timeout: Some(Duration::from_secs(30)),
        lock_timeout: Some(Duration::from_secs(30)),
        ..TransactionOptions::default()
    };
    sweep_and_check(&db, &pool, application, |email| {
        insert_in_transaction(&pool, options, email)
    })
    .await
}

#[tokio::test]
async fn a_read_only_transaction_cut_anywhere_leaves_no_transaction_open() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let application = &application("cancel-read-only");
    let pool = smart_pool(&db, application, Pooler::Direct).await?;
    let options = TransactionOptions {
        read_only: true,
        ..TransactionOptions::default()
    };
    sweep_and_check(&db, &pool, application, |_| async {
        ormkit::transaction_with(&pool, options, |tx| async move {
            Repository::<User>::new(&tx).count().await
        })
        .await?;
        Ok(false)
    })
    .await
}

#[tokio::test]
async fn a_pinned_statement_cut_anywhere_never_loses_a_write() -> anyhow::Result<()> {
    // Told it runs behind a transaction-mode pooler that does not track prepared statements
    // (PostgreSQL itself does not name them PGBOUNCER_…), the smart pool pins every statement
    // in a transaction begun with `BEGIN; DEALLOCATE ALL`.
    let db = TestDb::new().await?;
    let application = &application("cancel-pinned");
    let pool = smart_pool(&db, application, Pooler::Transaction).await?;
    sweep_and_check(&db, &pool, application, |email| async {
        Repository::<User>::new(&pool)
            .insert(NewUser::new(email))
            .await?;
        Ok(true)
    })
    .await
}

#[tokio::test]
async fn a_lane_statement_cut_anywhere_never_loses_a_write() -> anyhow::Result<()> {
    // The smart pool's lane parks a connection between statements: a cut one is never parked.
    let db = TestDb::new().await?;
    let application = &application("cancel-lane");
    let pool = smart_pool(&db, application, Pooler::Direct).await?;
    let pool = &pool;
    sweep_and_check(&db, pool, application, |email| async move {
        let users = Repository::<User>::new(pool);
        let user = users.insert(NewUser::new(email.clone())).await?;
        anyhow::ensure!(users.get(user.id).await?.email == email, "read another row");
        Ok(true)
    })
    .await
}

#[tokio::test]
async fn an_atomic_bulk_write_cut_anywhere_never_loses_a_write() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let application = &application("cancel-bulk-atomic");
    let pool = smart_pool(&db, application, Pooler::Direct).await?;
    let pool = &pool;
    sweep_and_check(&db, pool, application, |email| async move {
        let rows = vec![
            NewUser::new(format!("bulk-{email}")),
            NewUser::new(email.clone()),
        ];
        ParallelExecutor::new(pool, 1)
            .chunk_size(1)
            .copy_chunk_size(1)
            .atomic(true)
            .bulk_insert::<User>(rows)
            .await?;
        Ok(true)
    })
    .await
}

#[tokio::test]
async fn a_cached_transaction_cut_anywhere_never_loses_a_write() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let application = &application("cancel-cache");
    let pool = smart_pool(&db, application, Pooler::Direct).await?;
    let cache = EntityCache::builder()
        .strategy(InvalidationStrategy::strong().heartbeat(None))
        .application_name("cancel-cache-listener")
        .entity::<User>()
        .build(&pool)
        .await?;
    sweep_and_check(&db, &pool, application, |email| {
        let cache = &cache;
        let pool = &pool;
        async move {
            cache
                .transaction(pool, |tx| {
                    let email = email.clone();
                    async move {
                        cache
                            .repository::<User>(&tx)
                            .insert(NewUser::new(email))
                            .await
                    }
                })
                .await?;
            Ok(true)
        }
    })
    .await
}

#[tokio::test]
async fn a_swallowed_statement_failure_is_never_acknowledged_as_a_commit() -> anyhow::Result<()> {
    // PostgreSQL aborts a transaction whose statement failed and answers its COMMIT with a
    // rollback: a closure that ignores the failure and returns Ok must not hear "committed".
    let db = TestDb::new().await?;
    let (kept, duplicate) = (email("kept"), email("dup"));
    let users = Repository::<User>::new(&db.pool);
    users.insert(NewUser::new(duplicate.clone())).await?;
    let outcome = ormkit::transaction(&db.pool, |tx| {
        let (kept, duplicate) = (kept.clone(), duplicate.clone());
        async move {
            let users = Repository::<User>::new(&tx);
            users.insert(NewUser::new(kept)).await?;
            let refused = users.insert(NewUser::new(duplicate)).await;
            assert!(refused.is_err(), "the email is taken");
            Ok::<_, OrmkitError>(())
        }
    })
    .await;
    let err = outcome.expect_err("nothing was committed");
    assert!(err.to_string().contains("rolled back"), "{err}");
    assert!(!visible(&db.pool, &kept).await?, "rolled back");
    // A failure undone by its savepoint does not stop the commit.
    let again = email("again");
    ormkit::transaction(&db.pool, |tx| {
        let (again, duplicate) = (again.clone(), duplicate.clone());
        async move {
            let nested = tx
                .transaction(|inner| async move {
                    Repository::<User>::new(&inner)
                        .insert(NewUser::new(duplicate))
                        .await
                })
                .await;
            assert!(nested.is_err(), "the email is taken");
            Repository::<User>::new(&tx)
                .insert(NewUser::new(again))
                .await?;
            Ok::<_, OrmkitError>(())
        }
    })
    .await?;
    assert!(visible(&db.pool, &again).await?, "committed");
    Ok(())
}

#[tokio::test]
async fn a_nested_transaction_cut_anywhere_is_never_half_committed() -> anyhow::Result<()> {
    // The closure goes on after its nested transaction was cut: whatever the nested one wrote
    // is neither kept nor undone, so the outer transaction must not commit.
    let db = TestDb::new().await?;
    let started = Instant::now();
    let (mut drops, mut completions) = (0, 0);
    let cuts = sweep_cuts();
    while drops < cuts {
        for k in 0.. {
            let (outer, inner) = (email("outer"), email("inner"));
            let outcome = ormkit::transaction(&db.pool, |tx| {
                let (outer, inner) = (outer.clone(), inner.clone());
                async move {
                    Repository::<User>::new(&tx)
                        .insert(NewUser::new(outer))
                        .await?;
                    let nested = tx.transaction(|nested| async move {
                        Repository::<User>::new(&nested)
                            .insert(NewUser::new(inner))
                            .await
                    });
                    let finished = DropAfter::new(nested, k).await.is_some();
                    Ok::<_, OrmkitError>(finished)
                }
            })
            .await;
            let (outer_seen, inner_seen) = (
                visible(&db.pool, &outer).await?,
                visible(&db.pool, &inner).await?,
            );
            match outcome {
                Ok(true) => {
                    assert!(outer_seen && inner_seen, "k = {k}: committed, both kept");
                    completions += 1;
                    break;
                }
                Ok(false) => panic!("k = {k}: committed although the nested one was cut"),
                Err(err) => {
                    assert!(err.to_string().contains("cancelled"), "k = {k}: {err}");
                    assert!(
                        !outer_seen && !inner_seen,
                        "k = {k}: rolled back, neither kept"
                    );
                    drops += 1;
                }
            }
        }
    }
    println!(
        "cancel sweep nested transaction: {drops} cuts, {completions} completions, {} ms",
        started.elapsed().as_millis()
    );
    Ok(())
}

#[tokio::test]
async fn a_read_cut_anywhere_never_hands_the_next_reader_a_wrong_row() -> anyhow::Result<()> {
    // Reads cut at every await point, many rows long (several network reads, so some cuts
    // fall between data rows): the next user of the connection reads its own rows.
    let db = TestDb::new().await?;
    let seeded: Vec<User> = Repository::<User>::new(&db.pool)
        .insert_many((0..200).map(|i| NewUser::new(format!("seed{i}@cancel.io"))))
        .await?;
    let application = &application("cancel-read");
    let pool = smart_pool(&db, application, Pooler::Direct).await?;
    let (pool, seeded) = (&pool, &seeded);
    sweep_and_check(&db, pool, application, |_| async move {
        let users = Repository::<User>::new(pool);
        let seeds = User::query()
            .filter(users::EMAIL.like("seed%"))
            .order_by(users::ID.asc())
            .fetch_all(pool)
            .await?;
        anyhow::ensure!(
            seeds.iter().map(|u| u.id).eq(seeded.iter().map(|u| u.id)),
            "read {} rows, not the {} seeded ones in order",
            seeds.len(),
            seeded.len()
        );
        let first = users.get(seeded[0].id).await?;
        anyhow::ensure!(first.email == seeded[0].email, "read another row");
        Ok(false)
    })
    .await
}
