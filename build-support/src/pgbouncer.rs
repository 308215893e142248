//! A throwaway PgBouncer in front of a PostgreSQL server, listening only on a Unix socket,
//! run as the unprivileged account when this process is root: for tests of what works (and
//! what must refuse to work) through a transaction-mode pooler.

use std::fmt;
use std::fs::{self, File};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use tempfile::TempDir;
use url::Url;

use crate::account::{describe_status, spawn_error, ServerAccount};
use crate::dirs::{socket_parent, temp_dir_in};
use crate::error::{Error, Result};
use crate::process::{poll_until, stop_child_with};
use crate::reap::{reap_stale, write_owner, CLUSTER_PREFIX, PGBOUNCER_PID_FILE, SOCKET_PREFIX};
use crate::urls::redact;

/// What to do when PgBouncer is missing.
const PGBOUNCER_HINT: &str =
    "install PgBouncer (Debian: apt-get install pgbouncer) or set ORMKIT_PGBOUNCER to its path";

/// The port in the socket's name (`.s.PGSQL.6432`); nothing listens on TCP.
const PORT: u16 = 6432;

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
    fn as_str(self) -> &'static str {
        match self {
            PoolMode::Transaction => "transaction",
            PoolMode::Session => "session",
        }
    }
}

/// How a [`PgBouncer`] is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBouncerOptions {
    mode: PoolMode,
    pool_size: u32,
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
        let mut exited = None;
        // Listening, not just bound: the socket file exists a moment before connections to it
        // are accepted.
        let ready = poll_until(START_TIMEOUT, || match child.try_wait() {
            Ok(None) => UnixStream::connect(&listening).is_ok(),
            Ok(Some(status)) => {
                exited = Some(describe_status(status));
                true
            }
            Err(err) => {
                exited = Some(format!("could not be watched: {err}"));
                true
            }
        });
        let status = match (ready, exited) {
            (true, None) => return Ok(()),
            (_, Some(status)) => status,
            (false, None) => format!("not listening after {} s", START_TIMEOUT.as_secs()),
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
        for dir in [Some(root), self.socket_dir.take()].into_iter().flatten() {
            let path = dir.path().to_path_buf();
            if let Err(err) = dir.close() {
                problems.push(format!("could not delete {}: {err}", path.display()));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Cleanup {
                what: "the throwaway pgbouncer".into(),
                details: problems.join("\n"),
            })
        }
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

/// The server PgBouncer forwards to, from a connection URL.
struct Upstream {
    /// A host name or address, or a socket directory.
    host: String,
    port: u16,
    user: String,
    password: Option<String>,
    database: String,
}

impl Upstream {
    fn parse(url: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidUrl {
            url: redact(url),
            reason,
        };
        let parsed = Url::parse(url).map_err(|err| invalid(err.to_string()))?;
        let param = |name: &str| {
            parsed
                .query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let host = param("host")
            .or_else(|| parsed.host_str().map(str::to_owned))
            .ok_or_else(|| invalid("no host".into()))?;
        let user = param("user").unwrap_or_else(|| match parsed.username() {
            "" => "postgres".to_owned(),
            name => name.to_owned(),
        });
        let database = param("dbname").unwrap_or_else(|| match parsed.path() {
            "" | "/" => user.clone(),
            path => path.trim_start_matches('/').to_owned(),
        });
        let plain = |text: &str| text.chars().all(|c| c.is_ascii_graphic() && c != '\'');
        if ![&host, &user, &database].iter().all(|part| plain(part)) {
            return Err(invalid(
                "pgbouncer's configuration takes only printable ASCII without quotes in host, user and database".into(),
            ));
        }
        Ok(Upstream {
            port: param("port")
                .and_then(|port| port.parse().ok())
                .or(parsed.port())
                .unwrap_or(5432),
            password: param("password").or_else(|| parsed.password().map(str::to_owned)),
            host,
            user,
            database,
        })
    }

    /// The same user and database, through PgBouncer's socket in `socket_dir`.
    fn url_through(&self, socket_dir: &Path) -> Result<String> {
        let mut url = Url::parse(&format!("postgres://localhost:{PORT}/")).map_err(|err| {
            Error::io(
                "could not build pgbouncer's url",
                std::io::Error::other(err),
            )
        })?;
        let _ = url.set_username(&self.user);
        url.set_path(&self.database);
        url.query_pairs_mut()
            .append_pair("host", &socket_dir.to_string_lossy());
        Ok(url.into())
    }
}

/// `pgbouncer.ini`: every database of the upstream server, as the connecting user.
fn config(target: &Upstream, socket: &Path, root: &Path, options: &PgBouncerOptions) -> String {
    let password = target
        .password
        .as_deref()
        .map(|p| format!(" password='{}'", p.replace('\'', "''")))
        .unwrap_or_default();
    format!(
        "[databases]\n\
         * = host={host} port={port}{password}\n\
         \n\
         [pgbouncer]\n\
         listen_addr =\n\
         listen_port = {PORT}\n\
         unix_socket_dir = {socket}\n\
         auth_type = trust\n\
         auth_file = {root}/userlist.txt\n\
         pool_mode = {mode}\n\
         default_pool_size = {size}\n\
         max_client_conn = 1000\n\
         logfile = {root}/pgbouncer.log\n",
        host = target.host,
        port = target.port,
        socket = socket.display(),
        root = root.display(),
        mode = options.mode.as_str(),
        size = options.pool_size,
    )
}

/// Where PgBouncer is looked for after `PATH` (Debian installs it in `/usr/sbin`, which
/// is not in an ordinary user's `PATH`).
const SYSTEM_DIRS: [&str; 4] = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"];

/// `ORMKIT_PGBOUNCER`, else `pgbouncer` in `PATH` or the usual system directories.
fn find_pgbouncer(lookup: impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    find_pgbouncer_in(lookup, &SYSTEM_DIRS)
}

fn find_pgbouncer_in(lookup: impl Fn(&str) -> Option<String>, system: &[&str]) -> Result<PathBuf> {
    if let Some(explicit) = lookup("ORMKIT_PGBOUNCER").filter(|path| !path.is_empty()) {
        return Ok(PathBuf::from(explicit));
    }
    let path = lookup("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(system.iter().map(PathBuf::from))
        .map(|dir| dir.join("pgbouncer"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            spawn_error(
                "pgbouncer",
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not found in PATH or /usr/sbin",
                ),
                PGBOUNCER_HINT,
            )
        })
}

/// `1.18.0` from `PgBouncer 1.18.0`.
fn version_of(program: &Path) -> Option<String> {
    let output = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text.lines().next()?;
    first
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_from_urls() {
        let tcp = Upstream::parse("postgres://postgres@127.0.0.1:5432/app").unwrap();
        assert_eq!((tcp.host.as_str(), tcp.port), ("127.0.0.1", 5432));
        assert_eq!(
            (tcp.user.as_str(), tcp.database.as_str()),
            ("postgres", "app")
        );
        let socket =
            Upstream::parse("postgres://postgres@localhost:5432/postgres?host=/tmp/s").unwrap();
        assert_eq!(socket.host, "/tmp/s");
        let through = socket.url_through(Path::new("/tmp/b")).unwrap();
        assert_eq!(
            through,
            "postgres://postgres@localhost:6432/postgres?host=%2Ftmp%2Fb"
        );
        assert!(Upstream::parse("postgres://h/db'x").is_err());
    }

    #[test]
    fn missing_pgbouncer_names_the_package() {
        let err = find_pgbouncer_in(|_| None, &[]).unwrap_err().to_string();
        assert!(err.contains("apt-get install pgbouncer"), "{err}");
        let explicit = find_pgbouncer_in(
            |name| (name == "ORMKIT_PGBOUNCER").then(|| "/opt/pgb".to_owned()),
            &[],
        );
        assert_eq!(explicit.unwrap(), PathBuf::from("/opt/pgb"));
    }
}
