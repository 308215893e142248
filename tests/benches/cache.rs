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
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CALLS: u32 = 10_000;

/// Nanoseconds per call of `f`, over one batch.
fn batch<F: Fn() -> Fut, Fut: Future>(rt: &tokio::runtime::Runtime, f: &F) -> f64 {
    let start = Instant::now();
    rt.block_on(async {
        for _ in 0..CALLS {
            black_box(f().await);
        }
    });
    start.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

/// How `b` compares with `a`, measured in alternating batches so that a change in the
/// machine's load affects both alike (criterion's groups run one after the other, and this VM
/// is shared): the median ns per call of each, the median of the per-round ratios `b / a`,
/// and the ratio of the fastest batches.
fn paired<A, FA, B, FB>(rt: &tokio::runtime::Runtime, a: A, b: B) -> [f64; 4]
where
    A: Fn() -> FA,
    FA: Future,
    B: Fn() -> FB,
    FB: Future,
{
    let rounds: Vec<(f64, f64)> = (0..101).map(|_| (batch(rt, &a), batch(rt, &b))).collect();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let min = |v: &mut dyn Iterator<Item = f64>| v.fold(f64::INFINITY, f64::min);
    [
        median(rounds.iter().map(|r| r.0).collect()),
        median(rounds.iter().map(|r| r.1).collect()),
        median(rounds.iter().map(|r| r.1 / r.0).collect()),
        min(&mut rounds.iter().map(|r| r.1)) / min(&mut rounds.iter().map(|r| r.0)),
    ]
}

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
    for (name, r) in [
        ("strong hit / bare get", paired(&rt, bare_get, strong_hit)),
        (
            "eventual hit / bare get",
            paired(&rt, bare_get, eventual_hit),
        ),
        (
            "strong hit / bare get of an Arc + clone",
            paired(&rt, bare_arc_get, strong_hit),
        ),
        (
            "eventual hit / bare get of an Arc + clone",
            paired(&rt, bare_arc_get, eventual_hit),
        ),
    ] {
        eprintln!(
            "paired {name}: {:.0} ns / {:.0} ns; ratio median {:.2}x, fastest {:.2}x",
            r[1], r[0], r[2], r[3]
        );
    }

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
