//! ormkit's integration tests: the entities generated from `../migrations` by `build.rs`,
//! and a helper that gives each test its own migrated database.

ormkit::include_entities!();
ormkit::include_entities!("ormkit_entities_time.rs");

pub mod support;
