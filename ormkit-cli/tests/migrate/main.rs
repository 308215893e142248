//! `ormkit-cli migrate`, `migration create` and `validate` against real PostgreSQL, each
//! test on a database of its own.

#[path = "../support/mod.rs"]
mod support;

mod concurrency;
mod diesel;
mod lifecycle;
mod pipelines;
mod terminal;

use std::path::Path;
use std::process::{Command, Output};

use ormkit_build_support::ScratchDatabase;
use support::*;

/// A temporary database on the test server, dropped with the value.
fn database() -> ScratchDatabase {
    ScratchDatabase::on_server(&server_url()).expect("a temporary database")
}

/// `ormkit-cli <args> --database-url <db>` in `dir`.
fn run(dir: &Path, db: &ScratchDatabase, args: &[&str]) -> Output {
    cli(dir)
        .args(args)
        .args(["--database-url", db.url()])
        .output()
        .unwrap()
}

/// One-column query results.
fn psql(db: &ScratchDatabase, sql: &str) -> Vec<String> {
    let output = Command::new("psql")
        .args(["-XAtc", sql, db.url()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A failure of the work (exit code 3) and one `error:` paragraph on stderr.
fn assert_one_paragraph_error(output: &Output) -> String {
    assert_one_paragraph(output, 3)
}

/// Exit code `code` and one `error:` paragraph on stderr.
fn assert_one_paragraph(output: &Output, code: i32) -> String {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
    let stderr = String::from_utf8_lossy(&output.stderr)
        .trim_end()
        .to_owned();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        !stderr.contains("\n\n"),
        "more than one paragraph: {stderr}"
    );
    stderr
}

/// `ormkit-cli <args>` in `dir`, its status and stdout parsed as JSON.
fn json(dir: &Path, db: &ScratchDatabase, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let output = run(dir, db, args);
    let value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", text(&output)));
    (output.status.code(), value)
}
