//! Generates entities for the repository's reference schema (`../migrations`, `../schema.lock`)
//! exactly as a user's build.rs would.

fn main() {
    // Tests that need PgBouncer or the openssl command are ignored when it is missing.
    use ormkit_build_support::optional_tools::{build_script, OPENSSL, PGBOUNCER};
    build_script(&[PGBOUNCER, OPENSSL]);
    let mut config = ormkit_codegen::Config::new();
    config
        .migrations("../migrations")
        .lock_file("../schema.lock")
        .queries("../queries")
        // A `String` override of a type with a binary mapping: read as text, written as text
        // cast back.
        .column_override("public.documents.span", "String");
    // The same schema mapped to the `time` crate and with serde derives, to prove those
    // options compile (and run) too.
    let mut time = config.clone();
    time.time_crate(ormkit_codegen::TimeCrate::Time)
        .serde(true)
        .module("entities_time")
        .file_name("ormkit_entities_time.rs");
    for config in [config, time] {
        if let Err(err) = config.generate() {
            eprintln!("error: ormkit code generation failed: {err}");
            std::process::exit(1);
        }
    }
}
