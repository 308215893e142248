//! Discovery: layouts, ordering and the errors naming the path at fault.

use std::path::Path;

use ormkit_schema::migrations::{
    checksum, discover, discover_with_warnings, DiscoveryWarning, Migration, MigrationError,
};

use crate::support::{tempdir, write};

fn versions(migrations: &[Migration]) -> Vec<(&str, &str)> {
    migrations
        .iter()
        .map(|m| (m.version.as_ref(), m.name.as_ref()))
        .collect()
}

#[test]
fn diesel_layout_with_metadata_toml() {
    let dir = tempdir();
    let root = dir.path();
    write(
        root,
        "00000000000000_diesel_initial_setup/up.sql",
        "select 1;\n",
    );
    write(
        root,
        "00000000000000_diesel_initial_setup/down.sql",
        "select 2;\n",
    );
    write(
        root,
        "2019-02-26-002946_create_users/up.sql",
        "create table users ();\r\n",
    );
    write(
        root,
        "2019-02-26-002946_create_users/metadata.toml",
        "run_in_transaction = false\n",
    );
    write(
        root,
        "2019-02-26-002946_create_users/down.sql",
        "drop table users;\n",
    );
    write(
        root,
        "2019-03-01-000000_no_down/up.sql",
        "-- ormkit:no-transaction\nselect 1;",
    );
    write(
        root,
        "2019-03-01-000000_no_down/metadata.toml",
        "run_in_transaction = true\n",
    );

    let migrations = discover(root).expect("discover");
    assert_eq!(
        versions(&migrations),
        [
            ("00000000000000", "diesel_initial_setup"),
            ("2019-02-26-002946", "create_users"),
            ("2019-03-01-000000", "no_down"),
        ]
    );
    let [setup, users, no_down] = &migrations[..] else {
        panic!("three migrations")
    };
    assert!(!setup.up.no_transaction);
    assert_eq!(
        setup.down.as_ref().map(|d| d.sql.as_ref()),
        Some("select 2;\n")
    );

    let users_dir = root.join("2019-02-26-002946_create_users");
    assert!(
        users.up.no_transaction,
        "metadata.toml sets the up script's flag"
    );
    assert!(
        users.down.as_ref().is_some_and(|d| d.no_transaction),
        "and the down script's, though neither has a marker"
    );
    assert_eq!(Path::new(users.up.path.as_ref()), users_dir.join("up.sql"));
    assert_eq!(users.up.sql, "create table users ();\n");
    assert_eq!(users.up.checksum, checksum("create table users ();\n"));
    assert_eq!(users.display_path(), users_dir);
    assert_eq!(users.to_string(), "2019-02-26-002946_create_users");

    assert!(no_down.up.no_transaction, "first-line marker");
    assert_eq!(no_down.down, None);
}

#[test]
fn sqlx_flat_layouts() {
    let dir = tempdir();
    let root = dir.path();
    write(
        root,
        "20240101000000_simple.sql",
        "-- no-transaction\nselect 1;",
    );
    write(root, "20240102000000_pair.up.sql", "create table t ();");
    write(
        root,
        "20240102000000_pair.down.sql",
        "-- no-transaction\ndrop table t;",
    );
    write(root, "README.md", "not a migration");
    write(root, ".keep", "");
    write(root, ".hidden.sql", "select 1;");
    write(root, "notes/readme.txt", "an unrelated directory");

    let migrations = discover(root).expect("discover");
    assert_eq!(
        versions(&migrations),
        [("20240101000000", "simple"), ("20240102000000", "pair")]
    );
    let [simple, pair] = &migrations[..] else {
        panic!("two migrations")
    };
    assert!(simple.up.no_transaction);
    assert_eq!(simple.down, None);
    assert_eq!(
        simple.display_path(),
        root.join("20240101000000_simple.sql")
    );

    assert!(!pair.up.no_transaction);
    assert_eq!(
        Path::new(pair.up.path.as_ref()),
        root.join("20240102000000_pair.up.sql")
    );
    let down = pair.down.as_ref().expect("down script");
    assert_eq!(
        Path::new(down.path.as_ref()),
        root.join("20240102000000_pair.down.sql")
    );
    assert!(down.no_transaction, "the down script has its own marker");
}

