//! `ormkit-cli`: schema.lock, code generation, migrations and validation from the shell.

use clap::Parser;

#[macro_use]
mod output;
mod commands;

fn main() -> std::process::ExitCode {
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            errln!("error: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
