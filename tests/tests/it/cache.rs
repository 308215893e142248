//! The entity cache against real PostgreSQL: read-through, invalidation on write, two
//! application instances under `strong()`, a killed listener, rollbacks, `eventual(ttl)`,
//! statistics and the query cache.

use ormkit::sqlx::PgPool;
mod instances;
mod listener;
mod queries;
mod support;

use ormkit::cache::{EntityCache, EntityOptions, InvalidationStrategy};
use ormkit::{count_statements, Repository};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use std::time::Duration;
use support::*;

#[tokio::test]
async fn concurrent_misses_on_one_key_load_once() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cache = strong_cache(&db.pool, "ormkit_it_misses").await?;
    let users = cache.repository::<User>(&db.pool);
    let ada = Repository::<User>::new(&db.pool)
        .insert(NewUser::new("ada@x.io".into()))
        .await?;

    let reads = futures::future::join_all((0..16).map(|_| users.find_by_id(ada.id)));
    let (rows, statements) = count_statements(while_users_locked(&db, reads)).await;
    assert_eq!(statements, 1, "sixteen concurrent misses, one SELECT");
    for row in rows? {
        assert_eq!(row?.as_ref(), Some(&ada));
    }
    let (again, statements) = count_statements(users.get(ada.id)).await;
    assert_eq!(
        (again?, statements),
        (ada.clone(), 0),
        "a hit sends nothing"
    );
    let stats = cache.stats();
    assert_eq!((stats.loads, stats.misses, stats.hits), (1, 16, 1));

    // Absent rows: concurrent misses still share one statement, and absence is not cached.
    let missing = UserId::new(ada.id.into_inner() + 1000);
    let reads = futures::future::join_all((0..8).map(|_| users.find_by_id(missing)));
    let (rows, statements) = count_statements(while_users_locked(&db, reads)).await;
    assert_eq!(statements, 1);
    assert!(rows?.into_iter().all(|r| matches!(r, Ok(None))));
    let (_, statements) = count_statements(users.find_by_id(missing)).await;
    assert_eq!(statements, 1, "absence is never served from the cache");
    Ok(())
}

#[ormkit::test]
async fn writes_invalidate_and_inserts_write_through(pool: PgPool) -> anyhow::Result<()> {
    let cache = EntityCache::builder()
        .strategy(InvalidationStrategy::strong().heartbeat(None))
        .application_name("ormkit_it_writes")
        .entity_with::<User>(EntityOptions::new().write_through(true))
        .entity::<Membership>()
        .build(&pool)
        .await?;
    let users = cache.repository::<User>(&pool);
    let ada = users.insert(NewUser::new("ada@x.io".into())).await?;
    let (row, statements) = count_statements(users.get(ada.id)).await;
    assert_eq!((row?, statements), (ada.clone(), 0), "written through");
    cache.sync().await?; // the insert's own notification does not evict it
    let (_, statements) = count_statements(users.get(ada.id)).await;
    assert_eq!(statements, 0);

    let updated = users
        .update(karma(ada.id, 7))
        .await?
        .expect("the row exists");
    assert_eq!(updated.karma, Some(7));
    let (row, statements) = count_statements(users.get(ada.id)).await;
    assert_eq!(
        (row?.karma, statements),
        (Some(7), 1),
        "invalidated, reloaded"
    );
    assert_eq!(users.get(ada.id).await?.karma, Some(7));

    let empty = users.update(UserPatch::new(ada.id)).await.unwrap_err();
    assert!(
        matches!(empty, ormkit::OrmkitError::EmptyPatch { .. }),
        "{empty}"
    );

    // A composite key.
    let memberships = cache.repository::<Membership>(&pool);
    Repository::<Membership>::new(&pool)
        .insert(NewMembership::new(7, ada.id))
        .await?;
    assert_eq!(memberships.get((7, ada.id)).await?.role, "member");
    let mut patch = MembershipPatch::new(7, ada.id);
    patch.role = Some("owner".into());
    memberships.update(patch).await?;
    assert_eq!(memberships.get((7, ada.id)).await?.role, "owner");

    assert!(users.delete(ada.id).await?);
    assert_eq!(users.find_by_id(ada.id).await?, None);
    assert!(!users.delete(ada.id).await?);
    assert!(cache.stats().invalidations >= 3);
    Ok(())
}

