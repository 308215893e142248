//! Faults: connections cut mid-transaction, mid-COPY and during COMMIT, a statement that
//! waits too long, a restarted server, and bulk failures that must leave the pool healthy and
//! say exactly what was written. Traffic goes through `ormkit_tests::fault::FaultProxy`, on
//! loopback only.

use ormkit::sqlx::PgPool;
use ormkit::{
    transaction_with, ErrorCategory, OrmkitError, ParallelExecutor, PoolConfig, Repository,
    RetryPolicy, TransactionOptions,
};
use ormkit_tests::entities::*;
use ormkit_tests::fault::FaultProxy;
use ormkit_tests::support::TestDb;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A smart pool through `proxy`.
async fn pool_through(proxy: &FaultProxy, max: u32) -> anyhow::Result<PgPool> {
    let config = PoolConfig {
        max_connections: max,
        min_connections: 0,
        acquire_timeout: Duration::from_secs(10),
        ..PoolConfig::default()
    };
    Ok(ormkit::create_smart_pool_with(proxy.url(), &config).await?)
}

/// Unrelated statements on `pool` all succeed: no connection left mid-protocol.
async fn assert_healthy(pool: &PgPool, rounds: usize) -> anyhow::Result<()> {
    let users = Repository::<User>::new(pool);
    for i in 0..rounds {
        let user = users
            .insert(NewUser::new(format!("healthy{i}-{}@x.io", rand_suffix())))
            .await?;
        assert_eq!(users.get(user.id).await?, user);
        assert!(users.delete(user.id).await?);
    }
    Ok(())
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[tokio::test]
async fn a_connection_cut_mid_transaction_writes_nothing_and_is_retryable() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = FaultProxy::start(db.url()).await?;
    let pool = pool_through(&proxy, 2).await?;
    let proxy = Arc::new(proxy);
    let cut = Arc::clone(&proxy);
    let err = transaction_with(&pool, TransactionOptions::default(), move |tx| {
        let cut = Arc::clone(&cut);
        async move {
            Repository::<User>::new(&tx)
                .insert(NewUser::new("half@x.io".into()))
                .await?;
            cut.cut_all();
            Repository::<User>::new(&tx)
                .insert(NewUser::new("other@x.io".into()))
                .await
        }
    })
    .await
    .unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Connection, "{err}");
    assert!(err.is_retryable(), "nothing committed: {err}");
    assert_eq!(Repository::<User>::new(&db.pool).count().await?, 0);
    assert_healthy(&pool, 3).await?;
    Ok(())
}

#[tokio::test]
async fn a_connection_cut_during_commit_is_an_unknown_outcome_never_retried() -> anyhow::Result<()>
{
    let db = TestDb::new().await?;
    let proxy = FaultProxy::start(db.url()).await?;
    let pool = pool_through(&proxy, 2).await?;
    // The server receives COMMIT and commits; the client never hears back.
    proxy.cut_after_client_sends(b"COMMIT");
    let attempts = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&attempts);
    let options = TransactionOptions {
        retry: RetryPolicy::attempts(5),
        ..TransactionOptions::default()
    };
    let err = transaction_with(&pool, options, move |tx| {
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Repository::<User>::new(&tx)
                .insert(NewUser::new("maybe@x.io".into()))
                .await
        }
    })
    .await
    .unwrap_err();
    assert_eq!(proxy.pattern_cuts(), 1);
    assert!(matches!(err, OrmkitError::Transaction { .. }), "{err}");
    assert!(err.to_string().contains("unknown"), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "never run again");
    // It did commit: exactly why it must not be retried.
    assert_eq!(Repository::<User>::new(&db.pool).count().await?, 1);
    assert_healthy(&pool, 3).await?;
    Ok(())
}

