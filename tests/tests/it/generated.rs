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
    assert!(entities::MIGRATIONS.iter().any(|m| m.no_transaction));
}

#[test]
fn metadata_describes_the_schema() {
    let meta = User::META;
    assert_eq!((meta.schema, meta.name), ("public", "users"));
    assert_eq!(meta.qualified, "\"public\".\"users\"");
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
    assert_eq!(names.len(), 12, "every relation in schema.lock");
    assert!(names.contains(&"public.users".to_owned()));
    assert!(names.contains(&"analytics.events".to_owned()));
    assert!(names.contains(&"public.Weird Names".to_owned()));
}
