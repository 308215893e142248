//! Build time added by checked SQL: `generate()` on a small crate with no query file and
//! with 100 queries, online (each query prepared and explained on the scratch database) and
//! offline (from the lock). The difference of each pair is what 100 queries cost.
//!
//! `cargo bench -p ormkit-codegen --bench queries` (DATABASE_URL's or ORMKIT_SCRATCH_URL's
//! server, else a throwaway cluster per online run).

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ormkit_codegen::{Config, ScratchPlan, Source};
use std::fmt::Write as _;
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE authors (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    bio text,
    joined_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE books (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors,
    title text NOT NULL,
    pages int4,
    published_at timestamptz
);
";

/// Five shapes of query (a join, an aggregate, an outer join, a write, a lookup), repeated.
fn queries(n: usize) -> String {
    let shapes = [
        ":many\nSELECT b.id, b.title, a.name FROM books b JOIN authors a ON a.id = b.author_id WHERE a.id = :author AND b.pages > {i};",
        ":one\nSELECT count(*) AS books, max(pages) AS most FROM books WHERE author_id = :author AND pages > {i};",
        ":many\nSELECT a.id, b.id AS book FROM authors a LEFT JOIN books b ON b.author_id = a.id AND b.pages > {i} WHERE a.name = :name;",
        ":exec\nUPDATE books SET pages = pages + {i} WHERE id = :id;",
        ":opt\nSELECT id, name, bio FROM authors WHERE id = :id AND {i} > 0;",
    ];
    let mut text = String::new();
    for i in 0..n {
        let shape = shapes[i % shapes.len()].replace("{i}", &i.to_string());
        writeln!(text, "-- name: q{i} {shape}\n").unwrap();
    }
    text
}

fn project(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let migration = dir.path().join("migrations/20240101000000_library");
    std::fs::create_dir_all(&migration).unwrap();
    std::fs::write(migration.join("up.sql"), SCHEMA).unwrap();
    if n > 0 {
        std::fs::create_dir_all(dir.path().join("queries")).unwrap();
        std::fs::write(dir.path().join("queries/library.sql"), queries(n)).unwrap();
    }
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

fn bench(c: &mut Criterion) {
    let nothing = tempfile::tempdir().unwrap();
    let offline = ScratchPlan::from_lookup_in(|_| None, nothing.path());
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    for n in [0, 100] {
        let dir = project(n);
        let online = config(dir.path());
        online.write_lock().unwrap();
        group.bench_function(format!("online, {n} queries"), |b| {
            b.iter(|| {
                let generated = online.generate().unwrap();
                assert!(matches!(generated.source, Source::Database(_)));
            })
        });
        let mut from_lock = config(dir.path());
        from_lock.scratch_plan(offline.clone());
        group.bench_function(format!("offline, {n} queries"), |b| {
            b.iter(|| {
                let generated = from_lock.generate().unwrap();
                assert!(matches!(generated.source, Source::Offline(_)));
                assert_eq!(generated.lock.queries.len(), n);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
