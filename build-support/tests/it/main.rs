//! Integration tests of the scratch PostgreSQL against a real PostgreSQL.
//!
//! Server tests use `DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`;
//! cluster tests use the PostgreSQL binaries `find_bindir` finds.

mod cluster;
mod errors;
#[path = "../orphan/mod.rs"]
mod orphan;
mod pgbouncer;
mod plan;
mod replica;
mod server;
mod support;
