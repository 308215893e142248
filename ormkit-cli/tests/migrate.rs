//! `ormkit-cli migrate`, `migration create` and `validate` against real PostgreSQL, each
//! test on a database of its own.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use ormkit_build_support::ScratchDatabase;
use support::*;

/// A temporary database on the test server, dropped with the value.
fn database() -> ScratchDatabase {
    ScratchDatabase::on_server(&server_url()).expect("a temporary database")
}

/// `ormkit-cli <args> --database-url <db>` in `dir`.
fn run(dir: &Path, db: &ScratchDatabase, args: &[&str]) -> Output {
    cli(dir)
        .args(args)
        .args(["--database-url", db.url()])
        .output()
        .unwrap()
}

/// One-column query results.
fn psql(db: &ScratchDatabase, sql: &str) -> Vec<String> {
    let output = Command::new("psql")
        .args(["-XAtc", sql, db.url()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A failure of the work (exit code 3) and one `error:` paragraph on stderr.
fn assert_one_paragraph_error(output: &Output) -> String {
    assert_one_paragraph(output, 3)
}

/// Exit code `code` and one `error:` paragraph on stderr.
fn assert_one_paragraph(output: &Output, code: i32) -> String {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
    let stderr = String::from_utf8_lossy(&output.stderr)
        .trim_end()
        .to_owned();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        !stderr.contains("\n\n"),
        "more than one paragraph: {stderr}"
    );
    stderr
}

#[test]
fn eight_processes_migrating_one_database_apply_each_migration_once() {
    let db = database();
    let project = project();
    let children: Vec<_> = (0..8)
        .map(|_| {
            cli(project.path())
                .args(["migrate", "up", "--database-url", db.url()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", text(&output));
        let out = stdout(&output);
        applied.extend(
            out.lines()
                .filter_map(|line| line.strip_prefix("applied "))
                .map(|step| step.split(' ').next().unwrap().to_owned()),
        );
        assert!(
            out.contains(&format!("database is at version {}", last_version())),
            "{out}"
        );
    }
    applied.sort();
    let expected: Vec<String> = std::fs::read_dir(project.path().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        applied, expected,
        "each migration applied by exactly one process"
    );
    let rows = psql(
        &db,
        "SELECT version || ' ' || success FROM _ormkit_migrations ORDER BY 1",
    );
    assert_eq!(rows.len(), reference_versions().len());
    assert!(rows.iter().all(|row| row.ends_with(" true")), "{rows:?}");
    let valid = psql(
        &db,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_created_at_idx'::regclass",
    );
    assert_eq!(valid, ["t"]);
}

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
fn validate_passes_on_a_migrated_database_and_fails_on_drift() {
    let db = database();
    let project = project();
    assert!(run(project.path(), &db, &["migrate", "up"])
        .status
        .success());
    let output = run(project.path(), &db, &["validate"]);
    assert!(output.status.success(), "{}", text(&output));
    let out = stdout(&output);
    assert!(
        out.starts_with("the database matches the expected schema\n"),
        "{out}"
    );
    assert!(out.contains(&format!(
        "migrations: current version: {}; {} applied, 0 pending",
        last_version(),
        reference_versions().len()
    )));

    psql(&db, "ALTER TABLE posts DROP COLUMN scores");
    psql(&db, "ALTER TABLE users ADD COLUMN nickname text");
    let output = run(project.path(), &db, &["validate"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let out = stdout(&output);
    assert!(
        out.contains("error: public.posts: column \"scores\" not found\n"),
        "{out}"
    );
    assert!(out.contains("warning: public.users: column \"nickname\" (text) is not known"));
    assert!(out.contains("1 error(s), 1 warning(s)"), "{out}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("does not match schema.lock: 1 error(s)"),
        "{stderr}"
    );
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

#[test]
fn import_adopts_a_diesel_history_from_the_shell() {
    let db = database();
    let project = project();
    let dir = project.path();
    // What Diesel left after running the first reference migration.
    let output = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(dir.join("migrations/20240101000000_types/up.sql"))
        .arg(db.url())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    psql(
        &db,
        "CREATE TABLE __diesel_schema_migrations (
             version VARCHAR(50) PRIMARY KEY NOT NULL,
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
         INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000')",
    );

    let output = run(dir, &db, &["migrate", "import", "--from", "diesel"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        stdout(&output),
        "adopted 20240101000000_types (applied by diesel)\n"
    );
    let output = run(dir, &db, &["migrate", "up"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        !stdout(&output).contains("20240101000000_types"),
        "{}",
        text(&output)
    );
    let applied = stdout(&output)
        .lines()
        .filter(|l| l.starts_with("applied "))
        .count();
    assert_eq!(applied, reference_versions().len() - 1, "{}", text(&output));

    // A second import, or an unknown tool, is a one-paragraph error.
    let err =
        assert_one_paragraph_error(&run(dir, &db, &["migrate", "import", "--from", "diesel"]));
    assert!(err.contains("already records"), "{err}");
    let output = run(dir, &db, &["migrate", "import", "--from", "flyway"]);
    assert!(!output.status.success());
    assert!(
        text(&output).contains("not diesel or sqlx"),
        "{}",
        text(&output)
    );
}

/// A migration behind another session's table lock: `migrate up` says whom it waits for
/// while it waits, retries, and fails naming the blocker; nothing of it is applied.
#[test]
fn a_migration_behind_a_table_lock_names_the_blocker() {
    use ormkit::sqlx::postgres::{PgConnectOptions, PgConnection};
    use ormkit::sqlx::Connection as _;

    let db = database();
    let project = project();
    let dir = project.path();
    assert!(run(dir, &db, &["migrate", "up"]).status.success());
    add_migration(
        dir,
        "20990101000000_nickname",
        "ALTER TABLE users ADD COLUMN nickname text;\n",
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let options: PgConnectOptions = db.url().parse().unwrap();
    let (mut blocker, pid) = runtime.block_on(async {
        let mut conn = PgConnection::connect_with(&options.application_name("the-blocker"))
            .await
            .unwrap();
        let pid: i32 = ormkit::sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        ormkit::sqlx::raw_sql("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            .execute(&mut conn)
            .await
            .unwrap();
        (conn, pid)
    });
    let output = run(
        dir,
        &db,
        &[
            "migrate",
            "up",
            "--statement-lock-timeout",
            "0.3",
            "--lock-retries",
            "1",
        ],
    );
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let error = stderr
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    let blocker_named = format!("pid {pid} (application_name \"the-blocker\", idle in transaction");
    assert!(error.contains(&blocker_named), "{error}");
    assert!(
        error.contains("20990101000000_nickname/up.sql:1: ERROR 55P03")
            && error.contains("in each of its 2 attempt(s)")
            && error.contains("nothing of it is applied"),
        "{error}"
    );
    assert!(
        stderr.contains("waiting: migration 20990101000000_nickname has waited")
            && stderr.contains("waiting: migration 20990101000000_nickname timed out waiting for AccessExclusiveLock on users (attempt 1)"),
        "{stderr}"
    );
    runtime.block_on(async {
        ormkit::sqlx::query("ROLLBACK")
            .execute(&mut blocker)
            .await
            .unwrap();
        blocker.close().await.unwrap();
    });
    let output = run(dir, &db, &["migrate", "up"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        stdout(&output).matches("applied ").count(),
        1,
        "{}",
        text(&output)
    );
}

/// `ormkit-cli <args>` in `dir`, its status and stdout parsed as JSON.
fn json(dir: &Path, db: &ScratchDatabase, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let output = run(dir, db, args);
    let value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", text(&output)));
    (output.status.code(), value)
}

/// The exit statuses a deploy pipeline reads (0 ok, 1 `--check` found work, 2 usage, 3 the
/// database failed) and the `--json` of `migrate status` and `validate`, parsed.
#[test]
fn exit_codes_and_json_for_deploy_pipelines() {
    let db = database();
    let project = project();
    let dir = project.path();
    let migrations = reference_versions().len();

    let (code, status) = json(dir, &db, &["migrate", "status", "--check", "--json"]);
    assert_eq!(code, Some(1), "pending migrations fail the check: {status}");
    assert_eq!(status["up_to_date"], false);
    assert_eq!(status["current_version"], serde_json::Value::Null);
    let states: Vec<&str> = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["pending"; migrations]);
    // Without --check, the same status is not a failure.
    assert_eq!(json(dir, &db, &["migrate", "status", "--json"]).0, Some(0));

    let output = run(dir, &db, &["migrate", "up"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let (code, status) = json(dir, &db, &["migrate", "status", "--check", "--json"]);
    assert_eq!(code, Some(0), "{status}");
    assert_eq!(status["up_to_date"], true);
    assert_eq!(status["current_version"], last_version().as_str());
    let first = &status["migrations"][0];
    assert_eq!(first["state"], "applied");
    assert!(
        first["applied_at"].as_str().unwrap().contains('T'),
        "{first}"
    );
    assert!(first["duration_ms"].is_u64(), "{first}");

    let (code, report) = json(dir, &db, &["validate", "--json"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["errors"], 0);
    assert_eq!(report["migrations"]["up_to_date"], true);

    psql(&db, "ALTER TABLE users DROP COLUMN display_name");
    let (code, report) = json(dir, &db, &["validate", "--json"]);
    assert_eq!(code, Some(1), "drift: {report}");
    assert_eq!(report["ok"], false);
    let findings = report["findings"].as_array().unwrap();
    let missing = findings
        .iter()
        .find(|f| f["finding"] == "column_not_found")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(missing["severity"], "error");
    assert_eq!(missing["table"], "public.users");
    assert_eq!(missing["column"], "display_name");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("display_name"),
        "{missing}"
    );

    // 2: usage, from clap or from the command itself.
    let output = run(dir, &db, &["migrate", "status", "--no-such-flag"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let output = cli(dir)
        .args(["migration", "create", "no spaces"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    // 3: the database cannot be reached.
    let output = cli(dir)
        .args(["migrate", "status", "--database-url"])
        .arg("postgres://postgres@127.0.0.1:1/postgres")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    assert!(
        text(&output).contains("cannot connect"),
        "{}",
        text(&output)
    );
}

/// The version of each migration directory in `dir/migrations`, sorted.
fn versions_on_disk(dir: &Path) -> Vec<String> {
    let mut versions: Vec<String> = std::fs::read_dir(dir.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .map(|name| name.split('_').next().unwrap().to_owned())
        .collect();
    versions.sort();
    versions
}

#[test]
fn two_migration_creates_in_one_second_take_the_next_free_versions() {
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    for name in ["first", "second", "third"] {
        let output = cli(dir)
            .args(["migration", "create", name])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
    }
    let versions = versions_on_disk(dir);
    assert_eq!(versions.len(), 3, "{versions:?}");
    assert!(
        versions.windows(2).all(|pair| pair[0] < pair[1]),
        "{versions:?}"
    );

    // However far ahead the newest version is (a clock behind, a hand-made name), the next
    // one follows it.
    add_migration(dir, "20991231235959_from_the_future", "SELECT 1;");
    let output = cli(dir)
        .args(["migration", "create", "after_it"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        dir.join("migrations/21000101000000_after_it/up.sql")
            .is_file(),
        "{}",
        text(&output)
    );
}

/// Runs `command` (a shell command line) on a pseudo-terminal, as a person at a terminal
/// would; everything it wrote comes back.
fn on_a_terminal(command: &str, no_color: bool) -> String {
    let mut script = Command::new("script");
    script.args(["-qec", command, "/dev/null"]);
    script.env_remove("CLICOLOR_FORCE").env("TERM", "xterm");
    if no_color {
        script.env("NO_COLOR", "1");
    } else {
        script.env_remove("NO_COLOR");
    }
    let output = script.output().expect("script(1) runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn colours_only_on_a_terminal_and_never_with_no_color() {
    let project = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_ormkit-cli");
    let command = format!(
        "cd {} && {exe} migration create 'bad name'",
        project.path().display()
    );
    const ESC: char = '\u{1b}';

    let coloured = on_a_terminal(&command, false);
    assert!(
        coloured.contains("is not a valid migration name"),
        "{coloured:?}"
    );
    assert!(
        coloured.contains(ESC),
        "a terminal gets colours: {coloured:?}"
    );
    let plain = on_a_terminal(&command, true);
    assert!(plain.contains("error: \"bad name\" is not"), "{plain:?}");
    assert!(!plain.contains(ESC), "NO_COLOR: {plain:?}");
    // clap's own usage errors follow the same rule.
    let plain = on_a_terminal(&format!("{exe} migrate --no-such-flag"), true);
    assert!(plain.contains("--no-such-flag"), "{plain:?}");
    assert!(!plain.contains(ESC), "NO_COLOR: {plain:?}");

    let piped = cli(project.path())
        .args(["migration", "create", "bad name"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!text(&piped).contains(ESC), "a pipe: {}", text(&piped));
}

/// Migrations written for Diesel that use Diesel's own table (a trigger on
/// `__diesel_schema_migrations`, as Lemmy's do), on a fresh database: without
/// `--diesel-compat` the migration that needs the table fails, named, with the option as
/// advice; with it, all apply, the table made with Diesel's DDL and never written (the
/// trigger would refuse), and reverting every migration leaves it.
#[test]
fn diesel_migrations_using_diesels_table_apply_to_a_fresh_database_with_diesel_compat() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diesel_trigger");
    let migrations = fixture.to_str().unwrap();
    let dir = fixture.as_path();

    let without = database();
    let output = run(
        dir,
        &without,
        &["migrate", "up", "--migrations", migrations],
    );
    let err = assert_one_paragraph_error(&output);
    for expected in [
        "migration 2020-02-01-000000_forbid_diesel_cli failed at ",
        "2020-02-01-000000_forbid_diesel_cli/up.sql",
        "ERROR 42P01: relation \"__diesel_schema_migrations\" does not exist",
        "hint: this migration uses Diesel's own __diesel_schema_migrations table, which Diesel \
         creates before the first migration and ormkit does not unless asked: turn on \
         --diesel-compat (Migrator::diesel_compat)",
    ] {
        assert!(err.contains(expected), "{expected:?} missing from {err}");
    }

    let fresh = database();
    let up = [
        "migrate",
        "up",
        "--diesel-compat",
        "--migrations",
        migrations,
    ];
    let output = run(dir, &fresh, &up);
    assert!(output.status.success(), "{}", text(&output));
    let applied = stdout(&output)
        .lines()
        .filter(|l| l.starts_with("applied "))
        .count();
    assert_eq!(applied, 3, "{}", text(&output));
    assert_eq!(
        psql(
            &fresh,
            "SELECT column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '')
                    || ' ' || is_nullable || ' ' || coalesce(column_default, '-')
             FROM information_schema.columns
             WHERE table_name = '__diesel_schema_migrations' ORDER BY ordinal_position"
        ),
        [
            "version character varying(50) NO -",
            "run_on timestamp without time zone NO CURRENT_TIMESTAMP"
        ]
    );
    assert_eq!(
        psql(
            &fresh,
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint
             WHERE conrelid = '__diesel_schema_migrations'::regclass;
             SELECT tgname FROM pg_trigger WHERE tgrelid = '__diesel_schema_migrations'::regclass;
             SELECT count(*) FROM __diesel_schema_migrations;
             SELECT count(*) FROM _ormkit_migrations WHERE success"
        ),
        ["PRIMARY KEY (version)", "forbid_diesel_cli", "0", "3"]
    );

    let down = [
        "migrate",
        "down",
        "--to",
        "0",
        "--diesel-compat",
        "--migrations",
        migrations,
    ];
    let output = run(dir, &fresh, &down);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        psql(
            &fresh,
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'forbid_diesel_cli';
             SELECT to_regclass('__diesel_schema_migrations')::text;
             SELECT count(*) FROM _ormkit_migrations"
        ),
        ["0", "__diesel_schema_migrations", "0"]
    );
    // Up again on the table the option left: nothing is created twice.
    let output = run(dir, &fresh, &up);
    assert!(output.status.success(), "{}", text(&output));
}
