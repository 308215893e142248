//! The exit status of every command, for scripts and deploy pipelines:
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | done; what `--check` asked about is in order |
//! | 1 | `--check` found something to do: drift (`validate`), a stale lock (`lock --check`), migrations not applied (`migrate status --check`) |
//! | 2 | usage: bad arguments or options (clap's own status), an invalid name |
//! | 3 | the work failed: the database (unreachable, a migration that fails or is refused) or the file system |
//! | 141 | stdout was closed early (`… | head`), as a shell reports SIGPIPE |

use std::fmt;

/// `--check` found something to do.
pub(crate) const CHECK_FAILED: u8 = 1;
/// Bad arguments: what clap exits with, and [`Usage`] errors.
pub(crate) const USAGE: u8 = 2;
/// The database or the file system failed, or refused the work.
pub(crate) const FAILURE: u8 = 3;

/// An error in how the command was called (caught after clap's parsing): exits [`USAGE`].
#[derive(Debug)]
pub(crate) struct Usage(pub(crate) String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// The status a command that failed with `err` exits with.
pub(crate) fn of_error(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<Usage>().is_some() {
        USAGE
    } else {
        FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_are_2_and_everything_else_3() {
        assert_eq!(of_error(&Usage("bad name".into()).into()), USAGE);
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        assert_eq!(of_error(&anyhow::Error::from(io)), FAILURE);
        assert_eq!(of_error(&anyhow::anyhow!("connection refused")), FAILURE);
    }
}
