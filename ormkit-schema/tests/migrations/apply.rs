//! Application against a real PostgreSQL: success, rollback, error lines, no-transaction.

use std::path::Path;

use ormkit_schema::migrations::{
    apply_script, discover, execute_script, ApplyError, Migration, MigrationError,
};
use sqlx::Connection;

use crate::support::{tempdir, write, TestDb};

/// The [`ApplyError`] inside `err`, which must be [`MigrationError::Apply`].
fn apply_error(err: MigrationError) -> ApplyError {
    match err {
        MigrationError::Apply(failure) => *failure,
        other => panic!("expected an Apply error, got {other:?}"),
    }
}

/// Discovers the single migration written by `setup`.
fn one_migration(root: &Path, relative: &str, sql: &str) -> Migration {
    write(root, relative, sql);
    let mut migrations = discover(root).expect("discover");
    assert_eq!(migrations.len(), 1);
    migrations.remove(0)
}

#[tokio::test]
async fn good_scripts_create_objects_and_down_reverts_them() {
    let dir = tempdir();
    write(dir.path(), "1_users/down.sql", "DROP TABLE users;\n");
    let migration = one_migration(
        dir.path(),
        "1_users/up.sql",
        "CREATE TABLE users (id int PRIMARY KEY);\r\nCREATE INDEX users_id ON users (id);\r\n",
    );
    let mut db = TestDb::create().await;
    let up = apply_script(&mut db.conn, &migration, &migration.up).await;
    let created = (
        db.relation_exists("users").await,
        db.relation_exists("users_id").await,
    );
    let down = match &migration.down {
        Some(down) => apply_script(&mut db.conn, &migration, down).await,
        None => Ok(()),
    };
    let dropped = !db.relation_exists("users").await;
    db.drop().await;
    up.expect("up script applies");
    assert_eq!(created, (true, true));
    down.expect("down script applies");
    assert!(dropped);
}

#[tokio::test]
async fn failing_script_reports_line_and_sqlstate_and_rolls_back() {
    let dir = tempdir();
    let sql = "CREATE TABLE partial (id int);\n-- the next statement fails\nSELECT * FROM nope;\n";
    let migration = one_migration(dir.path(), "20240101000000_create_users/up.sql", sql);
    let mut db = TestDb::create().await;
    let result = apply_script(&mut db.conn, &migration, &migration.up).await;
    let left_over = db.relation_exists("partial").await;
    let usable = db.conn.ping().await.is_ok();
    db.drop().await;

    let err = result
        .as_ref()
        .expect_err("the script must fail")
        .to_string();
    let file = dir
        .path()
        .join("20240101000000_create_users")
        .join("up.sql");
    let failure = apply_error(result.expect_err("the script must fail"));
    assert_eq!(
        (failure.version.as_str(), failure.name.as_str()),
        ("20240101000000", "create_users")
    );
    assert_eq!(failure.file, file);
    assert_eq!((failure.line, failure.column), (Some(3), Some(15)));
    assert_eq!(failure.sqlstate.as_deref(), Some("42P01"));
    assert_eq!(
        err,
        format!(
            "migration 20240101000000_create_users failed at {}:3: ERROR 42P01: \
             relation \"nope\" does not exist",
            file.display()
        )
    );
    assert!(!left_over, "the transaction must be rolled back");
    assert!(usable, "the connection stays usable");
}

#[tokio::test]
async fn error_details_and_hints_are_kept() {
    let dir = tempdir();
    let sql = "CREATE TABLE t (id int UNIQUE);\nINSERT INTO t VALUES (1), (1);\n";
    let migration = one_migration(dir.path(), "1_dup.sql", sql);
    let mut db = TestDb::create().await;
    let result = apply_script(&mut db.conn, &migration, &migration.up).await;
    db.drop().await;
    let err = result.expect_err("unique violation");
    let message = err.to_string();
    let failure = apply_error(err);
    // PostgreSQL gives no position for this error: the line is the failing statement's.
    assert_eq!((failure.line, failure.column), (Some(2), None));
    assert_eq!(failure.statement, Some(2));
    assert_eq!(failure.sqlstate.as_deref(), Some("23505"));
    assert_eq!(
        failure.detail.as_deref(),
        Some("Key (id)=(1) already exists.")
    );
    assert!(
        message.contains("\nDETAIL: Key (id)=(1) already exists."),
        "{message}"
    );
}

#[tokio::test]
async fn no_transaction_script_runs_create_index_concurrently() {
    let dir = tempdir();
    let sql = "-- ormkit:no-transaction\nCREATE TABLE t (id int);\n\
               CREATE INDEX CONCURRENTLY t_id ON t (id);\n";
    let migration = one_migration(dir.path(), "1_concurrent.sql", sql);
    assert!(migration.up.no_transaction);
    let mut db = TestDb::create().await;
    let result = apply_script(&mut db.conn, &migration, &migration.up).await;
    let indexed = db.relation_exists("t_id").await;
    db.drop().await;
    result.expect("CREATE INDEX CONCURRENTLY outside a transaction");
    assert!(indexed);
}

#[tokio::test]
async fn diesel_metadata_disables_the_transaction() {
    let dir = tempdir();
    write(
        dir.path(),
        "1_concurrent/metadata.toml",
        "run_in_transaction = false\n",
    );
    let sql = "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n";
    let migration = one_migration(dir.path(), "1_concurrent/up.sql", sql);
    let mut db = TestDb::create().await;
    let result = apply_script(&mut db.conn, &migration, &migration.up).await;
    db.drop().await;
    result.expect("CREATE INDEX CONCURRENTLY outside a transaction");
}

