//! `ormkit-cli lock` and `generate`, online and offline, against real PostgreSQL.

mod support;

use support::*;

#[test]
fn online_and_offline_generate_the_same_bytes() {
    let project = project();
    let online = tempfile::tempdir().unwrap();
    let again = tempfile::tempdir().unwrap();
    let offline = tempfile::tempdir().unwrap();
    for (out, offline_mode) in [(&online, false), (&again, false), (&offline, true)] {
        let mut cmd = cli(project.path());
        cmd.args(["generate", "--out"]).arg(out.path());
        if offline_mode {
            cmd.env("ORMKIT_OFFLINE", "1");
        } else {
            cmd.env("ORMKIT_SCRATCH_URL", server_url());
        }
        let output = cmd.output().unwrap();
        assert!(output.status.success(), "{}", text(&output));
    }
    let read =
        |dir: &tempfile::TempDir| std::fs::read(dir.path().join("ormkit_entities.rs")).unwrap();
    assert_eq!(read(&online), read(&again), "two online runs differ");
    assert_eq!(
        read(&online),
        read(&offline),
        "online and offline output differ"
    );
    // The lock the database produced is the committed one, byte for byte.
    let fresh = std::fs::read(online.path().join("schema.lock")).unwrap();
    assert_eq!(fresh, std::fs::read(repo().join("schema.lock")).unwrap());
}

#[test]
fn lock_check_passes_on_the_committed_lock_and_fails_on_a_stale_one() {
    let project = project();
    let output = cli(project.path())
        .args(["lock", "--check"])
        .env("ORMKIT_SCRATCH_URL", server_url())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));

    add_migration(
        project.path(),
        "20990101000000_extra",
        "ALTER TABLE users ADD COLUMN nickname text;",
    );
    let output = cli(project.path())
        .args(["lock", "--check"])
        .env("ORMKIT_SCRATCH_URL", server_url())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let out = text(&output);
    assert!(
        out.contains("+          {\"name\":\"nickname\",\"type\":\"text\",\"nullable\":true}"),
        "{out}"
    );

    // `lock` refreshes it; then the check passes.
    let output = cli(project.path())
        .arg("lock")
        .env("ORMKIT_SCRATCH_URL", server_url())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let lock = std::fs::read_to_string(project.path().join("schema.lock")).unwrap();
    assert!(lock.contains("nickname"));
}

#[test]
fn offline_with_a_stale_lock_fails_and_names_the_migrations() {
    let project = project();
    add_migration(project.path(), "20990101000000_extra", "SELECT 1;");
    std::fs::write(
        project
            .path()
            .join("migrations/20240101000000_types/up.sql"),
        "-- changed\nCREATE TYPE mood AS ENUM ('happy');",
    )
    .unwrap();
    let output = generate_offline(project.path());
    assert!(!output.status.success());
    let out = text(&output);
    assert!(out.contains("is stale"), "{out}");
    assert!(out.contains("added: 20990101000000_extra"), "{out}");
    assert!(out.contains("changed: 20240101000000_types"), "{out}");

    // The advice names a command that works in the user's crate: the CLI when it is
    // installed, else the build itself.
    let out_dir = tempfile::tempdir().unwrap();
    let offline_generate = |path: &std::ffi::OsStr| {
        let output = cli(project.path())
            .args(["generate", "--out"])
            .arg(out_dir.path())
            .env("ORMKIT_OFFLINE", "1")
            .env("PATH", path)
            .output()
            .unwrap();
        text(&output)
    };
    let out = offline_generate("/usr/bin:/bin".as_ref());
    assert!(
        out.contains(
            "refresh it with `ORMKIT_UPDATE_LOCK=1 cargo build` where PostgreSQL is available"
        ),
        "{out}"
    );
    let installed = std::path::Path::new(env!("CARGO_BIN_EXE_ormkit-cli"))
        .parent()
        .unwrap();
    let path = std::env::join_paths([installed, "/usr/bin".as_ref(), "/bin".as_ref()]).unwrap();
    let out = offline_generate(&path);
    assert!(out.contains("refresh it with `ormkit-cli lock`"), "{out}");
}

#[test]
fn lock_check_and_offline_generate_see_an_edited_query() {
    let project = project();
    let file = project.path().join("queries/users.sql");
    let text_before = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text_before.replace("ORDER BY 1, 2", "ORDER BY 2, 1")).unwrap();
    let output = cli(project.path())
        .args(["lock", "--check"])
        .env("ORMKIT_SCRATCH_URL", server_url())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("same_karma"), "{}", text(&output));

    let output = generate_offline(project.path());
    assert!(!output.status.success());
    let out = text(&output);
    assert!(out.contains("queries changed"), "{out}");
    assert!(out.contains("changed users.sql:same_karma"), "{out}");

    let output = cli(project.path())
        .arg("lock")
        .env("ORMKIT_SCRATCH_URL", server_url())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains(" queries, fingerprint"),
        "{}",
        text(&output)
    );
}

#[test]
fn offline_without_a_lock_says_how_to_make_one() {
    let project = project();
    std::fs::remove_file(project.path().join("schema.lock")).unwrap();
    let output = generate_offline(project.path());
    assert!(!output.status.success());
    let out = text(&output);
    assert!(out.contains("schema.lock does not exist"), "{out}");
    assert!(out.contains("create the lock with `"), "{out}");
}

#[test]
fn a_failing_migration_names_file_line_and_sqlstate() {
    let project = project();
    add_migration(
        project.path(),
        "20990101000000_broken",
        "CREATE TABLE fine (id int);\n\nSELECT * FROM no_such_table;\n",
    );
    let output = cli(project.path())
        .arg("lock")
        .env("ORMKIT_SCRATCH_URL", server_url())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let out = text(&output);
    assert!(out.contains("20990101000000_broken/up.sql:3"), "{out}");
    assert!(out.contains("42P01"), "{out}");
    assert!(out.contains("no_such_table"), "{out}");
}

