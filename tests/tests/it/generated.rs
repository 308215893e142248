//! Properties of the generated module that need no database.

use ormkit::Entity;
use ormkit_tests::entities::{self, posts, users, Post, User};

#[test]
fn the_build_used_the_committed_lock() {
    // build.rs writes the lock it generated from into OUT_DIR; CI builds with
    // ORMKIT_LOCKED=1, and this pins that the committed lock is what the code embeds.
    let committed = include_str!("../../../schema.lock");
    assert_eq!(entities::SCHEMA_LOCK, committed);
    let lock = ormkit_schema::SchemaLock::parse(committed, "schema.lock").unwrap();
    assert_eq!(lock.fingerprint, entities::SCHEMA_FINGERPRINT);
    assert_eq!(entities::MIGRATIONS.len(), lock.migrations.len());
    assert!(entities::MIGRATIONS.iter().any(|m| m.up.no_transaction));
    assert!(entities::MIGRATIONS
        .iter()
        .any(|m| m.down.as_ref().is_some_and(|down| down.no_transaction)));
    // The checksums embedded are the ones the lock recorded at build time.
    for (embedded, locked) in entities::MIGRATIONS.iter().zip(&lock.migrations) {
        assert_eq!(
            embedded.to_string(),
            format!("{}_{}", locked.version, locked.name)
        );
        assert_eq!(embedded.up.checksum, locked.checksum);
    }
}

#[test]
fn metadata_describes_the_schema() {
    let meta = User::META;
    assert_eq!((meta.schema, meta.name), ("public", "users"));
    assert_eq!(meta.qualified(), "\"public\".\"users\"");
    assert_eq!(meta.primary_key, ["id"]);
    assert_eq!(meta.comment, Some("People who can sign in."));
    let id = meta.column("id").unwrap();
    assert!(id.read_only && id.primary_key);
    assert!(meta.column("created_at").unwrap().has_default);
    assert_eq!(users::EMAIL.name(), "email");
    assert_eq!(posts::AUTHOR.foreign_key().references_table, "users");
    assert_eq!(users::POSTS.foreign_key().columns, ["author_id"]);
    assert_eq!(Post::META.foreign_keys.len(), 2);
    assert_eq!(
        <entities::analytics::DailyEvent as Entity>::META.kind,
        ormkit::RelationKind::MaterializedView
    );
}

#[test]
fn every_entity_is_listed_for_validation() {
    let names: Vec<String> = entities::ENTITIES
        .iter()
        .map(|m| format!("{}.{}", m.schema, m.name))
        .collect();
    let lock = ormkit_schema::SchemaLock::parse(entities::SCHEMA_LOCK, "schema.lock").unwrap();
    assert_eq!(
        names.len(),
        lock.schema.relations.len(),
        "every relation in schema.lock"
    );
    assert!(names.contains(&"public.users".to_owned()));
    assert!(names.contains(&"analytics.events".to_owned()));
    assert!(names.contains(&"public.Weird Names".to_owned()));
}

/// A second `cargo build` with nothing changed must not run build.rs again: cargo reruns it
/// when a `rerun-if-changed` path is missing or newer than the last run, so every such path
/// must exist in the source tree (never in OUT_DIR, which the script itself writes), and
/// every variable the pipeline reads must be declared.
#[test]
fn the_build_script_declares_exactly_what_it_depends_on() {
    let output = std::path::Path::new(env!("OUT_DIR")).join("../output");
    let output = std::fs::read_to_string(&output).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .canonicalize()
        .unwrap();
    let changed: Vec<std::path::PathBuf> = output
        .lines()
        .filter_map(|l| l.strip_prefix("cargo:rerun-if-changed="))
        .map(|p| std::path::Path::new(p).canonicalize().unwrap())
        .collect();
    for path in &changed {
        assert!(
            path.starts_with(&root),
            "{path:?} is outside the source tree"
        );
        assert!(
            !path.starts_with(root.join("target")),
            "{path:?} is a build output"
        );
    }
    let expect = |p: &str| {
        let p = root.join(p).canonicalize().unwrap();
        assert!(
            changed.contains(&p),
            "no rerun-if-changed for {p:?}:\n{output}"
        );
    };
    expect("schema.lock");
    expect("migrations");
    for m in entities::MIGRATIONS {
        let dir = format!("migrations/{}_{}", m.version, m.name);
        expect(&format!("{dir}/up.sql"));
    }
    for var in [
        "ORMKIT_OFFLINE",
        "ORMKIT_SCRATCH_URL",
        "DATABASE_URL",
        "ORMKIT_LOCKED",
        "ORMKIT_UPDATE_LOCK",
    ] {
        assert!(
            output.contains(&format!("cargo:rerun-if-env-changed={var}\n")),
            "{var} not declared:\n{output}"
        );
    }
}
