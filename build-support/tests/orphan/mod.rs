//! Orphaned throwaway clusters, for the tests that prove clusters of killed builds are
//! reaped. One file, included with `#[path]` by the test binaries of build-support,
//! ormkit-codegen and ormkit-cli; each uses the part it needs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ormkit_build_support::{find_bindir, ScratchDatabase};

/// Set in the child process of [`orphan`].
const ORPHAN_ENV: &str = "ORMKIT_TEST_ORPHAN_CLUSTER";

/// The body of a binary's `orphan_cluster_helper` test: nothing, unless this process is the
/// child [`orphan`] starts; then it starts a cluster, says where, and waits to be killed
/// (like a build script an IDE cancels with SIGKILL).
pub(crate) fn helper_if_asked() {
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

/// Runs this test binary's test `helper` (which calls [`helper_if_asked`]) in a child
/// process, with `TMPDIR` set to `tmp` when given, and SIGKILLs it once its cluster runs: the
/// orphaned cluster's data and socket directories, its postmaster still running.
pub(crate) fn orphan(helper: &str, tmp: Option<&Path>) -> (PathBuf, PathBuf) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", helper, "--nocapture"])
        .env(ORPHAN_ENV, "1")
        .stdout(Stdio::piped());
    if let Some(tmp) = tmp {
        command.env("TMPDIR", tmp);
    }
    let mut child = command.spawn().expect("run the orphan helper");
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
    if let Some(tmp) = tmp {
        assert!(data_dir.starts_with(tmp), "{data_dir:?}");
    }
    assert!(
        !processes_mentioning(&data_dir).is_empty(),
        "the orphaned postmaster should still run"
    );
    (data_dir, socket_dir)
}

/// Pids of live processes whose command line mentions `needle`.
pub(crate) fn processes_mentioning(needle: &Path) -> Vec<u32> {
    let needle = needle.as_os_str().as_encoded_bytes();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

/// The orphan's postmaster is gone, and its data and socket directories with it.
pub(crate) fn assert_reaped((data_dir, socket_dir): &(PathBuf, PathBuf), label: &str) {
    assert_eq!(
        processes_mentioning(data_dir),
        Vec::<u32>::new(),
        "{label}: the orphaned postmaster survived"
    );
    assert!(
        !data_dir.parent().unwrap().exists(),
        "{label}: {data_dir:?} survived"
    );
    assert!(!socket_dir.exists(), "{label}: {socket_dir:?} survived");
}
