//! Through PgBouncer in transaction mode: everything ormkit runs works under concurrency,
//! and session-bound features refuse or use the direct URL.

use futures::TryStreamExt as _;
use ormkit::migrate::MigrateError;
use ormkit::sqlx::postgres::PgConnectOptions;
use ormkit::sqlx::{Connection as _, PgConnection};
use ormkit::{
    create_smart_pool_with, EntityCache, InvalidationStrategy, Migrator, OrmkitError,
    ParallelExecutor, PoolConfig, Pooler, Repository,
};
use ormkit_build_support::PgBouncerOptions;
use ormkit_tests::entities::queries::users as user_queries;
use ormkit_tests::entities::*;
use ormkit_tests::scaleout::Bounced;
use std::time::Duration;

/// A smart pool through `bounced`'s PgBouncer, told it runs in transaction mode.
async fn pool_through(bounced: &Bounced, max: u32) -> ormkit::Result<ormkit::sqlx::PgPool> {
    let config = PoolConfig {
        pooler: Pooler::Transaction,
        max_connections: max,
        min_connections: 0,
        acquire_timeout: Duration::from_secs(20),
        ..PoolConfig::default()
    };
    create_smart_pool_with(bounced.url(), &config).await
}

/// A plain sqlx connection through PgBouncer (without sqlx's `extra_float_digits` startup
/// parameter, which PgBouncer refuses).
async fn plain_connection(bounced: &Bounced) -> anyhow::Result<PgConnection> {
    let options: PgConnectOptions = bounced.url().parse()?;
    Ok(PgConnection::connect_with(&options.extra_float_digits(None)).await?)
}

#[cfg_attr(
    ormkit_no_pgbouncer,
    ignore = "needs pgbouncer, not found: apt-get install pgbouncer (or set ORMKIT_PGBOUNCER)"
)]
#[tokio::test]
async fn without_the_setting_two_clients_collide_on_one_server_connection() -> anyhow::Result<()> {
    // The failure the setting prevents, reproduced: one server connection, two clients,
    // each naming its first prepared statement `sqlx_s_1`.
    let bounced = Bounced::start(PgBouncerOptions::default().pool_size(1)).await?;
    let mut first = plain_connection(&bounced).await?;
    let mut second = plain_connection(&bounced).await?;
    ormkit::sqlx::query("SELECT 1").execute(&mut first).await?;
    let err = ormkit::sqlx::query("SELECT 2")
        .execute(&mut second)
        .await
        .expect_err("the second client's statement name collides");
    let code = err
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("42P05"), "{err}");
    Ok(())
}

#[cfg_attr(
    ormkit_no_pgbouncer,
    ignore = "needs pgbouncer, not found: apt-get install pgbouncer (or set ORMKIT_PGBOUNCER)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_transactions_bulk_and_queries_work_concurrently_through_transaction_mode(
) -> anyhow::Result<()> {
    // Two server connections shared by up to twelve clients.
    let bounced = Bounced::start(PgBouncerOptions::default().pool_size(2)).await?;
    let pool = pool_through(&bounced, 12).await?;
    let mut tasks = Vec::new();
    for task in 0..8 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move { one_client(&pool, task).await }));
    }
    for task in tasks {
        task.await??;
    }
    assert_eq!(
        User::query().count(&pool).await?,
        0,
        "every task deleted its users"
    );
    assert_eq!(
        Post::query().count(&pool).await?,
        0,
        "and their posts with them"
    );

    // Bulk work: COPY, INSERT … SELECT FROM unnest (enum and composite columns), fetch.
    let exec = ParallelExecutor::new(&pool, 3).chunk_size(100);
    let logs = (0..450)
        .map(|i| NewAuditLog {
            at: None,
            message: format!("row {i}"),
        })
        .collect();
    assert_eq!(exec.bulk_insert::<AuditLog>(logs).await?, 450);
    let news = (0..250)
        .map(|i| {
            let mut new = NewUser::new(format!("bulk{i}@pgb.io"));
            new.mood = Some(Mood::VeryHappy);
            new.past_moods = Some(vec![Some(Mood::Sad)]);
            new
        })
        .collect();
    let stored = exec.bulk_insert_returning::<User>(news).await?;
    assert_eq!(stored.len(), 250);
    let ids = stored.iter().map(|u| u.id).collect();
    let fetched = exec.bulk_fetch_by_id::<User>(ids).await?;
    assert!(fetched.missing.is_empty());
    assert_eq!(fetched.rows.iter().flatten().count(), 250);
    assert_eq!(AuditLog::query().count(&pool).await?, 450);
    Ok(())
}

