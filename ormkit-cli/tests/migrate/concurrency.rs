//! Several processes or sessions at once: concurrent `migrate up`s, `migration create`s in
//! the same second, and a migration waiting behind another session's table lock.

use super::*;

#[test]
fn eight_processes_migrating_one_database_apply_each_migration_once() {
    let db = database();
    let project = project();
    let children: Vec<_> = (0..8)
        .map(|_| {
            cli(project.path())
                .args(["migrate", "up", "--database-url", db.url()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", text(&output));
        let out = stdout(&output);
        applied.extend(
            out.lines()
                .filter_map(|line| line.strip_prefix("applied "))
                .map(|step| step.split(' ').next().unwrap().to_owned()),
        );
        assert!(
            out.contains(&format!("database is at version {}", last_version())),
            "{out}"
        );
    }
    applied.sort();
    let expected: Vec<String> = std::fs::read_dir(project.path().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        applied, expected,
        "each migration applied by exactly one process"
    );
    let rows = psql(
        &db,
        "SELECT version || ' ' || success FROM _ormkit_migrations ORDER BY 1",
    );
    assert_eq!(rows.len(), reference_versions().len());
    assert!(rows.iter().all(|row| row.ends_with(" true")), "{rows:?}");
    let valid = psql(
        &db,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_created_at_idx'::regclass",
    );
    assert_eq!(valid, ["t"]);
}

/// The version of each migration directory in `dir/migrations`, sorted.
fn versions_on_disk(dir: &Path) -> Vec<String> {
    let mut versions: Vec<String> = std::fs::read_dir(dir.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .map(|name| name.split('_').next().unwrap().to_owned())
        .collect();
    versions.sort();
    versions
}

#[test]
fn two_migration_creates_in_one_second_take_the_next_free_versions() {
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    for name in ["first", "second", "third"] {
        let output = cli(dir)
            .args(["migration", "create", name])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
    }
    let versions = versions_on_disk(dir);
    assert_eq!(versions.len(), 3, "{versions:?}");
    assert!(
        versions.windows(2).all(|pair| pair[0] < pair[1]),
        "{versions:?}"
    );

    // However far ahead the newest version is (a clock behind, a hand-made name), the next
    // one follows it.
    add_migration(dir, "20991231235959_from_the_future", "SELECT 1;");
    let output = cli(dir)
        .args(["migration", "create", "after_it"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        dir.join("migrations/21000101000000_after_it/up.sql")
            .is_file(),
        "{}",
        text(&output)
    );
}

/// A migration behind another session's table lock: `migrate up` says whom it waits for
/// while it waits, retries, and fails naming the blocker; nothing of it is applied.
#[test]
fn a_migration_behind_a_table_lock_names_the_blocker() {
    use ormkit::sqlx::postgres::{PgConnectOptions, PgConnection};
    use ormkit::sqlx::Connection as _;

    let db = database();
    let project = project();
    let dir = project.path();
    assert!(run(dir, &db, &["migrate", "up"]).status.success());
    add_migration(
        dir,
        "20990101000000_nickname",
        "ALTER TABLE users ADD COLUMN nickname text;\n",
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let options: PgConnectOptions = db.url().parse().unwrap();
    let (mut blocker, pid) = runtime.block_on(async {
        let mut conn = PgConnection::connect_with(&options.application_name("the-blocker"))
            .await
            .unwrap();
        let pid: i32 = ormkit::sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        ormkit::sqlx::raw_sql("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            .execute(&mut conn)
            .await
            .unwrap();
        (conn, pid)
    });
    let output = run(
        dir,
        &db,
        &[
            "migrate",
            "up",
            "--statement-lock-timeout",
            "0.3",
            "--lock-retries",
            "1",
        ],
    );
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let error = stderr
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    let blocker_named = format!("pid {pid} (application_name \"the-blocker\", idle in transaction");
    assert!(error.contains(&blocker_named), "{error}");
    assert!(
        error.contains("20990101000000_nickname/up.sql:1: ERROR 55P03")
            && error.contains("in each of its 2 attempt(s)")
            && error.contains("nothing of it is applied"),
        "{error}"
    );
    assert!(
        stderr.contains("waiting: migration 20990101000000_nickname has waited")
            && stderr.contains("waiting: migration 20990101000000_nickname timed out waiting for AccessExclusiveLock on users (attempt 1)"),
        "{stderr}"
    );
    runtime.block_on(async {
        ormkit::sqlx::query("ROLLBACK")
            .execute(&mut blocker)
            .await
            .unwrap();
        blocker.close().await.unwrap();
    });
    let output = run(dir, &db, &["migrate", "up"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        stdout(&output).matches("applied ").count(),
        1,
        "{}",
        text(&output)
    );
}
