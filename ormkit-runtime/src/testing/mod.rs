//! `#[ormkit::test]`: each test on a database of its own, cloned in milliseconds from a
//! template database that the migrations were applied to once.
//!
//! ```no_run
//! # use ormkit_tests::entities;
//! use entities::{NewUser, User};
//! use ormkit::Repository;
//!
//! #[ormkit::test(migrations = entities::MIGRATIONS)]
//! async fn signup(pool: ormkit::sqlx::PgPool) -> anyhow::Result<()> {
//!     let users = Repository::<User>::new(&pool);
//!     users.insert(NewUser::new("ada@example.com".into())).await?;
//!     assert_eq!(User::query().count(&pool).await?, 1); // no other test's rows
//!     Ok(())
//! }
//! # fn main() {}
//! ```
//!
//! - **Which server**: `DATABASE_URL`'s when it is set (the database it names is only used
//!   to issue `CREATE DATABASE`), else a throwaway cluster that the test binary starts on
//!   first use (PostgreSQL's server binaries found as for the build: `ORMKIT_PG_BINDIR`,
//!   `PATH`, `pg_config`, `/usr/lib/postgresql/*/bin`) and that is stopped and deleted when
//!   the binary exits, however it exits.
//! - **The template**: `ormkit_tpl_<digest>`, named after the migrations' versions and
//!   checksums. The first test to need it applies the migrations to a database of its own
//!   and renames it into place when done, under an advisory lock, so test binaries that start
//!   at once build it once; every later test, binary and run on that server clones it until
//!   the migrations change. Templates of older migrations are left in place (other branches
//!   may still use them): drop them with `DROP DATABASE` after `ALTER DATABASE … IS_TEMPLATE
//!   false`.
//! - **Spares**: a clone costs 100–650 ms on a server with `fsync = on` (PostgreSQL copies
//!   the template through the WAL), so a background thread of the test binary clones
//!   [`SPARES_VAR`] (`ORMKIT_TEST_SPARES`, default 8, `0`: off) spares of the template ahead
//!   of time, `ormkit_spare_<digest>_<unix secs>_<pid>_<n>`, and keeps that many. Spares
//!   stay on a server after the run, for the next run of any binary with the same
//!   migrations; those of other templates are dropped once they are an hour old.
//! - **Each test**: a spare renamed to `ormkit_test_…` (the rename succeeds for one claimer
//!   only), else `CREATE DATABASE ormkit_test_… TEMPLATE ormkit_tpl_…` when none is ready;
//!   then the fixtures in order, then the test with a pool on it. When the test passes the
//!   database is renamed `ormkit_trash_…` and dropped by the background thread (or by the
//!   next run's, if this one exits first); when it fails (a panic or an `Err`) it is kept
//!   and its name printed, to inspect it (on a throwaway cluster, until the binary exits).
//! - **Migrations**: by default the directory the package's build.rs generated its entities
//!   from (`ormkit-codegen` passes it to the package's targets as `ORMKIT_MIGRATIONS_DIR`),
//!   else the package's `migrations/` directory, read when the test runs; so the default
//!   works in a library's unit tests and in `tests/*.rs` (crates of their own) alike. With
//!   neither, the attribute is a compile error saying what to write:
//!   `migrations = my_crate::entities::MIGRATIONS` (the constant
//!   `ormkit::include_entities!()` declares, embedded at build time) or
//!   `migrations = "path/to/migrations"` (a directory from the package's root, read at run
//!   time, so the sources must be where they were built).
//! - **Fixtures**: `fixtures("users", "posts")` runs `tests/fixtures/users.sql`, then
//!   `posts.sql` (a name with a `/` or ending in `.sql` is a path from the crate's root),
//!   read at compile time: a missing file is a compile error naming it.
//! - The test runs on a multi-threaded tokio runtime of its own (2 workers).

mod database;
mod server;
mod spare_sql;
mod spares;
mod template;

pub use database::TestDatabase;
pub use spares::SPARES_VAR;
pub use template::template_name;

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt as _;

use crate::Migration;

