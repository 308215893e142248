//! The scratch database handle: a temporary database or a throwaway cluster.

use std::fmt;
use std::path::Path;

use crate::cluster::LocalCluster;
use crate::error::Result;
use crate::plan::ScratchPlan;
use crate::server::ServerDatabase;
use crate::urls::redact;

/// Which kind of scratch database a [`ScratchDatabase`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScratchKind {
    /// A temporary database on an existing server (`ORMKIT_SCRATCH_URL` / `DATABASE_URL`).
    Server,
    /// A throwaway cluster in a temporary directory.
    LocalCluster,
}

/// A scratch PostgreSQL database, removed again when dropped.
///
/// All methods are synchronous and may be called from build scripts as well
/// as from inside a tokio runtime (database work runs on a private thread).
///
/// Dropping the handle — also while unwinding from a panic — drops the
/// temporary database, or stops the throwaway cluster and deletes its
/// directories; errors are then ignored. Use [`ScratchDatabase::close`] to
/// see them.
pub struct ScratchDatabase {
    backend: Backend,
}

enum Backend {
    Server(ServerDatabase),
    Cluster(LocalCluster),
}

impl ScratchDatabase {
    /// Starts what `plan` says; `Ok(None)` for [`ScratchPlan::Offline`].
    pub fn start(plan: &ScratchPlan) -> Result<Option<Self>> {
        match plan {
            ScratchPlan::Offline { .. } => Ok(None),
            ScratchPlan::Server { url } => Self::on_server(url).map(Some),
            ScratchPlan::LocalCluster {
                bindir,
                template_dir,
            } => Self::local_cluster(bindir, template_dir.as_deref()).map(Some),
        }
    }

    /// Creates a uniquely named temporary database on the server `url` points
    /// to. The database `url` names is only used to issue `CREATE DATABASE`
    /// and `DROP DATABASE`.
    pub fn on_server(url: &str) -> Result<Self> {
        Ok(ScratchDatabase {
            backend: Backend::Server(ServerDatabase::create(url)?),
        })
    }

    /// Starts a throwaway cluster from the PostgreSQL binaries in `bindir`,
    /// copying an initdb'd template kept in `template_dir` (default: a
    /// per-version, per-user directory in the system temp dir).
    ///
    /// When this process runs as root, PostgreSQL runs as `postgres` (or `nobody`).
    pub fn local_cluster(bindir: &Path, template_dir: Option<&Path>) -> Result<Self> {
        Ok(ScratchDatabase {
            backend: Backend::Cluster(LocalCluster::start(bindir, template_dir)?),
        })
    }

    /// The connection URL of the scratch database (a superuser may connect).
    pub fn url(&self) -> &str {
        match &self.backend {
            Backend::Server(server) => server.url(),
            Backend::Cluster(cluster) => cluster.url(),
        }
    }

    /// Which kind of scratch database this is.
    pub fn kind(&self) -> ScratchKind {
        match &self.backend {
            Backend::Server(_) => ScratchKind::Server,
            Backend::Cluster(_) => ScratchKind::LocalCluster,
        }
    }

    /// A human-readable description, e.g. `temporary database ormkit_scratch_… on
    /// 127.0.0.1:5432` or `throwaway cluster (PostgreSQL 15.4) in /tmp/…`.
    pub fn description(&self) -> String {
        match &self.backend {
            Backend::Server(server) => {
                format!(
                    "temporary database {} on {}",
                    server.name(),
                    server.server()
                )
            }
            Backend::Cluster(cluster) => format!(
                "throwaway cluster (PostgreSQL {}) in {}",
                cluster.version().unwrap_or("of unknown version"),
                cluster.data_dir().display()
            ),
        }
    }

    /// Restarts a throwaway cluster: its postmaster shuts down fast (every session is
    /// terminated, as when a server is restarted or fails over), stays down for
    /// `downtime`, and starts again, on the same socket and data. Only clusters this handle owns can be restarted: for a
    /// database on a server, an error says so.
    pub fn restart(&mut self, downtime: std::time::Duration) -> Result<()> {
        match &mut self.backend {
            Backend::Server(server) => Err(crate::Error::Unsupported(format!(
                "restarting the server of temporary database {}: only a throwaway cluster can be restarted",
                server.name()
            ))),
            Backend::Cluster(cluster) => cluster.restart(downtime),
        }
    }

    /// For a handle that is never dropped (kept in a `static` until the process exits, as a
    /// test binary keeps its cluster): a throwaway cluster is still stopped and deleted when
    /// the process exits, however it exits (a watchdog process waits for that). A database
    /// on a server is left as it is: an error says so.
    pub fn remove_when_process_exits(&mut self) -> Result<()> {
        match &mut self.backend {
            Backend::Server(server) => Err(crate::Error::Unsupported(format!(
                "removing temporary database {} at process exit: only a throwaway cluster can be",
                server.name()
            ))),
            Backend::Cluster(cluster) => cluster.remove_at_exit(),
        }
    }

    /// Removes the scratch database now, reporting any cleanup failure.
    pub fn close(mut self) -> Result<()> {
        match &mut self.backend {
            Backend::Server(server) => server.drop_database(),
            Backend::Cluster(cluster) => cluster.shutdown(),
        }
    }
}

impl fmt::Debug for ScratchDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScratchDatabase")
            .field("kind", &self.kind())
            .field("url", &redact(self.url()))
            .field("description", &self.description())
            .finish()
    }
}

// Handles may be moved to and shared with other threads (e.g. tokio tasks).
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ScratchDatabase>();
};
