//! The Migrator against real PostgreSQL, each test on a database of its own.

#[path = "../support/mod.rs"]
mod support;

mod cancel;
mod concurrency;
mod embedded;
mod failures;
mod import;
mod layouts;
mod lock_waits;
mod roundtrip;
mod safety;
