//! What a deploy pipeline reads: `validate` on a migrated and on a drifted database, the
//! exit statuses and the `--json` output.

use super::*;

#[test]
fn validate_passes_on_a_migrated_database_and_fails_on_drift() {
    let db = database();
    let project = project();
    assert!(run(project.path(), &db, &["migrate", "up"])
        .status
        .success());
    let output = run(project.path(), &db, &["validate"]);
    assert!(output.status.success(), "{}", text(&output));
    let out = stdout(&output);
    assert!(
        out.starts_with("the database matches the expected schema\n"),
        "{out}"
    );
    assert!(out.contains(&format!(
        "migrations: current version: {}; {} applied, 0 pending",
        last_version(),
        reference_versions().len()
    )));

    psql(&db, "ALTER TABLE posts DROP COLUMN scores");
    psql(&db, "ALTER TABLE users ADD COLUMN nickname text");
    let output = run(project.path(), &db, &["validate"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let out = stdout(&output);
    assert!(
        out.contains("error: public.posts: column \"scores\" not found\n"),
        "{out}"
    );
    assert!(out.contains("warning: public.users: column \"nickname\" (text) is not known"));
    assert!(out.contains("1 error(s), 1 warning(s)"), "{out}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("does not match schema.lock: 1 error(s)"),
        "{stderr}"
    );
}

/// The exit statuses a deploy pipeline reads (0 ok, 1 `--check` found work, 2 usage, 3 the
/// database failed) and the `--json` of `migrate status` and `validate`, parsed.
#[test]
fn exit_codes_and_json_for_deploy_pipelines() {
    let db = database();
    let project = project();
    let dir = project.path();
    let migrations = reference_versions().len();

    let (code, status) = json(dir, &db, &["migrate", "status", "--check", "--json"]);
    assert_eq!(code, Some(1), "pending migrations fail the check: {status}");
    assert_eq!(status["up_to_date"], false);
    assert_eq!(status["current_version"], serde_json::Value::Null);
    let states: Vec<&str> = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["pending"; migrations]);
    // Without --check, the same status is not a failure.
    assert_eq!(json(dir, &db, &["migrate", "status", "--json"]).0, Some(0));

    let output = run(dir, &db, &["migrate", "up"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let (code, status) = json(dir, &db, &["migrate", "status", "--check", "--json"]);
    assert_eq!(code, Some(0), "{status}");
    assert_eq!(status["up_to_date"], true);
    assert_eq!(status["current_version"], last_version().as_str());
    let first = &status["migrations"][0];
    assert_eq!(first["state"], "applied");
    assert!(
        first["applied_at"].as_str().unwrap().contains('T'),
        "{first}"
    );
    assert!(first["duration_ms"].is_u64(), "{first}");

    let (code, report) = json(dir, &db, &["validate", "--json"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["errors"], 0);
    assert_eq!(report["migrations"]["up_to_date"], true);

    psql(&db, "ALTER TABLE users DROP COLUMN display_name");
    let (code, report) = json(dir, &db, &["validate", "--json"]);
    assert_eq!(code, Some(1), "drift: {report}");
    assert_eq!(report["ok"], false);
    let findings = report["findings"].as_array().unwrap();
    let missing = findings
        .iter()
        .find(|f| f["finding"] == "column_not_found")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(missing["severity"], "error");
    assert_eq!(missing["table"], "public.users");
    assert_eq!(missing["column"], "display_name");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("display_name"),
        "{missing}"
    );

    // 2: usage, from clap or from the command itself.
    let output = run(dir, &db, &["migrate", "status", "--no-such-flag"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let output = cli(dir)
        .args(["migration", "create", "no spaces"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    // 3: the database cannot be reached.
    let output = cli(dir)
        .args(["migrate", "status", "--database-url"])
        .arg("postgres://postgres@127.0.0.1:1/postgres")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    assert!(
        text(&output).contains("cannot connect"),
        "{}",
        text(&output)
    );
}
