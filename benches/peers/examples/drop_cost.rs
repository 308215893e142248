//! What freeing 100 000 `NewAuditLog` rows costs: `bulk_insert` takes its rows by value and
//! frees them before it returns; the tokio-postgres COPY in the bench borrows its rows.
//!
//! `cargo run --release --manifest-path benches/peers/Cargo.toml --example drop_cost`

use chrono::Utc;
use ormkit_tests::entities::NewAuditLog;
use std::time::Instant;

fn main() {
    let at = Utc::now();
    let mut t = Vec::new();
    for _ in 0..30 {
        let rows: Vec<NewAuditLog> = (0..100_000)
            .map(|i| NewAuditLog {
                at: Some(at),
                message: format!("event number {i} happened"),
            })
            .collect();
        let s = Instant::now();
        drop(std::hint::black_box(rows));
        t.push(s.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "drop of 100 000 NewAuditLog: median {:.2} ms (min {:.2}, max {:.2})",
        t[15], t[0], t[29]
    );
}
