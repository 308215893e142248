//! The plan's decision order, with injected environments.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use ormkit_build_support::{find_bindir_in, ScratchPlan, ENV_VARS};

use crate::support::write_script;

const NO_SYSTEM_PG: &str = "/nonexistent/ormkit-test/postgresql";

fn plan(vars: &[(&str, &str)]) -> ScratchPlan {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    ScratchPlan::from_lookup_in(|name| env.get(name).cloned(), Path::new(NO_SYSTEM_PG))
}

/// A directory with executable `initdb`, `pg_ctl` and `postgres` stand-ins.
fn fake_bindir(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    for program in ["initdb", "pg_ctl", "postgres"] {
        write_script(&dir.join(program), "exit 0");
    }
    dir.to_path_buf()
}

#[test]
fn offline_wins_over_everything() {
    for value in ["1", "true", "TRUE"] {
        let decided = plan(&[
            ("ORMKIT_OFFLINE", value),
            ("ORMKIT_SCRATCH_URL", "postgres://scratch/db"),
            ("DATABASE_URL", "postgres://main/db"),
            ("ORMKIT_PG_BINDIR", "/opt/pg/bin"),
        ]);
        match decided {
            ScratchPlan::Offline { reason } => {
                assert!(reason.contains("ORMKIT_OFFLINE"), "{reason}")
            }
            other => panic!("expected offline for ORMKIT_OFFLINE={value}, got {other:?}"),
        }
    }
}

#[test]
fn offline_off_values_are_ignored() {
    for value in ["0", "false", ""] {
        let decided = plan(&[
            ("ORMKIT_OFFLINE", value),
            ("DATABASE_URL", "postgres://main/db"),
        ]);
        assert!(
            matches!(decided, ScratchPlan::Server { .. }),
            "{value}: {decided:?}"
        );
    }
}

#[test]
fn scratch_url_wins_over_database_url() {
    let decided = plan(&[
        ("ORMKIT_SCRATCH_URL", "postgres://scratch/db"),
        ("DATABASE_URL", "postgres://main/db"),
        ("ORMKIT_PG_BINDIR", "/opt/pg/bin"),
    ]);
    assert_eq!(
        decided,
        ScratchPlan::Server {
            url: "postgres://scratch/db".into()
        }
    );

    let decided = plan(&[
        ("DATABASE_URL", "postgres://main/db"),
        ("ORMKIT_SCRATCH_URL", ""),
    ]);
    assert_eq!(
        decided,
        ScratchPlan::Server {
            url: "postgres://main/db".into()
        }
    );
}

#[test]
fn explicit_bindir_and_template_dir() {
    let decided = plan(&[
        ("ORMKIT_PG_BINDIR", "/opt/pg/bin"),
        ("ORMKIT_PG_TEMPLATE_DIR", "/var/cache/ormkit-template"),
    ]);
    assert_eq!(
        decided,
        ScratchPlan::LocalCluster {
            bindir: "/opt/pg/bin".into(),
            template_dir: Some("/var/cache/ormkit-template".into()),
        }
    );
}

#[test]
fn bindir_found_in_path_means_local_cluster() {
    let scratch = tempfile::tempdir().unwrap();
    let bin = fake_bindir(&scratch.path().join("pg/bin"));
    let path = format!("/nonexistent/bin:{}", bin.display());
    assert_eq!(
        plan(&[("PATH", &path)]),
        ScratchPlan::LocalCluster {
            bindir: bin,
            template_dir: None
        }
    );
}

#[test]
fn path_symlinks_resolve_to_the_real_bindir() {
    let scratch = tempfile::tempdir().unwrap();
    let real = fake_bindir(&scratch.path().join("lib/postgresql/15/bin"));
    let linked = scratch.path().join("local/bin");
    fs::create_dir_all(&linked).unwrap();
    std::os::unix::fs::symlink(real.join("initdb"), linked.join("initdb")).unwrap();
    let found = find_bindir_in(
        |name| (name == "PATH").then(|| linked.display().to_string()),
        Path::new(NO_SYSTEM_PG),
    );
    assert_eq!(found, Some(real.canonicalize().unwrap()));
}

#[test]
fn newest_complete_system_version_wins() {
    let root = tempfile::tempdir().unwrap();
    for version in ["9.6", "12", "15"] {
        fake_bindir(&root.path().join(version).join("bin"));
    }
    // Incomplete installations (client only) do not count.
    fs::create_dir_all(root.path().join("16/bin")).unwrap();
    write_script(&root.path().join("16/bin/initdb"), "exit 0");
    fs::create_dir_all(root.path().join("not-a-version/bin")).unwrap();

    assert_eq!(
        find_bindir_in(|_| None, root.path()),
        Some(root.path().join("15/bin"))
    );
}

#[test]
fn nothing_found_means_offline_with_advice() {
    match plan(&[("PATH", "/nonexistent/bin")]) {
        ScratchPlan::Offline { reason } => {
            for advice in [
                "ORMKIT_SCRATCH_URL",
                "ORMKIT_PG_BINDIR",
                "install",
                "initdb",
            ] {
                assert!(reason.contains(advice), "{advice} missing from {reason}");
            }
        }
        other => panic!("expected offline, got {other:?}"),
    }
}

#[test]
fn env_vars_lists_everything_decisive() {
    for name in [
        "ORMKIT_OFFLINE",
        "ORMKIT_SCRATCH_URL",
        "DATABASE_URL",
        "ORMKIT_PG_BINDIR",
        "ORMKIT_PG_TEMPLATE_DIR",
    ] {
        assert!(ENV_VARS.contains(&name), "{name}");
    }
}

#[test]
fn passwords_are_redacted_in_debug_and_display() {
    let decided = plan(&[("DATABASE_URL", "postgres://me:hunter2@db.example/app")]);
    assert!(!format!("{decided:?}").contains("hunter2"));
    assert!(!decided.to_string().contains("hunter2"));
    assert!(decided.to_string().contains("db.example"));
}
