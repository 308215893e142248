//! Who a migration waits for: while a script runs, a second connection asks PostgreSQL
//! (`pg_blocking_pids`, `pg_stat_activity`, `pg_locks`) which sessions hold the locks the
//! migration's backend is waiting for, so that a wait is reported as it happens and a lock
//! timeout names the sessions at fault.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;
use tokio::time::Instant;

/// A session holding a lock a migration waits for, as `pg_stat_activity` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    /// Its backend's process id (`pg_terminate_backend(pid)` ends it).
    pub pid: i32,
    /// Its `application_name` (empty when it set none).
    pub application_name: String,
    /// Its state: `active`, `idle in transaction`, … (`None` when not visible to this user).
    pub state: Option<String>,
    /// Its current or last query (`<insufficient privilege>` for another user's session
    /// without `pg_read_all_stats`).
    pub query: Option<String>,
    /// When its transaction started, which is when it can have taken the lock at the
    /// earliest; when it connected, for a session outside a transaction.
    pub since: Option<DateTime<Utc>>,
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} (application_name {:?}",
            self.pid, self.application_name
        )?;
        if let Some(state) = &self.state {
            write!(f, ", {state}")?;
        }
        if let Some(since) = self.since {
            write!(f, " since {}", since.format("%Y-%m-%d %H:%M:%S UTC"))?;
        }
        if let Some(query) = &self.query {
            let query = query.split_whitespace().collect::<Vec<_>>().join(" ");
            let shown: String = query.chars().take(QUERY_SHOWN).collect();
            let cut = if shown.len() < query.len() { "…" } else { "" };
            write!(f, ", query {shown:?}{cut}")?;
        }
        f.write_str(")")
    }
}

/// How much of a blocker's query a message shows.
const QUERY_SHOWN: usize = 200;

/// The blockers, `, `-separated, for messages.
pub(crate) fn list(blockers: &[Blocker]) -> String {
    if blockers.is_empty() {
        return "sessions that had ended or could not be seen before they were asked for"
            .to_owned();
    }
    blockers
        .iter()
        .map(Blocker::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A migration waiting for a lock, reported to [`Migrator::on_lock_wait`](super::Migrator::on_lock_wait)
/// while it waits and when its lock timeout ends an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockWait {
    /// `<version>_<name>`.
    pub migration: String,
    /// The attempt (1-based) that waits or timed out.
    pub attempt: u32,
    /// How long this attempt has run so far.
    pub waited: Duration,
    /// What the migration's backend waits for, e.g. `AccessExclusiveLock on items`.
    pub waiting_for: Option<String>,
    /// The sessions holding it.
    pub blockers: Vec<Blocker>,
    /// `None` while the attempt still waits; `Some(pause)` once its lock timeout ended it
    /// without effect (the transaction rolled back, or the statement was cancelled) and the
    /// migration runs again after `pause`.
    pub retry_in: Option<Duration>,
}

impl fmt::Display for LockWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = self.waiting_for.as_deref().unwrap_or("a lock");
        match self.retry_in {
            None => write!(
                f,
                "migration {} has waited {} ms for {what}, held by {}",
                self.migration,
                self.waited.as_millis(),
                list(&self.blockers)
            ),
            Some(pause) => write!(
                f,
                "migration {} timed out waiting for {what} (attempt {}), held by {}; nothing of \
                 it is applied; trying again in {} ms",
                self.migration,
                self.attempt,
                list(&self.blockers),
                pause.as_millis()
            ),
        }
    }
}

/// The callback of [`Migrator::on_lock_wait`](super::Migrator::on_lock_wait).
pub(crate) type WaitObserver = Arc<dyn Fn(&LockWait) + Send + Sync>;

/// What a poll saw: what the backend waits for and who holds it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    pub(crate) waiting_for: Option<String>,
    pub(crate) blockers: Vec<Blocker>,
}

/// How often a waiting migration is reported while it keeps waiting.
const REPORT_EVERY: Duration = Duration::from_secs(10);
/// The longest pause between polls.
const MAX_POLL: Duration = Duration::from_millis(500);
/// The shortest pause between polls.
const MIN_POLL: Duration = Duration::from_millis(5);

/// Watches the backend running a run's migrations from a connection of its own, opened on
/// the first poll (a migration that never waits never opens it).
pub(crate) struct Watch {
    options: PgConnectOptions,
    conn: Option<PgConnection>,
    /// The migration connection's backend pid.
    pid: i32,
    /// How often to poll: half the lock timeout (so that a timeout has been seen waiting),
    /// between [`MIN_POLL`] and [`MAX_POLL`].
    every: Duration,
    observer: Option<WaitObserver>,
    /// Set once the monitor could not connect or query; the run goes on unwatched.
    broken: bool,
}

