//! The smart pool's lane: ormkit's statements keep a cleanly finished connection checked out
//! for the next one (no release round trip), and give it back to sqlx whenever sqlx needs it:
//! a raw `acquire` on a full pool, idle time, a failed or cancelled statement, closing.

use ormkit::metrics::pool_stats;
use ormkit::sqlx::PgPool;
use ormkit::{ErrorCategory, PoolConfig, Repository};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use std::time::Duration;

async fn smart_pool(db: &TestDb, max: u32, check_idle_after: Duration) -> anyhow::Result<PgPool> {
    let config = PoolConfig {
        max_connections: max,
        min_connections: 0,
        acquire_timeout: Duration::from_secs(10),
        check_idle_after,
        ..PoolConfig::default()
    };
    Ok(ormkit::create_smart_pool_with(db.url(), &config).await?)
}

/// Waits (at most 10 s, polling) until `done` holds for `pool`'s stats.
async fn until(
    pool: &PgPool,
    what: &str,
    done: impl Fn(ormkit::metrics::PoolStats) -> bool,
) -> anyhow::Result<()> {
    for _ in 0..1000 {
        if done(pool_stats(pool)) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    anyhow::bail!("after 10 s still not {what}: {:?}", pool_stats(pool))
}

#[tokio::test]
async fn statements_run_one_after_another_on_one_parked_connection() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = smart_pool(&db, 4, Duration::from_secs(60)).await?;
    let users = Repository::<User>::new(&pool);
    let ada = users.insert(NewUser::new("ada@x.io".into())).await?;
    for _ in 0..20 {
        assert_eq!(users.get(ada.id).await?, ada);
        assert_eq!(users.count().await?, 1);
    }
    // One connection served all 41 statements and never went back through sqlx's release
    // (which would have made it idle in the sqlx pool).
    assert_eq!(pool.size(), 1);
    assert_eq!(pool.num_idle(), 0, "sqlx never got it back");
    let stats = pool_stats(&pool);
    assert_eq!((stats.parked, stats.idle), (1, 1));
    // Raw sqlx on the same pool works beside it, on a connection of its own.
    let n: i64 = ormkit::sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await?;
    assert_eq!(n, 1);
    assert_eq!(pool_stats(&pool).parked, 1);
    Ok(())
}

#[tokio::test]
async fn a_raw_acquire_on_a_full_pool_gets_the_parked_connection() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = smart_pool(&db, 2, Duration::from_secs(60)).await?;
    let users = Repository::<User>::new(&pool);
    users.count().await?;
    assert_eq!(pool_stats(&pool).parked, 1);
    // Both of the pool's two connections, one of them parked: the lane gives it back
    // (within its 10 s acquire timeout, or this fails).
    let a = pool.acquire().await?;
    let b = pool.acquire().await?;
    assert_eq!(pool.size(), 2);
    assert_eq!(pool_stats(&pool).parked, 0);
    drop((a, b));
    // And ormkit's statements go on, parking again once sqlx has taken both back (until
    // then the pool has no connection to spare, and a finished statement's goes to sqlx).
    for _ in 0..1000 {
        assert_eq!(users.count().await?, 0);
        if pool_stats(&pool).parked == 1 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    anyhow::bail!("never parked again: {:?}", pool_stats(&pool))
}

#[tokio::test]
async fn a_connection_idle_past_the_check_goes_back_to_sqlx() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = smart_pool(&db, 4, Duration::from_millis(20)).await?;
    Repository::<User>::new(&pool).count().await?;
    until(&pool, "given back to sqlx", |s| {
        s.parked == 0 && s.idle == 1
    })
    .await?;
    assert_eq!(pool.num_idle(), 1);
    Ok(())
}

#[tokio::test]
async fn failed_and_cancelled_statements_never_park_their_connection() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = smart_pool(&db, 4, Duration::from_secs(60)).await?;
    let users = Repository::<User>::new(&pool);
    let ada = users.insert(NewUser::new("ada@x.io".into())).await?;
    assert_eq!(pool_stats(&pool).parked, 1);

    // A statement the server refused: its connection goes through sqlx's release check.
    let err = users
        .insert(NewUser::new("ada@x.io".into()))
        .await
        .unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Constraint, "{err}");
    assert_eq!(pool_stats(&pool).parked, 0);

    // A statement dropped while it waits for a row lock: its protocol state is unknown (and
    // so is its outcome: the server still runs it once the lock is free).
    users.count().await?;
    assert_eq!(pool_stats(&pool).parked, 1);
    let mut holder = db.pool.begin().await?;
    ormkit::sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(ada.id)
        .execute(&mut *holder)
        .await?;
    let waited = tokio::time::timeout(
        Duration::from_millis(200),
        users.update(UserPatch::new(ada.id).karma(Some(1))),
    )
    .await;
    assert!(waited.is_err(), "the update waited for the lock");
    assert_eq!(pool_stats(&pool).parked, 0);
    holder.rollback().await?;

    // Nothing left half-done on any connection: every statement after succeeds.
    for i in 0..8 {
        users.insert(NewUser::new(format!("after{i}@x.io"))).await?;
    }
    assert_eq!(users.count().await?, 9);
    Ok(())
}

#[tokio::test]
async fn closing_the_pool_takes_the_parked_connections_back() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool = smart_pool(&db, 4, Duration::from_secs(60)).await?;
    let users = Repository::<User>::new(&pool);
    users.count().await?;
    assert_eq!(pool_stats(&pool).parked, 1);
    tokio::time::timeout(Duration::from_secs(10), pool.close())
        .await
        .map_err(|_| anyhow::anyhow!("close still waits after 10 s: {:?}", pool_stats(&pool)))?;
    assert_eq!(pool.size(), 0);
    let err = users.count().await.unwrap_err();
    assert!(
        matches!(
            err,
            ormkit::OrmkitError::Database(ormkit::sqlx::Error::PoolClosed)
        ),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_dropped_pool_lets_its_parked_connection_go() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let name = "ormkit_it_lane_dropped";
    let sep = if db.url().contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}application_name={name}", db.url());
    let config = PoolConfig {
        min_connections: 0,
        ..PoolConfig::default()
    };
    let pool = ormkit::create_smart_pool_with(&url, &config).await?;
    Repository::<User>::new(&pool).count().await?;
    assert_eq!(pool_stats(&pool).parked, 1);
    drop(pool);
    // The lane holds the pool while the connection is parked, and lets both go once it has
    // idled past `check_idle_after` (250 ms): the server sees the session end.
    for _ in 0..1000 {
        let open: i64 = ormkit::sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(name)
        .fetch_one(&db.pool)
        .await?;
        if open == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    anyhow::bail!("the dropped pool's connection is still open after 10 s")
}
