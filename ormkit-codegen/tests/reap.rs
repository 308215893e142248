//! A build killed with SIGKILL leaves its throwaway cluster's postmaster running; the next
//! build reaps it whatever its plan (offline, or a temporary database on a server), not only
//! one that starts a cluster itself. A test binary of its own: no other test starts or
//! reaps clusters while the orphan is checked.

use std::path::{Path, PathBuf};

use ormkit_build_support::ScratchPlan;

#[path = "../../build-support/tests/orphan/mod.rs"]
mod orphan;
use orphan::{assert_reaped, orphan};

/// Only active in the child process `orphan` starts.
#[test]
fn orphan_cluster_helper() {
    orphan::helper_if_asked();
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn config(plan: ScratchPlan, out: &Path) -> ormkit_codegen::Config {
    let mut config = ormkit_codegen::Config::new();
    config
        .manifest_dir(repo())
        .out_dir(out)
        .cargo_directives(false)
        .scratch_plan(plan);
    config
}

#[test]
fn builds_on_any_plan_reap_clusters_of_killed_builds() {
    let out = tempfile::tempdir().unwrap();

    // Offline: generated from the lock, no database at all.
    let orphaned = orphan("orphan_cluster_helper", None);
    let offline = ScratchPlan::Offline {
        reason: "test".into(),
    };
    config(offline, out.path())
        .generate()
        .expect("offline generation");
    assert_reaped(&orphaned, "offline generate");

    // A temporary database on a server.
    let orphaned = orphan("orphan_cluster_helper", None);
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let stale = config(ScratchPlan::Server { url }, out.path())
        .check_lock()
        .expect("lock check on the server");
    assert_eq!(stale, None, "the committed lock is up to date");
    assert_reaped(&orphaned, "check_lock on a server");
}