/// `CachedRepository` has every method `Repository` has, each running the repository's own
/// statement (plus its `pg_notify` under `strong`).
#[tokio::test]
async fn the_cached_repository_has_every_repository_method() -> anyhow::Result<()> {
    use ormkit::sqlx::postgres::PgListener;
    let db = TestDb::new().await?;
    let cache = EntityCache::builder()
        .strategy(InvalidationStrategy::strong().heartbeat(None))
        .application_name("ormkit_it_every_method")
        .entity_with::<User>(EntityOptions::new().write_through(true))
        .build(&db.pool)
        .await?;
    let mut listener = PgListener::connect_with(&db.pool).await?;
    listener.listen("ormkit_cache").await?;
    let users = cache.repository::<User>(&db.pool);
    let plain = Repository::<User>::new(&db.pool);

    let ada = users.insert(NewUser::new("ada@x.io".into())).await?;
    assert!(next_payload(&mut listener).await?.starts_with("t\t"));
    let many = users
        .insert_many((0..3).map(|i| NewUser::new(format!("m{i}@x.io"))))
        .await?;
    assert_eq!(many.len(), 3);
    assert!(
        next_payload(&mut listener).await?.starts_with("t\t"),
        "insert_many announces its table"
    );
    // Written through: every inserted row is served without a statement.
    for user in many.iter().chain([&ada]) {
        let (row, statements) = count_statements(users.get(user.id)).await;
        assert_eq!((row?, statements), (user.clone(), 0));
    }
    let (found, statements) = count_statements(users.exists(many[0].id)).await;
    assert_eq!(
        (found?, statements),
        (true, 0),
        "exists from a cached entry"
    );
    let missing = UserId::new(ada.id.into_inner() + 1000);
    assert!(!users.exists(missing).await?);
    assert_eq!(users.find_by_id(missing).await?, None);
    assert!(matches!(
        users.get(missing).await,
        Err(ormkit::OrmkitError::EntityNotFound { .. })
    ));

    assert_eq!(users.count().await?, 4);
    assert_eq!(users.count().await?, plain.count().await?);
    let mut all = users.find_all().await?;
    all.sort_by_key(|u| u.id);
    let mut expected = plain.find_all().await?;
    expected.sort_by_key(|u| u.id);
    assert_eq!(all, expected);

    let updated = users.update(karma(ada.id, 3)).await?.expect("exists");
    assert_eq!(updated.karma, Some(3));
    assert!(next_payload(&mut listener).await?.starts_with("k\t"));
    assert_eq!(users.get(ada.id).await?.karma, Some(3));
    assert!(users.delete(many[2].id).await?);
    assert!(next_payload(&mut listener).await?.starts_with("k\t"));
    assert!(!users.exists(many[2].id).await?);

    // An upsert that updates a cached row: the key it returns is announced in the write's
    // transaction and invalidated here.
    assert_eq!(users.get(many[0].id).await?.display_name, None); // cached
    let mut again = NewUser::new("M0@X.IO".into()); // citext: the same email
    again.display_name = Some("Em".into());
    let update = ormkit::OnConflict::on(users::EMAIL).do_update(users::DISPLAY_NAME);
    let stored = users.upsert(again, &update).await?.expect("updated");
    assert_eq!(
        (stored.id, stored.display_name.as_deref()),
        (many[0].id, Some("Em"))
    );
    let payload = next_payload(&mut listener).await?;
    assert!(payload.starts_with("k\t"), "{payload}");
    let (row, statements) = count_statements(users.get(many[0].id)).await;
    assert_eq!(
        (row?.display_name.as_deref(), statements),
        (Some("Em"), 1),
        "invalidated, reloaded"
    );
    let skipped = ormkit::OnConflict::on(users::EMAIL).do_nothing();
    let none = users
        .upsert(NewUser::new("m1@x.io".into()), &skipped)
        .await?;
    assert_eq!(none, None, "skipped: nothing stored, nothing announced");

    // On a borrowed connection the invalidation could not share the write's transaction.
    let mut conn = db.pool.acquire().await?;
    let on_conn = cache.repository::<User>(&mut *conn);
    let refused = on_conn
        .upsert(NewUser::new("c@x.io".into()), &update)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("borrowed connection"),
        "{refused}"
    );
    drop(on_conn);
    drop(conn);
    assert_eq!(plain.count().await?, 3, "the refused upsert wrote nothing");
    Ok(())
}

#[tokio::test]
async fn rollback_sends_nothing() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let pool_b = second_pool(&db).await?;
    let cache_a = strong_cache(&db.pool, "ormkit_it_rollback_a").await?;
    let cache_b = strong_cache(&pool_b, "ormkit_it_rollback_b").await?;
    let mut spy = ormkit::sqlx::postgres::PgListener::connect_with(&db.pool).await?;
    spy.listen("ormkit_cache").await?;
    let ada = seed(&db.pool, 1).await?.remove(0);
    let users_b = cache_b.repository::<User>(&pool_b);
    users_b.get(ada.id).await?;
    let invalidations = cache_b.stats().invalidations;

    let failed = cache_a
        .transaction(&db.pool, |tx| {
            let cache_a = cache_a.clone();
            async move {
                let users = cache_a.repository::<User>(&tx);
                users.update(karma(ada.id, 5)).await?;
                assert_eq!(
                    users.get(ada.id).await?.karma,
                    Some(5),
                    "sees its own write"
                );
                Err::<(), _>(ormkit::OrmkitError::Query {
                    table: "test".into(),
                    message: "roll back".into(),
                })
            }
        })
        .await;
    assert!(failed.is_err());
    // A marker that any listener parses as harmless (an unknown payload would flush).
    ormkit::sqlx::query("SELECT pg_notify('ormkit_cache', 't' || chr(9) || 'marker')")
        .execute(&db.pool)
        .await?;
    assert_eq!(
        next_payload(&mut spy).await?,
        "t\tmarker",
        "nothing before it"
    );
    cache_b.sync().await?;
    assert_eq!(
        cache_b.stats().invalidations,
        invalidations + 1,
        "the marker only"
    );
    let (row, statements) = count_statements(users_b.get(ada.id)).await;
    assert_eq!(
        (row?.karma, statements),
        (ada.karma, 0),
        "still cached, still right"
    );

    // The control: a committed write is announced, once, as a key.
    cache_a
        .repository::<User>(&db.pool)
        .update(karma(ada.id, 6))
        .await?;
    assert!(next_payload(&mut spy).await?.starts_with("k\t"));
    cache_b.sync().await?;
    assert_eq!(users_b.get(ada.id).await?.karma, Some(6));
    Ok(())
}

