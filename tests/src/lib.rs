//! ormkit's integration tests: the entities generated from `../migrations` by `build.rs`,
//! and a helper that gives each test its own migrated database.
//!
//! The walkthrough of the `ormkit` crate's documentation runs on these entities as doctests
//! (the `ormkit` crate's dev-dependency on this one).

ormkit::include_entities!();
ormkit::include_entities!("ormkit_entities_time.rs");

pub mod cut;
pub mod fault;
pub mod scaleout;
pub mod support;
