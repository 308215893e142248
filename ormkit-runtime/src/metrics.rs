//! Query metrics and tracing: a `tracing` span per statement with OpenTelemetry's database
//! attributes (`db.system.name`, `db.collection.name`, `db.query.summary`, … and ormkit's
//! table, operation, rows and duration; never parameter values, and the query text only
//! after [`record_query_text`]), the same figures through the `metrics` facade for whatever
//! recorder the application installs (the duration also as `db.client.operation.duration`),
//! and [`snapshot`] for applications without one.

#![cfg_attr(not(feature = "orm"), allow(dead_code))]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
static ACQUIRING: AtomicU64 = AtomicU64::new(0);
// Read by `snapshot` whatever the features; written only with `migrations`.
static MIGRATIONS_APPLIED: AtomicU64 = AtomicU64::new(0);
static MIGRATIONS_REVERTED: AtomicU64 = AtomicU64::new(0);
static MIGRATION_MICROS: AtomicU64 = AtomicU64::new(0);
/// Reads answered by an ormkit cache, and reads it could not answer (misses and bypasses).
pub(crate) static CACHE_HITS: AtomicU64 = AtomicU64::new(0);
pub(crate) static CACHE_MISSES: AtomicU64 = AtomicU64::new(0);

/// What happened since the process started.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
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
    /// Reads answered by an entity or query cache.
    pub cache_hits: u64,
    /// Cache reads that went to the database (misses, and bypasses of a cache that could not
    /// vouch for itself).
    pub cache_misses: u64,
    /// Migrations applied by a `Migrator`.
    pub migrations_applied: u64,
    /// Migrations reverted by a `Migrator`.
    pub migrations_reverted: u64,
    /// Time spent in the scripts of those migrations, up and down.
    pub migration_time: Duration,
}

impl MetricsSnapshot {
    /// `cache_hits / (cache_hits + cache_misses)`, or 0 before the first cached read.
    pub fn cache_hit_rate(&self) -> f64 {
        let reads = self.cache_hits + self.cache_misses;
        if reads == 0 {
            0.0
        } else {
            self.cache_hits as f64 / reads as f64
        }
    }
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
        cache_hits: CACHE_HITS.load(Ordering::Relaxed),
        cache_misses: CACHE_MISSES.load(Ordering::Relaxed),
        migrations_applied: MIGRATIONS_APPLIED.load(Ordering::Relaxed),
        migrations_reverted: MIGRATIONS_REVERTED.load(Ordering::Relaxed),
        migration_time: Duration::from_micros(MIGRATION_MICROS.load(Ordering::Relaxed)),
    }
}

/// A pool's state: open connections, idle ones, and statements waiting for a connection
/// (also published as gauges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Connections open.
    pub size: u32,
    /// Of those, idle: in the sqlx pool, or parked in the smart pool's lane between ormkit's
    /// statements.
    pub idle: usize,
    /// Of the idle ones, parked in the lane of a pool made by `create_smart_pool`;
    /// sqlx counts them as in use.
    pub parked: usize,
    /// ormkit statements waiting for a connection from a pool, in the whole process (sqlx
    /// does not count its waiters, so ormkit counts the acquires it makes; a pool used
    /// directly through sqlx is not seen).
    pub waiting: u64,
}

/// `pool`'s state, also published as the gauges `ormkit_pool_size`, `ormkit_pool_idle` and
/// `ormkit_pool_waiting` (the last one is also kept current on every acquire).
pub fn pool_stats(pool: &sqlx::PgPool) -> PoolStats {
    let parked = crate::pool::lane::parked(pool);
    let stats = PoolStats {
        size: pool.size(),
        idle: pool.num_idle() + parked,
        parked,
        waiting: ACQUIRING.load(Ordering::Relaxed),
    };
    metrics::gauge!("ormkit_pool_size").set(f64::from(stats.size));
    metrics::gauge!("ormkit_pool_idle").set(stats.idle as f64);
    metrics::gauge!("ormkit_pool_waiting").set(stats.waiting as f64);
    stats
}

/// A connection from `pool`, counted in [`PoolStats::waiting`] until it arrives (or the
/// caller gives up: the count is dropped with the future). A server that cannot be reached
/// fails it after the connect timeout, with the cause; at the pool's acquire timeout the
/// error says whether the pool was exhausted or its server unreachable, and why.
pub(crate) async fn acquire(
    pool: &sqlx::PgPool,
) -> crate::Result<sqlx::pool::PoolConnection<sqlx::Postgres>> {
    let acquiring = std::pin::pin!(waiting(pool.acquire()));
    crate::connect::acquire_explained(pool, acquiring).await
}

