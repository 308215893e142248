//! The fixed cost of one `bulk_insert` call: one row into `audit_log` and one into `users`,
//! 400 times each, on the smart pool (acquire, BEGIN, the column-type look-ups, COPY, COMMIT).
//!
//! `DATABASE_URL=… cargo run --release --manifest-path benches/peers/Cargo.toml --example copy_fixed`

use ormkit::ParallelExecutor;
use ormkit_tests::entities::{AuditLog, NewAuditLog, NewUser, User};
use std::time::Instant;

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = ormkit_tests::support::TestDb::new().await.unwrap();
        let pool = ormkit::create_smart_pool(db.url()).await.unwrap();
        let mut a = Vec::new();
        let mut u = Vec::new();
        for i in 0..400 {
            let t = Instant::now();
            ParallelExecutor::new(&pool, 1)
                .bulk_insert::<AuditLog>(vec![NewAuditLog::new("x".into())])
                .await
                .unwrap();
            a.push(t.elapsed().as_secs_f64() * 1e3);
            let mut user = NewUser::new(format!("u{i}@example.com"));
            user.display_name = Some("n".into());
            let t = Instant::now();
            ParallelExecutor::new(&pool, 1)
                .bulk_insert::<User>(vec![user])
                .await
                .unwrap();
            u.push(t.elapsed().as_secs_f64() * 1e3);
        }
        for (name, v) in [("audit_log 1 row", &mut a), ("users 1 row", &mut u)] {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!(
                "{name}: median {:.3} ms (p10 {:.3}, p90 {:.3})",
                v[v.len() / 2],
                v[v.len() / 10],
                v[v.len() * 9 / 10]
            );
        }
    });
}