/// Where a test's migrations come from (what `#[ormkit::test]` passes in [`TestArgs`]).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum TestMigrations {
    /// Embedded at build time: `migrations = my_crate::entities::MIGRATIONS`.
    Embedded(&'static [Migration]),
    /// A directory (Diesel's or sqlx's layout), read once per test binary when the first
    /// test needs it: the default, or `migrations = "dir"`.
    Dir(&'static str),
}

impl TestMigrations {
    /// The migrations; a directory's are read on first use and kept for the binary's life.
    pub fn load(self) -> Result<&'static [Migration], String> {
        match self {
            TestMigrations::Embedded(migrations) => Ok(migrations),
            TestMigrations::Dir(dir) => load_dir(dir),
        }
    }
}

/// The migrations in `dir`, read once per process.
fn load_dir(dir: &'static str) -> Result<&'static [Migration], String> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static LOADED: Mutex<Option<HashMap<&'static str, &'static [Migration]>>> = Mutex::new(None);
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    let loaded = loaded.get_or_insert_with(HashMap::new);
    if let Some(migrations) = loaded.get(dir) {
        return Ok(migrations);
    }
    let migrations = ormkit_schema::migrations::discover(std::path::Path::new(dir))
        .map_err(|err| format!("reading the migrations in {dir}: {err}"))?;
    // Once per directory and process: the template and every test share them.
    let migrations: &'static [Migration] = Vec::leak(migrations);
    loaded.insert(dir, migrations);
    Ok(migrations)
}

/// A SQL file a test runs on its database before it starts (`fixtures("users")`).
#[derive(Debug, Clone, Copy)]
pub struct Fixture {
    /// The file, from the crate's root (for messages).
    pub path: &'static str,
    /// Its text.
    pub sql: &'static str,
}

/// What `#[ormkit::test]` passes to [`run`].
#[derive(Debug, Clone, Copy)]
pub struct TestArgs {
    /// The test's path (`module::name`), for the database's name and messages.
    pub test: &'static str,
    /// The migrations the template is built from.
    pub migrations: TestMigrations,
    /// SQL files to run on the test's database first, in order.
    pub fixtures: &'static [Fixture],
}

/// What a test function may return: `()` or a `Result` whose error is `Debug`.
pub trait TestOutcome {
    /// `Some(message)` when the test failed.
    fn failure(self) -> Option<String>;
}

impl TestOutcome for () {
    fn failure(self) -> Option<String> {
        None
    }
}

impl<T, E: std::fmt::Debug> TestOutcome for Result<T, E> {
    fn failure(self) -> Option<String> {
        self.err().map(|err| format!("Err({err:?})"))
    }
}

/// Runs one `#[ormkit::test]`: a fresh database cloned from the migrated template, the
/// fixtures, the test with a pool on it; the database dropped when the test passed, kept
/// (and named) when it failed. Panics, as a test does, when any of it fails.
pub fn run<F, Fut>(args: TestArgs, test: F)
where
    F: FnOnce(sqlx::PgPool) -> Fut,
    Fut: Future,
    Fut::Output: TestOutcome,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("ormkit::test: a tokio runtime for the test");
    let failure = runtime.block_on(async move {
        let created = match args.migrations.load() {
            Ok(migrations) => TestDatabase::create(args.test, migrations, args.fixtures).await,
            Err(err) => Err(err),
        };
        let db = match created {
            Ok(db) => db,
            Err(err) => panic!("ormkit::test {}: {err}", args.test),
        };
        let outcome = AssertUnwindSafe(test(db.pool().clone()))
            .catch_unwind()
            .await;
        match outcome {
            Ok(outcome) => match outcome.failure() {
                None => {
                    if let Err(err) = db.drop_database().await {
                        eprintln!("ormkit::test {}: {err}", args.test);
                    }
                    None
                }
                Some(message) => {
                    eprintln!("{}", db.keep().await);
                    Some(Err(message))
                }
            },
            Err(panic) => {
                eprintln!("{}", db.keep().await);
                Some(Ok(panic))
            }
        }
    });
    match failure {
        None => {}
        Some(Ok(panic)) => std::panic::resume_unwind(panic),
        Some(Err(message)) => panic!("{message}"),
    }
}
