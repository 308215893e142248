//! A throwaway PostgreSQL cluster in a temporary directory, reachable only
//! through a Unix socket (no TCP port, so no port conflicts).
//!
//! The server is this process's child (`postgres` itself, not `pg_ctl`): its
//! readiness is read from `postmaster.pid` every few milliseconds instead of
//! `pg_ctl`'s 100 ms polls, an early exit is noticed at once, it is reaped
//! when stopped, and a Ctrl-C to the build's process group reaches it too.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use tempfile::TempDir;

use crate::account::{run, spawn_error, ServerAccount};
use crate::dirs::{remove_all, socket_parent, temp_dir_in};
use crate::error::{Error, Result, INSTALL_HINT};
use crate::fsutil::copy_tree;
use crate::process::{stop_child, stop_child_fast, wait_ready};
use crate::reap::{reap_stale, write_owner, CLUSTER_PREFIX, SOCKET_PREFIX};
use crate::standby::copy_as_standby;
use crate::template::{ensure_template, initdb};
use crate::tools::PgTools;
use crate::urls::socket_url;

/// Server settings for a disposable cluster: socket only, no durability.
const SERVER_ARGS: &[&str] = &[
    "-p",
    "5432",
    "-c",
    "listen_addresses=",
    "-F",
    "-c",
    "fsync=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "max_connections=50",
];

/// How long the server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a new cluster's data directory comes from.
pub(crate) enum Fill<'a> {
    /// A copy of the initdb'd template kept in this directory (default location: `None`).
    Template(Option<&'a Path>),
    /// `pg_basebackup -R` of the running cluster whose socket is in `primary_socket`,
    /// creating the physical replication slot `slot`: a streaming replica of it.
    BaseBackup {
        /// The primary's socket directory.
        primary_socket: &'a Path,
        /// The replication slot to create and stream from.
        slot: &'a str,
    },
    /// A copy of the stopped primary's data directory, configured to stream from it through
    /// the existing physical slot `slot` (PostgreSQL 12+; no `pg_basebackup` needed).
    ColdCopy {
        /// The stopped primary's data directory.
        primary_data: &'a Path,
        /// The primary's socket directory.
        primary_socket: &'a Path,
        /// The replication slot to stream from (already created on the primary).
        slot: &'a str,
    },
}

/// A running throwaway cluster; stopped and deleted when dropped.
pub(crate) struct LocalCluster {
    account: ServerAccount,
    tools: PgTools,
    data_dir: PathBuf,
    /// Holds `data/`, the server log and the owner file.
    root: Option<TempDir>,
    /// Holds the server's socket; short, as socket paths are limited to ~107 bytes.
    socket_dir: Option<TempDir>,
    postmaster: Option<Child>,
    url: String,
    /// `-c name=value` settings added to [`SERVER_ARGS`].
    settings: Vec<String>,
    /// The write end of the watchdog's stdin (see [`LocalCluster::remove_at_exit`]).
    watchdog: Option<std::process::ChildStdin>,
}

impl LocalCluster {
    /// Copies the (possibly new) template data directory for the binaries in
    /// `bindir` and starts a server on it.
    pub(crate) fn start(bindir: &Path, template_dir: Option<&Path>) -> Result<Self> {
        Self::create(bindir, Fill::Template(template_dir), Vec::new())
    }

    /// Fills a new data directory as `fill` says and starts a server on it, with the extra
    /// `settings` (`name=value`, each passed as `-c`).
    pub(crate) fn create(bindir: &Path, fill: Fill<'_>, settings: Vec<String>) -> Result<Self> {
        Self::create_with(bindir, fill, settings, |_, _| Ok(Vec::new()))
    }

    /// [`create`](Self::create), calling `before_launch` with the cluster's root directory
    /// (removed with the cluster) and its server account once the data directory is filled;
    /// the settings it returns are added to `settings` (see `tls.rs`: certificates and
    /// `pg_hba.conf` written next to the data directory).
    pub(crate) fn create_with(
        bindir: &Path,
        fill: Fill<'_>,
        settings: Vec<String>,
        before_launch: impl FnOnce(&Path, &ServerAccount) -> Result<Vec<String>>,
    ) -> Result<Self> {
        let mut cluster = Self::create_stopped(bindir, fill, settings)?;
        let extra = before_launch(cluster.root(), &cluster.account)?;
        cluster.settings.extend(extra);
        cluster.launch()?;
        Ok(cluster)
    }

