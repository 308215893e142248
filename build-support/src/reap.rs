//! Cleaning up after processes that died without dropping their cluster.
//!
//! Build scripts are killed routinely (an IDE cancelling `cargo check`, Ctrl-C),
//! and `pg_ctl` detaches the postmaster from the caller's process group, so
//! nothing would ever stop such a cluster. Every cluster directory records its
//! owner's pid; before starting a new cluster, clusters whose owner is gone
//! are stopped and deleted.

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
/// The file in a cluster directory naming its owner: `<pid>\n<socket dir>\n`.
const OWNER_FILE: &str = "ormkit-owner";
/// Staging directories older than this belong to an initdb that died.
const STAGING_MAX_AGE: Duration = Duration::from_secs(600);

/// Records this process as the owner of the cluster in `root`.
pub(crate) fn write_owner(root: &Path, socket_dir: &Path) -> std::io::Result<()> {
    let text = format!("{}\n{}\n", std::process::id(), socket_dir.display());
    fs::write(root.join(OWNER_FILE), text)
}

/// Stops and deletes clusters in `temp_dir` that belong to `account` and
/// whose owning process no longer runs; deletes abandoned template staging
/// directories. Best effort: errors are ignored.
pub(crate) fn reap_stale(temp_dir: &Path, account: &ServerAccount) {
    let Ok(entries) = fs::read_dir(temp_dir) else {
        return;
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
            reap_cluster(&entry.path());
        } else if is_old(&meta) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn reap_cluster(root: &Path) {
    let Ok(owner) = fs::read_to_string(root.join(OWNER_FILE)) else {
        return; // being set up right now, or not ours to judge
    };
    let mut lines = owner.lines();
    let Some(pid) = lines.next().and_then(|pid| pid.trim().parse::<i32>().ok()) else {
        return;
    };
    if is_running(pid) {
        return;
    }
    let data_dir = root.join("data");
    if let Some(postmaster) = postmaster_pid(&data_dir) {
        if serves(postmaster, &data_dir) && !kill_postmaster(postmaster) {
            return; // leave the directory to a later attempt
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
    let _ = fs::remove_dir_all(root);
}

fn is_old(meta: &fs::Metadata) -> bool {
    meta.modified()
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age > STAGING_MAX_AGE)
}
