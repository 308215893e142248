//! Integration tests on the entities generated from `../migrations`, against real PostgreSQL.

mod cache;
mod checked;
mod faults;
mod generated;
mod keys;
mod migrator;
mod observability;
mod pagination;
mod parallel;
mod query;
mod relations;
mod repository;
mod roundtrip;
mod scaleout;
mod text_form;
mod transactions;
