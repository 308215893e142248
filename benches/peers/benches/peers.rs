//! ormkit beside its peers, in one process, on the same tables of one database, on a
//! multi-threaded tokio runtime: a point read by id, a 1000-row filtered and ordered list,
//! fetching 10 000 rows by id, and inserting 100 000 `audit_log` rows.
//!
//! `DATABASE_URL=postgres://… cargo bench --manifest-path benches/peers/Cargo.toml`

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::pooled_connection::deadpool::Pool as Deadpool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use futures::future::LocalBoxFuture;
use ormkit::{ParallelExecutor, Repository, Table};
use ormkit_peers::copy::{user_types, Workload};
use ormkit_peers::schema::{audit_log, posts};
use ormkit_peers::{sea_audit, sea_post, tokio_client, DieselAudit, PostRow, POST_COLUMNS};
use ormkit_tests::entities::{AuditLog, Post, PostId, User, UserId};
use ormkit_tests::support::TestDb;
use sea_orm::{
    ActiveValue, ColumnTrait as _, ConnectOptions, Database, DatabaseConnection, EntityTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use std::rc::Rc;
use std::time::{Duration, Instant};

const AUTHORS: i64 = 5;
const POSTS: i64 = 20_000;
const FETCH: usize = 10_000;
const INSERT: usize = 100_000;
/// Rows per multi-row `INSERT` for sea-orm and diesel: 2 parameters a row, 65 535 at most.
const VALUES_CHUNK: usize = 30_000;
/// Connections of each peer's pool (ormkit's smart pool keeps its own default, 50).
const POOL: u32 = 10;

/// Every peer's handle on the one database.
struct Peers {
    client: tokio_postgres::Client,
    /// One sqlx connection outside any pool: sqlx's statement path without the pool's
    /// acquire and release (whose release sends a `Sync` and waits, sqlx-core 0.8's
    /// `return_to_pool`).
    sqlx_conn: futures::lock::Mutex<sqlx::PgConnection>,
    smart: sqlx::PgPool,
    sea: DatabaseConnection,
    fast: Deadpool<AsyncPgConnection>,
    verified: Deadpool<AsyncPgConnection>,
}

fn deadpool(
    url: &str,
    recycling_method: RecyclingMethod<AsyncPgConnection>,
) -> Deadpool<AsyncPgConnection> {
    let mut config = ManagerConfig::default();
    config.recycling_method = recycling_method;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Deadpool::builder(manager)
        .max_size(POOL as usize)
        .build()
        .unwrap()
}

async fn connect(url: &str) -> Peers {
    let client = tokio_client(url).await;
    let smart = ormkit::create_smart_pool(url).await.unwrap();
    let sqlx_conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    let mut options = ConnectOptions::new(url);
    options.max_connections(POOL).sqlx_logging(false);
    let sea = Database::connect(options).await.unwrap();
    Peers {
        client,
        sqlx_conn: futures::lock::Mutex::new(sqlx_conn),
        smart,
        sea,
        fast: deadpool(url, RecyclingMethod::Fast),
        verified: deadpool(url, RecyclingMethod::Verified),
    }
}

/// `AUTHORS` users with `POSTS` posts spread over them; the posts' ids.
async fn seed(client: &tokio_postgres::Client) -> Vec<i64> {
    client
        .batch_execute(&format!(
            "INSERT INTO users (email) SELECT 'author' || g || '@example.com' FROM generate_series(1, {AUTHORS}) g;
             INSERT INTO posts (author_id, title, body, tags, scores, published_at)
             SELECT (SELECT min(id) FROM users) + g % {AUTHORS}, 'post number ' || g,
                    repeat('body text ', 8), ARRAY['rust', 'orm', 'tag' || g % 7], ARRAY[g % 10, 1, 2],
                    now() - g * interval '1 minute'
               FROM generate_series(1, {POSTS}) g;
             ANALYZE users; ANALYZE posts;"
        ))
        .await
        .unwrap();
    client
        .query("SELECT id FROM posts ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new()).unwrap();
    let p = rt.block_on(connect(db.url()));
    let ids = rt.block_on(seed(&p.client));
    let author: i64 = rt.block_on(async {
        p.client
            .query_one("SELECT min(id) FROM users", &[])
            .await
            .unwrap()
            .get(0)
    });
    let id = ids[ids.len() / 2];
    // Every 2nd post: 10 000 ids spread over the table, in a shuffled-looking order.
    let fetch_ids: Vec<i64> = ids.iter().step_by(2).copied().rev().take(FETCH).collect();

    find_by_id(c, &rt, &p, id);
    list_1000(c, &rt, &p, author);
    fetch_10k(c, &rt, &p, &fetch_ids);
    insert_100k(c, &rt, &p);
    rt.block_on(p.smart.close());
    drop(p);
    insert_100k_users(c, &rt);

    drop(db);
}

fn find_by_id(c: &mut Criterion, rt: &tokio::runtime::Runtime, p: &Peers, id: i64) {
    let by_id = format!("SELECT {POST_COLUMNS} FROM \"posts\" WHERE \"id\" = $1");
    let prepared = rt.block_on(p.client.prepare(&by_id)).unwrap();
    let mut group = c.benchmark_group("peers/find_by_id");
    group.bench_function("tokio-postgres prepared, one connection", |b| {
        b.to_async(rt).iter(|| async {
            let row = p.client.query_one(&prepared, &[&id]).await.unwrap();
            PostRow::from_tokio_postgres(&row)
        })
    });
    group.bench_function("raw sqlx query_as, one connection (no pool)", |b| {
        b.to_async(rt).iter(|| async {
            let mut conn = p.sqlx_conn.lock().await;
            sqlx::query_as::<_, PostRow>(&by_id)
                .bind(id)
                .fetch_one(&mut *conn)
                .await
                .unwrap()
        })
    });
    group.bench_function("raw sqlx query_as, smart pool", |b| {
        b.to_async(rt).iter(|| async {
            sqlx::query_as::<_, PostRow>(&by_id)
                .bind(id)
                .fetch_one(&p.smart)
                .await
                .unwrap()
        })
    });
    group.bench_function("sea-orm find_by_id", |b| {
        b.to_async(rt).iter(|| async {
            sea_post::Entity::find_by_id(id)
                .one(&p.sea)
                .await
                .unwrap()
                .unwrap()
        })
    });
    for (name, pool) in [
        ("diesel-async deadpool Fast", &p.fast),
        ("diesel-async deadpool Verified", &p.verified),
    ] {
        group.bench_function(name, |b| {
            b.to_async(rt).iter(|| async {
                let mut conn = pool.get().await.unwrap();
                posts::table
                    .find(id)
                    .first::<PostRow>(&mut conn)
                    .await
                    .unwrap()
            })
        });
    }
    group.bench_function("ormkit Repository, smart pool", |b| {
        b.to_async(rt).iter(|| async {
            Repository::<Post>::new(&p.smart)
                .find_by_id(PostId::new(id))
                .await
                .unwrap()
                .unwrap()
        })
    });
    group.finish();
}

fn list_1000(c: &mut Criterion, rt: &tokio::runtime::Runtime, p: &Peers, author: i64) {
    let list = format!(
        "SELECT {POST_COLUMNS} FROM \"posts\" WHERE \"author_id\" = $1 ORDER BY \"id\" LIMIT 1000"
    );
    let prepared = rt.block_on(p.client.prepare(&list)).unwrap();
    let mut group = c.benchmark_group("peers/list_1000");
    group.sample_size(30);
    let check = |n: usize| assert_eq!(n, 1000);
    group.bench_function("tokio-postgres prepared, one connection", |b| {
        b.to_async(rt).iter(|| async {
            let rows = p.client.query(&prepared, &[&author]).await.unwrap();
            let rows: Vec<PostRow> = rows.iter().map(PostRow::from_tokio_postgres).collect();
            check(rows.len());
            rows
        })
    });
    group.bench_function("raw sqlx query_as, smart pool", |b| {
        b.to_async(rt).iter(|| async {
            let rows = sqlx::query_as::<_, PostRow>(&list)
                .bind(author)
                .fetch_all(&p.smart)
                .await
                .unwrap();
            check(rows.len());
            rows
        })
    });
    group.bench_function("sea-orm find().filter().order_by().limit()", |b| {
        b.to_async(rt).iter(|| async {
            let rows = sea_post::Entity::find()
                .filter(sea_post::Column::AuthorId.eq(author))
                .order_by_asc(sea_post::Column::Id)
                .limit(1000)
                .all(&p.sea)
                .await
                .unwrap();
            check(rows.len());
            rows
        })
    });
    for (name, pool) in [
        ("diesel-async deadpool Fast", &p.fast),
        ("diesel-async deadpool Verified", &p.verified),
    ] {
        group.bench_function(name, |b| {
            b.to_async(rt).iter(|| async {
                let mut conn = pool.get().await.unwrap();
                let rows = posts::table
                    .filter(posts::author_id.eq(author))
                    .order(posts::id.asc())
                    .limit(1000)
                    .load::<PostRow>(&mut conn)
                    .await
                    .unwrap();
                check(rows.len());
                rows
            })
        });
    }
    group.bench_function("ormkit query, smart pool", |b| {
        use ormkit_tests::entities::posts as cols;
        b.to_async(rt).iter(|| async {
            let rows = Post::query()
                .filter(cols::AUTHOR_ID.eq(UserId::new(author)))
                .order_by(cols::ID.asc())
                .limit(1000)
                .fetch_all(&p.smart)
                .await
                .unwrap();
            check(rows.len());
            rows
        })
    });
    group.finish();
}

fn fetch_10k(c: &mut Criterion, rt: &tokio::runtime::Runtime, p: &Peers, ids: &[i64]) {
    let any = format!("SELECT {POST_COLUMNS} FROM \"posts\" WHERE \"id\" = ANY($1)");
    let prepared = rt.block_on(p.client.prepare(&any)).unwrap();
    let mut group = c.benchmark_group("peers/fetch_10k_by_id");
    group.sample_size(20);
    let check = |n: usize| assert_eq!(n, FETCH);
    group.bench_function("tokio-postgres one = ANY, one connection", |b| {
        b.to_async(rt).iter(|| async {
            let rows = p.client.query(&prepared, &[&ids]).await.unwrap();
            let rows: Vec<PostRow> = rows.iter().map(PostRow::from_tokio_postgres).collect();
            check(rows.len());
            rows
        })
    });
    group.bench_function("raw sqlx one = ANY, smart pool", |b| {
        b.to_async(rt).iter(|| async {
            let rows = sqlx::query_as::<_, PostRow>(&any)
                .bind(ids)
                .fetch_all(&p.smart)
                .await
                .unwrap();
            check(rows.len());
            rows
        })
    });
    group.bench_function("sea-orm filter(is_in)", |b| {
        b.to_async(rt).iter(|| async {
            let rows = sea_post::Entity::find()
                .filter(sea_post::Column::Id.is_in(ids.iter().copied()))
                .all(&p.sea)
                .await
                .unwrap();
            check(rows.len());
            rows
        })
    });
    group.bench_function("diesel-async eq_any, deadpool Fast", |b| {
        b.to_async(rt).iter(|| async {
            let mut conn = p.fast.get().await.unwrap();
            let rows = posts::table
                .filter(posts::id.eq_any(ids))
                .load::<PostRow>(&mut conn)
                .await
                .unwrap();
            check(rows.len());
            rows
        })
    });
    for parallel in [2, 8] {
        group.bench_function(
            format!("ormkit bulk_fetch_by_id, smart pool, max_parallel {parallel}"),
            |b| {
                b.to_async(rt).iter(|| async {
                    let wanted = ids.iter().map(|&id| PostId::new(id)).collect();
                    let found = ParallelExecutor::new(&p.smart, parallel)
                        .bulk_fetch_by_id::<Post>(wanted)
                        .await
                        .unwrap();
                    check(found.rows.len());
                    found
                })
            },
        );
    }
    group.finish();
}

/// Times `insert` of `INSERT` fresh rows into the table `empty` empties (untimed, through
/// `client`), one call per iteration; `prepare` (untimed) makes what the call takes by value.
fn timed_insert<'a, I>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    (client, empty): (&tokio_postgres::Client, &str),
    name: &str,
    prepare: impl Fn() -> I,
    insert: impl Fn(I) -> LocalBoxFuture<'a, u64>,
) {
    let (prepare, insert) = (&prepare, &insert);
    group.bench_function(name, |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                client.batch_execute(empty).await.unwrap();
                let input = prepare();
                let start = Instant::now();
                let written = insert(input).await;
                total += start.elapsed();
                assert_eq!(written, INSERT as u64);
            }
            total
        })
    });
}