#[tokio::test]
async fn failing_statement_in_no_transaction_script_reports_its_line() {
    let dir = tempdir();
    let sql = "-- no-transaction\nCREATE TABLE kept (id int);\n\
               CREATE INDEX CONCURRENTLY kept_id ON kept (id);\n\
               SELECT id,\n  missing_column FROM kept;\n\
               CREATE TABLE never (id int);\n";
    let migration = one_migration(dir.path(), "7_broken.sql", sql);
    let mut db = TestDb::create().await;
    let result = apply_script(&mut db.conn, &migration, &migration.up).await;
    let kept = db.relation_exists("kept").await && db.relation_exists("kept_id").await;
    let never = db.relation_exists("never").await;
    db.drop().await;
    let failure = apply_error(result.expect_err("the SELECT must fail"));
    assert_eq!((failure.line, failure.column), (Some(5), Some(3)));
    assert_eq!(failure.sqlstate.as_deref(), Some("42703"));
    assert_eq!(failure.file, dir.path().join("7_broken.sql"));
    assert!(kept, "statements before the failure stay applied");
    assert!(!never, "statements after the failure do not run");
}

#[tokio::test]
async fn positionless_error_in_split_script_reports_the_statement_line() {
    let dir = tempdir();
    let sql = "-- no-transaction\nCREATE TABLE t (id int);\n\n\
               CREATE INDEX CONCURRENTLY t_x\n  ON t (missing_column);\n";
    let migration = one_migration(dir.path(), "1_drop.sql", sql);
    let mut db = TestDb::create().await;
    let result = apply_script(&mut db.conn, &migration, &migration.up).await;
    db.drop().await;
    let failure = apply_error(result.expect_err("indexing a missing column fails"));
    assert_eq!((failure.line, failure.column), (Some(4), None));
    assert_eq!(failure.sqlstate.as_deref(), Some("42703"));
}

#[tokio::test]
async fn execute_script_shares_the_callers_transaction() {
    let dir = tempdir();
    let migration = one_migration(dir.path(), "1_t.sql", "CREATE TABLE t (id int);");
    let mut db = TestDb::create().await;
    let mut tx = db.conn.begin().await.expect("begin");
    let executed = execute_script(&mut tx, &migration, &migration.up).await;
    let extra = sqlx::raw_sql("CREATE TABLE tracking (version text)")
        .execute(&mut *tx)
        .await;
    tx.rollback().await.expect("rollback");
    let gone = !db.relation_exists("t").await && !db.relation_exists("tracking").await;
    db.drop().await;
    executed.expect("execute");
    extra.expect("extra statement");
    assert!(
        gone,
        "everything is rolled back with the caller's transaction"
    );
}

#[tokio::test]
async fn multibyte_text_before_the_error_does_not_shift_the_line() {
    let dir = tempdir();
    let sql = "\u{feff}-- ünïcödé ✓\nSELECT 'héllo wörld';\nSELECT nope FROM pg_class;\n";
    let migration = one_migration(dir.path(), "1_utf8.sql", sql);
    let mut db = TestDb::create().await;
    let result = apply_script(&mut db.conn, &migration, &migration.up).await;
    db.drop().await;
    let failure = apply_error(result.expect_err("unknown column"));
    assert_eq!((failure.line, failure.column), (Some(3), Some(8)));
    assert_eq!(failure.sqlstate.as_deref(), Some("42703"));
}

/// Errors PostgreSQL gives no position for, in a script sent whole: the line is the first
/// line of the failing statement, found from the statements PostgreSQL reported complete.
#[tokio::test]
async fn positionless_errors_in_a_transaction_name_the_statement_line() {
    let dir = tempdir();
    let root = dir.path();
    let sql = "CREATE TABLE t (id int);\n-- a comment; with a semicolon\nSELECT 'a;b';\n\
               DROP TYPE\n  no_such_type;\nCREATE TABLE never (id int);\n";
    write(root, "1_missing_type/up.sql", sql);
    write(
        root,
        "2_concurrently/up.sql",
        "CREATE TABLE u (id int);\n\nCREATE INDEX CONCURRENTLY u_id ON u (id);\n",
    );
    let migrations = discover(root).expect("discover");
    let mut db = TestDb::create().await;
    let missing = apply_script(&mut db.conn, &migrations[0], &migrations[0].up).await;
    let concurrently = apply_script(&mut db.conn, &migrations[1], &migrations[1].up).await;
    let left_over = db.relation_exists("t").await || db.relation_exists("u").await;
    db.drop().await;

    let failure = apply_error(missing.expect_err("DROP TYPE of a missing type"));
    assert_eq!(failure.sqlstate.as_deref(), Some("42704"));
    assert_eq!((failure.line, failure.statement), (Some(4), Some(3)));

    let err = concurrently.expect_err("CREATE INDEX CONCURRENTLY in a transaction");
    let message = err.to_string();
    let failure = apply_error(err);
    assert_eq!(failure.sqlstate.as_deref(), Some("25001"));
    assert_eq!((failure.line, failure.statement), (Some(3), Some(2)));
    let file = root.join("2_concurrently").join("up.sql");
    assert!(
        message.contains(&format!("{}:3: ERROR 25001", file.display())),
        "{message}"
    );
    assert!(
        message.contains("make `-- ormkit:no-transaction` the first line of")
            && message.contains("run_in_transaction = false"),
        "{message}"
    );
    assert!(!left_over, "both transactions are rolled back");
}
