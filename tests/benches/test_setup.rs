//! Per-test database setup, on the reference schema, each side including the test's
//! teardown, in the same run:
//!
//! - `spare_ready`: `#[ormkit::test]`'s path (`ormkit::testing::TestDatabase::create` and
//!   `drop_database`) when a spare is ready: the background thread has made its spares and
//!   dropped its trash before each measured test (untimed), as for the first tests of a run
//!   or tests that take longer than a clone;
//! - `spares_back_to_back`: the same path with tests following each other at once, faster
//!   than the thread makes spares (they run out, and tests clone for themselves);
//! - `spares_off`: `ORMKIT_TEST_SPARES=0`, a clone made and dropped on the test's path (also
//!   what the background thread does per test);
//! - `apply_migrations_per_test`: a fresh database per test with the migrations applied
//!   (`ormkit_tests::support::TestDb`), then dropped.
//!
//! `cargo bench -p ormkit-tests --bench test_setup` (DATABASE_URL's server, else a
//! throwaway cluster).

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ormkit::sqlx::PgPool;
use ormkit::testing::{TestDatabase, SPARES_VAR};
use ormkit_tests::entities::MIGRATIONS;
use ormkit_tests::support::{spares_and_trash, TestDb};
use std::time::{Duration, Instant};

/// Waits until the background thread is idle: `spares` spares and no trash on the server.
async fn until_idle(watcher: &PgPool, spares: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (have, trash) = spares_and_trash(watcher).await.unwrap();
        if have >= spares && trash == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{have} spares, {trash} trash");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn one_test(name: &str) {
    let db = TestDatabase::create(name, MIGRATIONS, &[]).await.unwrap();
    db.drop_database().await.unwrap();
}

fn bench(c: &mut Criterion) {
    const SPARES: i64 = 8;
    std::env::set_var(SPARES_VAR, SPARES.to_string());
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The template is built, and the thread started, before measuring. The watcher's
    // database only counts spares.
    let watcher = rt.block_on(TestDatabase::create("bench::watcher", MIGRATIONS, &[]));
    let watcher = watcher.unwrap();
    let mut group = c.benchmark_group("test_setup");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("spare_ready", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let watcher = watcher.pool().clone();
            async move {
                let mut measured = Duration::ZERO;
                for _ in 0..iters {
                    until_idle(&watcher, SPARES).await;
                    let start = Instant::now();
                    one_test("bench::spare").await;
                    measured += start.elapsed();
                }
                measured
            }
        })
    });
    group.bench_function("spares_back_to_back", |b| {
        b.to_async(&rt).iter(|| one_test("bench::spare"))
    });
    rt.block_on(until_idle(watcher.pool(), SPARES));
    std::env::set_var(SPARES_VAR, "0");
    group.bench_function("spares_off", |b| {
        b.to_async(&rt).iter(|| one_test("bench::clone"))
    });
    group.bench_function("apply_migrations_per_test", |b| {
        b.to_async(&rt).iter(|| async {
            let db = TestDb::new().await.unwrap();
            db.pool.close().await;
            drop(db);
        })
    });
    group.finish();
    rt.block_on(watcher.drop_database()).unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
