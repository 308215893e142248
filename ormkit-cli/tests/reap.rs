//! Every `ormkit-cli` command reaps the throwaway clusters of killed builds, whatever its
//! database, even one that uses none. A test binary of its own: no other test starts or
//! reaps clusters in its private TMPDIR.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ormkit_build_support::{find_bindir, ScratchDatabase};
use support::*;

/// Set in the child process of [`orphan`].
const ORPHAN_ENV: &str = "ORMKIT_TEST_ORPHAN_CLUSTER";

/// Helper, only active in a child process: starts a cluster, says where, and waits to be
/// killed.
#[test]
fn orphan_cluster_helper() {
    if std::env::var_os(ORPHAN_ENV).is_none() {
        return;
    }
    let bindir = find_bindir(|name| std::env::var(name).ok()).expect("PostgreSQL binaries");
    let db = ScratchDatabase::local_cluster(&bindir, None).expect("start cluster");
    let data_dir = db.description().rsplit_once(" in ").unwrap().1.to_owned();
    let socket_dir = db.url().split_once("?host=").unwrap().1.to_owned();
    println!("ORPHAN {data_dir} {socket_dir}");
    std::thread::sleep(std::time::Duration::from_secs(600));
    unreachable!("the parent kills this process");
}

/// Starts a cluster in a child process whose temp dir is `tmp` and SIGKILLs it.
fn orphan(tmp: &Path) -> (PathBuf, PathBuf) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "orphan_cluster_helper", "--nocapture"])
        .env(ORPHAN_ENV, "1")
        .env("TMPDIR", tmp)
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the orphan helper");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let line = stdout
        .lines()
        .map_while(Result::ok)
        .find(|line| line.starts_with("ORPHAN "))
        .expect("the helper names its cluster");
    child.kill().expect("SIGKILL the helper");
    child.wait().unwrap();
    let mut parts = line.split(' ').skip(1).map(PathBuf::from);
    let (data_dir, socket_dir) = (parts.next().unwrap(), parts.next().unwrap());
    assert!(data_dir.starts_with(tmp), "{data_dir:?}");
    assert!(
        !processes_mentioning(&data_dir).is_empty(),
        "the orphaned postmaster should still run"
    );
    (data_dir, socket_dir)
}

fn processes_mentioning(needle: &Path) -> Vec<u32> {
    let needle = needle.as_os_str().as_encoded_bytes();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
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
        let (data_dir, socket_dir) = orphan(tmp.path());
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
        assert_eq!(
            processes_mentioning(&data_dir),
            Vec::<u32>::new(),
            "{label}: the orphaned postmaster survived"
        );
        assert!(
            !data_dir.parent().unwrap().exists(),
            "{label}: {data_dir:?} survived"
        );
        assert!(!socket_dir.exists(), "{label}: {socket_dir:?} survived");
    }
}
