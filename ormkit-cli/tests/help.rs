//! `--help` of the migration and validation commands, pinned.

mod support;

use support::*;

fn help(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = cli(dir.path()).args(args).arg("--help").output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn help_texts() {
    for (name, args) in [
        ("top", &[][..]),
        ("migrate", &["migrate"][..]),
        ("migrate_up", &["migrate", "up"][..]),
        ("migrate_down", &["migrate", "down"][..]),
        ("migrate_status", &["migrate", "status"][..]),
        ("migrate_repair", &["migrate", "repair"][..]),
        ("migration_create", &["migration", "create"][..]),
        ("validate", &["validate"][..]),
    ] {
        insta::assert_snapshot!(name, help(args));
    }
}
