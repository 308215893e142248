//! What ormkit knows about a pool's connections: the last time a statement on it failed
//! because its connection did (a restart, a failover, a cut network). Connections released
//! before that moment are suspect: the smart pool checks them before handing them out, and
//! the executor retries a read once on a fresh connection.

#![cfg_attr(not(feature = "orm"), allow(dead_code))]

use crate::pool::registry::PoolRegistry;
use sqlx::PgPool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// One pool's record of its last connection failure.
#[derive(Debug, Default)]
pub(crate) struct PoolHealth {
    /// Microseconds since [`epoch`] of the last failure, plus one (0: none yet).
    last_failure: AtomicU64,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl PoolHealth {
    fn failed(&self) {
        let micros = u64::try_from(epoch().elapsed().as_micros()).unwrap_or(u64::MAX - 1);
        self.last_failure.fetch_max(micros + 1, Ordering::SeqCst);
    }

    /// Whether a connection idle for `idle_for` was released before the pool's last
    /// connection failure (and so may be dead without knowing it).
    #[cfg_attr(not(feature = "smart-pool"), allow(dead_code))]
    pub(crate) fn released_before_last_failure(&self, idle_for: Duration) -> bool {
        let last = self.last_failure.load(Ordering::SeqCst);
        if last == 0 {
            return false;
        }
        let released = epoch().elapsed().saturating_sub(idle_for);
        released <= Duration::from_micros(last - 1)
    }
}

/// The pools that keep a record.
static POOLS: PoolRegistry<PoolHealth> = PoolRegistry::new();

/// Starts keeping `health` for `pool` (the smart pool does, for the pool it creates).
#[cfg_attr(not(feature = "smart-pool"), allow(dead_code))]
pub(crate) fn register(pool: &PgPool, health: Arc<PoolHealth>) {
    POOLS.insert(pool, health);
}

/// Records that a statement on `pool` failed because its connection did.
pub(crate) fn connection_failed(pool: &PgPool) {
    if let Some(health) = POOLS.get(pool) {
        health.failed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_released_before_a_failure_are_suspect() {
        let health = PoolHealth::default();
        assert!(!health.released_before_last_failure(Duration::from_secs(3600)));
        health.failed();
        // Released an hour ago: before the failure.
        assert!(health.released_before_last_failure(Duration::from_secs(3600)));
        std::thread::sleep(Duration::from_millis(5));
        // Released just now, after it.
        assert!(!health.released_before_last_failure(Duration::ZERO));
    }
}
