//! A build killed with SIGKILL leaves its throwaway cluster's postmaster running; the next
//! build reaps it whatever its plan (offline, or a temporary database on a server), not only
//! one that starts a cluster itself. A test binary of its own: no other test starts or
//! reaps clusters while the orphan is checked.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ormkit_build_support::{find_bindir, ScratchDatabase, ScratchPlan};

/// Set in the child process of [`orphan`].
const ORPHAN_ENV: &str = "ORMKIT_TEST_ORPHAN_CLUSTER";

/// Helper, only active in a child process: starts a cluster, says where, and waits to be
/// killed (like a build script an IDE cancels with SIGKILL).
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

/// Starts a cluster in a child process and SIGKILLs it: returns the orphaned cluster's data
/// and socket directories, its postmaster still running.
fn orphan() -> (PathBuf, PathBuf) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "orphan_cluster_helper", "--nocapture"])
        .env(ORPHAN_ENV, "1")
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
    assert!(
        !processes_mentioning(&data_dir).is_empty(),
        "the orphaned postmaster should still run"
    );
    (data_dir, socket_dir)
}

/// Pids of live processes whose command line mentions `needle`.
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

fn assert_reaped((data_dir, socket_dir): &(PathBuf, PathBuf)) {
    assert_eq!(
        processes_mentioning(data_dir),
        Vec::<u32>::new(),
        "the orphaned postmaster survived"
    );
    assert!(
        !data_dir.parent().unwrap().exists(),
        "{data_dir:?} survived"
    );
    assert!(!socket_dir.exists(), "{socket_dir:?} survived");
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
    let orphaned = orphan();
    let offline = ScratchPlan::Offline {
        reason: "test".into(),
    };
    config(offline, out.path())
        .generate()
        .expect("offline generation");
    assert_reaped(&orphaned);

    // A temporary database on a server.
    let orphaned = orphan();
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let stale = config(ScratchPlan::Server { url }, out.path())
        .check_lock()
        .expect("lock check on the server");
    assert_eq!(stale, None, "the committed lock is up to date");
    assert_reaped(&orphaned);
}
