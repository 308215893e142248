//! Helpers of the cache tests: a second "application instance", caches, rows, patches.

use ormkit::cache::{EntityCache, InvalidationStrategy};
use ormkit::sqlx::postgres::{PgListener, PgPoolOptions};
use ormkit::sqlx::PgPool;
use ormkit::Repository;
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use std::time::Duration;

/// Another pool on the same database: what a second application instance would have.
pub(super) async fn second_pool(db: &TestDb) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(4)
        .connect_with((*db.pool.connect_options()).clone())
        .await?)
}

/// A strong cache of users (heartbeat off: tests that count flushes stay exact), whose
/// listener connection is named `name`.
pub(super) async fn strong_cache(pool: &PgPool, name: &str) -> anyhow::Result<EntityCache> {
    Ok(EntityCache::builder()
        .strategy(InvalidationStrategy::strong().heartbeat(None))
        .application_name(name)
        .entity::<User>()
        .build(pool)
        .await?)
}

/// An eventual cache of users.
pub(super) async fn eventual_cache(pool: &PgPool, ttl: Duration) -> anyhow::Result<EntityCache> {
    Ok(EntityCache::builder()
        .strategy(InvalidationStrategy::eventual(ttl))
        .entity::<User>()
        .build(pool)
        .await?)
}

/// `n` users with karma 1.
pub(super) async fn seed(pool: &PgPool, n: usize) -> anyhow::Result<Vec<User>> {
    let news = (0..n).map(|i| {
        let mut user = NewUser::new(format!("user{i}@x.io"));
        user.karma = Some(1);
        user
    });
    Ok(Repository::<User>::new(pool).insert_many(news).await?)
}

/// A patch setting karma.
pub(super) fn karma(id: UserId, value: i32) -> UserPatch {
    let mut patch = UserPatch::new(id);
    patch.karma = Some(Some(value));
    patch
}

/// The next payload on `listener` (heartbeat and `sync` barriers skipped), within 10 s.
pub(super) async fn next_payload(listener: &mut PgListener) -> anyhow::Result<String> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), listener.recv()).await??;
        if !next.payload().starts_with("s\t") {
            return Ok(next.payload().to_owned());
        }
    }
}

/// Waits (up to 20 s) until `cache.is_live()` is `live`.
pub(super) async fn wait_live(cache: &EntityCache, live: bool) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while cache.is_live() != live {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the cache did not become {}",
            if live { "live" } else { "not live" }
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// Runs `reads` while `users` is locked, releasing it once a statement waits for the lock:
/// the first load is then certainly still running when every other read arrives (on
/// loopback an unblocked load can finish before the next future is even polled).
pub(super) async fn while_users_locked<F: std::future::Future>(
    db: &TestDb,
    reads: F,
) -> anyhow::Result<F::Output> {
    use ormkit::sqlx::{query, query_scalar, Acquire as _};
    let mut locker = db.pool.acquire().await?;
    let mut tx = locker.begin().await?;
    query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let release = async {
        loop {
            let waiting: i64 = query_scalar(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND database = \
                 (SELECT oid FROM pg_database WHERE datname = current_database())",
            )
            .fetch_one(&db.pool)
            .await?;
            if waiting > 0 {
                return tx.rollback().await;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let (out, released) = tokio::join!(reads, release);
    released?;
    Ok(out)
}
