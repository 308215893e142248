//! Losing the listener: a killed connection (`pg_terminate_backend`) and one that stops
//! answering without closing (its backend stopped with SIGSTOP, as in a network partition,
//! noticed by the heartbeat). Either way the instance flushes, reads from the database until
//! it has re-subscribed, then serves fresh rows from the cache again.

use super::support::*;
use ormkit::cache::{EntityCache, InvalidationStrategy};
use ormkit::count_statements;
use ormkit::sqlx::{Connection as _, PgPool};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use std::process::Command;
use std::time::Duration;

/// Sends SIGCONT to a stopped backend when dropped, whatever happened in between.
struct Resume(i32);

impl Drop for Resume {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.0.to_string()])
            .status();
    }
}

/// Whether `pid` is a PostgreSQL process on this machine that we may signal.
fn local_postgres(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "postgres")
}

#[tokio::test]
async fn the_heartbeat_notices_a_listener_that_stopped_answering() -> anyhow::Result<()> {
    // A cluster of its own: while a backend is stopped, every `DROP DATABASE` on its server
    // waits for it, which would stall the other tests sharing DATABASE_URL's server.
    let db = TestDb::on_own_cluster().await?;
    let pool_b = second_pool(&db).await?;
    let cache_a = strong_cache(&db.pool, "ormkit_it_silent_a").await?;
    let strategy = InvalidationStrategy::strong()
        .heartbeat(Some(Duration::from_millis(100)))
        .timeout(Duration::from_millis(500));
    let cache_b = EntityCache::builder()
        .strategy(strategy)
        .application_name("ormkit_it_silent_b")
        .entity::<User>()
        .build(&pool_b)
        .await?;
    let ada = seed(&db.pool, 1).await?.remove(0);
    let users_a = cache_a.repository::<User>(&db.pool);
    let users_b = cache_b.repository::<User>(&pool_b);
    assert_eq!(users_b.get(ada.id).await?.karma, Some(1));

    let (pid, local): (i32, bool) = ormkit::sqlx::query_as(
        "SELECT pid, coalesce(inet_server_addr() <<= '127.0.0.0/8' OR inet_server_addr() = '::1', \
         true) FROM pg_stat_activity WHERE application_name = 'ormkit_it_silent_b'",
    )
    .fetch_one(&db.pool)
    .await?;
    let stopped = local
        && local_postgres(pid)
        && Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
    if !stopped {
        eprintln!("skipped: cannot stop the listener's backend {pid} (remote server or no rights)");
        return Ok(());
    }
    let _resume = Resume(pid);

    // B's listener cannot hear this write; its heartbeat will miss its barrier instead.
    users_a.update(karma(ada.id, 2)).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while cache_b.stats().disconnects == 0 {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "not noticed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_live(&cache_b, true).await?;
    assert_eq!(users_b.get(ada.id).await?.karma, Some(2), "flushed");

    // The new subscription is a new backend, and it hears writes.
    let (listeners,): (i64,) = ormkit::sqlx::query_as(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE application_name = 'ormkit_it_silent_b' AND pid <> $1",
    )
    .bind(pid)
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(listeners, 1);
    users_a.update(karma(ada.id, 3)).await?;
    cache_b.sync().await?;
    assert_eq!(users_b.get(ada.id).await?.karma, Some(3));
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
    // Administer from another database of the server: a database cannot refuse connections
    // from a session of its own (a throwaway cluster's test database is `postgres`).
    let other = if database == "postgres" {
        "template1"
    } else {
        "postgres"
    };
    let server = (*db.pool.connect_options()).clone().database(other);
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
