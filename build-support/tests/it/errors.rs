//! Failures carry the tool's output, advice, and leave nothing behind.

use std::fs;
use std::path::PathBuf;

use ormkit_build_support::{Error, ScratchDatabase};

use crate::support::{open_tempdir, write_script};

#[test]
fn failing_initdb_reports_its_stderr() {
    let bin = open_tempdir();
    write_script(
        &bin.path().join("initdb"),
        "echo 'initdb: error: the moon is in the wrong phase' >&2\nexit 1",
    );
    let err = ScratchDatabase::local_cluster(bin.path(), None).expect_err("fake initdb fails");
    let message = err.to_string();
    assert!(matches!(err, Error::Tool { .. }), "{err:?}");
    assert!(message.contains("initdb failed (exit 1)"), "{message}");
    assert!(
        message.contains("the moon is in the wrong phase"),
        "{message}"
    );
    assert!(
        message.contains("hint: install the PostgreSQL server package"),
        "{message}"
    );
    // What a build script's `unwrap()` prints: the message, not the variant's fields.
    assert_eq!(format!("{err:?}"), message);
}

#[test]
fn missing_binaries_say_what_to_install() {
    let bin = open_tempdir();
    let err = ScratchDatabase::local_cluster(bin.path(), None).expect_err("no initdb");
    let message = err.to_string();
    assert!(message.contains("initdb"), "{message}");
    assert!(
        message.contains("hint: install the PostgreSQL server package"),
        "{message}"
    );
}

#[test]
fn failing_server_start_reports_the_log_and_cleans_up() {
    let bin = open_tempdir();
    let record = bin.path().join("postgres-args");
    write_script(
        &bin.path().join("initdb"),
        r#"mkdir -p "$2/global" && echo 15 > "$2/PG_VERSION" && touch "$2/global/pg_control""#,
    );
    write_script(
        &bin.path().join("postgres"),
        &format!(
            r#"if [ "$1" = --version ]; then echo 'postgres (PostgreSQL) 15.99'; exit 0; fi
echo "$@" > {record}
echo "FATAL:  the fake server refuses to start" >&2
exit 3"#,
            record = record.display()
        ),
    );
    let template = open_tempdir();
    let err = ScratchDatabase::local_cluster(bin.path(), Some(&template.path().join("t")))
        .expect_err("fake postgres fails");
    let message = err.to_string();
    assert!(matches!(err, Error::ServerStart { .. }), "{err:?}");
    assert!(message.contains("(exit 3)"), "{message}");
    assert!(
        message.contains("the fake server refuses to start"),
        "{message}"
    );

    let args = fs::read_to_string(&record).expect("postgres was run");
    let words: Vec<&str> = args.split_whitespace().collect();
    assert_eq!((words[0], words[2]), ("-D", "-k"), "{args}");
    let (data_dir, socket_dir) = (PathBuf::from(words[1]), PathBuf::from(words[3]));
    let cluster_root = data_dir.parent().unwrap();
    assert!(
        !cluster_root.exists(),
        "{} survived",
        cluster_root.display()
    );
    assert!(!socket_dir.exists(), "{} survived", socket_dir.display());
}

#[test]
fn unreachable_server_is_a_database_error_without_password() {
    let err = ScratchDatabase::on_server("postgres://me:hunter2@127.0.0.1:1/postgres")
        .expect_err("nothing listens on port 1");
    let message = err.to_string();
    assert!(matches!(err, Error::Database { .. }), "{err:?}");
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(message.contains("hint:"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn invalid_url_is_reported() {
    let err = ScratchDatabase::on_server("mysql://nope").expect_err("not a postgres url");
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
}
