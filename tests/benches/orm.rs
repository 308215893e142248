//! ormkit against raw sqlx on the same pool, in the same run: `find_by_id`, and a 1000-row
//! filtered, ordered list. Then `find_by_id` through `create_smart_pool` against the floor, a
//! tokio-postgres prepared statement on one dedicated connection, and raw sqlx on its default
//! pool (which pings the server on every acquire).
//!
//! `cargo bench -p ormkit-tests --bench orm` (DATABASE_URL's server, else a throwaway cluster).

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ormkit::Repository;

mod support;
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use support::RawUser;
use tokio_postgres::types::{FromSql, Type};

/// Any column's value, left undecoded: the tokio-postgres floor reads the enum, enum-array
/// and composite columns as raw bytes (decoding them is work the floor does not do).
struct Raw;

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        std::hint::black_box(raw);
        Ok(Raw)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
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

    // Issue 3's ratio again, in alternating batches (criterion's groups run one after the
    // other on a VM whose speed drifts; see `support`).
    let by_id_sql = format!("{SELECT} WHERE \"id\" = $1");
    let raw_on = |pool: &sqlx::PgPool| {
        let query = sqlx::query_as::<_, RawUser>(&by_id_sql).bind(id.into_inner());
        let pool = pool.clone();
        async move { query.fetch_one(&pool).await.unwrap() }
    };
    let ormkit_on = |pool: &sqlx::PgPool| {
        let pool = pool.clone();
        async move {
            Repository::<User>::new(&pool)
                .find_by_id(id)
                .await
                .unwrap()
                .unwrap()
        }
    };
    support::paired(&rt, 51, 300, || raw_on(&pool), || ormkit_on(&pool))
        .print("find_by_id: ormkit / raw sqlx, same default pool");

    // Issue 5's pool comparison, on a current-thread runtime: tokio-postgres drives its
    // connection from a spawned task, and on a multi-threaded runtime each query would pay a
    // wake-up of another thread that sqlx (which drives its connection inline) does not.
    // Every pool and connection is made on this runtime.
    let rt1 = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (smart, default_pool, client, statement) = rt1.block_on(async {
        let smart = ormkit::create_smart_pool(db.url()).await.unwrap();
        let default_pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect(db.url())
            .await
            .unwrap();
        let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let statement = client.prepare(&by_id_sql).await.unwrap();
        (smart, default_pool, client, statement)
    });
    let tokio_postgres = || async {
        let row = client
            .query_opt(&statement, &[&id.into_inner()])
            .await
            .unwrap()
            .unwrap();
        (
            row.get::<_, i64>(0),
            row.get::<_, String>(1),
            row.get::<_, Option<String>>(2),
            row.get::<_, Raw>(3),
            row.get::<_, Option<Raw>>(4),
            row.get::<_, Option<Raw>>(5),
            row.get::<_, Option<i32>>(6),
            row.get::<_, ormkit::chrono::DateTime<ormkit::chrono::Utc>>(7),
            row.get::<_, ormkit::serde_json::Value>(8),
        )
    };
    let mut group = c.benchmark_group("find_by_id_pools");
    group.bench_function("tokio-postgres prepared, one connection", |b| {
        b.to_async(&rt1).iter(tokio_postgres)
    });
    group.bench_function("ormkit Repository, smart pool", |b| {
        b.to_async(&rt1).iter(|| ormkit_on(&smart))
    });
    group.bench_function("raw sqlx query_as, smart pool", |b| {
        b.to_async(&rt1).iter(|| raw_on(&smart))
    });
    group.bench_function("raw sqlx query_as, default pool", |b| {
        b.to_async(&rt1).iter(|| raw_on(&default_pool))
    });
    group.finish();
    support::paired(&rt1, 51, 300, tokio_postgres, || ormkit_on(&smart))
        .print("find_by_id: ormkit on the smart pool / tokio-postgres prepared");
    support::paired(&rt1, 51, 300, tokio_postgres, || raw_on(&smart))
        .print("find_by_id: raw sqlx on the smart pool / tokio-postgres prepared");
    support::paired(&rt1, 51, 300, tokio_postgres, || raw_on(&default_pool))
        .print("find_by_id: raw sqlx on its default pool / tokio-postgres prepared");
    rt1.block_on(async {
        smart.close().await;
        default_pool.close().await;
    });
    drop(client);
    drop(rt1);
    drop(pool);
    drop(db);
}

criterion_group!(benches, bench);
criterion_main!(benches);
