//! Bulk work against its physical limit, in the same run: inserting 100 000 rows through
//! ormkit's binary COPY vs tokio-postgres' binary COPY (and ormkit's `INSERT … SELECT FROM
//! unnest … RETURNING` and multi-row `INSERT … VALUES … RETURNING`); fetching 10 000 rows by id in bulk vs one `find_by_id` each and
//! vs one hand-written `= ANY` statement.
//!
//! `cargo bench -p ormkit-tests --bench bulk`

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion};
use futures::future::LocalBoxFuture;
use futures::pin_mut;
use ormkit::chrono::{DateTime, Utc};
use ormkit::{Entity as _, ParallelExecutor, Repository};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

const ROWS: usize = 100_000;

fn rows(at: DateTime<Utc>) -> Vec<NewAuditLog> {
    (0..ROWS)
        .map(|i| NewAuditLog {
            at: Some(at),
            message: format!("event number {i} happened"),
        })
        .collect()
}

/// Times `insert` of a fresh copy of the rows into the emptied table; `insert` returns how
/// many rows it wrote.
fn timed_insert<'a>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    fresh_rows: &dyn Fn() -> Vec<NewAuditLog>,
    name: &str,
    insert: &dyn Fn(Vec<NewAuditLog>) -> LocalBoxFuture<'a, usize>,
) {
    group.bench_function(name, |b| {
        b.iter_batched(
            fresh_rows,
            |rows| assert_eq!(rt.block_on(insert(rows)), ROWS),
            BatchSize::PerIteration,
        )
    });
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new()).unwrap();
    let pool = db.pool.clone();
    let url = db.url().to_owned();
    let at = Utc::now();
    let (client, connection) = rt
        .block_on(tokio_postgres::connect(&url, tokio_postgres::NoTls))
        .unwrap();
    rt.spawn(connection);
    let truncate = || {
        rt.block_on(async {
            ormkit::sqlx::query("TRUNCATE audit_log")
                .execute(&pool)
                .await
                .unwrap();
        })
    };

    {
        let mut group = c.benchmark_group("insert_100k");
        group.sample_size(10);
        let fresh_rows = || {
            truncate();
            rows(at)
        };
        let (pool, client) = (&pool, &client);
        timed_insert(
            &mut group,
            &rt,
            &fresh_rows,
            "tokio-postgres binary COPY",
            &move |rows| {
                Box::pin(async move {
                    let sink = client
                        .copy_in("COPY audit_log (at, message) FROM STDIN WITH (FORMAT binary)")
                        .await
                        .unwrap();
                    let writer = BinaryCopyInWriter::new(sink, &[Type::TIMESTAMPTZ, Type::TEXT]);
                    pin_mut!(writer);
                    for row in &rows {
                        writer
                            .as_mut()
                            .write(&[&row.at.unwrap(), &row.message])
                            .await
                            .unwrap();
                    }
                    writer.finish().await.unwrap() as usize
                })
            },
        );
        for parallel in [1, 2] {
            let name = format!("ormkit bulk_insert (COPY), max_parallel {parallel}");
            timed_insert(&mut group, &rt, &fresh_rows, &name, &move |rows| {
                Box::pin(async move {
                    let exec = ParallelExecutor::new(pool, parallel);
                    exec.bulk_insert::<AuditLog>(rows).await.unwrap() as usize
                })
            });
        }
        timed_insert(
            &mut group,
            &rt,
            &fresh_rows,
            "ormkit bulk_insert_returning (UNNEST … RETURNING)",
            &move |rows| {
                Box::pin(async move {
                    let exec = ParallelExecutor::new(pool, 2).chunk_size(10_000);
                    exec.bulk_insert_returning::<AuditLog>(rows)
                        .await
                        .unwrap()
                        .len()
                })
            },
        );
        timed_insert(
            &mut group,
            &rt,
            &fresh_rows,
            "ormkit insert_many (multi-row VALUES … RETURNING)",
            &move |rows| {
                Box::pin(async move {
                    let repo = Repository::<AuditLog>::new(pool);
                    repo.insert_many(rows).await.unwrap().len()
                })
            },
        );
        group.finish();
    }

    let ids: Vec<UserId> = rt.block_on(async {
        let news = (0..10_000)
            .map(|i| NewUser::new(format!("u{i}@x.io")))
            .collect();
        ParallelExecutor::new(&pool, 2)
            .bulk_insert_returning::<User>(news)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.id)
            .collect()
    });
    let mut group = c.benchmark_group("fetch_10k_by_id");
    group.sample_size(10);
    group.bench_function("sequential find_by_id", |b| {
        b.to_async(&rt).iter(|| async {
            let repo = Repository::<User>::new(&pool);
            for id in &ids {
                repo.find_by_id(*id).await.unwrap().unwrap();
            }
        })
    });
    // The floor: one hand-written `= ANY` statement for all 10 000 ids, rows in the
    // server's order.
    let raw_ids: Vec<i64> = ids.iter().map(|i| i.into_inner()).collect();
    let columns: Vec<String> = User::META
        .columns
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect();
    let raw_sql = format!(
        "SELECT {} FROM {} WHERE \"id\" = ANY($1)",
        columns.join(", "),
        User::META.qualified()
    );
    group.bench_function("raw sqlx, one = ANY statement", |b| {
        b.to_async(&rt).iter(|| async {
            let rows: Vec<User> = ormkit::sqlx::query_as(&raw_sql)
                .bind(&raw_ids)
                .fetch_all(&pool)
                .await
                .unwrap();
            assert_eq!(rows.len(), raw_ids.len());
        })
    });
    // Default chunking (issue 14): 10 000 ids with `max_parallel` 2 are two statements of 5 000.
    group.bench_function("ormkit bulk_fetch_by_id", |b| {
        b.to_async(&rt).iter(|| async {
            let found = ParallelExecutor::new(&pool, 2)
                .bulk_fetch_by_id::<User>(ids.clone())
                .await
                .unwrap();
            assert!(found.missing.is_empty());
        })
    });
    group.finish();
    drop(client);
    drop(pool);
    drop(db);
}

criterion_group!(benches, bench);
criterion_main!(benches);
