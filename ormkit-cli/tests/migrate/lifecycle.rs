//! The migration lifecycle from the shell: create, up, status, down, and the errors a
//! failing migration or a missing or unreachable database gives.

use super::*;

#[test]
fn create_up_status_down_and_errors_from_the_shell() {
    let db = database();
    let project = project();
    let dir = project.path();

    let output = cli(dir)
        .args(["migration", "create", "add_nickname"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let created = std::fs::read_dir(dir.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_add_nickname"))
        .expect("the new migration directory");
    assert!(created.join("down.sql").is_file());
    std::fs::write(
        created.join("up.sql"),
        "ALTER TABLE users ADD COLUMN nickname text;\n",
    )
    .unwrap();
    std::fs::write(
        created.join("down.sql"),
        "ALTER TABLE users DROP COLUMN nickname;\n",
    )
    .unwrap();
    let output = cli(dir)
        .args(["migration", "create", "no spaces"])
        .output()
        .unwrap();
    assert!(assert_one_paragraph(&output, 2).contains("not a valid migration name"));

    let output = run(dir, &db, &["migrate", "up", "--to", "20240101000200"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(stdout(&output).matches("applied ").count(), 3);
    let output = run(dir, &db, &["migrate", "status"]);
    let out = stdout(&output);
    assert!(out.starts_with("VERSION "), "{out}");
    assert!(
        out.contains("20240101000300  analytics         pending"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "current version: 20240101000200; 3 applied, {} pending",
            reference_versions().len() - 3 + 1
        )),
        "{out}"
    );

    let output = run(dir, &db, &["migrate", "up"]);
    assert!(output.status.success(), "{}", text(&output));
    let output = run(dir, &db, &["migrate", "up"]);
    assert!(
        stdout(&output).starts_with("nothing to apply\n"),
        "{}",
        text(&output)
    );

    // A tampered applied migration: refused, one paragraph naming file and checksums.
    let up = dir.join("migrations/20240101000400_awkward_names/up.sql");
    let original = std::fs::read_to_string(&up).unwrap();
    std::fs::write(&up, format!("{original}-- changed\n")).unwrap();
    let error = assert_one_paragraph_error(&run(dir, &db, &["migrate", "down"]));
    assert!(
        error.contains("20240101000400_awkward_names/up.sql now has checksum"),
        "{error}"
    );
    std::fs::write(&up, original).unwrap();

    // The created migration and every reference migration after 20240101000400.
    let steps = 1 + reference_versions()
        .iter()
        .filter(|v| v.as_str() > "20240101000400")
        .count();
    let steps = steps.to_string();
    let output = run(dir, &db, &["migrate", "down", "--steps", &steps]);
    assert!(output.status.success(), "{}", text(&output));
    let out = stdout(&output);
    assert!(
        out.contains("reverted 20240101000500_concurrent_index"),
        "{out}"
    );
    assert!(
        out.ends_with("database is at version 20240101000400\n"),
        "{out}"
    );
    let output = run(dir, &db, &["migrate", "down", "--to", "0"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(stdout(&output).ends_with("database has no migration applied\n"));
    let output = run(dir, &db, &["migrate", "repair"]);
    assert!(
        stdout(&output).starts_with("nothing to repair"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_failing_migration_exits_non_zero_with_file_line_and_sqlstate() {
    let db = database();
    let project = project();
    add_migration(
        project.path(),
        "20990101000000_broken",
        "-- ormkit:no-transaction\nCREATE TABLE half (id int);\nSELECT * FROM nope;\n",
    );
    let output = run(project.path(), &db, &["migrate", "up"]);
    assert_eq!(
        stdout(&output).matches("applied ").count(),
        reference_versions().len(),
        "{}",
        text(&output)
    );
    let error = assert_one_paragraph_error(&output);
    assert!(error.contains("20990101000000_broken/up.sql:3"), "{error}");
    assert!(
        error.contains("42P01") && error.contains("recorded as failed"),
        "{error}"
    );
    let out = stdout(&run(project.path(), &db, &["migrate", "status"]));
    assert!(
        out.contains("20990101000000  broken            failed"),
        "{out}"
    );

    std::fs::write(
        project
            .path()
            .join("migrations/20990101000000_broken/up.sql"),
        "-- ormkit:no-transaction\nCREATE TABLE IF NOT EXISTS half (id int);\n",
    )
    .unwrap();
    let error = assert_one_paragraph_error(&run(project.path(), &db, &["migrate", "up"]));
    assert!(error.contains("migrate repair"), "{error}");
    let output = run(project.path(), &db, &["migrate", "repair"]);
    assert!(stdout(&output).contains("cleared failed migration 20990101000000_broken"));
    let output = run(project.path(), &db, &["migrate", "up"]);
    assert!(output.status.success(), "{}", text(&output));
}

#[test]
fn a_missing_database_url_or_an_unreachable_database_is_a_clear_error() {
    let project = project();
    let output = cli(project.path())
        .args(["migrate", "status"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains("--database-url <DATABASE_URL>"),
        "{}",
        text(&output)
    );

    // A refused port: at once (one attempt, no pool retrying until its timeout), exit 3,
    // naming host:port, the cause and where the URL came from, never the password.
    let output = cli(project.path())
        .args(["migrate", "up"])
        .env(
            "DATABASE_URL",
            "postgres://postgres:s3cret-pw@127.0.0.1:1/nowhere",
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let error = assert_one_paragraph_error(&output);
    assert!(error.contains("cannot connect to 127.0.0.1:1"), "{error}");
    assert!(error.contains("connection refused"), "{error}");
    assert!(error.contains("DATABASE_URL"), "{error}");
    assert!(!error.contains("s3cret-pw"), "{error}");

    // A missing database: named, with the hint.
    let missing = format!(
        "{}/ormkit_cli_no_such_database",
        server_url().rsplit_once('/').map_or("", |(base, _)| base)
    );
    let output = cli(project.path())
        .args(["migrate", "status"])
        .env("DATABASE_URL", &missing)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let error = assert_one_paragraph_error(&output);
    assert!(
        error.contains("database \"ormkit_cli_no_such_database\" does not exist"),
        "{error}"
    );
    assert!(error.contains("createdb"), "{error}");
}
