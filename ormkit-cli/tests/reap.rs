//! Every `ormkit-cli` command reaps the throwaway clusters of killed builds, whatever its
//! database, even one that uses none. A test binary of its own: no other test starts or
//! reaps clusters in its private TMPDIR.

mod support;

use std::os::unix::fs::PermissionsExt;

use support::*;

#[path = "../../build-support/tests/orphan/mod.rs"]
mod orphan;
use orphan::{assert_reaped, orphan};

/// Only active in the child process `orphan` starts.
#[test]
fn orphan_cluster_helper() {
    orphan::helper_if_asked();
}

#[test]
fn every_command_reaps_clusters_of_killed_builds() {
    // A temp dir the unprivileged server account can enter (tests run as root).
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let project = project();
    let out = tempfile::tempdir().unwrap();
    let commands: [(&str, Vec<&str>); 3] = [
        // Uses no database at all.
        // (into a directory of its own: the project's lock stays up to date).
        (
            "migration create",
            vec!["migration", "create", "reaped", "--migrations", "elsewhere"],
        ),
        // Offline code generation.
        ("offline generate", vec!["generate", "--out"]),
        // A live database through DATABASE_URL.
        ("migrate status", vec!["migrate", "status"]),
    ];
    for (label, args) in commands {
        let orphaned = orphan("orphan_cluster_helper", Some(tmp.path()));
        let data_dir = &orphaned.0;
        let mut cmd = cli(project.path());
        cmd.args(&args).env("TMPDIR", tmp.path());
        match label {
            "offline generate" => {
                cmd.arg(out.path()).env("ORMKIT_OFFLINE", "1");
            }
            "migrate status" => {
                cmd.env("DATABASE_URL", server_url());
            }
            _ => {}
        }
        let output = cmd.output().unwrap();
        assert!(output.status.success(), "{label}: {}", text(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(
                "stopped and deleted throwaway PostgreSQL clusters left by killed builds"
            ) && stderr.contains(&data_dir.parent().unwrap().display().to_string()),
            "{label}: {stderr}"
        );
        assert_reaped(&orphaned, label);
    }
}
