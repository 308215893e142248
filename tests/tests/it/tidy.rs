//! Tidy: the workspace's rules for hand-written Rust sources, checked on the files themselves.
//!
//! Which files: every member the root `Cargo.toml` lists under `members` (read from that
//! file, so a new crate is checked without touching this test), and in each its `src/`,
//! `tests/`, `benches/` and `examples/` (recursively) and its `build.rs`. Left out, and why:
//! - `target/`: build output, generated code among it (not hand-written).
//! - `tests/compile-fail/tests/ui/`: trybuild cases, test inputs whose `.stderr` files pin
//!   line numbers; each is a program that must fail to compile, not code of the workspace.
//! - `fixtures/` directories: inputs to the tests, not code of the workspace.
//! - `benches/peers`: the root `Cargo.toml` excludes it from the workspace. It is a crate of
//!   its own (own lockfile, the peer ORMs as dependencies) that the workspace's build,
//!   clippy and tests never see, so the workspace's rules are not its rules.
//!
//! No database: the files are read from disk.

use std::path::{Path, PathBuf};

/// The most lines a hand-written file may have.
const MAX_LINES: usize = 600;

/// Files whose first line may be something other than `//!`, each with the reason. They
/// still need a `//!` line before their first item; only `//` comments and crate
/// attributes may come first.
const DOC_LINE_EXCEPTIONS: &[(&str, &str)] = &[(
    "ormkit-runtime/src/lib.rs",
    "the `#![cfg_attr]` that drops the doctests of the published package must come first, \
     so that it drops the crate guide too",
)];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The workspace members, as the root `Cargo.toml` lists them (`members = [ "a", "b/c" ]`).
fn members() -> Vec<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let start = manifest
        .find("\nmembers = [")
        .expect("the root Cargo.toml lists `members = [`");
    let list = &manifest[start..];
    let list = &list[list.find('[').unwrap() + 1..list.find(']').unwrap()];
    let members: Vec<String> = list
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    assert!(members.len() > 1, "members not read from: {list}");
    members
}

/// Whether a directory holds no hand-written workspace code (see the module docs).
fn skipped(dir: &Path) -> bool {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == "target" || name == "fixtures" || dir == root().join("tests/compile-fail/tests/ui")
}

/// Every `.rs` file below `dir`, directories in `skipped` left out.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if skipped(dir) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The hand-written Rust sources of the workspace, relative to its root, with their text.
fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for member in members() {
        let crate_dir = root().join(&member);
        assert!(crate_dir.is_dir(), "member {member} is not a directory");
        for dir in ["src", "tests", "benches", "examples"] {
            rust_files(&crate_dir.join(dir), &mut files);
        }
        let build = crate_dir.join("build.rs");
        if build.is_file() {
            files.push(build);
        }
    }
    files.sort();
    files.dedup();
    assert!(files.len() > 100, "only {} files found", files.len());
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let relative = path.strip_prefix(root()).unwrap();
            (relative.to_string_lossy().replace('\\', "/"), text)
        })
        .collect()
}

/// Panics listing `offenders` under `rule` when there are any.
fn assert_none(rule: &str, offenders: &[String]) {
    assert!(
        offenders.is_empty(),
        "{} hand-written Rust file(s) break the rule: {rule}\n  {}\n",
        offenders.len(),
        offenders.join("\n  ")
    );
}

#[test]
fn every_file_opens_with_a_doc_line() {
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        let first = text.lines().next().unwrap_or("");
        let opens = if DOC_LINE_EXCEPTIONS.iter().any(|(p, _)| *p == path) {
            text.lines()
                .find(|l| !((l.starts_with("//") && !l.starts_with("//!")) || l.starts_with("#![")))
                .is_some_and(|l| l.starts_with("//!"))
        } else {
            first.starts_with("//!")
        };
        if !opens {
            offenders.push(format!("{path}: first line `{first}`"));
        }
    }
    assert_none(
        "every file opens with a `//!` line saying what it holds",
        &offenders,
    );
}

#[test]
fn no_file_is_over_600_lines() {
    let offenders: Vec<String> = sources()
        .into_iter()
        .map(|(path, text)| (path, text.lines().count()))
        .filter(|(_, lines)| *lines > MAX_LINES)
        .map(|(path, lines)| format!("{path}: {lines} lines"))
        .collect();
    assert_none(
        &format!("no hand-written file over {MAX_LINES} lines (split it by what its parts hold)"),
        &offenders,
    );
}