    /// Like [`create`](Self::create), without starting the server:
    /// [`resume`](Self::resume) does.
    pub(crate) fn create_stopped(
        bindir: &Path,
        fill: Fill<'_>,
        settings: Vec<String>,
    ) -> Result<Self> {
        let account = ServerAccount::for_server()?;
        let temp = std::env::temp_dir();
        let _reaped = reap_stale(&temp, &account);
        let tools = PgTools::locate(bindir, &account);
        tools.check_supported()?;
        let template = match fill {
            Fill::Template(dir) => ensure_template(&tools, &account, dir)?,
            Fill::BaseBackup { .. } | Fill::ColdCopy { .. } => None,
        };

        let root = temp_dir_in(&temp, CLUSTER_PREFIX)?;
        let socket_dir = temp_dir_in(&socket_parent(), SOCKET_PREFIX)?;
        let cluster = LocalCluster {
            url: socket_url(socket_dir.path()),
            data_dir: root.path().join("data"),
            account,
            tools,
            root: Some(root),
            socket_dir: Some(socket_dir),
            postmaster: None,
            settings,
            watchdog: None,
        };
        // From here on, dropping `cluster` removes everything again.
        match fill {
            Fill::Template(_) => cluster.prepare(template.as_deref())?,
            Fill::BaseBackup {
                primary_socket,
                slot,
            } => cluster.base_backup(primary_socket, slot)?,
            Fill::ColdCopy {
                primary_data,
                primary_socket,
                slot,
            } => {
                cluster.claim()?;
                copy_as_standby(
                    &cluster.account,
                    primary_data,
                    &cluster.data_dir,
                    primary_socket,
                    slot,
                )?;
            }
        }
        Ok(cluster)
    }

    /// The installation's programs and version.
    pub(crate) fn tools(&self) -> &PgTools {
        &self.tools
    }

    /// The connection URL of the `postgres` database.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The data directory.
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server version, if known.
    pub(crate) fn version(&self) -> Option<&str> {
        self.tools
            .version
            .as_ref()
            .map(|version| version.full.as_str())
    }

    /// The directory holding the server's socket.
    pub(crate) fn socket(&self) -> &Path {
        self.socket_dir
            .as_ref()
            .map_or(Path::new(""), TempDir::path)
    }

