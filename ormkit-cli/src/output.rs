//! Writing to stdout and stderr without panicking.
//!
//! `println!` panics when stdout is a closed pipe (`ormkit-cli lock --check | head -c1`).
//! Here a closed stdout ends the command quietly with status 141, what a shell reports for a
//! process ended by SIGPIPE (Rust ignores SIGPIPE, and restoring it takes `unsafe`); any
//! other write error is reported on stderr with status 3 (an I/O failure).
//!
//! Colours: the `error:`, `warning:`, `note:` and `waiting:` that start a line on stderr are
//! coloured only when stderr is a terminal, and never with `NO_COLOR` set (anstream decides,
//! as clap does for its help and usage errors; `CLICOLOR_FORCE=1` forces them).

use std::fmt;
use std::io::{self, Write as _};

/// The status a shell reports for a process ended by SIGPIPE (128 + 13).
const BROKEN_PIPE_STATUS: i32 = 141;

/// Writes one line to stdout.
pub(crate) fn line(args: fmt::Arguments<'_>) {
    let mut stdout = io::stdout().lock();
    let written = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
            std::process::exit(BROKEN_PIPE_STATUS)
        }
        Err(err) => {
            warn_line(format_args!("error: cannot write to stdout: {err}"));
            std::process::exit(i32::from(crate::status::FAILURE))
        }
    }
}

/// Writes one line to stderr, its leading `error:` (…) coloured where colours are wanted; a
/// failure to write is ignored (there is nowhere left to say it).
pub(crate) fn warn_line(args: fmt::Arguments<'_>) {
    let text = args.to_string();
    let mut stderr = anstream::stderr().lock();
    let _ignored = match prefix_style(&text) {
        Some((prefix, style)) => {
            writeln!(stderr, "{style}{prefix}{style:#}{}", &text[prefix.len()..])
        }
        None => writeln!(stderr, "{text}"),
    };
}

/// The style of a line's leading word, if it has one of ours.
fn prefix_style(text: &str) -> Option<(&'static str, anstyle::Style)> {
    use anstyle::{AnsiColor, Style};
    const PREFIXES: [(&str, AnsiColor); 4] = [
        ("error:", AnsiColor::Red),
        ("warning:", AnsiColor::Yellow),
        ("note:", AnsiColor::Cyan),
        ("waiting:", AnsiColor::Yellow),
    ];
    PREFIXES.iter().find_map(|&(prefix, colour)| {
        text.starts_with(prefix)
            .then(|| (prefix, Style::new().bold().fg_color(Some(colour.into()))))
    })
}

/// `println!` that never panics: see the module docs.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::warn_line(format_args!($($arg)*))
    };
}
