//! Starts and stops a throwaway local cluster N times and prints start times.
//!
//! ```text
//! cargo run --release -p ormkit-build-support --example cluster_start -- [N] [--cold]
//! ```
//!
//! `N` defaults to 5. By default clusters are copied from the shared template
//! (created on first use); `--cold` gives every start a fresh template
//! directory, so each one pays for `initdb`.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use ormkit_build_support::{find_bindir, ScratchDatabase};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cold = args.iter().any(|arg| arg == "--cold");
    let runs: usize = match args.iter().find(|arg| !arg.starts_with("--")) {
        Some(n) => n.parse()?,
        None => 5,
    };
    let bindir = find_bindir(|name| std::env::var(name).ok())
        .ok_or("no PostgreSQL server binaries found; set ORMKIT_PG_BINDIR")?;
    println!("bindir: {}", bindir.display());

    let mut starts = Vec::with_capacity(runs);
    let mut stops = Vec::with_capacity(runs);
    for run in 1..=runs {
        // Cold runs get a fresh template location the server account can enter.
        let fresh = if cold {
            Some(tempfile::tempdir()?)
        } else {
            None
        };
        if let Some(dir) = &fresh {
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        }
        let template = fresh.as_ref().map(|dir| dir.path().join("template"));

        let began = Instant::now();
        let db = ScratchDatabase::local_cluster(&bindir, template.as_deref())?;
        let started = began.elapsed();
        let began = Instant::now();
        db.close()?;
        let stopped = began.elapsed();
        println!("run {run}: start {started:?}, stop {stopped:?}");
        starts.push(started);
        stops.push(stopped);
    }
    if runs > 0 {
        let (min, median) = summarize(&mut starts);
        let (stop_min, stop_median) = summarize(&mut stops);
        println!(
            "{} start over {runs} runs: min {min:?}, median {median:?}; stop: min {stop_min:?}, median {stop_median:?}",
            if cold { "cold" } else { "template" }
        );
    }
    Ok(())
}

/// (minimum, median) of `times`.
fn summarize(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    (times[0], times[times.len() / 2])
}