#[tokio::test]
async fn a_connection_cut_mid_copy_writes_nothing_of_the_chunk_and_the_pool_stays_healthy(
) -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = FaultProxy::start(db.url()).await?;
    let pool = pool_through(&proxy, 4).await?;
    // The binary COPY header opens the data of the first chunk to be sent.
    proxy.cut_when_client_sends(b"PGCOPY\n");
    let rows: Vec<NewAuditLog> = (0..40_000)
        .map(|i| NewAuditLog::new(format!("line {i}")))
        .collect();
    let err = ParallelExecutor::new(&pool, 1)
        .copy_chunk_size(10_000)
        .bulk_insert::<AuditLog>(rows)
        .await
        .unwrap_err();
    let OrmkitError::Bulk(bulk) = &err else {
        panic!("{err}");
    };
    assert_eq!(bulk.failed(), 0..10_000, "{err}");
    assert_eq!(bulk.source().category(), ErrorCategory::Connection, "{err}");
    assert!(bulk.committed().is_empty(), "{err}");
    assert_eq!(bulk.not_attempted().len(), 1, "{err}");
    assert_eq!(bulk.not_attempted()[0], 10_000..40_000, "{err}");
    assert_eq!(Repository::<AuditLog>::new(&db.pool).count().await?, 0);
    assert_healthy(&pool, 5).await?;
    Ok(())
}

/// The poisoning of issue 11: a CHECK violation in one COPY chunk while others stream. Every
/// run, the error keeps the database's error and names the row, the report says exactly
/// what was committed, and the pool serves unrelated statements afterwards.
#[ormkit::test]
async fn a_failing_copy_chunk_never_poisons_the_pool(pool: PgPool) -> anyhow::Result<()> {
    for run in 0..8 {
        let mut rows: Vec<NewUser> = (0..4_000)
            .map(|i| NewUser::new(format!("r{run}u{i}@x.io")))
            .collect();
        // email_address requires an '@': row 2345 violates the domain's CHECK.
        rows[2345].email = format!("r{run}-broken");
        let before = Repository::<User>::new(&pool).count().await?;
        let err = ParallelExecutor::new(&pool, 4)
            .copy_chunk_size(500)
            .bulk_insert::<User>(rows)
            .await
            .unwrap_err();
        let OrmkitError::Bulk(bulk) = &err else {
            panic!("{err}");
        };
        assert_eq!(bulk.failed(), 2000..2500, "{err}");
        assert_eq!(
            bulk.row(),
            Some(2345),
            "COPY's line, mapped to the input: {err}"
        );
        assert_eq!(err.sqlstate().as_deref(), Some("23514"), "{err}");
        assert_eq!(err.category(), ErrorCategory::Constraint);
        assert!(err.to_string().contains("email_address_check"), "{err}");
        let committed: usize = bulk.committed().iter().map(|r| r.len()).sum();
        let after = Repository::<User>::new(&pool).count().await?;
        assert_eq!(
            after - before,
            committed as i64,
            "exactly the reported rows: {err}"
        );
        for range in bulk.committed().iter().chain(bulk.not_attempted()) {
            assert!(range.end <= 2000 || range.start >= 2500, "{err}");
        }
        assert_healthy(&pool, 4).await?;
    }
    Ok(())
}

#[ormkit::test]
async fn atomic_bulk_writes_are_all_or_nothing(pool: PgPool) -> anyhow::Result<()> {
    let mut rows: Vec<NewUser> = (0..3_000)
        .map(|i| NewUser::new(format!("a{i}@x.io")))
        .collect();
    rows[2500].email = "broken".into();
    let exec = ParallelExecutor::new(&pool, 4)
        .copy_chunk_size(1_000)
        .atomic(true);
    let err = exec.bulk_insert::<User>(rows.clone()).await.unwrap_err();
    let OrmkitError::Bulk(bulk) = &err else {
        panic!("{err}");
    };
    assert!(bulk.committed().is_empty(), "{err}");
    assert_eq!(bulk.failed(), 2000..3000);
    assert_eq!(bulk.row(), Some(2500));
    assert_eq!(Repository::<User>::new(&pool).count().await?, 0);
    // The same through unnest: all or nothing, and nothing retried behind the caller's back.
    let err = exec
        .clone()
        .chunk_size(1_000)
        .bulk_insert_returning::<User>(rows)
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate().as_deref(), Some("23514"), "{err}");
    assert_eq!(Repository::<User>::new(&pool).count().await?, 0);
    let fine: Vec<NewUser> = (0..3_000)
        .map(|i| NewUser::new(format!("b{i}@x.io")))
        .collect();
    assert_eq!(exec.bulk_insert::<User>(fine).await?, 3_000);
    Ok(())
}