impl Watch {
    pub(crate) fn new(
        options: &PgConnectOptions,
        pid: i32,
        lock_timeout: Duration,
        observer: Option<WaitObserver>,
    ) -> Watch {
        let every = match lock_timeout {
            Duration::ZERO => MAX_POLL,
            timeout => (timeout / 2).clamp(MIN_POLL, MAX_POLL),
        };
        Watch {
            options: options
                .clone()
                .application_name("ormkit-migrate-lock-monitor"),
            conn: None,
            pid,
            every,
            observer,
            broken: false,
        }
    }

    /// Runs `work` (a script on the watched connection), polling for blockers meanwhile;
    /// returns its output and the last blockers seen (empty if it never waited on a lock).
    pub(crate) async fn run<T>(
        &mut self,
        migration: &str,
        attempt: u32,
        work: impl Future<Output = T>,
    ) -> (T, Seen) {
        let started = Instant::now();
        let mut next_poll = started + self.every;
        let mut last_report: Option<Instant> = None;
        let mut seen = Seen::default();
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                output = &mut work => return (output, seen),
                () = tokio::time::sleep_until(next_poll), if !self.broken => {
                    if let Some(now) = self.poll().await.filter(|now| !now.blockers.is_empty()) {
                        seen = now;
                        let due = last_report.is_none_or(|at| at.elapsed() >= REPORT_EVERY);
                        if due {
                            last_report = Some(Instant::now());
                            self.report(&LockWait {
                                migration: migration.to_owned(),
                                attempt,
                                waited: started.elapsed(),
                                waiting_for: seen.waiting_for.clone(),
                                blockers: seen.blockers.clone(),
                                retry_in: None,
                            });
                        }
                    }
                    next_poll = Instant::now() + self.every;
                }
            }
        }
    }

    /// Reports `wait` to the observer and the log.
    pub(crate) fn report(&self, wait: &LockWait) {
        tracing::warn!(target: "ormkit::migrate", "{wait}");
        if let Some(observer) = &self.observer {
            observer(wait);
        }
    }

    /// Who blocks the watched backend right now; `None` when that cannot be read.
    async fn poll(&mut self) -> Option<Seen> {
        if self.conn.is_none() {
            match PgConnection::connect_with(&self.options).await {
                Ok(conn) => self.conn = Some(conn),
                Err(err) => return self.give_up(&err),
            }
        }
        let conn = self.conn.as_mut()?;
        match blockers_of(conn, self.pid).await {
            Ok(seen) => Some(seen),
            Err(err) => self.give_up(&err),
        }
    }

    fn give_up(&mut self, err: &sqlx::Error) -> Option<Seen> {
        tracing::warn!(
            target: "ormkit::migrate",
            "cannot watch the migration's locks (it runs on, unwatched): {err}"
        );
        self.broken = true;
        None
    }

    /// Closes the monitor connection, if one was opened.
    pub(crate) async fn close(self) {
        if let Some(conn) = self.conn {
            let _closed = conn.close().await;
        }
    }
}

/// The sessions blocking backend `pid`, and what it waits for. The lock manager is only
/// asked (`pg_blocking_pids`, `pg_locks`) while the backend waits on a lock.
async fn blockers_of(conn: &mut PgConnection, pid: i32) -> Result<Seen, sqlx::Error> {
    type Row = (
        i32,
        String,
        Option<String>,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.pid, COALESCE(a.application_name, ''), a.state, a.query,
                COALESCE(a.xact_start, a.backend_start),
                (SELECT l.mode || ' on ' || COALESCE(l.relation::pg_catalog.regclass::text,
                                                     l.locktype)
                 FROM pg_catalog.pg_locks l WHERE l.pid = $1 AND NOT l.granted LIMIT 1)
         FROM pg_catalog.pg_stat_activity a
         WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity w
                       WHERE w.pid = $1 AND w.wait_event_type = 'Lock')
           AND a.pid = ANY (pg_catalog.pg_blocking_pids($1))
         ORDER BY a.pid",
    )
    .bind(pid)
    .fetch_all(conn)
    .await?;
    let waiting_for = rows.first().and_then(|row| row.5.clone());
    let blockers = rows
        .into_iter()
        .map(|(pid, application_name, state, query, since, _)| Blocker {
            pid,
            application_name,
            state,
            query,
            since,
        })
        .collect();
    Ok(Seen {
        waiting_for,
        blockers,
    })
}
