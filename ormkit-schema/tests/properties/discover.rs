//! Discovery on random directory trees: no panic; what it finds is well ordered and on
//! disk; every refusal names a path inside the directory.

use std::collections::BTreeMap;
use std::path::Path;

use ormkit_schema::migrations::{discover_with_warnings, DiscoveryWarning};
use proptest::prelude::*;

/// File and directory names: migration-like, misnamed, hidden, non-SQL.
fn entry_name() -> impl Strategy<Value = String> {
    let version = prop::sample::select(vec![
        "1",
        "001",
        "2",
        "2019-02-26-002946",
        "20190226002946",
        "00000000000000",
        "20240101000000",
        "99999999999999999999999",
        "-",
        "",
        "v1",
        "1.5",
        "１",
    ]);
    let separator = prop::sample::select(vec!["_", "_", "", "-"]);
    let name = prop::sample::select(vec!["a", "users", "", "x y", "é", "data_oauth_github"]);
    let suffix = prop::sample::select(vec![
        "",
        "",
        ".sql",
        ".sql",
        ".up.sql",
        ".down.sql",
        ".md",
        ".toml",
        ".SQL",
    ]);
    let hidden = prop::sample::select(vec!["", "", "", "."]);
    (hidden, version, separator, name, suffix)
        .prop_map(|(h, v, s, n, x)| format!("{h}{v}{s}{n}{x}"))
}

/// What a migration directory may hold.
fn child_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "up.sql",
        "up.sql",
        "down.sql",
        "metadata.toml",
        "README.md",
        "other.sql",
    ])
}

/// File contents: SQL, nothing, markers, comments, Diesel metadata, invalid UTF-8.
fn contents() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"CREATE TABLE t (id int);\n".to_vec()),
        Just(Vec::new()),
        Just(b"-- Your SQL goes here\n".to_vec()),
        Just(b"-- ormkit:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n".to_vec()),
        Just(b"\xef\xbb\xbfselect 1;\r\n".to_vec()),
        Just(b"run_in_transaction = false\n".to_vec()),
        Just(b"run_in_transaction = \"no\"\n".to_vec()),
        Just(b"[[[\n".to_vec()),
        Just(b"select '\xff';".to_vec()),
        prop::collection::vec(any::<u8>(), 0..32),
    ]
}

/// A tree: top-level files and directories (each with files of its own).
#[derive(Debug, Clone)]
enum Entry {
    File(Vec<u8>),
    Dir(BTreeMap<&'static str, Vec<u8>>),
}

fn tree() -> impl Strategy<Value = BTreeMap<String, Entry>> {
    let entry = prop_oneof![
        contents().prop_map(Entry::File),
        prop::collection::btree_map(child_name(), contents(), 0..4).prop_map(Entry::Dir),
    ];
    prop::collection::btree_map(entry_name(), entry, 0..8)
}

fn write(root: &Path, tree: &BTreeMap<String, Entry>) -> bool {
    for (name, entry) in tree {
        if name.is_empty() || name == "." {
            continue;
        }
        let path = root.join(name);
        match entry {
            Entry::File(bytes) => std::fs::write(&path, bytes).unwrap(),
            Entry::Dir(children) => {
                std::fs::create_dir(&path).unwrap();
                for (child, bytes) in children {
                    std::fs::write(path.join(child), bytes).unwrap();
                }
            }
        }
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_trees_are_discovered_or_refused_naming_a_path(tree in tree()) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, &tree);
        match discover_with_warnings(root) {
            Ok(discovery) => {
                let keys: Vec<_> = discovery.migrations.iter().map(|m| m.version_key()).collect();
                prop_assert!(keys.windows(2).all(|w| w[0] < w[1]), "not strictly ordered: {keys:?}");
                for migration in &discovery.migrations {
                    let up = Path::new(migration.up.path.as_ref());
                    prop_assert!(up.starts_with(root) && up.is_file(), "{up:?}");
                    if let Some(down) = &migration.down {
                        prop_assert!(Path::new(down.path.as_ref()).is_file());
                    }
                    prop_assert!(!migration.name.is_empty());
                }
                for warning in &discovery.warnings {
                    let paths = match warning {
                        DiscoveryWarning::IgnoredFiles { files, .. } => files.clone(),
                        DiscoveryWarning::EmptyUp { path } => vec![path.clone()],
                        other => panic!("unexpected warning {other:?}"),
                    };
                    let text = warning.to_string();
                    for path in paths {
                        prop_assert!(path.starts_with(root) && path.is_file(), "{path:?}");
                        prop_assert!(text.contains(&path.display().to_string()), "{text}");
                    }
                }
            }
            Err(err) => {
                let message = err.to_string();
                prop_assert!(
                    message.contains(&root.display().to_string()),
                    "the refusal names no path in the directory: {message}"
                );
            }
        }
    }
}
