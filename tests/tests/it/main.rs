//! Integration tests on the entities generated from `../migrations`, against real PostgreSQL.

mod generated;
mod repository;
mod roundtrip;
