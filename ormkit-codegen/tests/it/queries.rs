//! Checked SQL files through the whole pipeline, on the scratch database the environment
//! selects: what a bad query is told, what the lock keeps, what offline builds refuse.

use ormkit_codegen::{CodegenError, Config, ScratchPlan, Source};
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE authors (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    bio text
);
CREATE TABLE books (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors,
    title text NOT NULL
);
";

const QUERIES: &str = "\
-- name: books_of :many
-- An author's books, with the author's name.
SELECT b.id, b.title, a.name AS author
FROM books b JOIN authors a ON a.id = b.author_id
WHERE a.id = :author
ORDER BY b.id;

-- name: unread :exec
DELETE FROM books WHERE author_id = :author;
";

/// A crate with one migration and `queries/library.sql`.
fn project(queries: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let migration = dir.path().join("migrations/20240101000000_library");
    std::fs::create_dir_all(&migration).unwrap();
    std::fs::write(migration.join("up.sql"), SCHEMA).unwrap();
    std::fs::create_dir_all(dir.path().join("queries")).unwrap();
    std::fs::write(dir.path().join("queries/library.sql"), queries).unwrap();
    dir
}

fn config(dir: &Path) -> Config {
    let mut config = Config::new();
    config
        .manifest_dir(dir)
        .out_dir(dir.join("out"))
        .cargo_directives(false);
    config
}

fn offline() -> ScratchPlan {
    let nothing = tempfile::tempdir().unwrap();
    ScratchPlan::from_lookup_in(|_| None, nothing.path())
}

/// The `pub mod queries { … }` part of the generated file.
fn queries_module(code: &str) -> &str {
    let start = code
        .find("/// The checked queries")
        .expect("a queries module");
    &code[start..]
}

#[test]
fn queries_are_locked_and_generated_the_same_offline() {
    let dir = project(QUERIES);
    config(dir.path()).write_lock().unwrap();
    let online = config(dir.path()).generate().unwrap();
    assert!(
        matches!(online.source, Source::Database(_)),
        "{:?}",
        online.source
    );
    let lock = std::fs::read_to_string(dir.path().join("schema.lock")).unwrap();
    for needle in ["\"books_of\"", "\"unread\"", "\"library.sql\""] {
        assert!(
            lock.contains(needle),
            "{needle} missing from the lock:\n{lock}"
        );
    }
    let code = std::fs::read_to_string(&online.file).unwrap();
    insta::assert_snapshot!("queries_module", queries_module(&code));

    let offline = config(dir.path())
        .scratch_plan(offline())
        .generate()
        .unwrap();
    assert!(
        matches!(offline.source, Source::Offline(_)),
        "{:?}",
        offline.source
    );
    assert_eq!(std::fs::read_to_string(&offline.file).unwrap(), code);
}

#[test]
fn an_edited_query_makes_an_offline_build_fail_naming_it() {
    let dir = project(QUERIES);
    config(dir.path()).write_lock().unwrap();
    let edited = QUERIES.replace("ORDER BY b.id", "ORDER BY b.title")
        + "\n-- name: count_books :one\nSELECT count(*) AS n FROM books;\n";
    std::fs::write(dir.path().join("queries/library.sql"), edited).unwrap();
    let err = config(dir.path())
        .scratch_plan(offline())
        .generate()
        .unwrap_err();
    let CodegenError::StaleQueries { changes, .. } = &err else {
        panic!("expected stale queries, got {err}");
    };
    assert_eq!(
        changes,
        "changed library.sql:books_of, added library.sql:count_books"
    );

    // `ormkit lock --check` sees it too; `ormkit lock` brings the lock up to date.
    let diff = config(dir.path())
        .check_lock()
        .unwrap()
        .expect("a stale lock");
    assert!(diff.contains("count_books"), "{diff}");
    config(dir.path()).write_lock().unwrap();
    assert_eq!(config(dir.path()).check_lock().unwrap(), None);
    config(dir.path())
        .scratch_plan(offline())
        .generate()
        .unwrap();
}

fn error_for(queries: &str) -> String {
    let dir = project(queries);
    let config = config(dir.path());
    let result = config.write_lock().and_then(|_| config.generate());
    let text = result.unwrap_err().to_string();
    let path = dir.path().join("queries/library.sql");
    text.replace(&path.display().to_string(), "library.sql")
}

#[test]
fn a_query_that_does_not_prepare_is_located_in_its_file() {
    let err = error_for(
        "-- name: fine :one\nSELECT 1 AS one;\n\n-- name: broken :many\nSELECT id,\n       nmae\nFROM authors WHERE id = :id;\n",
    );
    assert_eq!(
        err,
        "library.sql:6:8: query `broken` does not prepare: column \"nmae\" does not exist; \
         hint: Perhaps you meant to reference the column \"authors.name\". (SQLSTATE 42703)"
    );
}

#[test]
fn bad_queries_get_errors_that_say_what_to_do() {
    for (queries, needles) in [
        (
            "-- name: both :exec\nINSERT INTO books (author_id, title) VALUES (:x, :x);\n",
            &[
                "library.sql:",
                "`both`",
                "used with two types",
                ":x",
                "42P08",
            ][..],
        ),
        (
            "-- name: words :one\nSELECT to_tsquery('a & b') AS q;\n",
            &[
                "library.sql:1",
                "`words`",
                "tsquery",
                "no binary mapping",
                "`::text`",
            ][..],
        ),
        (
            "-- name: rights :many\nSELECT relacl FROM pg_class;\n",
            &[
                "library.sql:1",
                "`rights`",
                "aclitem",
                "no Rust mapping",
                "type_override",
            ][..],
        ),
        (
            "-- name: nothing :many\nDELETE FROM books;\n",
            &[
                "library.sql:1",
                "`nothing`",
                "returns no columns",
                "make it `:exec`",
            ][..],
        ),
        (
            "-- name: whose :one\n-- returns: Author\nSELECT id, name FROM authors;\n",
            &["library.sql:1", "`whose`", "not those of `Author`"][..],
        ),
        (
            "-- name: a :one\nSELECT 1 AS one;\n-- name: a :many\nSELECT 2 AS two;\n",
            &["library.sql:3", "a second query named `a`"][..],
        ),
    ] {
        let err = error_for(queries);
        for needle in needles {
            assert!(
                err.contains(needle),
                "{needle:?} missing from: {err}\nfor {queries}"
            );
        }
    }
}