/// What a folder's code never names, and why: the layering ARCHITECTURE.md's "Invariants"
/// states. `(folder, names it must not use, why)`; a name is a path as written in code
/// (`crate::query`, `ormkit_codegen`), comments aside.
const LAYERS: &[(&str, &[&str], &str)] = &[
    (
        "ormkit-schema/src",
        &[
            "ormkit::",
            "ormkit_codegen",
            "ormkit_build_support",
            "ormkit_macros",
        ],
        "the schema crate is plain data at the bottom: everything uses it, it uses none of them",
    ),
    (
        "build-support/src",
        &[
            "ormkit::",
            "ormkit_schema",
            "ormkit_codegen",
            "ormkit_macros",
        ],
        "the scratch PostgreSQL knows PostgreSQL, not ormkit's model",
    ),
    (
        "ormkit-runtime/src/statement",
        &[
            "crate::query",
            "crate::repository",
            "crate::cache",
            "crate::parallel",
            "crate::migrate",
        ],
        "the statement layer is below the DSL, the repositories and the bulk executor built on it",
    ),
    (
        "ormkit-runtime/src/query",
        &[
            "crate::cache",
            "crate::parallel",
            "crate::cluster",
            "crate::migrate",
        ],
        "the DSL builds statements; where and how they run is the executor's business",
    ),
    (
        "ormkit-runtime/src/migrate",
        &[
            "crate::query",
            "crate::statement",
            "crate::repository",
            "crate::cache",
            "crate::entity",
        ],
        "the Migrator stands without the ORM (feature `migrations` without `orm`)",
    ),
    (
        "ormkit-runtime/src/validate",
        &[
            "crate::query",
            "crate::statement",
            "crate::repository",
            "crate::cache",
        ],
        "validation reads the catalog and the generated metadata, never runs the ORM",
    ),
];

/// The paths `text` names outside comments: each `crate::a::b` as `crate::a`, each group
/// `crate::{a, b::c}` as `crate::a` and `crate::b`, and other crates' names (`ormkit_x`,
/// `ormkit::`) as written.
fn named_paths(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let preceded = code[..at].chars().next_back();
        if preceded.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `ormkit_crate::`, not this crate
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut part) = (0, String::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(format!("crate::{}", ident(part.trim())));
                        part.clear();
                        continue;
                    }
                    _ => {}
                }
                part.push(c);
            }
            if !part.trim().is_empty() {
                names.push(format!("crate::{}", ident(part.trim())));
            }
        } else {
            names.push(format!("crate::{}", ident(rest)));
        }
    }
    for other in ["ormkit::", "ormkit_"] {
        for (at, _) in code.match_indices(other) {
            let preceded = code[..at].chars().next_back();
            if preceded.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            names.push(match other {
                "ormkit::" => "ormkit::".to_owned(),
                _ => format!("ormkit_{}", ident(&code[at + other.len()..])),
            });
        }
    }
    names
}

#[test]
fn each_layer_names_nothing_above_it() {
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        for (folder, forbidden, why) in LAYERS {
            if !path.starts_with(&format!("{folder}/")) {
                continue;
            }
            for name in named_paths(&text) {
                if forbidden.iter().any(|f| name == *f || name.starts_with(f)) {
                    offenders.push(format!("{path} names `{name}`: {why}"));
                }
            }
        }
    }
    offenders.sort();
    offenders.dedup();
    assert_none("a layer never names what is built on it", &offenders);
}

#[test]
fn the_layer_check_sees_imports_in_every_form() {
    let text = "//! doc\nuse crate::query::Select;\n// use crate::cache::X;\n\
                use crate::{db::Db, parallel::{a, b}};\nfn f() { crate::migrate::run(); }\n\
                use ormkit_codegen::Config;\nfn g() -> ormkit::Error { todo() }\n";
    assert_eq!(
        named_paths(text),
        [
            "crate::query",
            "crate::db",
            "crate::parallel",
            "crate::migrate",
            "ormkit::",
            "ormkit_codegen"
        ]
    );
}
