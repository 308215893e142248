//! Point reads in alternating batches: the same `posts` row by id through a tokio-postgres
//! prepared statement on one connection, raw sqlx on a `create_smart_pool` pool, and ormkit's
//! `Repository::find_by_id` on that pool, batch after batch in turn, so that a loaded
//! machine's drift falls on all three alike. Prints each round's ratios to tokio-postgres and
//! their medians, and the client process's CPU time (user + system, every thread) per read.
//!
//! `DATABASE_URL=postgres://… cargo run --release --manifest-path benches/peers/Cargo.toml \
//!   --example point_read_pairs`

use ormkit::Repository;
use ormkit_peers::{median, tokio_client, PostRow, POST_COLUMNS};
use ormkit_tests::entities::{Post, PostId};
use ormkit_tests::support::TestDb;
use std::time::{Duration, Instant};

const ROUNDS: usize = 15;
const BATCH: u32 = 2_000;

/// CPU time the whole process has used (user + system, every thread).
fn cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = TestDb::new().await.unwrap();
        let client = tokio_client(db.url()).await;
        let pool = ormkit::create_smart_pool(db.url()).await.unwrap();
        client
            .execute("INSERT INTO users (email) VALUES ('pairs@example.com')", &[])
            .await
            .unwrap();
        let id: i64 = client
            .query_one(
                "INSERT INTO posts (author_id, title, body, tags, scores, published_at) \
                 SELECT id, 'a title', repeat('body text ', 8), ARRAY['rust', 'orm'], \
                        ARRAY[1, 2], now() FROM users RETURNING id",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        let sql = format!("SELECT {POST_COLUMNS} FROM \"posts\" WHERE \"id\" = $1");
        let prepared = client.prepare(&sql).await.unwrap();
        let posts = Repository::<Post>::new(&pool);

        let time = |kind: usize| {
            let (client, prepared, pool, posts, sql) = (&client, &prepared, &pool, &posts, &sql);
            async move {
                let (start, cpu_start) = (Instant::now(), cpu());
                for _ in 0..BATCH {
                    match kind {
                        0 => {
                            let row = client.query_one(prepared, &[&id]).await.unwrap();
                            std::hint::black_box(PostRow::from_tokio_postgres(&row));
                        }
                        1 => {
                            let row = sqlx::query_as::<_, PostRow>(sql)
                                .bind(id)
                                .fetch_one(pool)
                                .await
                                .unwrap();
                            std::hint::black_box(row);
                        }
                        _ => {
                            let post = posts.find_by_id(PostId::new(id)).await.unwrap();
                            std::hint::black_box(post.unwrap());
                        }
                    }
                }
                (start.elapsed() / BATCH, (cpu() - cpu_start) / BATCH)
            }
        };
        // Warm every path once.
        for kind in 0..3 {
            time(kind).await;
        }
        let (mut sqlx_ratios, mut ormkit_ratios, mut base) = (Vec::new(), Vec::new(), Vec::new());
        let mut cpus = [Vec::new(), Vec::new(), Vec::new()];
        for round in 0..ROUNDS {
            let mut t = Vec::new();
            for (kind, cpus) in cpus.iter_mut().enumerate() {
                let (wall, cpu) = time(kind).await;
                t.push(wall);
                cpus.push(cpu.as_secs_f64() * 1e6);
            }
            let ratio = |d: Duration| d.as_secs_f64() / t[0].as_secs_f64();
            println!(
                "round {round:2}: tokio-postgres {:6.1} µs, raw sqlx smart pool {:6.1} µs ({:.3}×), \
                 ormkit {:6.1} µs ({:.3}×)",
                t[0].as_secs_f64() * 1e6,
                t[1].as_secs_f64() * 1e6,
                ratio(t[1]),
                t[2].as_secs_f64() * 1e6,
                ratio(t[2]),
            );
            base.push(t[0].as_secs_f64() * 1e6);
            sqlx_ratios.push(ratio(t[1]));
            ormkit_ratios.push(ratio(t[2]));
        }
        let (b, b_lo, b_hi) = median(base);
        let (s, s_lo, s_hi) = median(sqlx_ratios);
        let (o, o_lo, o_hi) = median(ormkit_ratios);
        println!("tokio-postgres prepared, one connection: median {b:.1} µs ({b_lo:.1}–{b_hi:.1})");
        println!("raw sqlx, smart pool / tokio-postgres: median {s:.3}× ({s_lo:.3}–{s_hi:.3})");
        println!("ormkit find_by_id, smart pool / tokio-postgres: median {o:.3}× ({o_lo:.3}–{o_hi:.3})");
        for (name, cpus) in ["tokio-postgres", "raw sqlx, smart pool", "ormkit, smart pool"]
            .iter()
            .zip(cpus)
        {
            let (c, lo, hi) = median(cpus);
            println!("client CPU per read, {name}: median {c:.1} µs ({lo:.1}–{hi:.1})");
        }
        pool.close().await;
    });
}
