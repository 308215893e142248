//! The user PostgreSQL tools run as (never root), and running those tools.

use std::io;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use nix::unistd::{getegid, geteuid, User};

use crate::error::{Error, Result};

/// Environment variables that would make PostgreSQL tools look elsewhere
/// than the paths and options they are given.
const PG_ENV: &[&str] = &[
    "PGDATA",
    "PGPORT",
    "PGHOST",
    "PGHOSTADDR",
    "PGOPTIONS",
    "PGUSER",
    "PGDATABASE",
];

/// The operating-system account that owns and runs a throwaway cluster.
///
/// PostgreSQL refuses to run as root, so when this process is root the
/// account is `postgres` (or `nobody`) and every tool runs with its uid/gid.
#[derive(Debug, Clone)]
pub(crate) struct ServerAccount {
    uid: u32,
    gid: u32,
    name: String,
    /// Whether commands must switch to this account (we are root).
    switch: bool,
}

impl ServerAccount {
    /// The account to run PostgreSQL as from this process.
    pub(crate) fn for_server() -> Result<Self> {
        let euid = geteuid();
        if euid.is_root() {
            let user = ["postgres", "nobody"]
                .iter()
                .find_map(|name| User::from_name(name).ok().flatten())
                .ok_or(Error::NoUnprivilegedUser)?;
            return Ok(ServerAccount {
                uid: user.uid.as_raw(),
                gid: user.gid.as_raw(),
                name: user.name,
                switch: true,
            });
        }
        let name = User::from_uid(euid)
            .ok()
            .flatten()
            .map_or_else(|| format!("uid{euid}"), |user| user.name);
        Ok(ServerAccount {
            uid: euid.as_raw(),
            gid: getegid().as_raw(),
            name,
            switch: false,
        })
    }

    /// The account's uid.
    pub(crate) fn uid(&self) -> u32 {
        self.uid
    }

    /// The account's name (used to key the template directory).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// A command for `program` that runs as this account, from `/`, without
    /// `PG*` variables that could redirect it.
    pub(crate) fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir("/").stdin(Stdio::null());
        for var in PG_ENV {
            command.env_remove(var);
        }
        if self.switch {
            use std::os::unix::process::CommandExt;
            command.uid(self.uid).gid(self.gid);
        }
        command
    }

    /// Hands `path` (not following symlinks) to this account, if we switch accounts.
    pub(crate) fn chown(&self, path: &Path) -> Result<()> {
        if !self.switch {
            return Ok(());
        }
        std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid)).map_err(|err| {
            Error::io(
                format!("could not hand {} to user {}", path.display(), self.name),
                err,
            )
        })
    }

    /// The owner to give copied files, if we switch accounts.
    pub(crate) fn owner(&self) -> Option<(u32, u32)> {
        self.switch.then_some((self.uid, self.gid))
    }
}

/// Runs a PostgreSQL tool to completion, returning its stdout; failure yields
/// [`Error::Tool`] with the tool's stderr (else stdout) and `hint`.
pub(crate) fn run(mut command: Command, hint: &'static str) -> Result<String> {
    let program = command.get_program().to_owned();
    let output = command
        .output()
        .map_err(|source| spawn_error(&program.to_string_lossy(), source, hint))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let text = if stderr.trim().is_empty() {
        &stdout
    } else {
        &*stderr
    };
    Err(Error::Tool {
        tool: tool_name(Path::new(&program)),
        status: describe_status(output.status),
        stderr: text.trim().to_owned(),
        hint,
    })
}

/// An [`Error::Spawn`] for `program`.
pub(crate) fn spawn_error(program: &str, error: io::Error, hint: &'static str) -> Error {
    Error::Spawn {
        program: program.to_owned(),
        error,
        hint,
    }
}

/// `exit 1`, `killed by signal 9`, ….
pub(crate) fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

fn tool_name(program: &Path) -> String {
    program.file_name().map_or_else(
        || program.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}
