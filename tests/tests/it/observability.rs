//! A tracing span per statement (no parameter values) and the metrics snapshot.

use ormkit::sqlx::PgPool;
use ormkit::Repository;
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every span closed on this thread, as text, until the guard is dropped.
fn capture_spans() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (captured, crate::span_capture::set_default(subscriber))
}

#[ormkit::test]
async fn each_statement_gets_a_span_without_parameter_values(pool: PgPool) -> anyhow::Result<()> {
    let (captured, _guard) = capture_spans();

    let secret = "secret-address@example.com";
    let user = Repository::<User>::new(&pool)
        .insert(NewUser::new(secret.into()))
        .await?;
    let found = User::query()
        .filter(users::EMAIL.eq(secret))
        .fetch_all(&pool)
        .await?;
    assert_eq!(found, vec![user]);
    let _ = User::query()
        .filter(users::EMAIL.eq("x"))
        .fetch_one(&pool)
        .await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone())?;
    // One line per closed `ormkit.query` span, with its recorded fields.
    let spans: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ormkit.query{") && l.contains(": close"))
        .collect();
    assert!(spans.len() >= 3, "{text}");
    assert!(
        spans.iter().any(|l| l.contains("op=\"insert\"")
            && l.contains("table=\"users\"")
            && l.contains("rows=1")),
        "{text}"
    );
    assert!(
        spans
            .iter()
            .any(|l| l.contains("op=\"select\"") && l.contains("rows=1")),
        "{text}"
    );
    assert!(spans.iter().all(|l| l.contains("duration_us=")), "{text}");
    assert!(
        !text.contains(secret),
        "parameter values never reach the logs:\n{text}"
    );
    Ok(())
}

#[ormkit::test]
async fn the_snapshot_counts_statements_latency_and_errors(pool: PgPool) -> anyhow::Result<()> {
    let before = ormkit::metrics::snapshot();
    for i in 0..20 {
        Repository::<User>::new(&pool)
            .insert(NewUser::new(format!("m{i}@x.io")))
            .await?;
    }
    let _ = Repository::<User>::new(&pool)
        .insert(NewUser::new("m0@x.io".into()))
        .await
        .unwrap_err();
    let after = ormkit::metrics::snapshot();
    assert!(after.queries >= before.queries + 21);
    assert!(after.errors > before.errors);
    assert!(after.p50 > std::time::Duration::ZERO);
    assert!(after.p50 <= after.p95 && after.p95 <= after.p99);
    let pool = ormkit::metrics::pool_stats(&pool);
    assert!(pool.size >= 1 && pool.idle <= pool.size as usize);
    Ok(())
}

