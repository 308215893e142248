//! A `migrate_up` future dropped at any await point leaves no half-applied migration: each
//! transactional migration is either applied and recorded or neither, the advisory lock is
//! free again once the cut session is gone, and the next run completes.
//!
//! Deterministic (no timers): the future is dropped at its k-th `Poll::Pending`, for k = 0,
//! 1, 2, … until it completes, and the sweep repeats until [`sweep_cuts`] cuts were made
//! (1,000 unless `ORMKIT_TEST_CUTS` says).

use std::time::Duration;

use ormkit::migrate::Migrator;
use ormkit::sqlx;
use ormkit::Migration;
use ormkit_schema::migrations::checksum;
use ormkit_tests::cut::{sweep_cuts, DropAfter};

use crate::support::*;

/// `(version, up, down, the relation or column it creates, as `table` or `table.column`)`.
const STEPS: [(&str, &str, &str, &str); 3] = [
    (
        "1",
        "CREATE TABLE cut_a (id int PRIMARY KEY);\nINSERT INTO cut_a VALUES (1), (2);\n",
        "DROP TABLE cut_a;\n",
        "cut_a",
    ),
    (
        "2",
        "ALTER TABLE cut_a ADD COLUMN note text;\nUPDATE cut_a SET note = 'n' || id;\n",
        "ALTER TABLE cut_a DROP COLUMN note;\n",
        "cut_a.note",
    ),
    (
        "3",
        "CREATE TABLE cut_b (a int REFERENCES cut_a);\nCREATE INDEX cut_b_a ON cut_b (a);\n",
        "DROP TABLE cut_b;\n",
        "cut_b",
    ),
];

fn migrations() -> Vec<Migration> {
    STEPS
        .iter()
        .map(|(version, up, down, _)| {
            Migration::embedded(
                version,
                "step",
                leak(&format!("{version}_step/up.sql")),
                leak(&checksum(up)),
                up,
            )
            .with_down(
                leak(&format!("{version}_step/down.sql")),
                leak(&checksum(down)),
                down,
            )
        })
        .collect()
}

/// Whether `target` (`table` or `table.column`) exists.
async fn exists(db: &TestDb, target: &str) -> bool {
    let (table, column) = match target.split_once('.') {
        Some((table, column)) => (table, Some(column)),
        None => (target, None),
    };
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute \
         WHERE attrelid = to_regclass($1) AND NOT attisdropped \
         AND ($2::text IS NULL OR attname = $2))",
    )
    .bind(table)
    .bind(column)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

/// Waits until no other session on the database is inside a transaction, running, or holding
/// an advisory lock: the cut Migrator's connection was dropped, and its backend ends (rolling
/// back what it had begun, releasing the migration lock) once the server reads the closed
/// socket. Bounded; says what it waited for.
async fn wait_for_cut_sessions(db: &TestDb) {
    for _ in 0..2_000 {
        let busy: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_catalog.pg_stat_activity a \
             WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() \
             AND a.backend_type = 'client backend' \
             AND (a.state <> 'idle' OR a.xact_start IS NOT NULL OR EXISTS ( \
                  SELECT 1 FROM pg_catalog.pg_locks l \
                  WHERE l.pid = a.pid AND l.locktype = 'advisory'))",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if busy == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("a cut Migrator session still held a transaction or the lock after 10 s");
}

#[tokio::test]
async fn a_migration_run_cut_anywhere_leaves_each_migration_applied_and_recorded_or_neither() {
    let db = TestDb::new().await;
    let migrations = migrations();
    let (mut drops, mut completions, mut k) = (0, 0, 0);
    let cuts = sweep_cuts();
    // At least one whole sweep, however few cuts were asked for.
    while drops < cuts || completions == 0 {
        let migrator = Migrator::with_migrations(&db.pool, migrations.clone());
        let cut = DropAfter::new(migrator.migrate_up(), k);
        match cut.await {
            None => {
                drops += 1;
                k += 1;
            }
            Some(result) => {
                result.unwrap_or_else(|err| panic!("the uncut run at k = {k} failed: {err}"));
                completions += 1;
                k = 0;
            }
        }
        wait_for_cut_sessions(&db).await;

        // Each migration is applied and recorded, or neither; and they apply in order.
        // (A cut before the tracking table was created leaves none.)
        let rows = if db.table_exists("_ormkit_migrations").await {
            db.tracking_rows().await
        } else {
            Vec::new()
        };
        for (version, success) in &rows {
            assert!(success, "k = {k}: migration {version} recorded as failed");
        }
        let recorded: Vec<&str> = rows.iter().map(|(v, _)| v.as_str()).collect();
        for (i, (version, _, _, creates)) in STEPS.iter().enumerate() {
            let applied = recorded.contains(version);
            assert_eq!(
                exists(&db, creates).await,
                applied,
                "after a cut at k = {k}: migration {version} recorded = {applied}, \
                 but {creates} exists = {}",
                !applied
            );
            if applied {
                assert!(
                    STEPS[..i].iter().all(|(v, ..)| recorded.contains(v)),
                    "migration {version} recorded before an earlier one"
                );
            }
        }

        // Every tenth cut (and every completion): the lock is free and the next run completes,
        // with the data once. Then everything rolls back for the next cut.
        let migrator = Migrator::with_migrations(&db.pool, migrations.clone());
        if k == 0 || drops % 10 == 0 {
            migrator
                .migrate_up()
                .await
                .unwrap_or_else(|err| panic!("after a cut at k = {k}: {err}"));
            let rows: Vec<i32> = sqlx::query_scalar("SELECT id FROM cut_a ORDER BY id")
                .fetch_all(&db.pool)
                .await
                .unwrap();
            assert_eq!(rows, [1, 2], "cut_a holds its rows once, whatever was cut");
        }
        if db.table_exists("_ormkit_migrations").await && !db.tracking_rows().await.is_empty() {
            migrator.migrate_down_all().await.unwrap();
        }
    }
    eprintln!("migrate_up: {drops} cuts, {completions} completed sweeps, 0 half-applied");
    assert!(completions > 0, "no sweep ran to completion");
}