fn insert_100k(c: &mut Criterion, rt: &tokio::runtime::Runtime, p: &Peers) {
    let work = Workload::audit(INSERT);
    let (at, messages) = (work.at, &work.texts);
    let audit = (&p.client, "TRUNCATE audit_log");
    let mut group = c.benchmark_group("peers/insert_100k_audit_log");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    timed_insert(
        &mut group,
        rt,
        audit,
        "tokio-postgres binary COPY",
        || (),
        |()| Box::pin(work.copy_audit(&p.client)),
    );
    timed_insert(
        &mut group,
        rt,
        audit,
        "raw sqlx INSERT … unnest, smart pool",
        || vec![at; INSERT],
        |ats| {
            Box::pin(async {
                sqlx::query(
                "INSERT INTO audit_log (at, message) SELECT * FROM unnest($1::timestamptz[], $2::text[])",
            )
            .bind(ats)
            .bind(messages)
            .execute(&p.smart)
            .await
            .unwrap()
            .rows_affected()
            })
        },
    );
    timed_insert(
        &mut group,
        rt,
        audit,
        "sea-orm insert_many, 30k rows a statement",
        || (),
        |()| {
            Box::pin(async {
                let mut written = 0;
                for chunk in messages.chunks(VALUES_CHUNK) {
                    let models = chunk.iter().map(|m| sea_audit::ActiveModel {
                        at: ActiveValue::Set(at),
                        message: ActiveValue::Set(m.clone()),
                    });
                    written += sea_audit::Entity::insert_many(models)
                        .exec_without_returning(&p.sea)
                        .await
                        .unwrap();
                }
                written
            })
        },
    );
    timed_insert(
        &mut group,
        rt,
        audit,
        "diesel-async insert_into, 30k rows a statement, deadpool Fast",
        || (),
        |()| {
            Box::pin(async {
                let mut conn = p.fast.get().await.unwrap();
                let mut written = 0;
                for chunk in messages.chunks(VALUES_CHUNK) {
                    let rows: Vec<DieselAudit<'_>> = chunk
                        .iter()
                        .map(|m| DieselAudit { at, message: m })
                        .collect();
                    written += diesel::insert_into(audit_log::table)
                        .values(&rows)
                        .execute(&mut conn)
                        .await
                        .unwrap() as u64;
                }
                written
            })
        },
    );
    for parallel in [1, 2] {
        ormkit_given::<AuditLog>(&mut group, rt, audit, &p.smart, parallel, || {
            work.new_audit_logs()
        });
    }
    ormkit_lent::<AuditLog>(&mut group, rt, audit, &p.smart, || work.new_audit_logs());
    group.finish();
}

