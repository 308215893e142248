//! Writing to stdout and stderr without panicking.
//!
//! `println!` panics when stdout is a closed pipe (`ormkit-cli lock --check | head -c1`).
//! Here a closed stdout ends the command quietly with status 141, what a shell reports for a
//! process ended by SIGPIPE (Rust ignores SIGPIPE, and restoring it takes `unsafe`); any
//! other write error is reported on stderr with status 2.

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
            std::process::exit(2)
        }
    }
}

/// Writes one line to stderr; a failure to do so is ignored (there is nowhere left to say it).
pub(crate) fn warn_line(args: fmt::Arguments<'_>) {
    let mut stderr = io::stderr().lock();
    let _ignored = stderr
        .write_fmt(args)
        .and_then(|()| stderr.write_all(b"\n"));
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
