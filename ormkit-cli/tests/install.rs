//! `cargo install --path ormkit-cli --root <tmp>` installs a binary named `ormkit-cli` that
//! runs outside this workspace (what the README tells users to do).
//!
//! It builds into `target/tmp/scratch-crates` with the dev profile (`--debug`,
//! `CARGO_PROFILE_DEV_DEBUG=false`), shared with the README first-program test of
//! `ormkit-tests` and with `.ci/package`'s builds of the packages, so that their common
//! dependencies compile once.

use std::path::Path;
use std::process::Command;

#[test]
fn cargo_install_puts_a_working_ormkit_cli_in_the_root() {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["install", "--offline", "--locked", "--debug", "--path"])
        .arg(cli)
        .arg("--root")
        .arg(root.path())
        .arg("--target-dir")
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("scratch-crates"))
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        // Not in this workspace's directory: as a user would, from anywhere.
        .current_dir(root.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo install: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let installed = root.path().join("bin").join("ormkit-cli");
    assert!(installed.is_file(), "{} is installed", installed.display());
    let version = Command::new(&installed)
        .arg("--version")
        .current_dir(root.path())
        .output()
        .unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("ormkit-cli {}\n", env!("CARGO_PKG_VERSION"))
    );
}
