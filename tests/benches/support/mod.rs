//! Paired measurement for ratios on a shared machine: criterion's groups run one after the
//! other, and this VM's speed drifts by ±20 % from minute to minute, so a ratio of two groups
//! measures the drift as much as the code. Alternating batches expose both sides to the same
//! load.

use criterion::black_box;
use std::future::Future;
use std::time::Instant;

/// Alternating-batch comparison of `b` against `a`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paired {
    /// Median ns per call of `a`.
    pub(crate) a_ns: f64,
    /// Median ns per call of `b`.
    pub(crate) b_ns: f64,
    /// Median of the per-round ratios `b / a`.
    pub(crate) ratio: f64,
    /// Fastest batch of `b` over fastest batch of `a`.
    pub(crate) fastest: f64,
}

impl Paired {
    /// One line for the bench's output, e.g. `paired x / y: 254 ns / 245 ns; ratio median …`.
    pub(crate) fn print(&self, name: &str) {
        let unit = |ns: f64| {
            if ns >= 10_000.0 {
                format!("{:.1} µs", ns / 1000.0)
            } else {
                format!("{ns:.0} ns")
            }
        };
        eprintln!(
            "paired {name}: {} / {}; ratio median {:.3}x, fastest {:.3}x",
            unit(self.b_ns),
            unit(self.a_ns),
            self.ratio,
            self.fastest
        );
    }
}

/// Nanoseconds per call of `f`, over one batch of `calls`.
fn batch<F: Fn() -> Fut, Fut: Future>(rt: &tokio::runtime::Runtime, calls: u32, f: &F) -> f64 {
    let start = Instant::now();
    rt.block_on(async {
        for _ in 0..calls {
            black_box(f().await);
        }
    });
    start.elapsed().as_nanos() as f64 / f64::from(calls)
}

/// `rounds` rounds of one batch of `a` then one batch of `b`, `calls` calls each.
pub(crate) fn paired<A, FA, B, FB>(
    rt: &tokio::runtime::Runtime,
    rounds: usize,
    calls: u32,
    a: A,
    b: B,
) -> Paired
where
    A: Fn() -> FA,
    FA: Future,
    B: Fn() -> FB,
    FB: Future,
{
    let runs: Vec<(f64, f64)> = (0..rounds)
        .map(|_| (batch(rt, calls, &a), batch(rt, calls, &b)))
        .collect();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let fastest = |v: &mut dyn Iterator<Item = f64>| v.fold(f64::INFINITY, f64::min);
    Paired {
        a_ns: median(runs.iter().map(|r| r.0).collect()),
        b_ns: median(runs.iter().map(|r| r.1).collect()),
        ratio: median(runs.iter().map(|r| r.1 / r.0).collect()),
        fastest: fastest(&mut runs.iter().map(|r| r.1)) / fastest(&mut runs.iter().map(|r| r.0)),
    }
}

/// The columns the generated `User` reads, as a hand-written sqlx row: raw sqlx's side of the
/// comparisons (unused by the benches that compare other things).
#[derive(sqlx::FromRow)]
#[allow(dead_code)]
pub(crate) struct RawUser {
    pub(crate) id: i64,
    pub(crate) email: String,
    pub(crate) display_name: Option<String>,
    pub(crate) mood: ormkit_tests::entities::Mood,
    pub(crate) past_moods: Option<Vec<Option<ormkit_tests::entities::Mood>>>,
    pub(crate) home: Option<ormkit_tests::entities::Address>,
    pub(crate) karma: Option<i32>,
    pub(crate) created_at: ormkit::chrono::DateTime<ormkit::chrono::Utc>,
    pub(crate) settings: ormkit::serde_json::Value,
}