/// A marker on one script's first line is that script's alone: neither flag is inferred
/// from the other.
#[test]
fn each_diesel_script_keeps_its_own_marker() {
    let dir = tempdir();
    let root = dir.path();
    write(
        root,
        "1_up_only/up.sql",
        "-- ormkit:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n",
    );
    write(root, "1_up_only/down.sql", "DROP INDEX i;\n");
    write(root, "2_down_only/up.sql", "CREATE INDEX i ON t (c);\n");
    write(
        root,
        "2_down_only/down.sql",
        "-- no-transaction\nDROP INDEX CONCURRENTLY i;\n",
    );

    let migrations = discover(root).expect("discover");
    let flags: Vec<(bool, bool)> = migrations
        .iter()
        .map(|m| {
            let down = m.down.as_ref().expect("a down script");
            (m.up.no_transaction, down.no_transaction)
        })
        .collect();
    assert_eq!(flags, [(true, false), (false, true)]);
}

#[test]
fn dashed_versions_order_by_digits() {
    let dir = tempdir();
    let root = dir.path();
    write(root, "20190226002947_third.sql", "");
    write(root, "2019-02-26-002946_second/up.sql", "");
    write(root, "1_first.sql", "");
    write(root, "100000000000000000000000000_fourth.sql", "");

    let migrations = discover(root).expect("discover");
    assert_eq!(
        versions(&migrations),
        [
            ("1", "first"),
            ("2019-02-26-002946", "second"),
            ("20190226002947", "third"),
            ("100000000000000000000000000", "fourth"),
        ]
    );
    assert!(migrations
        .windows(2)
        .all(|w| w[0].version_key() < w[1].version_key()));
}

#[test]
fn empty_directory_has_no_migrations() {
    let dir = tempdir();
    assert_eq!(discover(dir.path()).expect("discover"), []);
}

fn discover_error(setup: impl FnOnce(&std::path::Path)) -> (tempfile::TempDir, MigrationError) {
    let dir = tempdir();
    setup(dir.path());
    let err = discover(dir.path()).expect_err("discovery must fail");
    (dir, err)
}

#[test]
fn duplicate_versions_name_both() {
    let (dir, err) = discover_error(|root| {
        write(root, "2019-02-26-002946_a/up.sql", "");
        write(root, "20190226002946_b.sql", "");
    });
    let message = err.to_string();
    let first = dir.path().join("2019-02-26-002946_a");
    let second = dir.path().join("20190226002946_b.sql");
    assert!(message.contains(&first.display().to_string()), "{message}");
    assert!(message.contains(&second.display().to_string()), "{message}");
    assert!(
        matches!(&err, MigrationError::DuplicateVersion { first: f, second: s, version }
            if *f == first && *s == second && version == "20190226002946"),
        "{err:?}"
    );
}

#[test]
fn leading_zeros_and_simple_plus_up_are_duplicates() {
    let (_dir, err) = discover_error(|root| {
        write(root, "001_a.sql", "");
        write(root, "1_b.sql", "");
    });
    assert!(
        matches!(err, MigrationError::DuplicateVersion { .. }),
        "{err:?}"
    );

    let (dir, err) = discover_error(|root| {
        write(root, "1_a.sql", "");
        write(root, "1_a.up.sql", "");
    });
    let message = err.to_string();
    assert!(
        message.contains(&dir.path().join("1_a.sql").display().to_string()),
        "{message}"
    );
    assert!(
        message.contains(&dir.path().join("1_a.up.sql").display().to_string()),
        "{message}"
    );
}

#[test]
fn misnamed_sql_file_is_an_error() {
    for name in [
        "create_users.sql",
        "v1_users.sql",
        "1_.sql",
        "2024.sql",
        "--_x.up.sql",
        "1.5_x.sql",
    ] {
        let (dir, err) = discover_error(|root| write(root, name, "select 1;"));
        let path = dir.path().join(name);
        assert!(
            matches!(&err, MigrationError::UnrecognisedFile { path: p } if *p == path),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains(&path.display().to_string()));
    }
}

#[test]
fn misnamed_directory_with_up_sql_is_an_error() {
    let (dir, err) = discover_error(|root| write(root, "create_users/up.sql", ""));
    let path = dir.path().join("create_users");
    assert!(
        matches!(&err, MigrationError::UnrecognisedDirectory { path: p } if *p == path),
        "{err:?}"
    );
}

#[test]
fn migration_directory_without_up_sql_is_an_error() {
    let (dir, err) = discover_error(|root| write(root, "1_users/down.sql", ""));
    let path = dir.path().join("1_users");
    assert!(
        matches!(&err, MigrationError::MissingUp { path: p } if *p == path),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("migration directory {} has no up.sql", path.display())
    );
}

