//! Query metrics and tracing: a `tracing` span per statement (table, operation, rows,
//! duration; never parameter values), the same figures through the `metrics` facade for
//! whatever recorder the application installs, and [`snapshot`] for applications without one.

#![cfg_attr(not(feature = "orm"), allow(dead_code))]

use crate::error::OrmkitError;
use crate::meta::EntityMeta;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per power of two of microseconds: latency is kept to within 1/8 (12.5 %).
const SUB: usize = 8;
/// Powers of two covered: 1 µs to ~2^40 µs.
const POWERS: usize = 40;

struct Histogram {
    buckets: [AtomicU64; SUB * POWERS],
}

impl Histogram {
    const fn new() -> Self {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; SUB * POWERS],
        }
    }

    fn index(micros: u64) -> usize {
        let micros = micros.max(1);
        let power = 63 - micros.leading_zeros() as usize;
        let sub = if power >= 3 {
            ((micros >> (power - 3)) & 7) as usize
        } else {
            ((micros << (3 - power)) & 7) as usize
        };
        (power * SUB + sub).min(SUB * POWERS - 1)
    }

    fn upper_bound(index: usize) -> Duration {
        let power = index / SUB;
        let sub = (index % SUB) as u64;
        let base = 1u64 << power;
        Duration::from_micros(base + (base * (sub + 1)) / SUB as u64)
    }

    fn record(&self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.buckets[Self::index(micros)].fetch_add(1, Ordering::Relaxed);
    }

    fn quantiles(&self, qs: &[f64]) -> Vec<Duration> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        qs.iter()
            .map(|q| {
                if total == 0 {
                    return Duration::ZERO;
                }
                let target = ((total as f64) * q).ceil().max(1.0) as u64;
                let mut seen = 0;
                for (i, c) in counts.iter().enumerate() {
                    seen += c;
                    if seen >= target {
                        return Self::upper_bound(i);
                    }
                }
                Self::upper_bound(counts.len() - 1)
            })
            .collect()
    }
}

static LATENCY: Histogram = Histogram::new();
static QUERIES: AtomicU64 = AtomicU64::new(0);
static ERRORS: AtomicU64 = AtomicU64::new(0);
static RETRIES: AtomicU64 = AtomicU64::new(0);

/// What happened since the process started.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSnapshot {
    /// Statements sent.
    pub queries: u64,
    /// Statements that failed.
    pub errors: u64,
    /// Median statement latency (within 12.5 %).
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Transactions re-run by a retry policy.
    pub transaction_retries: u64,
}

/// The process-wide figures, for applications without a `metrics` recorder.
pub fn snapshot() -> MetricsSnapshot {
    let q = LATENCY.quantiles(&[0.5, 0.95, 0.99]);
    MetricsSnapshot {
        queries: QUERIES.load(Ordering::Relaxed),
        errors: ERRORS.load(Ordering::Relaxed),
        p50: q[0],
        p95: q[1],
        p99: q[2],
        transaction_retries: RETRIES.load(Ordering::Relaxed),
    }
}

/// A pool's state: open connections and idle ones (also published as gauges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open.
    pub size: u32,
    /// Of those, idle.
    pub idle: usize,
}

/// `pool`'s state, also published as the gauges `ormkit_pool_size` and `ormkit_pool_idle`.
pub fn pool_stats(pool: &sqlx::PgPool) -> PoolStats {
    let stats = PoolStats {
        size: pool.size(),
        idle: pool.num_idle(),
    };
    metrics::gauge!("ormkit_pool_size").set(f64::from(stats.size));
    metrics::gauge!("ormkit_pool_idle").set(stats.idle as f64);
    stats
}

/// Rows in a list result (a `&Vec` because it is used as `fn(&Result::Ok) -> u64`).
#[allow(clippy::ptr_arg)]
pub(crate) fn rows_vec<T>(v: &Vec<T>) -> u64 {
    v.len() as u64
}

/// Rows in an optional result.
pub(crate) fn rows_opt<T>(v: &Option<T>) -> u64 {
    u64::from(v.is_some())
}

/// Rows a write affected.
pub(crate) fn rows_done(v: &sqlx::postgres::PgQueryResult) -> u64 {
    v.rows_affected()
}

/// One row (a single row or a scalar).
pub(crate) fn rows_one<T>(_: &T) -> u64 {
    1
}

/// Records one statement: the `metrics` facade, the snapshot, and the span's fields.
pub(crate) fn record<T>(
    meta: &'static EntityMeta,
    op: &'static str,
    elapsed: Duration,
    result: &Result<T, sqlx::Error>,
    rows: fn(&T) -> u64,
    span: &tracing::Span,
) {
    QUERIES.fetch_add(1, Ordering::Relaxed);
    LATENCY.record(elapsed);
    let labels = [("table", meta.name), ("op", op)];
    metrics::histogram!("ormkit_query_duration_seconds", &labels).record(elapsed.as_secs_f64());
    metrics::counter!("ormkit_queries_total", &labels).increment(1);
    span.record("duration_us", elapsed.as_micros() as u64);
    match result {
        Ok(value) => {
            span.record("rows", rows(value));
        }
        Err(err) => {
            ERRORS.fetch_add(1, Ordering::Relaxed);
            let category = OrmkitError::category_of(err).as_str();
            metrics::counter!("ormkit_query_errors_total", "table" => meta.name, "op" => op, "category" => category)
                .increment(1);
            span.record("error", category);
        }
    }
}

/// Counts a transaction re-run.
pub(crate) fn transaction_retried() {
    RETRIES.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("ormkit_transaction_retries_total").increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_an_eighth() {
        let h = Histogram::new();
        for micros in 1..=1000u64 {
            h.record(Duration::from_micros(micros));
        }
        let q = h.quantiles(&[0.5, 0.99]);
        let p50 = q[0].as_micros() as f64;
        let p99 = q[1].as_micros() as f64;
        assert!((500.0..=500.0 * 1.126).contains(&p50), "{p50}");
        assert!((990.0..=990.0 * 1.126).contains(&p99), "{p99}");
    }
}