#[ormkit::test]
async fn a_statement_waiting_past_its_timeout_fails_and_says_so(
    pool: PgPool,
) -> anyhow::Result<()> {
    let user = Repository::<User>::new(&pool)
        .insert(NewUser::new("locked@x.io".into()))
        .await?;
    // Another session holds the row.
    let mut holder = pool.begin().await?;
    ormkit::sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user.id)
        .execute(&mut *holder)
        .await?;
    for (options, sqlstate) in [
        (
            TransactionOptions {
                statement_timeout: Some(Duration::from_millis(300)),
                ..TransactionOptions::default()
            },
            "57014",
        ),
        (
            TransactionOptions {
                lock_timeout: Some(Duration::from_millis(300)),
                ..TransactionOptions::default()
            },
            "55P03",
        ),
    ] {
        let err = transaction_with(&pool, options, |tx| async move {
            let mut patch = UserPatch::new(user.id);
            patch.karma = Some(Some(5));
            Repository::<User>::new(&tx).update(patch).await
        })
        .await
        .unwrap_err();
        assert_eq!(err.sqlstate().as_deref(), Some(sqlstate), "{err}");
        assert_eq!(err.category(), ErrorCategory::Timeout, "{err}");
    }
    holder.rollback().await?;
    Ok(())
}

/// A restart (or failover) of the server: only what was in flight fails; every call
/// started once the server is back succeeds, reads and writes, on a pool full of
/// connections to the old server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_calls_that_start_later_succeed() -> anyhow::Result<()> {
    let mut db = TestDb::on_own_cluster().await?;
    let config = PoolConfig {
        max_connections: 10,
        min_connections: 10,
        ..PoolConfig::default()
    };
    let pool = ormkit::create_smart_pool_with(db.url(), &config).await?;
    let users = Repository::<User>::new(&pool);
    let ada = users.insert(NewUser::new("ada@x.io".into())).await?;
    // Every connection of the pool in use once, then idle: all will be stale.
    let warm = futures::future::join_all((0..10).map(|_| users.get(ada.id))).await;
    assert!(warm.iter().all(Result::is_ok));

    db.restart(Duration::from_millis(300))?;

    let mut failures = Vec::new();
    for i in 0..30 {
        // A write first: it must not meet a connection to the old server either.
        let outcome = if i % 2 == 1 {
            users.get(ada.id).await.map(drop)
        } else {
            users
                .insert(NewUser::new(format!("after{i}@x.io")))
                .await
                .map(drop)
        };
        if let Err(err) = outcome {
            failures.push(err.to_string());
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(users.count().await?, 16);
    Ok(())
}

/// With connections that are never checked before use, a read meeting a connection to the
/// old server is sent once more on another (reads have no side effects); the failure it saw
/// makes the pool check every connection released before it, so the writes that follow
/// succeed too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_meeting_a_dead_connection_is_sent_again_once() -> anyhow::Result<()> {
    let mut db = TestDb::on_own_cluster().await?;
    let config = PoolConfig {
        max_connections: 4,
        min_connections: 4,
        check_idle_after: Duration::from_secs(3600),
        ..PoolConfig::default()
    };
    let pool = ormkit::create_smart_pool_with(db.url(), &config).await?;
    let users = Repository::<User>::new(&pool);
    let ada = users.insert(NewUser::new("ada@x.io".into())).await?;
    let warm = futures::future::join_all((0..4).map(|_| users.get(ada.id))).await;
    assert!(warm.iter().all(Result::is_ok));

    db.restart(Duration::from_millis(100))?;

    let (read, statements) = ormkit::count_statements(users.get(ada.id)).await;
    assert_eq!(read?, ada);
    assert_eq!(statements, 2, "the failed send and the one that succeeded");
    for i in 0..8 {
        users.insert(NewUser::new(format!("later{i}@x.io"))).await?;
    }
    assert_eq!(users.count().await?, 9);
    Ok(())
}
