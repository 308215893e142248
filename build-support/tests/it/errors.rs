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
    assert!(message.contains("the moon is in the wrong phase"), "{message}");
    assert!(message.contains("hint: install the PostgreSQL server package"), "{message}");
}

#[test]
fn missing_binaries_say_what_to_install() {
    let bin = open_tempdir();
    let err = ScratchDatabase::local_cluster(bin.path(), None).expect_err("no initdb");
    let message = err.to_string();
    assert!(message.contains("initdb"), "{message}");
    assert!(message.contains("hint: install the PostgreSQL server package"), "{message}");
}

#[test]
fn failing_server_start_reports_the_log_and_cleans_up() {
    let bin = open_tempdir();
    let record = bin.path().join("pg_ctl-args");
    write_script(&bin.path().join("postgres"), "echo 'postgres (PostgreSQL) 15.99'");
    write_script(
        &bin.path().join("initdb"),
        r#"mkdir -p "$2/global" && echo 15 > "$2/PG_VERSION" && touch "$2/global/pg_control""#,
    );
    write_script(
        &bin.path().join("pg_ctl"),
        &format!(
            r#"echo "$@" > {record}
while [ "$#" -gt 0 ]; do
  if [ "$1" = "-l" ]; then echo "FATAL:  the fake server refuses to start" > "$2"; fi
  shift
done
echo "pg_ctl: could not start server" >&2
exit 1"#,
            record = record.display()
        ),
    );
    let template = open_tempdir();
    let err = ScratchDatabase::local_cluster(bin.path(), Some(&template.path().join("t")))
        .expect_err("fake pg_ctl fails");
    let message = err.to_string();
    assert!(matches!(err, Error::ServerStart { .. }), "{err:?}");
    assert!(message.contains("could not start server"), "{message}");
    assert!(message.contains("the fake server refuses to start"), "{message}");

    let args = fs::read_to_string(&record).expect("pg_ctl was run");
    let mut words = args.split_whitespace();
    let data_dir = PathBuf::from(words.nth(1).expect("-D <dir>"));
    let cluster_root = data_dir.parent().unwrap();
    assert!(!cluster_root.exists(), "{} survived", cluster_root.display());
    let socket = args.split("-k '").nth(1).and_then(|rest| rest.split('\'').next()).expect("-k");
    assert!(!PathBuf::from(socket).exists(), "{socket} survived");
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
