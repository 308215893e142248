//! `ormkit-cli`: schema.lock, code generation, migrations and validation from the shell.

use clap::Parser;

#[macro_use]
mod output;
mod commands;
mod status;

fn main() -> std::process::ExitCode {
    // Bad arguments: clap prints why and exits with `status::USAGE` (2) itself.
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            errln!("error: {err:#}");
            std::process::ExitCode::from(status::of_error(&err))
        }
    }
}
