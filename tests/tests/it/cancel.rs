//! Cancellation: a future of ormkit's dropped at any await point never hands the pool's next
//! user a connection inside a transaction or in an unknown protocol state, and never makes a
//! later acknowledged write disappear.
//!
//! The harness is deterministic (no timers): [`DropAfter`] polls an entry point's future and
//! drops it at its k-th `Poll::Pending`, for k = 0, 1, 2, … until the future completes, and
//! that sweep runs again until every entry point has been cut at least [`DROPS`] times. After
//! every cut the same pool must commit a write that another connection (not the pool's)
//! sees, and every connection of the pool must be outside any transaction block, as the
//! server reports it (`pg_stat_activity` of the backends the pool holds).

use futures::future::BoxFuture;
use ormkit::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use ormkit::sqlx::PgPool;
use ormkit::{PoolConfig, Pooler, Repository, TransactionOptions};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

/// How many times each entry point is cut, at least.
const DROPS: usize = 2_000;
/// Connections in each test pool: one makes every user share the connection a cut left behind.
const POOL_SIZE: u32 = 1;

/// Polls a future and drops it, unfinished, when it returns `Poll::Pending` for the
/// `(k + 1)`-th time; `Some(output)` if it completed first.
struct DropAfter<F: Future> {
    future: Option<Pin<Box<F>>>,
    pendings_left: usize,
}

impl<F: Future> DropAfter<F> {
    fn new(future: F, k: usize) -> Self {
        DropAfter {
            future: Some(Box::pin(future)),
            pendings_left: k,
        }
    }
}

impl<F: Future> Future for DropAfter<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(future) = this.future.as_mut() else {
            return Poll::Ready(None);
        };
        match future.as_mut().poll(cx) {
            Poll::Ready(output) => {
                this.future = None;
                Poll::Ready(Some(output))
            }
            Poll::Pending if this.pendings_left == 0 => {
                // Dropped here, at the await point it is suspended on.
                this.future = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                this.pendings_left -= 1;
                Poll::Pending
            }
        }
    }
}

/// What one entry point's sweeps did.
#[derive(Debug, Default)]
struct Swept {
    drops: usize,
    completions: usize,
    lost_writes: usize,
    in_transaction: usize,
    /// Connections the pool opened (distinct backends seen): a cut that closes one costs one.
    backends: usize,
    millis: u128,
}

/// A unique email for one write.
fn email(what: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{what}{}@cancel.io", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// An entry point under test: one call makes one future of it, which writes `email` if it
/// writes at all: `Ok(true)` acknowledges that write.
type Entry = for<'p> fn(&'p PgPool, String) -> BoxFuture<'p, anyhow::Result<bool>>;

/// Whether `email` is committed, as a connection outside the tested pool sees it.
async fn visible(admin: &PgPool, email: &str) -> anyhow::Result<bool> {
    let n: i64 = ormkit::sqlx::query_scalar("SELECT count(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(admin)
        .await?;
    Ok(n == 1)
}

/// How many of `pool`'s connections the server reports inside a transaction block: every
/// connection is taken from the pool (so nothing of the pool runs meanwhile and whatever a
/// cut queued on it has been flushed), its backend named, and `pg_stat_activity` read from
/// `admin`.
async fn connections_in_transaction(
    pool: &PgPool,
    admin: &PgPool,
    backends: &mut HashSet<i32>,
) -> anyhow::Result<usize> {
    let mut held = Vec::new();
    let mut pids = Vec::new();
    for _ in 0..POOL_SIZE {
        let mut conn = pool.acquire().await?;
        let pid: i32 = ormkit::sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await?;
        pids.push(pid);
        backends.insert(pid);
        held.push(conn);
    }
    let n: i64 = ormkit::sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE pid = ANY($1) AND (state <> 'idle' OR xact_start IS NOT NULL)",
    )
    .bind(&pids)
    .fetch_one(admin)
    .await?;
    drop(held);
    Ok(n as usize)
}

/// Cuts `entry`'s future at every await point, again and again until it was cut [`DROPS`]
/// times; after every cut (and every completion) checks that a write through `pool` is
/// committed and that no connection of `pool` is left in a transaction.
async fn sweep(pool: &PgPool, admin: &PgPool, entry: Entry) -> anyhow::Result<Swept> {
    let started = Instant::now();
    let mut swept = Swept::default();
    let users = Repository::<User>::new(pool);
    let mut backends = HashSet::new();
    while swept.drops < DROPS {
        for k in 0.. {
            let written = email("entry");
            let outcome = DropAfter::new(entry(pool, written.clone()), k).await;
            let completed = outcome.is_some();
            if let Some(result) = outcome {
                let wrote = result?;
                swept.completions += 1;
                // An acknowledged write of the entry point itself is committed.
                if wrote && !visible(admin, &written).await? {
                    swept.lost_writes += 1;
                }
            } else {
                swept.drops += 1;
            }
            let after = email("after");
            users.insert(NewUser::new(after.clone())).await?;
            if !visible(admin, &after).await? {
                swept.lost_writes += 1;
            }
            swept.in_transaction += connections_in_transaction(pool, admin, &mut backends).await?;
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
    assert!(swept.drops >= DROPS, "{name}: {swept:?}");
    assert!(swept.completions > 0, "{name} never completed: {swept:?}");
    assert_eq!(swept.lost_writes, 0, "{name} lost writes: {swept:?}");
    assert_eq!(
        swept.in_transaction, 0,
        "{name} left connections in a transaction: {swept:?}"
    );
}

/// A plain sqlx pool of [`POOL_SIZE`] on the test database, its connections named so.
async fn plain_pool(db: &TestDb) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(db.url())?
        .application_name("ormkit-cancel")
        .ssl_mode(ormkit::sqlx::postgres::PgSslMode::Disable);
    Ok(PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .connect_with(options)
        .await?)
}

/// A smart pool of [`POOL_SIZE`] on the test database.
async fn smart_pool(db: &TestDb, pooler: Pooler) -> anyhow::Result<PgPool> {
    let config = PoolConfig {
        max_connections: POOL_SIZE,
        min_connections: 0,
        pooler,
        ..PoolConfig::default()
    };
    Ok(ormkit::create_smart_pool_with(db.url(), &config).await?)
}

fn in_transaction(pool: &PgPool, email: String) -> BoxFuture<'_, anyhow::Result<bool>> {
    Box::pin(async move {
        ormkit::transaction(pool, |tx| {
            let email = email.clone();
            async move {
                Repository::<User>::new(&tx)
                    .insert(NewUser::new(email))
                    .await?;
                Ok::<_, ormkit::OrmkitError>(())
            }
        })
        .await?;
        Ok(true)
    })
}

fn empty_transaction(pool: &PgPool, _email: String) -> BoxFuture<'_, anyhow::Result<bool>> {
    Box::pin(async move {
        ormkit::transaction(pool, |_tx| async { Ok::<_, ormkit::OrmkitError>(()) }).await?;
        Ok(false)
    })
}

#[tokio::test]
async fn a_transaction_cut_while_beginning_never_swallows_the_next_write() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = plain_pool(&db).await?;
    let swept = sweep(&pool, &db.pool, empty_transaction).await?;
    check("ormkit::transaction (empty)", &swept);
    Ok(())
}

#[tokio::test]
async fn a_transaction_cut_anywhere_never_loses_a_write() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = plain_pool(&db).await?;
    let swept = sweep(&pool, &db.pool, in_transaction).await?;
    check("ormkit::transaction (insert)", &swept);
    let _ = TransactionOptions::default();
    Ok(())
}
