//! What freeing 100 000 insert models costs (`NewAuditLog`, and `NewUser` with every column the
//! users COPY writes): `bulk_insert` takes its rows by value and frees them before it returns;
//! `bulk_insert_slice` and the tokio-postgres COPY in the bench borrow theirs.
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml --example drop_cost`

use ormkit_peers::copy::Workload;
use std::time::Instant;

fn median_drop<T>(make: impl Fn() -> Vec<T>) -> (f64, f64, f64) {
    let mut t = Vec::new();
    for _ in 0..31 {
        let rows = make();
        let s = Instant::now();
        drop(std::hint::black_box(rows));
        t.push(s.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(f64::total_cmp);
    (t[15], t[0], t[30])
}

fn main() {
    let audit = Workload::audit(100_000);
    let (m, lo, hi) = median_drop(|| audit.new_audit_logs());
    println!("drop of 100 000 NewAuditLog: median {m:.2} ms (min {lo:.2}, max {hi:.2})");
    let users = Workload::users(100_000);
    let (m, lo, hi) = median_drop(|| users.new_users());
    println!("drop of 100 000 NewUser: median {m:.2} ms (min {lo:.2}, max {hi:.2})");
}
