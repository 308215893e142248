//! ormkit against raw sqlx on the same pool, in the same run: `find_by_id`, and a 1000-row
//! filtered, ordered list.
//!
//! `cargo bench -p ormkit-tests --bench orm` (DATABASE_URL's server, else a throwaway cluster).

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ormkit::Repository;
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

/// The same columns the generated `User` reads, as a hand-written sqlx row.
#[derive(sqlx::FromRow)]
#[allow(dead_code)]
struct RawUser {
    id: i64,
    email: String,
    display_name: Option<String>,
    mood: Mood,
    past_moods: Option<Vec<Option<Mood>>>,
    home: Option<Address>,
    karma: Option<i32>,
    created_at: ormkit::chrono::DateTime<ormkit::chrono::Utc>,
    settings: ormkit::serde_json::Value,
}

const SELECT: &str = "SELECT \"id\", \"email\", \"display_name\", \"mood\", \"past_moods\", \"home\", \"karma\", \"created_at\", \"settings\" FROM \"public\".\"users\"";

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new()).unwrap();
    let pool = db.pool.clone();
    let ids: Vec<UserId> = rt.block_on(async {
        let news = (0..5000).map(|i| {
            let mut u = NewUser::new(format!("user{i:05}@example.com"));
            u.karma = Some(i % 10 + 1);
            u
        });
        Repository::<User>::new(&pool)
            .insert_many(news)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.id)
            .collect()
    });
    let id = ids[2500];

    let mut group = c.benchmark_group("find_by_id");
    group.bench_function("raw sqlx query_as", |b| {
        let sql = format!("{SELECT} WHERE \"id\" = $1");
        b.to_async(&rt).iter(|| async {
            sqlx::query_as::<_, RawUser>(&sql)
                .bind(id.into_inner())
                .fetch_optional(&pool)
                .await
                .unwrap()
                .unwrap()
        })
    });
    group.bench_function("ormkit Repository", |b| {
        b.to_async(&rt).iter(|| async {
            Repository::<User>::new(&pool)
                .find_by_id(id)
                .await
                .unwrap()
                .unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("list_1000");
    group.sample_size(30);
    group.bench_function("raw sqlx query_as", |b| {
        let sql = format!("{SELECT} WHERE \"karma\" <= $1 ORDER BY \"id\" LIMIT 1000");
        b.to_async(&rt).iter(|| async {
            let rows = sqlx::query_as::<_, RawUser>(&sql)
                .bind(Some(2_i32))
                .fetch_all(&pool)
                .await
                .unwrap();
            assert_eq!(rows.len(), 1000);
        })
    });
    group.bench_function("ormkit query", |b| {
        b.to_async(&rt).iter(|| async {
            let rows = User::query()
                .filter(users::KARMA.lte(Some(2)))
                .order_by(users::ID.asc())
                .limit(1000)
                .fetch_all(&pool)
                .await
                .unwrap();
            assert_eq!(rows.len(), 1000);
        })
    });
    group.finish();
    drop(pool);
    drop(db);
}

criterion_group!(benches, bench);
criterion_main!(benches);
