//! Cleaning up after processes that died without dropping their cluster.
//!
//! Build scripts are killed routinely (an IDE cancelling `cargo check`, Ctrl-C,
//! SIGKILL), and a postmaster whose parent died keeps running, so nothing would
//! ever stop such a cluster. Every cluster directory records its owner's pid;
//! clusters whose owner is gone are stopped and deleted before a new cluster
//! starts, and by [`reap_stale_clusters`], which every build and every
//! `ormkit-cli` command calls whatever database it uses (a user whose
//! `DATABASE_URL` is always set never starts a cluster). A throwaway PgBouncer is reaped
//! the same way: its directory holds its pid file and configuration instead of `data/`.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::account::ServerAccount;
use crate::process::{is_running, kill_postmaster, postmaster_pid, serves};

/// Name prefix of cluster directories (in the system temp dir).
pub(crate) const CLUSTER_PREFIX: &str = "ormkit-cluster-";
/// Name prefix of socket directories (in `/tmp`).
pub(crate) const SOCKET_PREFIX: &str = "ormkit-sock-";
/// Name prefix of template staging directories (next to the template).
const STAGING_PREFIX: &str = ".ormkit-pg-template-";
/// The file in a PgBouncer's directory (a cluster directory without `data/`) holding its
/// pid; its configuration is `pgbouncer.ini` beside it.
pub(crate) const PGBOUNCER_PID_FILE: &str = "pgbouncer.pid";
/// The file in a cluster directory naming its owner: `<pid>\n<socket dir>\n`.
const OWNER_FILE: &str = "ormkit-owner";
/// Staging directories older than this belong to an initdb that died.
const STAGING_MAX_AGE: Duration = Duration::from_secs(600);

/// Records this process as the owner of the cluster in `root`.
pub(crate) fn write_owner(root: &Path, socket_dir: &Path) -> std::io::Result<()> {
    let text = format!("{}\n{}\n", std::process::id(), socket_dir.display());
    fs::write(root.join(OWNER_FILE), text)
}

/// Stops and deletes the throwaway clusters that processes which died without
/// dropping their [`ScratchDatabase`](crate::ScratchDatabase) left in the
/// system temp dir (`TMPDIR`), as this process's server account; returns the
/// cluster directories deleted. Best effort and quick when there is nothing
/// to do: errors are ignored, clusters whose owner still runs are left alone.
pub fn reap_stale_clusters() -> Vec<PathBuf> {
    match ServerAccount::for_server() {
        Ok(account) => reap_stale(&std::env::temp_dir(), &account),
        Err(_) => Vec::new(),
    }
}

/// Stops and deletes clusters in `temp_dir` that belong to `account` and
/// whose owning process no longer runs; deletes abandoned template staging
/// directories; returns the cluster directories deleted. Best effort: errors
/// are ignored.
pub(crate) fn reap_stale(temp_dir: &Path, account: &ServerAccount) -> Vec<PathBuf> {
    let mut reaped = Vec::new();
    let Ok(entries) = fs::read_dir(temp_dir) else {
        return reaped;
    };
    for entry in entries.filter_map(|entry| entry.ok()) {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let (cluster, staging) = (
            name.starts_with(CLUSTER_PREFIX),
            name.starts_with(STAGING_PREFIX),
        );
        if !cluster && !staging {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_dir() || meta.uid() != account.uid() {
            continue;
        }
        if cluster {
            if reap_cluster(&entry.path()) {
                reaped.push(entry.path());
            }
        } else if is_old(&meta) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
    reaped
}

/// Stops and deletes the cluster in `root` if its owner is gone; returns whether it did.
fn reap_cluster(root: &Path) -> bool {
    let Ok(owner) = fs::read_to_string(root.join(OWNER_FILE)) else {
        return false; // being set up right now, or not ours to judge
    };
    let mut lines = owner.lines();
    let Some(pid) = lines.next().and_then(|pid| pid.trim().parse::<i32>().ok()) else {
        return false;
    };
    if is_running(pid) {
        return false;
    }
    let data_dir = root.join("data");
    if let Some(postmaster) = postmaster_pid(&data_dir) {
        if serves(postmaster, &data_dir) && !kill_postmaster(postmaster) {
            return false; // leave the directory to a later attempt
        }
    }
    let bouncer = fs::read_to_string(root.join(PGBOUNCER_PID_FILE))
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok());
    if let Some(pid) = bouncer {
        if serves(pid, &root.join("pgbouncer.ini")) && !kill_postmaster(pid) {
            return false;
        }
    }
    if let Some(socket_dir) = lines.next().map(PathBuf::from) {
        let is_ours = socket_dir
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with(SOCKET_PREFIX));
        if is_ours {
            let _ = fs::remove_dir_all(&socket_dir);
        }
    }
    fs::remove_dir_all(root).is_ok()
}

fn is_old(meta: &fs::Metadata) -> bool {
    meta.modified()
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age > STAGING_MAX_AGE)
}
