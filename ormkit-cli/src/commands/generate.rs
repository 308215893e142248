//! `ormkit-cli generate --out DIR`.

use super::SchemaPaths;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `generate`.
#[derive(Debug, clap::Args)]
pub(crate) struct GenerateArgs {
    #[command(flatten)]
    paths: SchemaPaths,
    /// Where to write `ormkit_entities.rs` (and the fresh `schema.lock`).
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let mut config = args.paths.config();
    config.out_dir(&args.out);
    let generated = config.generate()?;
    outln!("wrote {}", generated.file.display());
    if let ormkit_codegen::LockStatus::Differs(diff) = &generated.lock_status {
        errln!("{diff}");
    }
    Ok(ExitCode::SUCCESS)
}
