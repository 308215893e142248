//! Diesel projects: importing a Diesel history, and Diesel migrations that use Diesel's own
//! table under `--diesel-compat`.

use super::*;

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
