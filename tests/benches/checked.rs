//! A generated checked-query call against the same SQL through raw sqlx `query_as`, on the
//! same pool, in the same run: a `:one` returning an entity, and a `:many` over a join with
//! an aggregate.
//!
//! `cargo bench -p ormkit-tests --bench checked` (DATABASE_URL's server, else a throwaway
//! cluster).

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ormkit::chrono::{Duration, Utc};
use ormkit::Repository;
use ormkit_tests::entities::queries::{reports, users as user_queries};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

mod support;
use support::RawUser;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new()).unwrap();
    let pool = db.pool.clone();
    let ids: Vec<UserId> = rt.block_on(async {
        let users = Repository::<User>::new(&pool)
            .insert_many((0..500).map(|i| NewUser::new(format!("user{i:04}@example.com"))))
            .await
            .unwrap();
        let posts = users.iter().flat_map(|u| {
            (0..4).map(|i| {
                let mut post = NewPost::new(u.id, format!("post {i} of {}", u.email));
                post.published_at = Some(Utc::now());
                post
            })
        });
        Repository::<Post>::new(&pool)
            .insert_many(posts)
            .await
            .unwrap();
        users.into_iter().map(|u| u.id).collect()
    });
    let id = ids[250];
    let by_id = user_queries::USER_BY_ID.sql;
    let authors = reports::ACTIVE_AUTHORS.sql;
    let since = Utc::now() - Duration::hours(1);

    let raw_one = || async {
        sqlx::query_as::<_, RawUser>(by_id)
            .bind(id.into_inner())
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let checked_one = || async { user_queries::user_by_id(&pool, id).await.unwrap() };
    let raw_many = || async {
        let rows = sqlx::query_as::<_, (i64, String, i64)>(authors)
            .bind(since)
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(rows.len(), 500);
    };
    let checked_many = || async {
        let rows = reports::active_authors(&pool, since).await.unwrap();
        assert_eq!(rows.len(), 500);
    };

    let mut group = c.benchmark_group("checked_one");
    group.bench_function("raw sqlx query_as", |b| b.to_async(&rt).iter(raw_one));
    group.bench_function("ormkit checked query", |b| {
        b.to_async(&rt).iter(checked_one)
    });
    group.finish();
    let mut group = c.benchmark_group("checked_many_500");
    group.sample_size(30);
    group.bench_function("raw sqlx query_as", |b| b.to_async(&rt).iter(raw_many));
    group.bench_function("ormkit checked query", |b| {
        b.to_async(&rt).iter(checked_many)
    });
    group.finish();

    support::paired(&rt, 51, 300, raw_one, checked_one)
        .print("user_by_id :one: ormkit checked / raw sqlx, same pool");
    support::paired(&rt, 31, 20, raw_many, checked_many)
        .print("active_authors :many (500 rows): ormkit checked / raw sqlx, same pool");
    drop(pool);
    drop(db);
}

criterion_group!(benches, bench);
criterion_main!(benches);
