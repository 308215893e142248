//! Generates entities for the repository's reference schema (`../migrations`, `../schema.lock`)
//! exactly as a user's build.rs would.

fn main() {
    let mut config = ormkit_codegen::Config::new();
    config
        .migrations("../migrations")
        .lock_file("../schema.lock");
    if let Err(err) = config.generate() {
        eprintln!("error: ormkit code generation failed: {err}");
        std::process::exit(1);
    }
}
