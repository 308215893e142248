//! Unit tests of the run planning (no database).

use super::*;
use chrono::Utc;
use ormkit_schema::migrations::MigrationScript;

fn migration(version: &str, down: bool) -> Migration {
    let dir = format!("{version}_m");
    let up = MigrationScript::new(format!("{dir}/up.sql"), &format!("SELECT {version};"));
    Migration {
        version: version.to_owned().into(),
        name: "m".into(),
        down: down.then(|| MigrationScript::new(format!("{dir}/down.sql"), "SELECT 0;")),
        up,
    }
}

fn row(m: &Migration) -> AppliedRow {
    AppliedRow {
        version: m.version.to_string(),
        name: m.name.to_string(),
        checksum: m.up.checksum.to_string(),
        applied_at: Utc::now(),
        execution_ms: 1,
        success: true,
        down_started_at: None,
    }
}

fn versions(list: &[&Migration]) -> Vec<String> {
    list.iter().map(|m| m.version.to_string()).collect()
}

fn recorded(plan: &[(&Migration, String)]) -> Vec<String> {
    plan.iter()
        .map(|(m, version)| {
            assert_eq!(&m.version, version);
            version.clone()
        })
        .collect()
}

fn key(v: &str) -> VersionKey {
    VersionKey::new(v)
}

#[test]
fn up_applies_pending_in_order_and_stops_at_the_target() {
    let all = [
        migration("1", true),
        migration("2", true),
        migration("3", true),
    ];
    let rows = [row(&all[0])];
    let plan = plan_up(&all, &rows, None, Rules::default()).unwrap();
    assert_eq!(versions(&plan), ["2", "3"]);
    let plan = plan_up(&all, &rows, Some(&key("2")), Rules::default()).unwrap();
    assert_eq!(versions(&plan), ["2"]);
    let err = plan_up(&all, &rows, Some(&key("9")), Rules::default()).unwrap_err();
    assert!(matches!(err, MigrateError::UnknownVersion { .. }), "{err}");
}

#[test]
fn a_pending_migration_older_than_the_newest_applied_is_refused_unless_allowed() {
    let all = [
        migration("1", true),
        migration("2", true),
        migration("3", true),
    ];
    let rows = [row(&all[0]), row(&all[2])];
    let err = plan_up(&all, &rows, None, Rules::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("2_m") && text.contains("3_m"), "{text}");
    let rules = Rules {
        out_of_order: true,
        ..Rules::default()
    };
    assert_eq!(versions(&plan_up(&all, &rows, None, rules).unwrap()), ["2"]);
}

#[test]
fn history_problems_are_refused_first() {
    let all = [migration("1", true), migration("2", true)];
    let mut changed = row(&all[0]);
    changed.checksum = "0".repeat(64);
    let err = plan_up(&all, &[changed], None, Rules::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&"0".repeat(64)) && text.contains(all[0].up.checksum.as_ref()),
        "{text}"
    );
    assert!(text.contains("1_m/up.sql"), "{text}");

    let gone = row(&migration("0", true));
    let err = plan_up(&all, std::slice::from_ref(&gone), None, Rules::default()).unwrap_err();
    assert!(matches!(err, MigrateError::MissingFile { .. }), "{err}");
    let rules = Rules {
        ignore_missing: true,
        ..Rules::default()
    };
    assert_eq!(
        versions(&plan_up(&all, &[gone], None, rules).unwrap()),
        ["1", "2"]
    );

    let mut failed = row(&all[0]);
    failed.success = false;
    let err = plan_down(&all, &[failed], &DownTarget::Steps(1), Rules::default()).unwrap_err();
    assert!(matches!(err, MigrateError::Failed { .. }), "{err}");
}

#[test]
fn down_reverts_newest_first_and_refuses_steps_without_down_scripts() {
    let all = [
        migration("1", false),
        migration("2", true),
        migration("3", true),
    ];
    let rows: Vec<_> = all.iter().map(row).collect();
    let plan = plan_down(&all, &rows, &DownTarget::Steps(2), Rules::default()).unwrap();
    assert_eq!(recorded(&plan), ["3", "2"]);
    let plan = plan_down(&all, &rows, &DownTarget::To(key("1")), Rules::default()).unwrap();
    assert_eq!(recorded(&plan), ["3", "2"]);
    let err = plan_down(&all, &rows, &DownTarget::All, Rules::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot revert 1_m (no down script); nothing was reverted"
    );
    let plan = plan_down(&all, &rows, &DownTarget::Steps(0), Rules::default()).unwrap();
    assert!(plan.is_empty());
    let err = plan_down(&all, &rows, &DownTarget::To(key("7")), Rules::default()).unwrap_err();
    assert!(matches!(err, MigrateError::UnknownVersion { .. }), "{err}");
}

#[test]
fn a_missing_file_cannot_be_reverted_even_when_ignored() {
    let all = [migration("1", true)];
    let rows = [row(&all[0]), row(&migration("2", true))];
    let rules = Rules {
        ignore_missing: true,
        ..Rules::default()
    };
    let err = plan_down(&all, &rows, &DownTarget::Steps(1), rules).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot revert 2_m (file missing); nothing was reverted"
    );
    // Going down to the missing migration itself reverts nothing.
    assert!(plan_down(&all, &rows, &DownTarget::To(key("2")), rules)
        .unwrap()
        .is_empty());
}

#[test]
fn an_all_zero_version_is_an_ordinary_version_and_all_reverts_it() {
    // Diesel's first migration is `00000000000000_diesel_initial_setup`.
    let all = [migration("00000000000000", true), migration("2", true)];
    let rows: Vec<_> = all.iter().map(row).collect();
    let plan = plan_down(&all, &rows, &DownTarget::All, Rules::default()).unwrap();
    assert_eq!(recorded(&plan), ["2", "00000000000000"]);
    let to_zero = DownTarget::To(key("00000000000000"));
    let plan = plan_down(&all, &rows, &to_zero, Rules::default()).unwrap();
    assert_eq!(recorded(&plan), ["2"]);
    let plan = plan_up(&all, &rows[..0], Some(&key("0")), Rules::default()).unwrap();
    assert_eq!(versions(&plan), ["00000000000000"]);
}

#[test]
fn targets_must_be_versions() {
    assert!(target_key("2024-01-01-000000").is_ok());
    assert!(matches!(
        target_key("latest"),
        Err(MigrateError::InvalidVersion { .. })
    ));
}
