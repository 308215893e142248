//! `ormkit-cli`: schema.lock, code generation, migrations and validation from the shell.

use clap::Parser;

mod commands;

fn main() -> std::process::ExitCode {
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
