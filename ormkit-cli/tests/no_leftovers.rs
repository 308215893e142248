//! Scratch databases and clusters leave nothing behind, even when a migration fails. A test
//! binary of its own, so no other test creates scratch databases meanwhile.

mod support;

use std::process::Command;
use support::*;

fn scratch_databases() -> Vec<String> {
    let output = Command::new("psql")
        .args([
            "-XAtc",
            "SELECT datname FROM pg_database WHERE datname LIKE 'ormkit_scratch%'",
        ])
        .arg(server_url())
        .output()
        .expect("psql runs");
    assert!(output.status.success(), "{}", text(&output));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn postgres_processes_under(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(dir.to_str().unwrap()) && cmdline.contains("postgres") {
                found.push(cmdline);
            }
        }
    }
    found
}

#[test]
fn url_mode_and_local_cluster_mode_leave_nothing_behind() {
    let before = scratch_databases();
    let project = project();
    add_migration(project.path(), "20990101000000_broken", "SELECT 1/0;");

    // URL mode, failing migration.
    let output = cli(project.path())
        .arg("lock")
        .env("ORMKIT_SCRATCH_URL", server_url())
        .output()
        .unwrap();
    assert!(!output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("22012"), "{}", text(&output));
    assert_eq!(
        scratch_databases(),
        before,
        "a temporary database was left behind"
    );

    // Local cluster mode (as root here: it must drop privileges), failing and succeeding.
    let tmp = tempfile::tempdir().unwrap();
    let template = tempfile::tempdir().unwrap();
    for expect_success in [false, true] {
        if expect_success {
            std::fs::remove_dir_all(project.path().join("migrations/20990101000000_broken"))
                .unwrap();
        }
        let output = cli(project.path())
            .args(["lock", "--check"])
            .env("TMPDIR", tmp.path())
            .env("ORMKIT_PG_TEMPLATE_DIR", template.path().join("t"))
            .output()
            .unwrap();
        assert_eq!(output.status.success(), expect_success, "{}", text(&output));
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "left in TMPDIR: {left:?}");
        assert!(postgres_processes_under(tmp.path()).is_empty());
    }
}
