//! A tracing span per statement (no parameter values) and the metrics snapshot.

use metrics_util::debugging::DebugValue;
use ormkit::sqlx::PgPool;
use ormkit::Repository;
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// What a `metrics` recorder local to one test's thread saw: that test's events only.
struct Recorded(Vec<RecordedEntry>);

type RecordedEntry = (
    metrics_util::CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    metrics_util::debugging::DebugValue,
);

impl Recorded {
    /// Records what `work` does on this thread.
    async fn during<F: std::future::Future<Output = anyhow::Result<()>>>(
        work: impl FnOnce() -> F,
    ) -> anyhow::Result<Recorded> {
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _local = metrics::set_default_local_recorder(&recorder);
        work().await?;
        Ok(Recorded(snapshotter.snapshot().into_vec()))
    }

    /// The value of metric `name` carrying every label of `labels`.
    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        self.0
            .iter()
            .find(|(key, ..)| {
                let key = key.key();
                key.name() == name
                    && labels
                        .iter()
                        .all(|(k, v)| key.labels().any(|l| l.key() == *k && l.value() == *v))
            })
            .map(|(.., value)| value)
    }

    /// Counter `name` with `labels`; panics naming it when there is none.
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.find(name, labels) {
            Some(DebugValue::Counter(n)) => *n,
            other => panic!("{name} {labels:?}: {other:?}"),
        }
    }

    /// How many samples histogram `name` with `labels` holds; panics when there is none.
    fn samples(&self, name: &str, labels: &[(&str, &str)]) -> usize {
        match self.find(name, labels) {
            Some(DebugValue::Histogram(samples)) => samples.len(),
            other => panic!("{name} {labels:?}: {other:?}"),
        }
    }
}

/// The entity cache counts a miss, then hits, in the `metrics` facade and the snapshot.
#[tokio::test]
async fn cache_reads_are_counted_as_hits_and_misses() -> anyhow::Result<()> {
    use ormkit::{EntityCache, InvalidationStrategy};

    let db = TestDb::new().await?;
    let before = ormkit::metrics::snapshot();
    let recorded = Recorded::during(|| async {
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
        Ok(())
    })
    .await?;
    let entity = |event| [("cache", "entity"), ("event", event)];
    assert_eq!(
        recorded.counter("ormkit_cache_events_total", &entity("hit")),
        2
    );
    assert_eq!(
        recorded.counter("ormkit_cache_events_total", &entity("miss")),
        1
    );
    let after = ormkit::metrics::snapshot();
    assert!(after.cache_hits >= before.cache_hits + 2);
    assert!(after.cache_misses > before.cache_misses);
    assert!(after.cache_hit_rate() > 0.0);
    Ok(())
}

/// A statement waiting for the only connection of a pool is counted while it waits.
#[tokio::test]
async fn a_statement_waiting_for_a_connection_is_counted_as_waiting() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let recorded = Recorded::during(|| async {
        let small = ormkit::sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(db.url())
            .await?;
        let held = small.acquire().await?;
        let waiter = {
            let small = small.clone();
            tokio::spawn(async move { Repository::<User>::new(&small).count().await })
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
        waiter.await??;
        Ok(())
    })
    .await?;
    match recorded.find("ormkit_pool_waiting", &[]) {
        Some(DebugValue::Gauge(_)) => Ok(()),
        other => panic!("pool waiting: {other:?}"),
    }
}

/// A migration applied and reverted: one count and one duration per direction.
#[tokio::test]
async fn migrations_are_counted_and_timed_per_direction() -> anyhow::Result<()> {
    use ormkit::Migrator;

    let db = TestDb::new().await?;
    let before = ormkit::metrics::snapshot();
    let recorded = Recorded::during(|| async {
        let dir = tempfile::tempdir()?;
        let step = dir.path().join("20260101000000_probe");
        std::fs::create_dir(&step)?;
        std::fs::write(step.join("up.sql"), "CREATE TABLE facade_probe (id int);")?;
        std::fs::write(step.join("down.sql"), "DROP TABLE facade_probe;")?;
        let migrator = Migrator::from_dir(&db.pool, dir.path())?;
        migrator.migrate_up().await?;
        migrator.migrate_down().await?;
        Ok(())
    })
    .await?;
    for direction in ["up", "down"] {
        let labels = [("direction", direction)];
        assert_eq!(recorded.counter("ormkit_migrations_total", &labels), 1);
    }
    assert_eq!(
        recorded.samples("ormkit_migration_duration_seconds", &[("direction", "up")]),
        1
    );
    let after = ormkit::metrics::snapshot();
    assert!(after.migrations_applied > before.migrations_applied);
    assert!(after.migrations_reverted > before.migrations_reverted);
    Ok(())
}

/// Statements are counted and timed per table and operation.
#[tokio::test]
async fn statements_are_counted_and_timed_per_table_and_operation() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let recorded = Recorded::during(|| async {
        let users = Repository::<User>::new(&db.pool);
        let ada = users.insert(NewUser::new("timed@x.io".into())).await?;
        assert!(users.find_by_id(ada.id).await?.is_some());
        Ok(())
    })
    .await?;
    let users = |op| [("table", "users"), ("op", op)];
    assert_eq!(
        recorded.counter("ormkit_queries_total", &users("insert")),
        1
    );
    assert!(recorded.samples("ormkit_query_duration_seconds", &users("select")) >= 1);
    Ok(())
}

/// Bulk statements run through the same executor as every other: a COPY and an unnest
/// insert each get their span (with the rows they wrote) and their metrics.
#[tokio::test]
async fn bulk_copy_and_unnest_inserts_get_spans_and_metrics() -> anyhow::Result<()> {
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
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