#[test]
fn locked_mode_refuses_a_differing_lock_and_update_mode_rewrites_it() {
    let project = project();
    add_migration(
        project.path(),
        "20990101000000_extra",
        "CREATE TABLE extra (id int PRIMARY KEY);",
    );
    let out_dir = tempfile::tempdir().unwrap();
    let run = |var: &str| {
        cli(project.path())
            .args(["generate", "--out"])
            .arg(out_dir.path())
            .env("ORMKIT_SCRATCH_URL", server_url())
            .env(var, "1")
            .output()
            .unwrap()
    };
    let output = run("ORMKIT_LOCKED");
    assert!(!output.status.success(), "{}", text(&output));
    let out = text(&output);
    assert!(
        out.contains(
            "differs from the schema the migrations produce: 1 migration added \
             (20990101000000_extra) (ORMKIT_LOCKED=1 forbids that)"
        ),
        "{out}"
    );
    assert!(
        out.contains("+        \"name\": \"public.extra\","),
        "{out}"
    );

    let before = std::fs::read_to_string(project.path().join("schema.lock")).unwrap();
    let output = run("ORMKIT_UPDATE_LOCK");
    assert!(output.status.success(), "{}", text(&output));
    let after = std::fs::read_to_string(project.path().join("schema.lock")).unwrap();
    assert_ne!(before, after);
    assert!(after.contains("public.extra"));
    // It says what it wrote.
    let lock = project.path().join("schema.lock");
    assert!(
        text(&output).contains(&format!(
            "warning: ormkit: wrote {} (1 migration added (20990101000000_extra))",
            lock.display()
        )),
        "{}",
        text(&output)
    );
    // Now the lock matches: locked mode passes.
    let output = run("ORMKIT_LOCKED");
    assert!(output.status.success(), "{}", text(&output));
}

#[test]
fn offline_lock_check_compares_an_existing_lock_with_the_migrations() {
    let project = project();
    let output = cli(project.path())
        .args(["lock", "--check"])
        .env("ORMKIT_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let out = text(&output);
    assert!(!out.contains("does not exist"), "{out}");
    assert!(
        out.contains("schema.lock records exactly the migrations on disk (offline"),
        "{out}"
    );

    add_migration(project.path(), "20990101000000_extra", "SELECT 1;");
    let output = cli(project.path())
        .args(["lock", "--check"])
        .env("ORMKIT_OFFLINE", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let out = text(&output);
    assert!(out.contains("added: 20990101000000_extra"), "{out}");

    // Writing a lock offline says a database is needed, not that the lock is missing.
    let output = cli(project.path())
        .arg("lock")
        .env("ORMKIT_OFFLINE", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let out = text(&output);
    assert!(!out.contains("does not exist"), "{out}");
    assert!(out.contains("needs PostgreSQL"), "{out}");
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let project = project();
    add_migration(project.path(), "20990101000000_extra", "SELECT 1;");
    // The reading end is closed before the command writes, as `| head -c1` does once it has
    // its byte.
    let mut child = cli(project.path())
        .args(["lock", "--check"])
        .env("ORMKIT_OFFLINE", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(141), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// Each cause of an error appears once in what the CLI prints (`{err:#}` walks `source()`,
/// so a message that includes its cause must not also return it from there).
#[test]
fn each_cause_is_printed_once() {
    let project = project();
    let output = cli(project.path())
        .arg("lock")
        .env(
            "ORMKIT_SCRATCH_URL",
            "postgres://postgres@127.0.0.1:1/postgres",
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: scratch PostgreSQL: "),
        "{stderr}"
    );
    assert_eq!(stderr.matches("Connection refused").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("hint:").count(), 1, "{stderr}");

    // A file that cannot be read, through discovery.
    std::fs::remove_dir_all(project.path().join("migrations")).unwrap();
    let output = cli(project.path())
        .args(["lock", "--check"])
        .env("ORMKIT_OFFLINE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot read "), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
}

/// A loose `.sql` file beside Diesel-layout directories (crates.io's
/// `migrations/data_oauth_github.sql`) is ignored, and the user is told so: on stderr by
/// `generate` (as `cargo:warning` in a build) and by the migrate commands.
#[test]
fn a_loose_sql_file_beside_diesel_directories_is_ignored_with_a_warning() {
    let project = project();
    let loose = project.path().join("migrations/data_oauth_github.sql");
    std::fs::write(&loose, "INSERT INTO nowhere VALUES (1);\n").unwrap();
    let output = generate_offline(project.path());
    assert!(output.status.success(), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("data_oauth_github.sql").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("warning: ormkit: ignoring "), "{stderr}");

    let output = cli(project.path())
        .args(["migrate", "status", "--database-url"])
        .arg(server_url())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: ignoring ") && stderr.contains("data_oauth_github.sql"),
        "{}",
        text(&output)
    );
}

/// An unclosed quoted name ending in a non-ASCII character once made the query scanner panic
/// (exit 101); it is a query error naming the file and line.
#[test]
fn an_unclosed_quoted_name_in_a_query_file_is_an_error_not_a_panic() {
    let project = project();
    let file = project.path().join("queries/broken.sql");
    std::fs::write(
        &file,
        "-- name: broken :many\nSELECT id FROM accounts WHERE name = \"café;\n",
    )
    .unwrap();
    let output = generate_offline(project.path());
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.sql:2: query `broken`: the quoted identifier `\"café` at column 38 is never closed"), "{stderr}");
}
