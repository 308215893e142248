//! Single-stream inserts in alternating turns: 100 000 rows through tokio-postgres's binary
//! COPY writer, through ormkit's `bulk_insert_slice` (rows lent, as tokio-postgres's writer
//! borrows them) and through `bulk_insert` (rows given, and freed inside the call), one after
//! the other in every round, the table truncated before each. A checkpoint or a loaded
//! machine then falls on all three alike, which criterion's one-after-the-other groups do
//! not promise. Prints each round and the medians of the ratios to tokio-postgres.
//!
//! `DATABASE_URL=postgres://… cargo run --release --manifest-path benches/peers/Cargo.toml \
//!   --example copy_pairs [audit_log|users] [rounds]`

use ormkit::ParallelExecutor;
use ormkit_peers::copy::{user_types, Workload};
use ormkit_peers::{median, tokio_client};
use ormkit_tests::entities::{AuditLog, User};
use ormkit_tests::support::TestDb;
use std::time::{Duration, Instant};

const ROWS: usize = 100_000;

fn main() {
    let mut args = std::env::args().skip(1);
    let table = args.next().unwrap_or_else(|| "audit_log".into());
    let rounds: usize = args
        .next()
        .map_or(9, |n| n.parse().expect("rounds: a number"));
    let users = match table.as_str() {
        "audit_log" => false,
        "users" => true,
        other => panic!("no workload {other:?}: audit_log or users"),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = TestDb::new().await.unwrap();
        let client = tokio_client(db.url()).await;
        let pool = ormkit::create_smart_pool(db.url()).await.unwrap();
        let exec = ParallelExecutor::new(&pool, 1);
        let types = user_types(&client).await;
        let (work, empty) = if users {
            (Workload::users(ROWS), "TRUNCATE users CASCADE")
        } else {
            (Workload::audit(ROWS), "TRUNCATE audit_log")
        };
        let (mut lent_ratios, mut given_ratios, mut base) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let mut t = [Duration::ZERO; 3];
            for (kind, t) in t.iter_mut().enumerate() {
                client.batch_execute(empty).await.unwrap();
                let (audit, new_users) = match (kind, users) {
                    (0, _) => (Vec::new(), Vec::new()),
                    (_, false) => (work.new_audit_logs(), Vec::new()),
                    (_, true) => (Vec::new(), work.new_users()),
                };
                let start = Instant::now();
                let written = match (kind, users) {
                    (0, false) => work.copy_audit(&client).await,
                    (0, true) => work.copy_users(&client, &types).await,
                    (1, false) => exec.bulk_insert_slice::<AuditLog>(&audit).await.unwrap(),
                    (1, true) => exec.bulk_insert_slice::<User>(&new_users).await.unwrap(),
                    (_, false) => exec.bulk_insert::<AuditLog>(audit).await.unwrap(),
                    (_, true) => exec.bulk_insert::<User>(new_users).await.unwrap(),
                };
                *t = start.elapsed();
                assert_eq!(written, ROWS as u64);
            }
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            let ratio = |d: Duration| d.as_secs_f64() / t[0].as_secs_f64();
            println!(
                "round {round:2}: tokio-postgres {:7.1} ms, ormkit lent {:7.1} ms ({:.3}×), \
                 ormkit given {:7.1} ms ({:.3}×)",
                ms(t[0]),
                ms(t[1]),
                ratio(t[1]),
                ms(t[2]),
                ratio(t[2]),
            );
            base.push(ms(t[0]));
            lent_ratios.push(ratio(t[1]));
            given_ratios.push(ratio(t[2]));
        }
        let (b, b_lo, b_hi) = median(base);
        let (l, l_lo, l_hi) = median(lent_ratios);
        let (g, g_lo, g_hi) = median(given_ratios);
        println!("{table}: tokio-postgres binary COPY median {b:.1} ms ({b_lo:.1}–{b_hi:.1})");
        println!("{table}: ormkit bulk_insert_slice / tokio-postgres median {l:.3}× ({l_lo:.3}–{l_hi:.3})");
        println!("{table}: ormkit bulk_insert / tokio-postgres median {g:.3}× ({g_lo:.3}–{g_hi:.3})");
        pool.close().await;
    });
}