/// ormkit's `bulk_insert` of the rows `make` builds (untimed), given to the call: freed by it.
fn ormkit_given<T: Table>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    empty: (&tokio_postgres::Client, &str),
    pool: &sqlx::PgPool,
    parallel: usize,
    make: impl Fn() -> Vec<T::Insert>,
) {
    let name = format!("ormkit bulk_insert (COPY), smart pool, max_parallel {parallel}");
    timed_insert(group, rt, empty, &name, make, |rows| {
        Box::pin(async move {
            ParallelExecutor::new(pool, parallel)
                .bulk_insert::<T>(rows)
                .await
                .unwrap()
        })
    });
}

/// ormkit's `bulk_insert_slice` of the rows `make` builds, lent as tokio-postgres' writer
/// borrows its rows: they are freed outside the timing.
fn ormkit_lent<T: Table>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    empty: (&tokio_postgres::Client, &str),
    pool: &sqlx::PgPool,
    make: impl Fn() -> Vec<T::Insert>,
) {
    let kept = std::cell::RefCell::new(None);
    timed_insert(
        group,
        rt,
        empty,
        "ormkit bulk_insert_slice (COPY, lent rows), smart pool, max_parallel 1",
        || lend(&kept, make()),
        |rows| {
            Box::pin(async move {
                ParallelExecutor::new(pool, 1)
                    .bulk_insert_slice::<T>(&rows)
                    .await
                    .unwrap()
            })
        },
    );
}

