//! The pipeline against real PostgreSQL (the scratch database the environment selects).

use ormkit_codegen::Config;
use std::path::Path;

/// The qualified names of the lock's tables and views.
fn relation_names(lock: &ormkit_schema::SchemaLock) -> Vec<String> {
    lock.schema
        .relations
        .iter()
        .map(|r| r.name.to_string())
        .collect()
}

#[test]
fn a_schema_list_limits_what_is_generated() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut config = Config::new();
    config
        .manifest_dir(root)
        .schemas(["analytics"])
        // The repository's queries read `public` tables.
        .queries("no-queries-here")
        .cargo_directives(false);
    let lock = config.fresh_lock().unwrap();
    assert_eq!(lock.schema.schemas, ["analytics"]);
    assert_eq!(
        relation_names(&lock),
        ["analytics.daily_events", "analytics.events"]
    );
    assert!(lock
        .schema
        .enums
        .iter()
        .all(|e| e.name.schema == "analytics"));

    // The foreign key into `public` (not generated) falls back to the plain key type.
    let code = config.render_lock(&lock, &[]).unwrap();
    assert!(code.contains("pub user_id: Option<i64>"), "{code}");
    assert!(!code.contains("UserId"));
}

/// Step 4 of the plan: no URL and no server binaries anywhere → the code is generated from
/// the committed lock, byte for byte what a database would give, with the reason (what to
/// install or set) reported.
#[test]
fn with_no_postgresql_anywhere_the_lock_is_used_and_the_reason_given() {
    use ormkit_build_support::ScratchPlan;
    use ormkit_codegen::Source;

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let nothing_installed = tempfile::tempdir().unwrap();
    let plan = ScratchPlan::from_lookup_in(|_| None, nothing_installed.path());
    assert!(plan.is_offline(), "{plan}");

    let (offline_dir, online_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut config = Config::new();
    config.manifest_dir(root).cargo_directives(false);
    let offline = config
        .clone()
        .out_dir(offline_dir.path())
        .scratch_plan(plan)
        .generate()
        .unwrap();
    match &offline.source {
        Source::Offline(reason) => {
            for advice in ["no PostgreSQL available", "install", "ORMKIT_SCRATCH_URL"] {
                assert!(reason.contains(advice), "{advice} missing from {reason}");
            }
        }
        other => panic!("expected the lock, got {other:?}"),
    }
    let online = config.out_dir(online_dir.path()).generate().unwrap();
    assert!(
        matches!(online.source, Source::Database(_)),
        "{:?}",
        online.source
    );
    assert_eq!(
        std::fs::read_to_string(&offline.file).unwrap(),
        std::fs::read_to_string(&online.file).unwrap()
    );
}

/// A crate without a committed lock: the first build writes it (so cargo's
/// `rerun-if-changed` on it stops re-running the generator on every build), later builds
/// find it up to date.
#[test]
fn the_first_build_writes_a_missing_lock() {
    use ormkit_codegen::LockStatus;

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let project = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let lock = project.path().join("schema.lock");
    let mut config = Config::new();
    config
        .manifest_dir(project.path())
        .migrations(root.join("migrations"))
        .queries(root.join("queries"))
        .out_dir(out.path())
        .cargo_directives(false);
    if std::env::var("ORMKIT_LOCKED").as_deref() == Ok("1") {
        // As in CI: a lock that is not committed is an error, and nothing is written.
        let err = config.generate().unwrap_err();
        assert!(err.to_string().contains("ORMKIT_LOCKED=1 forbids"), "{err}");
        // What a build script's `unwrap()` prints: the message, not the variant's fields.
        assert_eq!(format!("{err:?}"), err.to_string());
        assert!(!lock.exists());
        return;
    }
    let first = config.generate().unwrap();
    assert_eq!(first.lock_status, LockStatus::Created);
    let written = std::fs::read_to_string(&lock).expect("the lock was written");
    assert_eq!(written, first.lock.to_text());
    let second = config.generate().unwrap();
    assert_eq!(second.lock_status, LockStatus::UpToDate);
}

/// Migrations written for Diesel that put a trigger on Diesel's own table: the build needs
/// `Config::diesel_compat(true)`, says so without it, and generates no entity for the table.
#[test]
fn diesel_compat_creates_diesels_table_for_the_migrations_that_use_it() {
    let project = tempfile::tempdir().unwrap();
    let write = |path: &str, sql: &str| {
        let path = project.path().join("migrations").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, sql).unwrap();
    };
    write(
        "2020-01-01-000000_create_posts/up.sql",
        "CREATE TABLE posts (id serial PRIMARY KEY, title text NOT NULL);",
    );
    write(
        "2020-02-01-000000_guard/up.sql",
        "CREATE FUNCTION guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;\n\
         CREATE TRIGGER guard BEFORE INSERT ON __diesel_schema_migrations\n\
         FOR EACH STATEMENT EXECUTE FUNCTION guard();\n",
    );
    let mut config = Config::new();
    config
        .manifest_dir(project.path())
        .queries("no-queries-here")
        .cargo_directives(false);
    let err = config.fresh_lock().unwrap_err().to_string();
    for expected in [
        "migration 2020-02-01-000000_guard failed at ",
        "relation \"__diesel_schema_migrations\" does not exist",
        "turn on `Config::diesel_compat(true)` in build.rs",
    ] {
        assert!(err.contains(expected), "{expected:?} missing from {err}");
    }
    let lock = config.diesel_compat(true).fresh_lock().unwrap();
    assert_eq!(relation_names(&lock), ["public.posts"]);
}
