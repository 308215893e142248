//! [`ClusterBuilder`]: the replicas of a [`Cluster`] and how their health is judged.

use super::monitor::{self, Probes};
use super::replica::Replica;
use super::wal::WalClock;
use super::{Cluster, Core, Monitor, Options};
use crate::error::Result;
use sqlx::PgPool;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

/// Builds a [`Cluster`]: `Cluster::builder(primary).replica(r1).replica(r2).build().await`.
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    primary: PgPool,
    replicas: Vec<(String, PgPool)>,
    options: Options,
}

impl ClusterBuilder {
    pub(crate) fn new(primary: PgPool) -> Self {
        ClusterBuilder {
            primary,
            replicas: Vec::new(),
            options: Options {
                max_lag: Duration::from_secs(2),
                probe_interval: Duration::from_millis(250),
                probe_timeout: Duration::from_secs(1),
            },
        }
    }

    /// Adds a replica, named `replica0`, `replica1`, … in the order added.
    pub fn replica(self, pool: PgPool) -> Self {
        let name = format!("replica{}", self.replicas.len());
        self.named_replica(name, pool)
    }

    /// Adds a replica with a name of its own (for logs, [`Cluster::replicas`] and the
    /// `replica` label of its gauges).
    pub fn named_replica(mut self, name: impl Into<String>, pool: PgPool) -> Self {
        self.replicas.push((name.into(), pool));
        self
    }

    /// A replica whose replay lags the primary by more than this leaves the rotation until
    /// it is back within it (default 2 s): also how stale a read of a handle without writes
    /// of its own may be.
    pub fn max_lag(mut self, lag: Duration) -> Self {
        self.options.max_lag = lag;
        self
    }

    /// How often the primary's position and each replica's replay are sampled (default
    /// 250 ms): about how long a handle reads from the primary after it wrote.
    pub fn probe_interval(mut self, interval: Duration) -> Self {
        self.options.probe_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// How long a probe, or a read waiting for a replica's connection, may take before the
    /// replica counts as unreachable (default 1 s).
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.options.probe_timeout = timeout;
        self
    }

    /// Probes the primary and every replica once (so healthy replicas serve reads from the
    /// start), then starts the monitor. Needs a tokio runtime. Waits at most the probe timeout
    /// per server; an unreachable replica starts out of the rotation, an error here is never
    /// a replica's.
    pub async fn build(self) -> Result<Cluster> {
        let replicas = self
            .replicas
            .into_iter()
            .map(|(name, pool)| Replica::new(name, pool))
            .collect::<Box<[_]>>();
        let mut probes = Probes::new(replicas.len());
        let core = Arc::new(Core {
            primary: self.primary,
            replicas,
            clock: WalClock::default(),
            options: self.options,
            next: AtomicUsize::new(0),
        });
        monitor::probe(&core, &mut probes).await;
        let task = tokio::spawn(monitor::run(Arc::clone(&core), probes));
        Ok(Cluster {
            core,
            session: Arc::new(super::session::Session::new(super::Lsn::ZERO)),
            _monitor: Arc::new(Monitor(task)),
        })
    }
}