#[ormkit::test]
async fn eventual_is_stale_no_longer_than_its_ttl(pool: PgPool) -> anyhow::Result<()> {
    let ada = seed(&pool, 1).await?.remove(0);
    let plain = Repository::<User>::new(&pool);

    // A long TTL: a write made without the cache is not seen (allowed: well within 60 s)…
    let long = eventual_cache(&pool, Duration::from_secs(60)).await?;
    let users = long.repository::<User>(&pool);
    assert_eq!(users.get(ada.id).await?.karma, Some(1));
    plain.update(karma(ada.id, 2)).await?;
    assert_eq!(
        users.get(ada.id).await?.karma,
        Some(1),
        "stale within the TTL"
    );
    // …while a write through the cache invalidates locally at once.
    users.update(karma(ada.id, 3)).await?;
    assert_eq!(users.get(ada.id).await?.karma, Some(3));

    // A short TTL: once it has passed since the write, the read is fresh, whatever happened
    // in between (entries carry the instant their statement was sent, before the write).
    let ttl = Duration::from_millis(400);
    let short = eventual_cache(&pool, ttl).await?;
    let users = short.repository::<User>(&pool);
    assert_eq!(users.get(ada.id).await?.karma, Some(3));
    plain.update(karma(ada.id, 4)).await?;
    let written = tokio::time::Instant::now();
    let early = users.get(ada.id).await?.karma;
    assert!(matches!(early, Some(3 | 4)), "{early:?}");
    tokio::time::sleep_until(written + ttl + Duration::from_millis(100)).await;
    assert_eq!(
        users.get(ada.id).await?.karma,
        Some(4),
        "fresh after the TTL"
    );
    Ok(())
}

#[ormkit::test]
async fn statistics_capacity_clear_and_bypass(pool: PgPool) -> anyhow::Result<()> {
    let cache = EntityCache::builder()
        .strategy(InvalidationStrategy::eventual(Duration::from_secs(60)))
        .entity_with::<User>(EntityOptions::new().max_capacity(4))
        .build(&pool)
        .await?;
    let seeded = seed(&pool, 20).await?;
    let users = cache.repository::<User>(&pool);
    users.get(seeded[0].id).await?;
    users.get(seeded[0].id).await?;
    let stats = cache.stats();
    assert_eq!((stats.misses, stats.hits, stats.loads), (1, 1, 1));

    for user in &seeded {
        users.get(user.id).await?;
    }
    cache.run_pending_tasks().await;
    let stats = cache.stats();
    assert!(stats.entries <= 4, "{stats:?}");
    assert!(stats.evictions > 0, "{stats:?}");

    cache.clear();
    assert_eq!(cache.stats().flushes, 1);
    let (_, statements) = count_statements(users.get(seeded[0].id)).await;
    assert_eq!(statements, 1, "cleared");

    // Entities not opted in read through every time.
    assert!(cache.is_cached::<User>() && !cache.is_cached::<Membership>());
    let memberships = cache.repository::<Membership>(&pool);
    Repository::<Membership>::new(&pool)
        .insert(NewMembership::new(1, seeded[0].id))
        .await?;
    for _ in 0..2 {
        let (_, statements) = count_statements(memberships.get((1, seeded[0].id))).await;
        assert_eq!(statements, 1);
    }

    // Reads in a transaction never touch the cache: they see their own writes, and an
    // uncommitted row is never published to other readers.
    let id = seeded[0].id;
    let bypassed = cache.stats().bypassed;
    let rolled_back = ormkit::transaction(&pool, |tx| {
        let cache = cache.clone();
        async move {
            let users = cache.repository::<User>(&tx);
            users.update(karma(id, 9)).await?;
            assert_eq!(users.get(id).await?.karma, Some(9));
            Err::<(), _>(ormkit::OrmkitError::Query {
                table: "test".into(),
                message: "roll back".into(),
            })
        }
    })
    .await;
    assert!(rolled_back.is_err());
    assert_eq!(cache.stats().bypassed, bypassed + 1);
    assert_eq!(users.get(id).await?.karma, Some(1));
    Ok(())
}
