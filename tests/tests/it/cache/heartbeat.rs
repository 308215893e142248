//! A listener whose connection stops answering without closing (its server backend stopped
//! with SIGSTOP, as in a network partition): the heartbeat notices, the instance flushes,
//! re-subscribes on a new connection, and serves fresh rows again.

use super::support::*;
use ormkit::cache::{EntityCache, InvalidationStrategy};
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
    let db = TestDb::new().await?;
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
