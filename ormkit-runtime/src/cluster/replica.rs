//! One replica of a [`Cluster`](crate::Cluster): its pool, whether it is in the rotation,
//! how far it has replayed, and its lag, as the monitor last saw them.

use super::lsn::Lsn;
use crate::db::{PoolTag, Target};
use sqlx::PgPool;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Mutex;
use std::time::Duration;

/// `lag_micros` / `lag_bytes` before the first measurement.
const UNKNOWN: u64 = u64::MAX;

/// A replica and what the router knows of it.
#[derive(Debug)]
pub(crate) struct Replica {
    pub(crate) name: String,
    pub(crate) pool: PgPool,
    in_rotation: AtomicBool,
    replayed: AtomicU64,
    lag_micros: AtomicU64,
    lag_bytes: AtomicU64,
    /// Why it is out of the rotation.
    reason: Mutex<Option<String>>,
}

impl Replica {
    /// A replica out of the rotation until its first probe.
    pub(crate) fn new(name: String, pool: PgPool) -> Self {
        let replica = Replica {
            name,
            pool,
            in_rotation: AtomicBool::new(false),
            replayed: AtomicU64::new(0),
            lag_micros: AtomicU64::new(UNKNOWN),
            lag_bytes: AtomicU64::new(UNKNOWN),
            reason: Mutex::new(Some("not probed yet".into())),
        };
        replica.gauge_rotation(false);
        replica
    }

    /// Whether it may serve a read that needs `token` replayed.
    pub(crate) fn serves(&self, token: Lsn) -> bool {
        self.in_rotation.load(SeqCst) && self.replayed.load(SeqCst) >= token.0
    }

    /// Where a read on it goes: its pool, waiting at most `wait` for a connection (a dead
    /// replica's pool may retry connecting until its own acquire timeout).
    pub(crate) fn target<'a>(&self, wait: Duration) -> Target<'_, 'a> {
        Target::Pool {
            pool: &self.pool,
            tag: PoolTag::Replica,
            wait: Some(wait),
        }
    }

    /// Takes it out of the rotation (a failed probe or read, too much lag).
    pub(crate) fn leave(&self, reason: String) {
        if self.in_rotation.swap(false, SeqCst) {
            tracing::warn!(target: "ormkit::cluster", replica = %self.name, %reason, "replica left the rotation");
        }
        *self.reason.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
        self.gauge_rotation(false);
    }

    /// Puts it (back) in the rotation.
    pub(crate) fn join(&self) {
        *self.reason.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if !self.in_rotation.swap(true, SeqCst) {
            tracing::info!(target: "ormkit::cluster", replica = %self.name, "replica joined the rotation");
        }
        self.gauge_rotation(true);
    }

    /// A probe's findings: the position replayed, the lag (`None` before the primary has
    /// been sampled) and the bytes of WAL behind the newest sample.
    pub(crate) fn observed(&self, replayed: Lsn, lag: Option<Duration>, bytes: Option<u64>) {
        self.replayed.fetch_max(replayed.0, SeqCst);
        let micros = lag.map_or(UNKNOWN, |lag| {
            u64::try_from(lag.as_micros()).unwrap_or(UNKNOWN - 1)
        });
        self.lag_micros.store(micros, SeqCst);
        self.lag_bytes.store(bytes.unwrap_or(UNKNOWN), SeqCst);
        let name = self.name.clone();
        if let Some(lag) = lag {
            metrics::gauge!("ormkit_replica_lag_seconds", "replica" => name.clone())
                .set(lag.as_secs_f64());
        }
        if let Some(bytes) = bytes {
            metrics::gauge!("ormkit_replica_lag_bytes", "replica" => name).set(bytes as f64);
        }
    }

    /// A read sent to it failed in a way the primary may not: counted, and the replica
    /// leaves the rotation until a probe finds it well again.
    pub(crate) fn read_failed(&self, error: &crate::OrmkitError) {
        metrics::counter!("ormkit_replica_fallbacks_total", "replica" => self.name.clone())
            .increment(1);
        self.leave(format!("a read failed: {error}"));
    }

    fn gauge_rotation(&self, on: bool) {
        metrics::gauge!("ormkit_replica_in_rotation", "replica" => self.name.clone()).set(if on {
            1.0
        } else {
            0.0
        });
    }

    pub(crate) fn status(&self) -> ReplicaStatus {
        let known = |value: u64| (value != UNKNOWN).then_some(value);
        let replayed = self.replayed.load(SeqCst);
        ReplicaStatus {
            name: self.name.clone(),
            in_rotation: self.in_rotation.load(SeqCst),
            replayed: (replayed != 0).then_some(Lsn(replayed)),
            lag: known(self.lag_micros.load(SeqCst)).map(Duration::from_micros),
            lag_bytes: known(self.lag_bytes.load(SeqCst)),
            out_because: self
                .reason
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

/// What a [`Cluster`](crate::Cluster) knows about one of its replicas, as of its last probe
/// ([`Cluster::replicas`](crate::Cluster::replicas)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplicaStatus {
    /// Its name (`replica0`, … or the one given to the builder).
    pub name: String,
    /// Whether reads may go to it.
    pub in_rotation: bool,
    /// The last WAL position it was seen to have replayed.
    pub replayed: Option<Lsn>,
    /// How long ago the primary wrote the oldest WAL it had not replayed (zero when it had
    /// replayed everything sampled), as of its last probe.
    pub lag: Option<Duration>,
    /// Bytes of WAL it had not replayed, as of its last probe.
    pub lag_bytes: Option<u64>,
    /// Why it is out of the rotation.
    pub out_because: Option<String>,
}
