//! Applying a generated directory of 300 migrations with the Migrator, against `psql -f` of
//! the same SQL concatenated, in the same run, each iteration on a fresh database.
//!
//! `DATABASE_URL` names the server (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! temporary databases are created on it and dropped. Run:
//! `cargo bench -p ormkit --bench migrate`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::Criterion;
use ormkit::migrate::Migrator;
use ormkit::sqlx::postgres::PgPoolOptions;
use ormkit_build_support::ScratchDatabase;
use tokio::runtime::Runtime;

/// How many migrations the generated directory holds.
const MIGRATIONS: usize = 300;

fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// One migration: a table with an identity key, an index, ten rows and a comment.
fn migration_sql(i: usize) -> String {
    format!(
        "CREATE TABLE t{i} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    \
         name text NOT NULL,\n    payload jsonb,\n    created_at timestamptz NOT NULL DEFAULT now()\n);\n\
         CREATE INDEX t{i}_name_idx ON t{i} (name);\n\
         INSERT INTO t{i} (name, payload) SELECT 'n' || g, '{{}}' FROM generate_series(1, 10) g;\n\
         COMMENT ON TABLE t{i} IS 'table {i}';\n"
    )
}

/// Writes the migrations directory and the concatenated `all.sql` under `root`.
fn generate(root: &Path) {
    let mut all = String::new();
    for i in 0..MIGRATIONS {
        let dir = root.join("migrations").join(format!(
            "{:014}_table_{i}",
            20_240_101_000_000_u64 + i as u64
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let sql = migration_sql(i);
        std::fs::write(dir.join("up.sql"), &sql).unwrap();
        all.push_str(&sql);
    }
    std::fs::write(root.join("all.sql"), all).unwrap();
}

/// Runs `apply` on `iters` fresh databases; returns the summed time of `apply` alone.
fn on_fresh_databases(iters: u64, apply: impl Fn(&ScratchDatabase) -> Duration) -> Duration {
    (0..iters).map(|_| on_fresh_database(&apply)).sum()
}

fn on_fresh_database(apply: impl Fn(&ScratchDatabase) -> Duration) -> Duration {
    let db = ScratchDatabase::on_server(&server_url()).expect("a temporary database");
    let took = apply(&db);
    db.close().expect("drop the temporary database");
    took
}

/// The Migrator applying `dir`: reading the files, locking, the tracking table, 300
/// transactions.
fn apply_ormkit(runtime: &Runtime, db: &ScratchDatabase, dir: &Path) -> Duration {
    runtime.block_on(async {
        let pool = PgPoolOptions::new().connect_lazy(db.url()).unwrap();
        let started = Instant::now();
        let report = Migrator::from_dir(&pool, dir)
            .unwrap()
            .migrate_up()
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(report.steps.len(), MIGRATIONS);
        pool.close().await;
        took
    })
}

/// `psql -X -q -v ON_ERROR_STOP=1 -f all.sql`: the same SQL, one autocommit per statement.
fn apply_psql(db: &ScratchDatabase, all: &Path) -> Duration {
    let started = Instant::now();
    let status = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(all)
        .arg(db.url())
        .status()
        .expect("psql runs");
    let took = started.elapsed();
    assert!(status.success());
    took
}

fn bench(c: &mut Criterion, runtime: &Runtime, root: &Path) {
    let dir = root.join("migrations");
    let all = root.join("all.sql");
    let mut group = c.benchmark_group("apply_300_migrations");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.bench_function("ormkit_migrator", |b| {
        b.iter_custom(|iters| on_fresh_databases(iters, |db| apply_ormkit(runtime, db, &dir)));
    });
    group.bench_function("psql_f", |b| {
        b.iter_custom(|iters| on_fresh_databases(iters, |db| apply_psql(db, &all)));
    });
    group.finish();
}

/// Criterion runs the contenders one after the other, so load on a shared machine can
/// favour either. Pairs measured back to back, in alternating order, give a fairer ratio.
fn paired_ratio(runtime: &Runtime, root: &Path, pairs: usize) {
    let (dir, all) = (root.join("migrations"), root.join("all.sql"));
    let mut ratios = Vec::new();
    for pair in 0..pairs {
        let ormkit = || on_fresh_database(|db| apply_ormkit(runtime, db, &dir));
        let psql = || on_fresh_database(|db| apply_psql(db, &all));
        let (ormkit, psql) = match pair % 2 {
            0 => (ormkit(), psql()),
            _ => {
                let psql = psql();
                (ormkit(), psql)
            }
        };
        let ratio = ormkit.as_secs_f64() / psql.as_secs_f64();
        println!("pair {pair}: ormkit {ormkit:.2?}, psql -f {psql:.2?}, ratio {ratio:.2}");
        ratios.push(ratio);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "apply {MIGRATIONS} migrations, ormkit / psql -f: median ratio {:.2} over {pairs} pairs (min {:.2}, max {:.2})",
        ratios[pairs / 2],
        ratios[0],
        ratios[pairs - 1]
    );
}

fn main() {
    let root = tempfile::tempdir().unwrap();
    generate(root.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &runtime, root.path());
    criterion.final_summary();
    paired_ratio(&runtime, root.path(), 7);
}