#[test]
fn orphan_down_is_an_error() {
    for other in [None, Some("1_users.sql")] {
        let (dir, err) = discover_error(|root| {
            write(root, "1_users.down.sql", "");
            if let Some(other) = other {
                write(root, other, "");
            }
        });
        let path = dir.path().join("1_users.down.sql");
        let expected = dir.path().join("1_users.up.sql");
        assert!(
            matches!(&err, MigrationError::OrphanDown { path: p, expected_up: e }
                if *p == path && *e == expected),
            "{err:?}"
        );
        assert!(err.to_string().contains(&path.display().to_string()));
    }
}

#[test]
fn non_utf8_script_is_an_error() {
    let (dir, err) = discover_error(|root| write(root, "1_bad/up.sql", b"select '\xff';"));
    let path = dir.path().join("1_bad").join("up.sql");
    assert!(
        matches!(&err, MigrationError::NotUtf8 { path: p } if *p == path),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("{} is not valid UTF-8", path.display())
    );
}

#[test]
fn invalid_metadata_toml_is_an_error() {
    let (dir, err) = discover_error(|root| {
        write(root, "1_a/up.sql", "");
        write(
            root,
            "1_a/metadata.toml",
            "# comment\nrun_in_transaction = \"no\"\n",
        );
    });
    let path = dir.path().join("1_a").join("metadata.toml");
    assert!(
        matches!(&err, MigrationError::InvalidMetadata { path: p, message }
            if *p == path && message.starts_with("line 2")),
        "{err:?}"
    );
}

#[test]
fn missing_directory_is_an_io_error() {
    let dir = tempdir();
    let missing = dir.path().join("missing");
    let err = discover(&missing).expect_err("missing directory");
    assert!(
        matches!(&err, MigrationError::Io { path, .. } if *path == missing),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .starts_with(&format!("cannot read {}: ", missing.display())));
}

/// crates.io keeps `migrations/data_oauth_github.sql` beside its Diesel directories, and
/// Diesel ignores it: so does discovery, with one warning naming every such file.
#[test]
fn loose_sql_files_beside_diesel_directories_are_ignored_with_one_warning() {
    let dir = tempdir();
    let root = dir.path();
    write(
        root,
        "2019-02-26-002946_users/up.sql",
        "create table users ();",
    );
    write(root, "data_oauth_github.sql", "insert into x values (1);");
    write(root, "notes.up.sql", "select 1;");
    write(root, "README.md", "not a migration");
    write(root, "2020-01-01-000000_flat.sql", "select 2;");

    let discovery = discover_with_warnings(root).expect("discover");
    assert_eq!(
        versions(&discovery.migrations),
        [
            ("2019-02-26-002946", "users"),
            ("2020-01-01-000000", "flat")
        ]
    );
    let ignored = vec![
        root.join("data_oauth_github.sql"),
        root.join("notes.up.sql"),
    ];
    assert_eq!(
        discovery.warnings,
        [DiscoveryWarning::IgnoredFiles {
            dir: root.to_owned(),
            files: ignored.clone(),
        }]
    );
    let text = discovery.warnings[0].to_string();
    for path in &ignored {
        assert!(text.contains(&path.display().to_string()), "{text}");
    }
    assert!(!text.contains("README.md"), "{text}");
    assert_eq!(discover(root).expect("discover").len(), 2);

    // Without Diesel directories, a misnamed `.sql` file is still an error.
    let flat = tempdir();
    write(flat.path(), "1_a.sql", "select 1;");
    write(flat.path(), "data_oauth_github.sql", "select 1;");
    let err = discover_with_warnings(flat.path()).expect_err("a misnamed flat file");
    assert!(
        matches!(&err, MigrationError::UnrecognisedFile { path }
            if *path == flat.path().join("data_oauth_github.sql")),
        "{err:?}"
    );
}

#[test]
fn an_up_script_without_statements_is_accepted_with_a_warning() {
    let dir = tempdir();
    let root = dir.path();
    write(root, "1_empty/up.sql", "");
    write(
        root,
        "2_comments/up.sql",
        "-- Your SQL goes here\n/* nothing */\n;\n",
    );
    write(root, "3_real/up.sql", "select 1;");
    let discovery = discover_with_warnings(root).expect("discover");
    assert_eq!(discovery.migrations.len(), 3);
    let empty: Vec<_> = ["1_empty", "2_comments"]
        .map(|stem| DiscoveryWarning::EmptyUp {
            path: root.join(stem).join("up.sql"),
        })
        .into();
    assert_eq!(discovery.warnings, empty);
    let text = discovery.warnings[0].to_string();
    assert!(
        text.contains(&root.join("1_empty").join("up.sql").display().to_string())
            && text.contains("no SQL statement"),
        "{text}"
    );
}
