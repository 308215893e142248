//! Per-test database setup: `#[ormkit::test]`'s clone of the migrated template
//! (`ormkit::testing::TestDatabase`) against applying the reference migrations to a fresh
//! database for each test (what `ormkit_tests::support::TestDb` does), in the same run, each
//! including dropping the database afterwards.
//!
//! `cargo bench -p ormkit-tests --bench test_setup` (DATABASE_URL's server, else a
//! throwaway cluster).

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ormkit::testing::TestDatabase;
use ormkit_tests::entities::MIGRATIONS;
use ormkit_tests::support::TestDb;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The template is built once, before measuring (as the first test of a run does).
    rt.block_on(async {
        let warm = TestDatabase::create("bench::warm_up", MIGRATIONS, &[])
            .await
            .unwrap();
        warm.drop_database().await.unwrap();
    });
    let mut group = c.benchmark_group("test_setup");
    group.sample_size(10);
    group.bench_function("ormkit_test_clone_template", |b| {
        b.to_async(&rt).iter(|| async {
            let db = TestDatabase::create("bench::clone", MIGRATIONS, &[])
                .await
                .unwrap();
            db.drop_database().await.unwrap();
        })
    });
    group.bench_function("apply_migrations_per_test", |b| {
        b.to_async(&rt).iter(|| async {
            let db = TestDb::new().await.unwrap();
            db.pool.close().await;
            drop(db);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
