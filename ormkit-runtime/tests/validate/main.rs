//! SchemaValidator against real PostgreSQL: a clean database, and a drift report with every
//! kind of finding.

#[path = "../support/mod.rs"]
mod support;

mod entity;
mod lock;

use ormkit::migrate::Migrator;
use support::*;

/// A database with the reference migrations applied.
async fn migrated() -> TestDb {
    let db = TestDb::new().await;
    Migrator::new(&db.pool, reference_embedded())
        .migrate_up()
        .await
        .unwrap();
    db
}
