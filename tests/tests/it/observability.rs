//! A tracing span per statement (no parameter values) and the metrics snapshot.

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

#[tokio::test]
async fn each_statement_gets_a_span_without_parameter_values() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let secret = "secret-address@example.com";
    let user = Repository::<User>::new(&db.pool)
        .insert(NewUser::new(secret.into()))
        .await?;
    let found = User::query()
        .filter(users::EMAIL.eq(secret))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(found, vec![user]);
    let _ = User::query()
        .filter(users::EMAIL.eq("x"))
        .fetch_one(&db.pool)
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

#[tokio::test]
async fn the_snapshot_counts_statements_latency_and_errors() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let before = ormkit::metrics::snapshot();
    for i in 0..20 {
        Repository::<User>::new(&db.pool)
            .insert(NewUser::new(format!("m{i}@x.io")))
            .await?;
    }
    let _ = Repository::<User>::new(&db.pool)
        .insert(NewUser::new("m0@x.io".into()))
        .await
        .unwrap_err();
    let after = ormkit::metrics::snapshot();
    assert!(after.queries >= before.queries + 21);
    assert!(after.errors > before.errors);
    assert!(after.p50 > std::time::Duration::ZERO);
    assert!(after.p50 <= after.p95 && after.p95 <= after.p99);
    let pool = ormkit::metrics::pool_stats(&db.pool);
    assert!(pool.size >= 1 && pool.idle <= pool.size as usize);
    Ok(())
}
