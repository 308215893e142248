//! [`CacheStats`]: what a cache did since it was built.

use moka::notification::RemovalCause;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of an [`EntityCache`](super::EntityCache) or a [`QueryCache`](super::QueryCache),
/// since it was built. Every read counts once as a hit, a miss or a bypass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Reads answered from the cache.
    pub hits: u64,
    /// Reads the cache could not answer (absent, stale or expired entry).
    pub misses: u64,
    /// Statements the cache sent to fill itself (concurrent misses on one key share one).
    pub loads: u64,
    /// Reads sent straight to the database because the cache could not vouch for itself
    /// (listener not subscribed) or must not be used (a read inside a transaction).
    pub bypassed: u64,
    /// Entries evicted to stay within capacity.
    pub evictions: u64,
    /// Entries dropped because their time to live ran out.
    pub expirations: u64,
    /// Invalidations applied: keys and tables written locally or announced by a notification.
    pub invalidations: u64,
    /// Whole-cache flushes: `clear()`, and each loss and re-subscription of the listener.
    pub flushes: u64,
    /// Times the listener's connection was lost (or presumed lost by the heartbeat).
    pub disconnects: u64,
    /// Entries currently held (moka's estimate, exact after pending tasks have run),
    /// including invalidated ones not yet read or evicted.
    pub entries: u64,
}

impl CacheStats {
    /// `hits / (hits + misses + bypassed)`, or 0 before the first read.
    pub fn hit_rate(&self) -> f64 {
        let reads = self.hits + self.misses + self.bypassed;
        if reads == 0 {
            0.0
        } else {
            self.hits as f64 / reads as f64
        }
    }
}

/// One counter of a cache: its own count, the same event through the `metrics` facade
/// (`ormkit_cache_events_total{cache, event}`, a handle registered when the cache is built,
/// so a hit costs no key look-up), and for reads the process-wide figure in
/// [`metrics::snapshot`](crate::metrics::snapshot).
#[derive(Debug)]
pub(crate) struct Tally {
    count: AtomicU64,
    published: metrics::Counter,
    global: Option<&'static AtomicU64>,
}

impl Tally {
    fn new(cache: &'static str, event: &'static str, global: Option<&'static AtomicU64>) -> Self {
        Tally {
            count: AtomicU64::new(0),
            published: metrics::counter!(
                "ormkit_cache_events_total",
                "cache" => cache,
                "event" => event
            ),
            global,
        }
    }

    fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// The live counters behind [`CacheStats`].
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) hits: Tally,
    pub(crate) misses: Tally,
    pub(crate) loads: Tally,
    pub(crate) bypassed: Tally,
    pub(crate) evictions: Tally,
    pub(crate) expirations: Tally,
    pub(crate) invalidations: Tally,
    pub(crate) flushes: Tally,
    pub(crate) disconnects: Tally,
}

/// Adds one to a counter.
pub(crate) fn bump(tally: &Tally) {
    tally.count.fetch_add(1, Ordering::Relaxed);
    tally.published.increment(1);
    if let Some(global) = tally.global {
        global.fetch_add(1, Ordering::Relaxed);
    }
}

impl Counters {
    /// The counters of one cache; `cache` labels its published events (`"entity"` or
    /// `"query"`).
    pub(crate) fn new(cache: &'static str) -> Self {
        use crate::metrics::{CACHE_HITS, CACHE_MISSES};
        let tally = |event, global| Tally::new(cache, event, global);
        Counters {
            hits: tally("hit", Some(&CACHE_HITS)),
            misses: tally("miss", Some(&CACHE_MISSES)),
            loads: tally("load", None),
            bypassed: tally("bypass", Some(&CACHE_MISSES)),
            evictions: tally("eviction", None),
            expirations: tally("expiration", None),
            invalidations: tally("invalidation", None),
            flushes: tally("flush", None),
            disconnects: tally("disconnect", None),
        }
    }

    pub(crate) fn snapshot(&self, entries: u64) -> CacheStats {
        let get = Tally::get;
        CacheStats {
            hits: get(&self.hits),
            misses: get(&self.misses),
            loads: get(&self.loads),
            bypassed: get(&self.bypassed),
            evictions: get(&self.evictions),
            expirations: get(&self.expirations),
            invalidations: get(&self.invalidations),
            flushes: get(&self.flushes),
            disconnects: get(&self.disconnects),
            entries,
        }
    }

    /// Counts what moka's eviction listener reports (explicit removals are counted where
    /// they are made, as invalidations).
    pub(crate) fn removed(&self, cause: RemovalCause) {
        match cause {
            RemovalCause::Size => bump(&self.evictions),
            RemovalCause::Expired => bump(&self.expirations),
            RemovalCause::Explicit | RemovalCause::Replaced => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_rate_counts_every_read() {
        assert_eq!(CacheStats::default().hit_rate(), 0.0);
        let counters = Counters::new("entity");
        for _ in 0..3 {
            bump(&counters.hits);
        }
        bump(&counters.misses);
        counters.removed(RemovalCause::Size);
        counters.removed(RemovalCause::Expired);
        counters.removed(RemovalCause::Explicit);
        let stats = counters.snapshot(7);
        assert_eq!(stats.hit_rate(), 0.75);
        assert_eq!(
            (stats.evictions, stats.expirations, stats.entries),
            (1, 1, 7)
        );
    }
}
