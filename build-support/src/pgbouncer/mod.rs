//! A throwaway PgBouncer in front of a PostgreSQL server, listening only on a Unix socket,
//! run as the unprivileged account when this process is root: for tests of what works (and
//! what must refuse to work) through a transaction-mode pooler.

mod setup;

use std::fmt;
use std::fs::{self, File};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::account::{spawn_error, ServerAccount};
use crate::dirs::{remove_all, socket_parent, temp_dir_in};
use crate::error::{Error, Result};
use crate::process::{stop_child_with, wait_ready};
use crate::reap::{reap_stale, write_owner, CLUSTER_PREFIX, PGBOUNCER_PID_FILE, SOCKET_PREFIX};
use crate::urls::redact;
use nix::sys::signal::Signal;
use setup::{config, find_pgbouncer, version_of, Upstream};
use tempfile::TempDir;

/// What to do when PgBouncer is missing.
pub(crate) const PGBOUNCER_HINT: &str =
    "install PgBouncer (Debian: apt-get install pgbouncer) or set ORMKIT_PGBOUNCER to its path";

/// The port in the socket's name (`.s.PGSQL.6432`); nothing listens on TCP.
pub(crate) const PORT: u16 = 6432;

/// How long PgBouncer may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// PgBouncer's `pool_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    /// A server connection per client transaction: session state does not survive between
    /// transactions.
    Transaction,
    /// A server connection per client connection.
    Session,
}

impl PoolMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PoolMode::Transaction => "transaction",
            PoolMode::Session => "session",
        }
    }
}

/// How a [`PgBouncer`] is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBouncerOptions {
    pub(crate) mode: PoolMode,
    pub(crate) pool_size: u32,
}

impl Default for PgBouncerOptions {
    /// Transaction mode, 4 server connections per database and user.
    fn default() -> Self {
        PgBouncerOptions {
            mode: PoolMode::Transaction,
            pool_size: 4,
        }
    }
}

impl PgBouncerOptions {
    /// The pool mode (default [`PoolMode::Transaction`]).
    pub fn mode(mut self, mode: PoolMode) -> Self {
        self.mode = mode;
        self
    }

    /// Server connections per database and user (`default_pool_size`, default 4: few, so
    /// that clients share them as they would in production).
    pub fn pool_size(mut self, size: u32) -> Self {
        self.pool_size = size.max(1);
        self
    }
}

/// A running PgBouncer; stopped and its directories deleted when dropped.
pub struct PgBouncer {
    child: Option<Child>,
    root: Option<TempDir>,
    socket_dir: Option<TempDir>,
    url: String,
    version: Option<String>,
    mode: PoolMode,
}

impl PgBouncer {
    /// Starts PgBouncer in front of the server `upstream` points at (a host and port, or a
    /// socket directory in `host=`), for every database on it; returns once it listens.
    pub fn start(upstream: &str, options: &PgBouncerOptions) -> Result<Self> {
        let account = ServerAccount::for_server()?;
        let program = find_pgbouncer(|name| std::env::var(name).ok())?;
        let temp = std::env::temp_dir();
        let _reaped = reap_stale(&temp, &account);
        let target = Upstream::parse(upstream)?;
        let root = temp_dir_in(&temp, CLUSTER_PREFIX)?;
        let socket_dir = temp_dir_in(&socket_parent(), SOCKET_PREFIX)?;
        let url = target.url_through(socket_dir.path())?;
        let mut bouncer = PgBouncer {
            child: None,
            root: Some(root),
            socket_dir: Some(socket_dir),
            url,
            version: version_of(&program),
            mode: options.mode,
        };
        // From here on, dropping `bouncer` removes everything again.
        bouncer.launch(&account, &program, &target, options)?;
        Ok(bouncer)
    }

    /// The URL of `upstream`'s database through PgBouncer.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// PgBouncer's version (`1.18.0`), if `--version` said.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The pool mode it runs in.
    pub fn mode(&self) -> PoolMode {
        self.mode
    }

    /// The `pgbouncer.ini` it runs with (its log, `pgbouncer.log`, is beside it).
    pub fn config_file(&self) -> PathBuf {
        self.root().join("pgbouncer.ini")
    }

    /// Stops PgBouncer and deletes its directories, reporting what failed.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn root(&self) -> &Path {
        self.root.as_ref().map_or(Path::new(""), TempDir::path)
    }

    fn socket(&self) -> &Path {
        self.socket_dir
            .as_ref()
            .map_or(Path::new(""), TempDir::path)
    }

    fn launch(
        &mut self,
        account: &ServerAccount,
        program: &Path,
        target: &Upstream,
        options: &PgBouncerOptions,
    ) -> Result<()> {
        let io = |what: &str| {
            let what = what.to_owned();
            move |err| Error::io(what, err)
        };
        let (root, socket) = (self.root().to_path_buf(), self.socket().to_path_buf());
        write_owner(&root, &socket).map_err(io("could not record pgbouncer's owner"))?;
        let users = root.join("userlist.txt");
        fs::write(&users, format!("\"{}\" \"\"\n", target.user))
            .map_err(io("could not write pgbouncer's auth file"))?;
        let ini = root.join("pgbouncer.ini");
        fs::write(&ini, config(target, &socket, &root, options))
            .map_err(io("could not write pgbouncer.ini"))?;
        for path in [&root, &socket, &users, &ini] {
            account.chown(path)?;
        }
        let log_path = root.join("pgbouncer.log");
        let log = File::create(&log_path).map_err(io("could not create pgbouncer's log"))?;
        account.chown(&log_path)?;
        let mut command = account.command(program);
        command.arg(&ini).stdout(Stdio::null()).stderr(log);
        let child = command
            .spawn()
            .map_err(|err| spawn_error(&program.display().to_string(), err, PGBOUNCER_HINT))?;
        fs::write(root.join(PGBOUNCER_PID_FILE), format!("{}\n", child.id()))
            .map_err(io("could not record pgbouncer's pid"))?;
        let child = self.child.insert(child);
        let listening = socket.join(format!(".s.PGSQL.{PORT}"));
        // Listening, not just bound: the socket file exists a moment before connections to it
        // are accepted.
        let Err(status) = wait_ready(child, START_TIMEOUT, "listening", || {
            UnixStream::connect(&listening).is_ok()
        }) else {
            return Ok(());
        };
        Err(Error::PgBouncerStart {
            status,
            log: fs::read_to_string(&log_path)
                .unwrap_or_else(|err| format!("(could not read {}: {err})", log_path.display())),
        })
    }

    fn shutdown(&mut self) -> Result<()> {
        let Some(root) = self.root.take() else {
            return Ok(());
        };
        let mut problems = Vec::new();
        if let Some(mut child) = self.child.take() {
            // SIGTERM: PgBouncer's immediate shutdown.
            if !stop_child_with(&mut child, Signal::SIGTERM) {
                problems.push(format!("pgbouncer (pid {}) did not stop", child.id()));
            }
        }
        remove_all(
            [Some(root), self.socket_dir.take()].into_iter().flatten(),
            &mut problems,
        );
        Error::cleanup(|| "the throwaway pgbouncer".into(), problems)
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

impl fmt::Debug for PgBouncer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgBouncer")
            .field("url", &redact(&self.url))
            .field("version", &self.version)
            .field("mode", &self.mode)
            .finish()
    }
}