/// `connecting` (an acquire, or an acquire and `BEGIN`), counted in [`PoolStats::waiting`]
/// until it is done.
pub(crate) async fn waiting<F: std::future::Future>(connecting: F) -> F::Output {
    struct Waiting;
    impl Drop for Waiting {
        fn drop(&mut self) {
            ACQUIRING.fetch_sub(1, Ordering::Relaxed);
            metrics::gauge!("ormkit_pool_waiting").decrement(1.0);
        }
    }
    ACQUIRING.fetch_add(1, Ordering::Relaxed);
    metrics::gauge!("ormkit_pool_waiting").increment(1.0);
    let _waiting = Waiting;
    connecting.await
}

/// Records one migration script run by a `Migrator`: `direction` is `"up"` or `"down"`.
#[cfg(feature = "migrations")]
pub(crate) fn migration_ran(direction: &'static str, took: Duration) {
    let counter = if direction == "up" {
        &MIGRATIONS_APPLIED
    } else {
        &MIGRATIONS_REVERTED
    };
    counter.fetch_add(1, Ordering::Relaxed);
    MIGRATION_MICROS.fetch_add(
        u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    metrics::histogram!("ormkit_migration_duration_seconds", "direction" => direction)
        .record(took.as_secs_f64());
    metrics::counter!("ormkit_migrations_total", "direction" => direction).increment(1);
}

/// Records one statement: the `metrics` facade and the snapshot. The duration goes out
/// twice: as ormkit's `ormkit_query_duration_seconds{table, op, pool}` (`pool` is `primary`
/// or `replica`), and as OpenTelemetry's `db.client.operation.duration` (seconds) with the
/// conventions' attributes.
#[cfg(feature = "orm")]
pub(crate) fn record(
    table: &'static str,
    op: &'static str,
    pool: &'static str,
    names: &crate::statement::span::Names,
    elapsed: Duration,
    failure: Option<&crate::statement::span::Failure>,
) {
    QUERIES.fetch_add(1, Ordering::Relaxed);
    LATENCY.record(elapsed);
    let labels = [("table", table), ("op", op), ("pool", pool)];
    metrics::histogram!("ormkit_query_duration_seconds", &labels).record(elapsed.as_secs_f64());
    metrics::counter!("ormkit_queries_total", &labels).increment(1);
    let mut otel = Vec::with_capacity(6);
    otel.push(metrics::Label::from_static_parts(
        "db.system.name",
        "postgresql",
    ));
    if let Some(operation) = names.operation {
        otel.push(metrics::Label::from_static_parts(
            "db.operation.name",
            operation,
        ));
    }
    if let Some(collection) = names.collection {
        otel.push(metrics::Label::from_static_parts(
            "db.collection.name",
            collection,
        ));
    }
    otel.push(metrics::Label::from_static_parts(
        "db.query.summary",
        names.summary,
    ));
    if let Some(failure) = failure {
        otel.push(metrics::Label::new(
            "error.type",
            failure.error_type().to_owned(),
        ));
        if let Some(code) = &failure.sqlstate {
            otel.push(metrics::Label::new("db.response.status_code", code.clone()));
        }
        ERRORS.fetch_add(1, Ordering::Relaxed);
        let category = failure.category.as_str();
        metrics::counter!("ormkit_query_errors_total", "table" => table, "op" => op, "pool" => pool, "category" => category)
            .increment(1);
    }
    metrics::histogram!("db.client.operation.duration", otel).record(elapsed.as_secs_f64());
}

/// Whether statement spans carry `db.query.text` (see [`record_query_text`]).
static QUERY_TEXT: AtomicBool = AtomicBool::new(false);

/// Adds OpenTelemetry's `db.query.text` to every statement span from now on (off by
/// default): the SQL ormkit sent, with `$1`-style parameters and every literal replaced by
/// `?` — never a parameter's value.
///
/// ```
/// ormkit::metrics::record_query_text(true);
/// ```
pub fn record_query_text(enabled: bool) {
    QUERY_TEXT.store(enabled, Ordering::Relaxed);
}

/// Whether [`record_query_text`] turned `db.query.text` on.
pub(crate) fn query_text_recorded() -> bool {
    QUERY_TEXT.load(Ordering::Relaxed)
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
