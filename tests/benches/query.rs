//! The typed query layer against the same SQL through raw sqlx `query_as`, in the same run:
//! a two-table join returning 1000 rows, a `GROUP BY` with aggregates over 100 000 rows,
//! and the cost of building the statement of a three-way join with ten conditions.
//!
//! `cargo bench -p ormkit-tests --bench query` (DATABASE_URL's server, else a throwaway
//! cluster).

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ormkit::chrono::{DateTime, Utc};
use ormkit::query::{count, max, min};
use ormkit::{ParallelExecutor, Repository};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

mod support;

const POSTS: usize = 100_000;

type JoinRow = (
    PostId,
    String,
    String,
    Option<DateTime<Utc>>,
    String,
    Option<String>,
);
type RawJoinRow = (
    i64,
    String,
    String,
    Option<DateTime<Utc>>,
    String,
    Option<String>,
);

/// A page of 1000 posts with their authors' columns.
fn join_query() -> ormkit::Select<(Post, User), JoinRow> {
    Post::query()
        .inner_join(posts::AUTHOR)
        .filter(users::KARMA.gte(Some(1)))
        .order_by(posts::ID.asc())
        .limit(1000)
        .select((
            posts::ID,
            posts::TITLE,
            posts::BODY,
            posts::PUBLISHED_AT,
            users::EMAIL,
            users::DISPLAY_NAME,
        ))
}

type GroupRow = (UserId, i64, Option<DateTime<Utc>>, Option<String>);
type RawGroupRow = (i64, i64, Option<DateTime<Utc>>, Option<String>);

/// Per author: how many posts, the latest publication, the first title.
fn group_query() -> ormkit::Select<Post, GroupRow> {
    Post::query()
        .group_by(posts::AUTHOR_ID)
        .order_by(posts::AUTHOR_ID.asc())
        .select((
            posts::AUTHOR_ID,
            count(),
            max(posts::PUBLISHED_AT),
            min(posts::TITLE),
        ))
}

/// Comments with their posts and the posts' authors, ten conditions.
fn three_way() -> ormkit::Select<(Comment, Post, User), (String, String, String)> {
    Comment::query()
        .inner_join(comments::POST)
        .inner_join(posts::AUTHOR)
        .filter(comments::BODY.like("%rust%"))
        .filter(comments::AUTHOR_ID.is_not_null())
        .filter(posts::TITLE.ne("draft"))
        .filter(posts::PUBLISHED_AT.is_not_null())
        .filter(posts::TAGS.any_eq("sql"))
        .filter(users::KARMA.between(Some(1), Some(100)))
        .filter(users::MOOD.is_in([Mood::Happy, Mood::SoSo]))
        .filter(users::EMAIL.like("%@example.com"))
        .filter(users::DISPLAY_NAME.is_not_null())
        .filter(comments::ID.gt(CommentId::new(10)))
        .order_by(comments::ID.desc())
        .limit(50)
        .select((comments::BODY, posts::TITLE, users::EMAIL))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new()).unwrap();
    let pool = db.pool.clone();
    rt.block_on(async {
        let users = Repository::<User>::new(&pool)
            .insert_many((0..100).map(|i| {
                let mut u = NewUser::new(format!("user{i:03}@example.com"));
                u.karma = Some(i % 10 + 1);
                u.display_name = Some(format!("User {i}"));
                u
            }))
            .await
            .unwrap();
        let at: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
        let posts: Vec<NewPost> = (0..POSTS)
            .map(|i| {
                let mut p = NewPost::new(users[i % users.len()].id, format!("post {i}"));
                p.body = Some("a body of some length, as posts have".into());
                p.published_at = Some(at + ormkit::chrono::Duration::minutes(i as i64));
                p
            })
            .collect();
        ParallelExecutor::new(&pool, 2)
            .bulk_insert::<Post>(posts)
            .await
            .unwrap();
        ormkit::sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    });

    let join_sql = join_query().to_sql().unwrap().sql;
    let mut group = c.benchmark_group("join_1000");
    group.sample_size(30);
    group.bench_function("raw sqlx query_as", |b| {
        b.to_async(&rt).iter(|| async {
            let rows: Vec<RawJoinRow> = sqlx::query_as(&join_sql)
                .bind(Some(1_i32))
                .fetch_all(&pool)
                .await
                .unwrap();
            assert_eq!(rows.len(), 1000);
            rows
        })
    });
    group.bench_function("ormkit typed join", |b| {
        b.to_async(&rt).iter(|| async {
            let rows = join_query().fetch_all(&pool).await.unwrap();
            assert_eq!(rows.len(), 1000);
            rows
        })
    });
    group.finish();

    let group_sql = group_query().to_sql().unwrap().sql;
    let mut group = c.benchmark_group("group_by_100k");
    group.sample_size(20);
    group.bench_function("raw sqlx query_as", |b| {
        b.to_async(&rt).iter(|| async {
            let rows: Vec<RawGroupRow> = sqlx::query_as(&group_sql).fetch_all(&pool).await.unwrap();
            assert_eq!(rows.len(), 100);
            rows
        })
    });
    group.bench_function("ormkit typed aggregates", |b| {
        b.to_async(&rt).iter(|| async {
            let rows = group_query().fetch_all(&pool).await.unwrap();
            assert_eq!(rows.len(), 100);
            rows
        })
    });
    group.finish();

    let paired = support::paired(
        &rt,
        15,
        20,
        || async {
            let rows: Vec<RawJoinRow> = sqlx::query_as(&join_sql)
                .bind(Some(1_i32))
                .fetch_all(&pool)
                .await
                .unwrap();
            rows
        },
        || async { join_query().fetch_all(&pool).await.unwrap() },
    );
    paired.print("join_1000 ormkit / raw sqlx");

    let paired = support::paired(
        &rt,
        15,
        5,
        || async {
            let rows: Vec<RawGroupRow> = sqlx::query_as(&group_sql).fetch_all(&pool).await.unwrap();
            rows
        },
        || async { group_query().fetch_all(&pool).await.unwrap() },
    );
    paired.print("group_by_100k ormkit / raw sqlx");

    let mut group = c.benchmark_group("build");
    group.bench_function("three-way join, ten conditions", |b| {
        b.iter(|| black_box(three_way().to_sql().unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
