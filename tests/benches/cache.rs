//! The entity cache's hit path against, in the same run, the database read it replaces
//! (`Repository::find_by_id` on the same pool) and a bare `moka::future::Cache::get` of the
//! same row (the floor: what any moka-based cache must pay).
//!
//! `cargo bench -p ormkit-tests --bench cache` (DATABASE_URL's server, else a throwaway
//! cluster). Goals: a hit ≥100× faster than the database read, ≤1.2× the bare moka get.

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ormkit::cache::{EntityCache, InvalidationStrategy};
use ormkit::Repository;
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use std::sync::Arc;
use std::time::Duration;

mod support;

const CALLS: u32 = 10_000;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new()).unwrap();
    let pool = db.pool.clone();
    let users: Vec<User> = rt.block_on(async {
        let news = (0..1000).map(|i| {
            let mut u = NewUser::new(format!("user{i:04}@example.com"));
            u.karma = Some(i % 10 + 1);
            u.display_name = Some(format!("User number {i}"));
            u
        });
        Repository::<User>::new(&pool)
            .insert_many(news)
            .await
            .unwrap()
    });
    let user = users[500].clone();
    let id = user.id;

    let strong = rt.block_on(async {
        EntityCache::builder()
            .strategy(InvalidationStrategy::strong())
            .entity::<User>()
            .build(&pool)
            .await
            .unwrap()
    });
    let eventual = rt.block_on(async {
        EntityCache::builder()
            .strategy(InvalidationStrategy::eventual(Duration::from_secs(3600)))
            .entity::<User>()
            .build(&pool)
            .await
            .unwrap()
    });
    let bare: moka::future::Cache<UserId, User> = moka::future::Cache::new(10_000);
    let bare_arc: moka::future::Cache<UserId, Arc<User>> = moka::future::Cache::new(10_000);
    rt.block_on(async {
        bare.insert(id, user.clone()).await;
        bare_arc.insert(id, Arc::new(user.clone())).await;
        for cache in [&strong, &eventual] {
            let repo = cache.repository::<User>(&pool);
            assert_eq!(repo.get(id).await.unwrap(), user);
            let (_, statements) = ormkit::count_statements(repo.get(id)).await;
            assert_eq!(statements, 0, "warm");
        }
    });

    let strong_repo = strong.repository::<User>(&pool);
    let eventual_repo = eventual.repository::<User>(&pool);
    let bare_get = || async { bare.get(black_box(&id)).await.unwrap() };
    let bare_arc_get = || async { User::clone(&bare_arc.get(black_box(&id)).await.unwrap()) };
    let strong_hit = || async {
        strong_repo
            .find_by_id(black_box(id))
            .await
            .unwrap()
            .unwrap()
    };
    let eventual_hit = || async {
        eventual_repo
            .find_by_id(black_box(id))
            .await
            .unwrap()
            .unwrap()
    };
    support::paired(&rt, 101, CALLS, bare_get, strong_hit).print("strong hit / bare get");
    support::paired(&rt, 101, CALLS, bare_get, eventual_hit).print("eventual hit / bare get");
    support::paired(&rt, 101, CALLS, bare_arc_get, strong_hit)
        .print("strong hit / bare get of an Arc + clone");
    support::paired(&rt, 101, CALLS, bare_arc_get, eventual_hit)
        .print("eventual hit / bare get of an Arc + clone");

    let mut group = c.benchmark_group("cache_hit");
    group.bench_function("database read (Repository::find_by_id)", |b| {
        let repo = Repository::<User>::new(&pool);
        b.to_async(&rt)
            .iter(|| async { black_box(repo.find_by_id(black_box(id)).await.unwrap().unwrap()) })
    });
    group.bench_function("bare moka::future::Cache::get", |b| {
        b.to_async(&rt).iter(bare_get)
    });
    group.bench_function("bare moka::future::Cache::get of an Arc + clone", |b| {
        b.to_async(&rt).iter(bare_arc_get)
    });
    group.bench_function("CachedRepository::find_by_id hit, strong", |b| {
        b.to_async(&rt).iter(strong_hit)
    });
    group.bench_function("CachedRepository::find_by_id hit, eventual", |b| {
        b.to_async(&rt).iter(eventual_hit)
    });
    group.finish();

    // Expect one load each: every timed read was a hit.
    eprintln!(
        "strong: {:?}\neventual: {:?}",
        strong.stats(),
        eventual.stats()
    );
    // Dropped in reverse order: the caches and their listeners before the database.
}

criterion_group!(benches, bench);
criterion_main!(benches);
