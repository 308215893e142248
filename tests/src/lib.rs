//! ormkit's integration tests: the entities generated from `../migrations` by `build.rs`,
//! and a helper that gives each test its own migrated database.

ormkit::include_entities!();

pub mod support;
