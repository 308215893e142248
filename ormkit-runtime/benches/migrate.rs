//! Applying a generated directory of 300 migrations with the Migrator, against `psql -f` of
//! the same SQL concatenated, in the same run, each iteration on a fresh database.
//!
//! `DATABASE_URL` names the server (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! temporary databases are created on it and dropped. Run:
//! `cargo bench -p ormkit --bench migrate`.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::Criterion;
use ormkit::migrate::Migrator;
use ormkit::sqlx::postgres::PgPoolOptions;
use ormkit_build_support::ScratchDatabase;

/// How many migrations the generated directory holds.
const MIGRATIONS: usize = 300;

/// Every measured iteration, per contender, for the ratio printed at the end.
static SAMPLES: Mutex<Vec<(&'static str, Duration)>> = Mutex::new(Vec::new());

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
fn timed(name: &'static str, iters: u64, apply: impl Fn(&ScratchDatabase) -> Duration) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let db = ScratchDatabase::on_server(&server_url()).expect("a temporary database");
        let took = apply(&db);
        SAMPLES.lock().unwrap().push((name, took));
        total += took;
        db.close().expect("drop the temporary database");
    }
    total
}

fn bench(c: &mut Criterion, root: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = root.join("migrations");
    let all = root.join("all.sql");
    let mut group = c.benchmark_group("apply_300_migrations");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("ormkit_migrator", |b| {
        b.iter_custom(|iters| {
            timed("ormkit", iters, |db| {
                runtime.block_on(async {
                    let pool = PgPoolOptions::new().connect_lazy(db.url()).unwrap();
                    let started = Instant::now();
                    let report = Migrator::from_dir(&pool, &dir)
                        .unwrap()
                        .migrate_up()
                        .await
                        .unwrap();
                    let took = started.elapsed();
                    assert_eq!(report.steps.len(), MIGRATIONS);
                    pool.close().await;
                    took
                })
            })
        });
    });
    group.bench_function("psql_f", |b| {
        b.iter_custom(|iters| {
            timed("psql", iters, |db| {
                let started = Instant::now();
                let status = Command::new("psql")
                    .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
                    .arg(&all)
                    .arg(db.url())
                    .status()
                    .expect("psql runs");
                let took = started.elapsed();
                assert!(status.success());
                took
            })
        });
    });
    group.finish();
}

/// The median of each contender's iterations, and their ratio.
fn print_ratio() {
    let samples = SAMPLES.lock().unwrap();
    let median = |name: &str| {
        let mut times: Vec<Duration> = samples
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .collect();
        times.sort();
        times.get(times.len() / 2).copied()
    };
    if let (Some(ormkit), Some(psql)) = (median("ormkit"), median("psql")) {
        println!(
            "apply {MIGRATIONS} migrations: ormkit median {ormkit:?}, psql -f median {psql:?}, ratio {:.2}",
            ormkit.as_secs_f64() / psql.as_secs_f64()
        );
    }
}

fn main() {
    let root = tempfile::tempdir().unwrap();
    generate(root.path());
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, root.path());
    criterion.final_summary();
    print_ratio();
}
