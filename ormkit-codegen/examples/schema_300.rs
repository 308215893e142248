//! Times the generator on a generated 300-table schema: scratch database + apply + introspect
//! (`Config::fresh_lock`) and render (`Config::render_lock`), over several runs.
//!
//! ```text
//! cargo run --release -p ormkit-codegen --example schema_300 [runs]
//! cargo run -q -p ormkit-codegen --example schema_300 -- --print-sql   # the migration only
//! ```
//! With `ORMKIT_SCRATCH_URL`/`DATABASE_URL` set it uses a temporary database on that server,
//! otherwise a throwaway local cluster (whose start is then included).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// 300 tables of 10 columns, each with a foreign key to the previous one, an enum and an array.
///
/// `benches/compile-time/run.py` writes the same SQL and checks it against `--print-sql`.
fn migration() -> String {
    let mut sql = String::from("CREATE TYPE status AS ENUM ('new', 'active', 'gone');\n");
    for t in 0..300 {
        let _ = write!(
            sql,
            "CREATE TABLE t{t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
             name text NOT NULL, note text, amount numeric(12,2), created_at timestamptz NOT NULL DEFAULT now(), \
             tags text[], status status NOT NULL DEFAULT 'new', payload jsonb, flag bool NOT NULL DEFAULT false"
        );
        if t > 0 {
            let _ = write!(sql, ", parent_id bigint REFERENCES t{} (id)", t - 1);
        } else {
            sql.push_str(", parent_id bigint");
        }
        sql.push_str(");\n");
    }
    sql
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().skip(1).any(|a| a == "--print-sql") {
        print!("{}", migration());
        return Ok(());
    }
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir()?;
    let m = dir.path().join("migrations/00001_schema_300");
    std::fs::create_dir_all(&m)?;
    std::fs::write(m.join("up.sql"), migration())?;
    let mut config = ormkit_codegen::Config::new();
    config.manifest_dir(dir.path()).cargo_directives(false);
    let migrations = ormkit_schema::migrations::discover(&dir.path().join("migrations"))?;

    let (mut lock_times, mut render_times) = (Vec::new(), Vec::new());
    let mut lines = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let lock = config.fresh_lock()?;
        lock_times.push(start.elapsed());
        let start = Instant::now();
        let code = config.render_lock(&lock, &migrations)?;
        render_times.push(start.elapsed());
        lines = code.lines().count();
    }
    println!("plan: {}", ormkit_build_support::ScratchPlan::from_env());
    println!(
        "300 tables, {runs} runs: scratch+apply+introspect median {:?} (min {:?}); render median {:?} (min {:?}); {lines} lines",
        median(lock_times.clone()),
        lock_times.iter().min().unwrap(),
        median(render_times.clone()),
        render_times.iter().min().unwrap()
    );
    Ok(())
}