/// One client's work: every kind of statement, ten rounds.
async fn one_client(pool: &ormkit::sqlx::PgPool, task: usize) -> anyhow::Result<()> {
    let users = Repository::<User>::new(pool);
    for round in 0..10 {
        let mut new = NewUser::new(format!("u{task}-{round}@pgb.io"));
        new.mood = Some(Mood::SoSo);
        new.past_moods = Some(vec![Some(Mood::Happy), None]);
        new.home = Some(Address {
            street: Some("Main".into()),
            city: None,
            zip: Some("123".into()),
        });
        let user = users.insert(new).await?;
        assert_eq!(users.get(user.id).await?, user);
        let typed = User::query()
            .filter(users::MOOD.is_in([Mood::SoSo, Mood::VeryHappy]))
            .filter(users::EMAIL.eq(user.email.clone()))
            .fetch_all(pool)
            .await?;
        assert_eq!(typed, vec![user.clone()]);
        let streamed: Vec<User> = User::query()
            .filter(users::ID.eq(user.id))
            .fetch(pool)
            .try_collect()
            .await?;
        assert_eq!(streamed.len(), 1);
        assert_eq!(
            user_queries::rename_user(pool, "renamed".into(), user.id).await?,
            1
        );
        let checked = user_queries::user_by_id(pool, user.id).await?;
        assert_eq!(checked.display_name.as_deref(), Some("renamed"));
        let mut patch = UserPatch::new(user.id);
        patch.mood = Some(Mood::Sad);
        assert_eq!(users.update(patch).await?.map(|u| u.mood), Some(Mood::Sad));
        // A transaction with a savepoint rolled back inside it.
        let author = user.id;
        ormkit::transaction(pool, |tx| async move {
            let posts = Repository::<Post>::new(&tx);
            posts.insert(NewPost::new(author, "kept".into())).await?;
            let inner: ormkit::Result<()> = tx
                .transaction(|inner| async move {
                    Repository::<Post>::new(&inner)
                        .insert(NewPost::new(author, "dropped".into()))
                        .await?;
                    Err(OrmkitError::Config {
                        variable: "test".into(),
                        message: "roll the savepoint back".into(),
                    })
                })
                .await;
            assert!(inner.is_err());
            Ok::<_, OrmkitError>(())
        })
        .await?;
        let kept = Post::query()
            .filter(posts::AUTHOR_ID.eq(author))
            .fetch_all(pool)
            .await?;
        assert_eq!(
            kept.iter().map(|p| p.title.as_str()).collect::<Vec<_>>(),
            ["kept"]
        );
        assert!(users.delete(user.id).await?); // its post goes with it (ON DELETE CASCADE)
    }
    Ok(())
}

#[cfg_attr(
    ormkit_no_pgbouncer,
    ignore = "needs pgbouncer, not found: apt-get install pgbouncer (or set ORMKIT_PGBOUNCER)"
)]
#[tokio::test]
async fn session_bound_features_refuse_or_use_the_direct_url() -> anyhow::Result<()> {
    let bounced = Bounced::start(PgBouncerOptions::default()).await?;
    let pool = pool_through(&bounced, 4).await?;
    let direct = bounced.db.url().to_owned();
    assert!(
        std::env::var(ormkit::DIRECT_URL_ENV).is_err(),
        "this test expects ORMKIT_DIRECT_URL unset"
    );

    // The Migrator: refused, naming what to set…
    let dir = tempfile::tempdir()?;
    let step = dir.path().join("20300101000000_bounced");
    std::fs::create_dir(&step)?;
    std::fs::write(step.join("up.sql"), "CREATE TABLE bounced (id int);")?;
    for refused in [
        Migrator::from_dir(&pool, dir.path())?
            .migrate_up()
            .await
            .map(drop),
        Migrator::from_dir(&pool, dir.path())?
            .status()
            .await
            .map(drop),
    ] {
        match refused {
            Err(MigrateError::SessionRequired { origin, message }) => {
                assert_eq!(origin, "ORMKIT_DIRECT_URL");
                assert!(message.contains("ORMKIT_DIRECT_URL"), "{message}");
                assert!(message.contains("Migrator::direct_url"), "{message}");
                assert!(message.contains("transaction-mode pooler"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    let found: Option<String> = ormkit::sqlx::query_scalar("SELECT to_regclass('bounced')::text")
        .fetch_one(&bounced.db.pool)
        .await?;
    assert_eq!(found, None, "a refused Migrator ran nothing");
    // …and run on the direct URL when given one.
    let report = Migrator::from_dir(&pool, dir.path())?
        .direct_url(direct.clone())
        .migrate_up()
        .await?;
    assert_eq!(report.steps.len(), 1);
    let applied: i64 = ormkit::sqlx::query_scalar("SELECT count(*) FROM bounced")
        .fetch_one(&bounced.db.pool)
        .await?;
    assert_eq!(applied, 0);

    // The strong cache's LISTEN connection: refused, then on the direct URL.
    let err = EntityCache::builder()
        .entity::<User>()
        .build(&pool)
        .await
        .expect_err("a LISTEN through a transaction-mode pooler is refused");
    match &err {
        OrmkitError::Config { variable, message } => {
            assert_eq!(variable, "ORMKIT_DIRECT_URL");
            assert!(
                message.contains("EntityCacheBuilder::direct_url"),
                "{message}"
            );
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
    EntityCache::builder()
        .strategy(InvalidationStrategy::eventual(Duration::from_secs(5)))
        .entity::<User>()
        .build(&pool)
        .await
        .expect("eventual needs no session");
    let build = || {
        EntityCache::builder()
            .entity::<User>()
            .direct_url(direct.clone())
            .build(&pool)
    };
    let (here, there) = (build().await?, build().await?);
    let ada = Repository::<User>::new(&pool)
        .insert(NewUser::new("ada@pgb.io".into()))
        .await?;
    let there_users = there.repository::<User>(&pool);
    assert_eq!(there_users.get(ada.id).await?.display_name, None);
    let mut patch = UserPatch::new(ada.id);
    patch.display_name = Some(Some("Ada".into()));
    here.repository::<User>(&pool).update(patch).await?; // pg_notify through PgBouncer
    there.sync().await?; // delivered on the direct LISTEN connection
    assert_eq!(
        there_users.get(ada.id).await?.display_name.as_deref(),
        Some("Ada")
    );
    assert!(there.stats().invalidations >= 1, "{:?}", there.stats());
    Ok(())
}