/// The `metrics` facade, through a recorder local to this test's thread: statement
/// latency, the pool's waiting gauge, cache events and migration durations.
#[tokio::test]
async fn the_metrics_facade_sees_statements_pool_waits_cache_events_and_migrations(
) -> anyhow::Result<()> {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use ormkit::{EntityCache, InvalidationStrategy, Migrator};
    use std::time::Duration;

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let db = TestDb::new().await?;
    let before = ormkit::metrics::snapshot();

    // Cache reads: one miss, then two hits.
    let cache = EntityCache::builder()
        .strategy(InvalidationStrategy::eventual(Duration::from_secs(60)))
        .entity::<User>()
        .build(&db.pool)
        .await?;
    let users = cache.repository::<User>(&db.pool);
    let ada = Repository::<User>::new(&db.pool)
        .insert(NewUser::new("facade@x.io".into()))
        .await?;
    for _ in 0..3 {
        assert_eq!(users.find_by_id(ada.id).await?, Some(ada.clone()));
    }

    // A statement waiting for the only connection of a pool is counted while it waits.
    let small = ormkit::sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(db.url())
        .await?;
    let held = small.acquire().await?;
    let waiter = {
        let small = small.clone();
        tokio::spawn(async move { Repository::<User>::new(&small).find_by_id(ada.id).await })
    };
    let mut waiting = 0;
    for _ in 0..500 {
        waiting = ormkit::metrics::pool_stats(&small).waiting;
        if waiting >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(waiting >= 1, "the blocked statement is counted as waiting");
    drop(held);
    assert!(waiter.await??.is_some());

    // A migration, applied and reverted.
    let dir = tempfile::tempdir()?;
    let step = dir.path().join("20260101000000_probe");
    std::fs::create_dir(&step)?;
    std::fs::write(step.join("up.sql"), "CREATE TABLE facade_probe (id int);")?;
    std::fs::write(step.join("down.sql"), "DROP TABLE facade_probe;")?;
    let migrator = Migrator::from_dir(&db.pool, dir.path())?;
    migrator.migrate_up().await?;
    migrator.migrate_down().await?;

    let after = ormkit::metrics::snapshot();
    assert!(after.cache_hits >= before.cache_hits + 2);
    assert!(after.cache_misses > before.cache_misses);
    assert!(after.cache_hit_rate() > 0.0);
    assert!(after.migrations_applied > before.migrations_applied);
    assert!(after.migrations_reverted > before.migrations_reverted);

    // This thread's recorder saw exactly this test's events.
    let recorded = snapshotter.snapshot().into_vec();
    let find = |name: &str, labels: &[(&str, &str)]| {
        recorded
            .iter()
            .find(|(key, ..)| {
                let key = key.key();
                key.name() == name
                    && labels
                        .iter()
                        .all(|(k, v)| key.labels().any(|l| l.key() == *k && l.value() == *v))
            })
            .map(|(.., value)| value)
    };
    let counter = |name, labels| match find(name, labels) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{name} {labels:?}: {other:?}"),
    };
    assert_eq!(
        counter(
            "ormkit_cache_events_total",
            &[("cache", "entity"), ("event", "hit")]
        ),
        2
    );
    assert_eq!(
        counter(
            "ormkit_cache_events_total",
            &[("cache", "entity"), ("event", "miss")]
        ),
        1
    );
    assert_eq!(
        counter("ormkit_migrations_total", &[("direction", "up")]),
        1
    );
    assert_eq!(
        counter("ormkit_migrations_total", &[("direction", "down")]),
        1
    );
    assert!(
        counter(
            "ormkit_queries_total",
            &[("table", "users"), ("op", "insert")]
        ) >= 1
    );
    match find("ormkit_migration_duration_seconds", &[("direction", "up")]) {
        Some(DebugValue::Histogram(samples)) => assert_eq!(samples.len(), 1),
        other => panic!("migration duration: {other:?}"),
    }
    match find(
        "ormkit_query_duration_seconds",
        &[("table", "users"), ("op", "select")],
    ) {
        Some(DebugValue::Histogram(samples)) => assert!(!samples.is_empty()),
        other => panic!("query duration: {other:?}"),
    }
    match find("ormkit_pool_waiting", &[]) {
        Some(DebugValue::Gauge(_)) => {}
        other => panic!("pool waiting: {other:?}"),
    }
    Ok(())
}

/// Bulk statements run through the same executor as every other: a COPY and an unnest
/// insert each get their span (with the rows they wrote) and their metrics.
#[tokio::test]
async fn bulk_copy_and_unnest_inserts_get_spans_and_metrics() -> anyhow::Result<()> {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let (captured, _guard) = capture_spans();

    let db = TestDb::new().await?;
    let exec = ormkit::ParallelExecutor::new(&db.pool, 1);
    let logs = (0..250)
        .map(|i| NewAuditLog::new(format!("line {i}")))
        .collect();
    assert_eq!(exec.bulk_insert::<AuditLog>(logs).await?, 250);
    let users = (0..40)
        .map(|i| NewUser::new(format!("bulk{i}@x.io")))
        .collect();
    assert_eq!(exec.bulk_insert_returning::<User>(users).await?.len(), 40);

    let text = String::from_utf8(captured.0.lock().unwrap().clone())?;
    let spans: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ormkit.query{") && l.contains(": close"))
        .collect();
    assert!(
        spans.iter().any(|l| l.contains("op=\"copy\"")
            && l.contains("table=\"audit_log\"")
            && l.contains("rows=250")),
        "{text}"
    );
    assert!(
        spans.iter().any(|l| l.contains("op=\"insert\"")
            && l.contains("table=\"users\"")
            && l.contains("rows=40")),
        "{text}"
    );
    let recorded = snapshotter.snapshot().into_vec();
    let count = |table: &str, op: &str| {
        recorded.iter().find_map(|(key, .., value)| {
            let key = key.key();
            let labels: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
            (key.name() == "ormkit_queries_total"
                && labels.contains(&("table", table))
                && labels.contains(&("op", op)))
            .then_some(match value {
                DebugValue::Counter(n) => *n,
                _ => 0,
            })
        })
    };
    assert_eq!(count("audit_log", "copy"), Some(1), "one COPY statement");
    assert_eq!(count("users", "insert"), Some(1), "one unnest statement");
    Ok(())
}
