//! The query cache: off by default; keyed by statement and parameters; dropped per table on
//! writes through a `CachedRepository`, in this instance and (under `strong`) the others.

use super::support::*;
use ormkit::cache::{EntityCache, InvalidationStrategy};
use ormkit::sqlx::PgPool;
use ormkit::{count_statements, Entity as _};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

async fn with_queries(pool: &PgPool, name: &str) -> anyhow::Result<EntityCache> {
    Ok(EntityCache::builder()
        .strategy(InvalidationStrategy::strong().heartbeat(None))
        .application_name(name)
        .entity::<User>()
        .query_cache(100)
        .build(pool)
        .await?)
}

async fn karma_at_least(cache: &EntityCache, pool: &PgPool, min: i32) -> (usize, u64) {
    let (rows, statements) = count_statements(cache.queries().get_or_load(
        &[User::META],
        "users by karma",
        &min,
        || {
            User::query()
                .filter(users::KARMA.gte(Some(min)))
                .fetch_all(pool)
        },
    ))
    .await;
    (rows.unwrap().len(), statements)
}

#[ormkit::test]
async fn the_query_cache_is_off_by_default(pool: PgPool) -> anyhow::Result<()> {
    let cache = strong_cache(&pool, "ormkit_it_queries_off").await?;
    assert!(!cache.queries().is_enabled());
    seed(&pool, 3).await?;
    for _ in 0..2 {
        assert_eq!(karma_at_least(&cache, &pool, 1).await, (3, 1));
    }
    Ok(())
}

#[tokio::test]
async fn results_are_cached_per_key_and_dropped_per_table() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool_b = second_pool(&db).await?;
    let cache_a = with_queries(&db.pool, "ormkit_it_queries_a").await?;
    let cache_b = with_queries(&pool_b, "ormkit_it_queries_b").await?;
    let users = seed(&db.pool, 3).await?;

    assert_eq!(
        karma_at_least(&cache_a, &db.pool, 1).await,
        (3, 1),
        "loaded"
    );
    assert_eq!(
        karma_at_least(&cache_a, &db.pool, 1).await,
        (3, 0),
        "cached"
    );
    assert_eq!(
        karma_at_least(&cache_a, &db.pool, 2).await,
        (0, 1),
        "other parameters"
    );
    assert_eq!(karma_at_least(&cache_b, &pool_b, 1).await, (3, 1));

    // Concurrent misses on one key run the query once.
    cache_a.queries().clear();
    let loads = (0..8).map(|_| karma_at_least(&cache_a, &db.pool, 1));
    let results = futures::future::join_all(loads).await;
    assert_eq!(results.iter().map(|r| r.1).sum::<u64>(), 1);
    assert!(results.iter().all(|r| r.0 == 3));

    // A write to another table drops nothing.
    cache_a
        .repository::<Post>(&db.pool)
        .insert(NewPost::new(users[0].id, "hello".into()))
        .await?;
    assert_eq!(karma_at_least(&cache_a, &db.pool, 1).await, (3, 0));

    // A write to users, through A: dropped at once in A, after `sync` in B.
    cache_a
        .repository::<User>(&db.pool)
        .update(karma(users[0].id, 5))
        .await?;
    assert_eq!(karma_at_least(&cache_a, &db.pool, 2).await, (1, 1));
    cache_b.sync().await?;
    assert_eq!(karma_at_least(&cache_b, &pool_b, 1).await, (3, 1));
    assert_eq!(karma_at_least(&cache_b, &pool_b, 1).await, (3, 0));

    // An insert drops the table's results too.
    cache_b
        .repository::<User>(&pool_b)
        .insert(ormkit_tests::entities::NewUser::new("new@x.io".into()))
        .await?;
    cache_a.sync().await?;
    let (count, statements) = karma_at_least(&cache_a, &db.pool, 1).await;
    assert_eq!(
        (count, statements),
        (3, 1),
        "reloaded (the new user has no karma)"
    );
    let stats = cache_a.queries().stats();
    assert!(stats.hits >= 2 && stats.loads >= 4, "{stats:?}");
    Ok(())
}
