//! The README's "Your first program", built from the README's own text in a crate outside
//! this workspace (path dependencies on this checkout) and run against PostgreSQL, its test
//! too: so the section can never go stale. Also what `ORMKIT_VERBOSE=1` says (the build
//! names the database it used, once, and plain builds stay quiet), and that the program's
//! normal dependencies hold none of the test machinery (`test` is opt-in).
//!
//! The crate builds into `target/tmp/scratch-crates`, shared with the CLI's `cargo install`
//! test and `.ci/package` so that their dependencies compile once
//! (`CARGO_PROFILE_DEV_DEBUG=false` for all three).

use ormkit_build_support::{ScratchDatabase, ScratchPlan};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The checkout's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The files of the README's "Your first program": each fenced block's first line is a
/// comment naming its path.
fn first_program() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("\n## Your first program\n")
        .expect("README.md has a \"Your first program\" section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |n| n + 3)];
    let mut files = Vec::new();
    for block in section.split("\n```").skip(1).step_by(2) {
        // The whole block, its first line too (a comment in each of the languages).
        let (_info, body) = block.split_once('\n').unwrap();
        let first = body.lines().next().unwrap_or_default();
        let path = ["# ", "// ", "-- "]
            .iter()
            .find_map(|prefix| first.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("a block without its file name: {first}"));
        files.push((path.trim().to_owned(), format!("{body}\n")));
    }
    files
}

/// `cargo` with the scratch crates' target directory, and none of this workspace's CI
/// settings (a new crate has no committed lock yet).
fn cargo(dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(dir)
        .env("CARGO_TARGET_DIR", scratch_target())
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .env_remove("ORMKIT_LOCKED")
        .env_remove("ORMKIT_UPDATE_LOCK")
        .env_remove("ORMKIT_VERBOSE")
        .env_remove("ORMKIT_OFFLINE");
    cmd
}

/// The target directory the scratch crates share (`target/tmp/scratch-crates`).
fn scratch_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("scratch-crates")
}

fn text(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn build(dir: &Path, verbose: bool) -> String {
    let mut cmd = cargo(dir);
    cmd.args(["build", "--offline"]);
    if verbose {
        cmd.env("ORMKIT_VERBOSE", "1");
    }
    let output = cmd.output().unwrap();
    assert!(output.status.success(), "cargo build: {}", text(&output));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The lines where the build says which database it applied the migrations to.
fn which_database(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("ormkit: applied the migrations to a "))
        .collect()
}

#[test]
fn the_readme_first_program_builds_and_runs_outside_the_workspace() {
    let files = first_program();
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "Cargo.toml",
            "build.rs",
            "migrations/20260101000000_create_users/up.sql",
            "src/main.rs"
        ],
        "the section's files"
    );
    let dir = tempfile::tempdir().unwrap();
    assert!(
        !dir.path().starts_with(root()),
        "the crate is outside the workspace"
    );
    for (path, text) in &files {
        let text = if path == "Cargo.toml" {
            in_this_checkout(text)
        } else {
            text.clone()
        };
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    // The workspace's versions of every dependency (and no network to resolve them).
    std::fs::copy(root().join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();

    // The first build writes the lock and says so; it does not say which database it used.
    let first = build(dir.path(), false);
    assert!(
        first.contains("ormkit: wrote ") && first.contains("schema.lock"),
        "{first}"
    );
    assert!(which_database(&first).is_empty(), "{first}");
    assert!(dir.path().join("schema.lock").exists());

    // ORMKIT_VERBOSE=1 reruns the generator, which says once where it applied the
    // migrations.
    let verbose = build(dir.path(), true);
    let said = which_database(&verbose);
    assert_eq!(said.len(), 1, "{verbose}");
    let expected = match std::env::var("DATABASE_URL") {
        Ok(_) => "temporary database",
        Err(_) => "throwaway cluster",
    };
    assert!(said[0].contains(expected), "{verbose}");

    // Back to a plain build: the generator reruns (the variable changed) and stays quiet.
    let plain = build(dir.path(), false);
    assert!(!plain.contains("ormkit:"), "{plain}");

    // The program, twice, on a database of its own: migrates, inserts, reads back; the
    // second run applies and inserts nothing.
    let plan = ScratchPlan::from_env();
    let database = ScratchDatabase::start(&plan)
        .unwrap()
        .unwrap_or_else(|| panic!("this test needs PostgreSQL: {plan}"));
    let binary = scratch_target().join("debug").join("hello-ormkit");
    let run = || {
        let output = Command::new(&binary)
            .env("DATABASE_URL", database.url())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let first_run = run();
    assert!(
        first_run.contains("1 migration(s) applied")
            && first_run.contains(" is ada@example.com, created ")
            && first_run.contains("1 user(s)"),
        "{first_run}"
    );
    let second_run = run();
    assert!(
        second_run.contains("0 migration(s) applied") && second_run.contains("1 user(s)"),
        "{second_run}"
    );
    database.close().unwrap();

    // What the program links: ormkit, without the test machinery its dev-dependency line
    // turns on for tests only.
    let output = cargo(dir.path())
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo tree: {}", text(&output));
    let tree = String::from_utf8_lossy(&output.stdout);
    let linked = |name: &str| tree.lines().any(|l| l.starts_with(&format!("{name} v")));
    assert!(linked("ormkit"), "{tree}");
    for absent in ["ormkit-build-support", "ormkit-macros"] {
        assert!(!linked(absent), "the program links {absent}:\n{tree}");
    }

    // The README's test, with `features = ["test"]` from the dev-dependency: a database of
    // its own, from the environment's server or a throwaway cluster.
    let output = cargo(dir.path())
        .args(["test", "--offline"])
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo test: {}", text(&output));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains("test tests::a_new_user_is_counted ... ok")
            && said.contains("test result: ok. 1 passed"),
        "{said}"
    );
}

/// The README's `Cargo.toml` with `<checkout>` (its three path dependencies) replaced by
/// this checkout.
fn in_this_checkout(manifest: &str) -> String {
    for (name, dir) in [
        ("ormkit", "ormkit-runtime"),
        ("ormkit-codegen", "ormkit-codegen"),
    ] {
        let line = format!("\n{name} = {{ path = \"<checkout>/{dir}\"");
        assert!(manifest.contains(&line), "{name} by path in {manifest}");
    }
    assert_eq!(manifest.matches("<checkout>").count(), 3, "{manifest}");
    let root = root();
    let root = root.to_str().expect("the checkout's path is UTF-8");
    assert!(
        !root.contains(['"', '\\']),
        "a checkout path TOML takes as is: {root}"
    );
    manifest.replace("<checkout>", root)
}

/// What the quickstart example prints first: which database it is using.
#[tokio::test]
async fn the_quickstart_says_which_database_it_uses() -> anyhow::Result<()> {
    let db = ormkit_tests::support::TestDb::new().await?;
    let said = db.description();
    match std::env::var("DATABASE_URL") {
        Ok(_) => assert!(
            said.starts_with("a temporary database ") && said.ends_with("(DATABASE_URL's server)"),
            "{said}"
        ),
        Err(_) => assert!(
            said.starts_with("a throwaway cluster ")
                && said.ends_with("(no DATABASE_URL; removed at exit)"),
            "{said}"
        ),
    }
    let example = std::fs::read_to_string(root().join("tests/examples/quickstart.rs"))?;
    assert!(example.contains("println!(\"using {}\", db.description());"));
    Ok(())
}
