//! Every supported PostgreSQL (12–18) yields the same `schema.lock` and the same generated
//! code from the reference schema, so a team with mixed local versions never flips the lock.
//!
//! `ORMKIT_PG_BINDIRS=<bindir>:<bindir>…` (CI sets it to the server binaries of 12 to 18)
//! runs the codegen on a throwaway cluster of each; without it, on the scratch database the
//! environment selects (one version). Each output is compared byte for byte with the
//! committed `schema.lock` and with the others.

use ormkit_build_support::ScratchPlan;
use ormkit_codegen::{Config, Source};
use std::path::{Path, PathBuf};

/// One codegen run's outputs: where they came from, the lock and the generated code.
struct Output {
    source: String,
    lock: String,
    code: String,
}

/// Runs the pipeline as the tests crate's build.rs does, into a temporary directory, with a
/// copy of `committed` as the lock (the committed file is never written).
fn generate(root: &Path, plan: ScratchPlan, committed: &str) -> Output {
    let out = tempfile::tempdir().expect("a temporary directory for the generated code");
    let lock_dir = tempfile::tempdir().expect("a temporary directory for the lock");
    std::fs::write(lock_dir.path().join("schema.lock"), committed)
        .expect("a copy of the committed lock");
    let mut config = Config::new();
    config
        .manifest_dir(root)
        .lock_file(lock_dir.path().join("schema.lock"))
        .out_dir(out.path())
        .column_override("public.documents.span", "String")
        .cargo_directives(false)
        .scratch_plan(plan.clone());
    let generated = config
        .generate()
        .unwrap_or_else(|err| panic!("codegen on {plan} failed: {err}"));
    let source = match &generated.source {
        Source::Database(description) => description.clone(),
        other => panic!("codegen on {plan} did not use a database: {other:?}"),
    };
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("could not read {}: {err}", path.display()))
    };
    Output {
        source,
        lock: read(out.path().join("schema.lock")),
        code: read(generated.file),
    }
}

/// The plans to compare: one local cluster per `ORMKIT_PG_BINDIRS` entry, else the
/// environment's own.
fn plans() -> Vec<ScratchPlan> {
    match std::env::var_os("ORMKIT_PG_BINDIRS").filter(|dirs| !dirs.is_empty()) {
        Some(dirs) => std::env::split_paths(&dirs)
            .map(|bindir| ScratchPlan::LocalCluster {
                bindir,
                template_dir: None,
            })
            .collect(),
        None => vec![ScratchPlan::from_env()],
    }
}

#[test]
fn every_server_version_generates_the_committed_lock_and_the_same_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace");
    let committed = std::fs::read_to_string(root.join("schema.lock"))
        .expect("the committed schema.lock at the workspace root");
    let plans = plans();
    assert!(
        plans.iter().all(|plan| !plan.is_offline()),
        "this test needs PostgreSQL: {plans:?}"
    );
    let outputs: Vec<Output> = plans
        .into_iter()
        .map(|plan| generate(root, plan, &committed))
        .collect();
    let first = &outputs[0];
    for output in &outputs {
        eprintln!("generated on {}", output.source);
        assert!(
            output.lock == committed,
            "the lock from {} differs from the committed schema.lock",
            output.source
        );
        assert!(
            output.code == first.code,
            "the code generated on {} differs from that on {}",
            output.source,
            first.source
        );
    }
}
