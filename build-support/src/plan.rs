//! Deciding where scratch databases come from.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::bindir::{find_bindir_in, SYSTEM_PG_ROOT};
use crate::urls::redact;

/// The environment variables [`ScratchPlan::from_env`] reads; a build script
/// should emit `cargo:rerun-if-env-changed=<name>` for each.
///
/// `PATH` is also consulted when looking for PostgreSQL binaries, but is left
/// out on purpose: it changes often and would cause needless rebuilds.
pub const ENV_VARS: &[&str] = &[
    "ORMKIT_OFFLINE",
    "ORMKIT_SCRATCH_URL",
    "DATABASE_URL",
    "ORMKIT_PG_BINDIR",
    "ORMKIT_PG_TEMPLATE_DIR",
];

/// Where scratch databases come from, decided from the environment.
///
/// The decision order is:
/// 1. `ORMKIT_OFFLINE=1` (or `true`) → [`ScratchPlan::Offline`];
/// 2. `ORMKIT_SCRATCH_URL`, else `DATABASE_URL` → [`ScratchPlan::Server`];
/// 3. PostgreSQL server binaries found (see [`find_bindir`](crate::find_bindir))
///    → [`ScratchPlan::LocalCluster`];
/// 4. otherwise [`ScratchPlan::Offline`], with a reason saying what to install or set.
///
/// The `Debug` and `Display` forms redact passwords in URLs.
#[derive(Clone, PartialEq, Eq)]
pub enum ScratchPlan {
    /// No database: work offline.
    Offline {
        /// Why, including what to set or install to get a database.
        reason: String,
    },
    /// Create a temporary database on the server this URL points to.
    Server {
        /// The server URL (its database is only used to issue CREATE/DROP DATABASE).
        url: String,
    },
    /// Run a throwaway PostgreSQL cluster from these binaries.
    LocalCluster {
        /// The directory holding `initdb` and `postgres`.
        bindir: PathBuf,
        /// Where the initdb'd template data directory lives (`ORMKIT_PG_TEMPLATE_DIR`);
        /// `None` means a per-version, per-user directory under the system temp dir.
        template_dir: Option<PathBuf>,
    },
}

impl ScratchPlan {
    /// Decides from the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Decides from the environment variables `lookup` returns (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        Self::from_lookup_in(lookup, Path::new(SYSTEM_PG_ROOT))
    }

    /// Like [`ScratchPlan::from_lookup`], searching `system_root` instead of
    /// `/usr/lib/postgresql` for versioned PostgreSQL installations.
    pub fn from_lookup_in(lookup: impl Fn(&str) -> Option<String>, system_root: &Path) -> Self {
        let var = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        if let Some(value) = var("ORMKIT_OFFLINE").filter(|value| is_truthy(value)) {
            return ScratchPlan::Offline {
                reason: format!("ORMKIT_OFFLINE={value} is set"),
            };
        }
        if let Some(url) = var("ORMKIT_SCRATCH_URL").or_else(|| var("DATABASE_URL")) {
            return ScratchPlan::Server { url };
        }
        if let Some(bindir) = find_bindir_in(var, system_root) {
            return ScratchPlan::LocalCluster {
                bindir,
                template_dir: var("ORMKIT_PG_TEMPLATE_DIR").map(PathBuf::from),
            };
        }
        ScratchPlan::Offline {
            reason: format!(
                "no PostgreSQL available: ORMKIT_SCRATCH_URL and DATABASE_URL are unset, and no \
                 PostgreSQL server binaries (initdb, postgres) were found in PATH, via \
                 `pg_config --bindir` or in {}/<version>/bin; install the PostgreSQL server \
                 package (e.g. postgresql-15), set ORMKIT_PG_BINDIR to its bin directory, or set \
                 ORMKIT_SCRATCH_URL to a server URL",
                system_root.display()
            ),
        }
    }

    /// Whether this plan provides no database.
    pub fn is_offline(&self) -> bool {
        matches!(self, ScratchPlan::Offline { .. })
    }
}

fn is_truthy(value: &str) -> bool {
    let value = value.trim();
    value == "1" || value.eq_ignore_ascii_case("true")
}

impl fmt::Display for ScratchPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScratchPlan::Offline { reason } => write!(f, "offline ({reason})"),
            ScratchPlan::Server { url } => {
                write!(f, "temporary database on the server at {}", redact(url))
            }
            ScratchPlan::LocalCluster { bindir, .. } => {
                write!(f, "throwaway PostgreSQL cluster from {}", bindir.display())
            }
        }
    }
}

impl fmt::Debug for ScratchPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScratchPlan::Offline { reason } => {
                f.debug_struct("Offline").field("reason", reason).finish()
            }
            ScratchPlan::Server { url } => {
                f.debug_struct("Server").field("url", &redact(url)).finish()
            }
            ScratchPlan::LocalCluster {
                bindir,
                template_dir,
            } => f
                .debug_struct("LocalCluster")
                .field("bindir", bindir)
                .field("template_dir", template_dir)
                .finish(),
        }
    }
}