    /// Makes sure the cluster goes away with this process even when it is never dropped (a
    /// cluster held in a `static` for a test binary, whose process exits without running
    /// destructors): a small `sh` watchdog waits for end-of-file on a pipe whose only write
    /// end this process holds, so it wakes when the process exits however it ends, then
    /// shuts the postmaster down (fast) and deletes the directories.
    pub(crate) fn remove_at_exit(&mut self) -> Result<()> {
        if self.watchdog.is_some() {
            return Ok(());
        }
        const SCRIPT: &str = r#"
            read -r _ignored
            pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null)
            if [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null; then
                tries=0
                while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 600 ]; do
                    sleep 0.1
                    tries=$((tries + 1))
                done
                kill -KILL "$pid" 2>/dev/null
            fi
            rm -rf "$2" "$3"
        "#;
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("ormkit-cluster-watchdog")
            .arg(&self.data_dir)
            .arg(self.root())
            .arg(self.socket())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|err| Error::io("could not start the cluster's watchdog (sh)", err))?;
        self.watchdog = child.stdin.take();
        Ok(())
    }

    /// Stops the postmaster (a fast shutdown: every session is terminated, committed data
    /// kept, as when a server is restarted or fails over), waits `downtime`, and starts it
    /// again on the same data directory and socket.
    pub(crate) fn restart(&mut self, downtime: Duration) -> Result<()> {
        self.stop()?;
        std::thread::sleep(downtime);
        self.launch()
    }

    /// Stops the postmaster with a fast shutdown, keeping the data directory and socket
    /// directory for [`resume`](Self::resume); does nothing when it is not running.
    pub(crate) fn stop(&mut self) -> Result<()> {
        let Some(mut postmaster) = self.postmaster.take() else {
            return Ok(());
        };
        if stop_child_fast(&mut postmaster) {
            return Ok(());
        }
        Err(Error::Cleanup {
            what: format!(
                "stopping the throwaway cluster in {}",
                self.data_dir.display()
            ),
            details: format!(
                "the postmaster (pid {}) did not stop, even after SIGKILL",
                postmaster.id()
            ),
        })
    }

    /// Starts the postmaster again after [`stop`](Self::stop); does nothing when it runs.
    pub(crate) fn resume(&mut self) -> Result<()> {
        if self.postmaster.is_some() {
            return Ok(());
        }
        self.launch()
    }

    /// Stops the server and deletes its directories; idempotent.
    pub(crate) fn shutdown(&mut self) -> Result<()> {
        let Some(root) = self.root.take() else {
            return Ok(());
        };
        let mut problems = Vec::new();
        if let Some(mut postmaster) = self.postmaster.take() {
            if !stop_child(&mut postmaster) {
                problems.push(format!(
                    "the postmaster (pid {}) did not stop, even after SIGKILL",
                    postmaster.id()
                ));
            }
        }
        let root_path = root.path().to_path_buf();
        remove_all(
            [Some(root), self.socket_dir.take()].into_iter().flatten(),
            &mut problems,
        );
        Error::cleanup(
            || format!("the throwaway cluster in {}", root_path.display()),
            problems,
        )
    }

    fn root(&self) -> &Path {
        self.root.as_ref().map_or(Path::new(""), TempDir::path)
    }

    fn log_file(&self) -> PathBuf {
        self.root().join("server.log")
    }

    /// Records the owner and hands the directories to the server account.
    fn claim(&self) -> Result<()> {
        write_owner(self.root(), self.socket())
            .map_err(|err| Error::io("could not record the cluster's owner", err))?;
        self.account.chown(self.root())?;
        self.account.chown(self.socket())
    }

    /// Fills the data directory from the template (or `initdb`).
    fn prepare(&self, template: Option<&Path>) -> Result<()> {
        self.claim()?;
        match template {
            Some(template) => copy_tree(template, &self.data_dir, self.account.owner()),
            None => {
                fs::create_dir(&self.data_dir).map_err(|err| {
                    Error::io(format!("could not create {}", self.data_dir.display()), err)
                })?;
                self.account.chown(&self.data_dir)?;
                initdb(&self.tools, &self.account, &self.data_dir)
            }
        }
    }

    /// Fills the data directory with `pg_basebackup -R` from the server whose socket is in
    /// `primary_socket`, through the new physical slot `slot`: the new cluster starts as its
    /// streaming replica (a hot standby).
    fn base_backup(&self, primary_socket: &Path, slot: &str) -> Result<()> {
        self.claim()?;
        let mut command = self.account.command(&self.tools.pg_basebackup);
        command
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-h")
            .arg(primary_socket)
            .args([
                "-p", "5432", "-U", "postgres", "-R", "-X", "stream", "-C", "-S", slot,
            ])
            .args(["--checkpoint=fast", "--no-sync"]);
        run(command, INSTALL_HINT).map(drop)
    }

    /// Starts `postgres` and waits until it accepts connections.
    fn launch(&mut self) -> Result<()> {
        let log_path = self.log_file();
        let log = File::create(&log_path)
            .map_err(|err| Error::io(format!("could not create {}", log_path.display()), err))?;
        let log_copy = log
            .try_clone()
            .map_err(|err| Error::io("could not duplicate the server log handle", err))?;
        let mut command = self.account.command(&self.tools.postgres);
        command
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-k")
            .arg(self.socket())
            .args(SERVER_ARGS)
            .args(self.settings.iter().flat_map(|setting| ["-c", setting]))
            .stdout(log_copy)
            .stderr(log);
        let postmaster = command.spawn().map_err(|err| {
            spawn_error(
                &self.tools.postgres.display().to_string(),
                err,
                INSTALL_HINT,
            )
        })?;
        let postmaster = self.postmaster.insert(postmaster);
        let data_dir = &self.data_dir;
        let Err(status) = wait_ready(postmaster, START_TIMEOUT, "ready", || is_ready(data_dir))
        else {
            return Ok(());
        };
        Err(Error::ServerStart {
            status,
            log: fs::read_to_string(&log_path)
                .unwrap_or_else(|err| format!("(could not read {}: {err})", log_path.display())),
            hint: INSTALL_HINT,
        })
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Whether the server in `data_dir` accepts connections: the status line of
/// `postmaster.pid` says `ready` (PostgreSQL 10+).
fn is_ready(data_dir: &Path) -> bool {
    fs::read_to_string(data_dir.join("postmaster.pid")).is_ok_and(|pid_file| {
        pid_file
            .lines()
            .nth(7)
            .is_some_and(|status| status.trim() == "ready")
    })
}
