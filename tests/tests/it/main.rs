//! Integration tests on the entities generated from `../migrations`, against real PostgreSQL.

mod aggregates;
mod blog;
mod cache;
mod cancel;
mod checked;
mod connect;
mod dynamic;
mod expressions;
mod faults;
mod first_program;
mod generated;
mod joins;
mod keys;
mod lane;
mod locking;
mod migrator;
mod nested;
mod observability;
mod otel;
mod pagination;
mod parallel;
mod query;
mod relations;
mod repository;
mod roundtrip;
mod scaleout;
mod span_capture;
mod subqueries;
mod testing;
mod text_form;
mod tls;
mod transactions;
mod writes;

/// What `#[ormkit::test]` finds the migrations through (`crate::entities::MIGRATIONS`), as
/// in a crate that has `ormkit::include_entities!()`.
use ormkit_tests::entities;
