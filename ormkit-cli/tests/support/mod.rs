//! Running `ormkit-cli` on copies of the reference migrations.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

pub(crate) fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `ormkit-cli` with no database variables set: each test chooses its own.
pub(crate) fn cli(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ormkit-cli"));
    cmd.current_dir(dir);
    for var in [
        "DATABASE_URL",
        "ORMKIT_SCRATCH_URL",
        "ORMKIT_OFFLINE",
        "ORMKIT_LOCKED",
        "ORMKIT_UPDATE_LOCK",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// A temp dir holding a copy of the reference `migrations/` and `schema.lock`.
pub(crate) fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("migrations"), &dir.path().join("migrations"));
    copy_dir(&repo().join("queries"), &dir.path().join("queries"));
    std::fs::copy(repo().join("schema.lock"), dir.path().join("schema.lock")).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

pub(crate) fn add_migration(project: &Path, name: &str, sql: &str) {
    let dir = project.join("migrations").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("up.sql"), sql).unwrap();
}

pub(crate) fn text(output: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The versions of the reference migrations, in order.
pub(crate) fn reference_versions() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| n.split('_').next().unwrap().to_owned())
        .collect()
}

/// The newest reference migration's version.
pub(crate) fn last_version() -> String {
    reference_versions().pop().unwrap()
}

/// `ormkit-cli generate --out <a temporary directory>` in `project`, offline: from its lock.
pub(crate) fn generate_offline(project: &Path) -> Output {
    let out_dir = tempfile::tempdir().unwrap();
    cli(project)
        .args(["generate", "--out"])
        .arg(out_dir.path())
        .env("ORMKIT_OFFLINE", "1")
        .output()
        .unwrap()
}
