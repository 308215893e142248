//! `ormkit-cli lock [--check]`.

use super::SchemaPaths;
use std::process::ExitCode;

/// Arguments of `lock`.
#[derive(Debug, clap::Args)]
pub(crate) struct LockArgs {
    #[command(flatten)]
    paths: SchemaPaths,
    /// Do not write: exit 1 with the diff when the lock is stale.
    #[arg(long)]
    check: bool,
}

pub(crate) fn run(args: LockArgs) -> anyhow::Result<ExitCode> {
    let config = args.paths.config();
    if args.check {
        let offline = match ormkit_codegen::ScratchPlan::from_env() {
            ormkit_codegen::ScratchPlan::Offline { reason } => Some(reason),
            _ => None,
        };
        return Ok(match config.check_lock()? {
            None => {
                match offline {
                    Some(reason) => outln!(
                        "{} records exactly the migrations on disk (offline, {reason}: the \
                         schema was not rebuilt)",
                        args.paths.lock.display()
                    ),
                    None => outln!("{} is up to date", args.paths.lock.display()),
                }
                ExitCode::SUCCESS
            }
            Some(diff) => {
                outln!("{diff}");
                errln!(
                    "{} is stale; refresh it with `ormkit-cli lock`",
                    args.paths.lock.display()
                );
                ExitCode::from(crate::status::CHECK_FAILED)
            }
        });
    }
    let (lock, changed) = config.write_lock()?;
    let verb = if changed { "wrote" } else { "unchanged:" };
    outln!(
        "{verb} {} ({} migrations, {} relations, {} queries, fingerprint {})",
        args.paths.lock.display(),
        lock.migrations.len(),
        lock.schema.relations.len(),
        lock.queries.len(),
        &lock.fingerprint[..12]
    );
    Ok(ExitCode::SUCCESS)
}
