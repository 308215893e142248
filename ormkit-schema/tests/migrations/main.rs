//! Integration tests of `ormkit_schema::migrations`: discovery on temporary directories,
//! statement splitting, and application against a real PostgreSQL.
//!
//! Database tests connect to `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and each creates and drops its own database.

mod apply;
mod discover;
mod split;
mod support;
