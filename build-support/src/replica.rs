//! A throwaway primary with streaming replicas: `initdb` (a copy of the template), then
//! `pg_basebackup -R` per replica (or, where the installation has no `pg_basebackup`, a copy
//! of the stopped primary: see `standby.rs`), each server on a Unix socket of its own, run
//! as the unprivileged account when this process is root. For tests of replica routing,
//! replay lag and read-your-writes.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::cluster::{Fill, LocalCluster};
use crate::error::{Error, Result};
use crate::standby::{create_slots, ReplicaSource};

/// How a [`ReplicaSet`] is made: how many replicas, and whether they apply changes late.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaOptions {
    replicas: usize,
    apply_delay: Option<Duration>,
}

impl Default for ReplicaOptions {
    /// One replica, applying changes as they arrive.
    fn default() -> Self {
        ReplicaOptions {
            replicas: 1,
            apply_delay: None,
        }
    }
}

impl ReplicaOptions {
    /// How many replicas (default 1; at least 1).
    pub fn replicas(mut self, count: usize) -> Self {
        self.replicas = count.max(1);
        self
    }

    /// Each replica's `recovery_min_apply_delay`: a commit becomes visible on it this long
    /// after it committed on the primary (default: none).
    pub fn apply_delay(mut self, delay: Duration) -> Self {
        self.apply_delay = Some(delay);
        self
    }
}

/// A throwaway primary and its streaming replicas (hot standbys), each a cluster of its
/// own in a temporary directory; all stopped and deleted when dropped.
///
/// Each replica streams through a physical replication slot, so a replica that was stopped
/// catches up from where it was when it starts again.
pub struct ReplicaSet {
    // Replicas first: dropped before the primary they stream from.
    replicas: Vec<LocalCluster>,
    primary: LocalCluster,
}

impl ReplicaSet {
    /// Starts a primary from the template for the binaries in `bindir`, then each replica
    /// from a base backup of it (without `pg_basebackup` in `bindir`: from a copy of the
    /// primary, stopped for the copy); returns once every server accepts connections.
    pub fn start(bindir: &Path, options: &ReplicaOptions) -> Result<Self> {
        let primary = LocalCluster::start(bindir, None)?;
        let source = ReplicaSource::for_tools(primary.tools())?;
        let mut set = ReplicaSet {
            replicas: Vec::with_capacity(options.replicas),
            primary,
        };
        let settings: Vec<String> = options
            .apply_delay
            .map(|delay| format!("recovery_min_apply_delay={}ms", delay.as_millis()))
            .into_iter()
            .collect();
        let slots: Vec<String> = (0..options.replicas)
            .map(|index| format!("ormkit_replica_{index}"))
            .collect();
        match source {
            ReplicaSource::BaseBackup => {
                for slot in &slots {
                    // `-R` with the slot writes primary_conninfo and primary_slot_name.
                    let fill = Fill::BaseBackup {
                        primary_socket: set.primary.socket(),
                        slot,
                    };
                    let replica = LocalCluster::create(bindir, fill, settings.clone())?;
                    set.replicas.push(replica);
                }
            }
            ReplicaSource::ColdCopy => {
                create_slots(set.primary.url(), &slots)?;
                set.primary.stop()?;
                for slot in &slots {
                    let fill = Fill::ColdCopy {
                        primary_data: set.primary.data_dir(),
                        primary_socket: set.primary.socket(),
                        slot,
                    };
                    let replica = LocalCluster::create_stopped(bindir, fill, settings.clone())?;
                    set.replicas.push(replica);
                }
                set.primary.resume()?;
                for replica in &mut set.replicas {
                    replica.resume()?;
                }
            }
        }
        Ok(set)
    }

    /// The URL of the primary's `postgres` database.
    pub fn primary_url(&self) -> &str {
        self.primary.url()
    }

    /// How many replicas there are.
    pub fn replica_count(&self) -> usize {
        self.replicas.len()
    }

    /// The URL of replica `index`'s `postgres` database (read-only).
    ///
    /// # Panics
    ///
    /// When there is no replica `index`.
    pub fn replica_url(&self, index: usize) -> &str {
        self.replicas[index].url()
    }

    /// Stops replica `index` (a fast shutdown: its sessions are terminated); its data and
    /// socket directory stay for [`start_replica`](Self::start_replica).
    pub fn stop_replica(&mut self, index: usize) -> Result<()> {
        self.replica(index)?.stop()
    }

    /// Starts replica `index` again after [`stop_replica`](Self::stop_replica); it resumes
    /// streaming from its slot. Returns once it accepts connections.
    pub fn start_replica(&mut self, index: usize) -> Result<()> {
        self.replica(index)?.resume()
    }

    /// Stops every server and deletes their directories, reporting what failed.
    pub fn close(mut self) -> Result<()> {
        let mut problems = Vec::new();
        for replica in &mut self.replicas {
            if let Err(err) = replica.shutdown() {
                problems.push(err.to_string());
            }
        }
        if let Err(err) = self.primary.shutdown() {
            problems.push(err.to_string());
        }
        Error::cleanup(|| "the throwaway primary and replicas".into(), problems)
    }

    fn replica(&mut self, index: usize) -> Result<&mut LocalCluster> {
        let count = self.replicas.len();
        self.replicas.get_mut(index).ok_or_else(|| {
            Error::Unsupported(format!(
                "replica {index}: this replica set has {count} replica(s)"
            ))
        })
    }
}

impl fmt::Debug for ReplicaSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let replicas: Vec<&str> = self.replicas.iter().map(LocalCluster::url).collect();
        f.debug_struct("ReplicaSet")
            .field("primary", &self.primary.url())
            .field("replicas", &replicas)
            .finish()
    }
}