/// `rows`, shared with `kept` until the next iteration's rows replace them: the timed insert
/// lends them, and they are freed outside the timing.
fn lend<T>(kept: &std::cell::RefCell<Option<Rc<T>>>, rows: T) -> Rc<T> {
    let rows = Rc::new(rows);
    *kept.borrow_mut() = Some(Rc::clone(&rows));
    rows
}

/// 100 000 `users` rows (a citext domain, text, an enum, an enum array, a composite, an int4
/// domain, timestamptz, jsonb) in one stream, in a database of their own (the table is
/// truncated between iterations).
fn insert_100k_users(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let db = rt.block_on(TestDb::new()).unwrap();
    let (client, smart, types) = rt.block_on(async {
        let client = tokio_client(db.url()).await;
        let smart = ormkit::create_smart_pool(db.url()).await.unwrap();
        let types = user_types(&client).await;
        (client, smart, types)
    });
    let work = Workload::users(INSERT);
    let empty = (&client, "TRUNCATE users CASCADE");
    let mut group = c.benchmark_group("peers/insert_100k_users");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    timed_insert(
        &mut group,
        rt,
        empty,
        "tokio-postgres binary COPY",
        || (),
        |()| Box::pin(work.copy_users(&client, &types)),
    );
    ormkit_given::<User>(&mut group, rt, empty, &smart, 1, || work.new_users());
    ormkit_lent::<User>(&mut group, rt, empty, &smart, || work.new_users());
    group.finish();
    rt.block_on(smart.close());
    drop(client);
    drop(db);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
