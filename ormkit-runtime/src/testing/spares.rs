//! Spare databases: clones of a template made ahead of time by a background thread, so that
//! a test's setup is a rename (one catalog update) instead of a `CREATE DATABASE` (a copy of
//! the template, which costs 100–650 ms on a server with `fsync = on`).
//!
//! - A spare of template `ormkit_tpl_<digest>` is `ormkit_spare_<digest>_<unix secs>_<pid>_<n>`.
//!   A test claims one with `ALTER DATABASE … RENAME TO ormkit_test_…`: the rename fails for
//!   every claimer but one, so processes never share a spare. Spares stay on the server after
//!   the process exits, for the next run of any test binary with the same migrations.
//! - A passing test's database is renamed `ormkit_trash_…` and dropped by the thread, off the
//!   test's path; trash left by a process that exited first is dropped by the next one.
//! - The thread keeps [`SPARES_VAR`] spares (default 8) per template in use, creating one
//!   at a time, and drops the spares of other templates once they are an hour old (another
//!   branch's run may still want them until then).
//!
//! The thread holds two connections to the server: one answers the tests' claims and
//! discards (each a rename: one commit, no connection set up on the test's path), the other
//! makes spares and drops trash, so a claim never waits behind a `CREATE DATABASE`.

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use sqlx::PgConnection;
use tokio::sync::{mpsc, oneshot, Notify};

use super::server::{close, Server};
use super::spare_sql;

/// How many spares to keep per template: a number, `0` turns spares off.
pub const SPARES_VAR: &str = "ORMKIT_TEST_SPARES";

const DEFAULT_SPARES: usize = 8;

/// The number of spares to keep, from [`SPARES_VAR`].
pub(crate) fn wanted() -> Result<usize, String> {
    match std::env::var(SPARES_VAR) {
        Err(_) => Ok(DEFAULT_SPARES),
        Ok(text) => text.trim().parse().map_err(|_| {
            format!("{SPARES_VAR}={text:?} is not a number of spare databases (0 turns them off)")
        }),
    }
}

/// What a test asks of the thread.
enum Request {
    Claim {
        template: String,
        name: String,
        comment: String,
        reply: oneshot::Sender<Result<bool, String>>,
    },
    Discard {
        name: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// The templates to keep spares of, and how many.
struct Wanted {
    templates: BTreeSet<String>,
    spares: usize,
}

struct Worker {
    requests: mpsc::UnboundedSender<Request>,
    wanted: Mutex<Wanted>,
    /// Wakes the thread's spare-making side (a claim, a discard, a new template).
    wake: Notify,
}

static WORKER: OnceLock<Worker> = OnceLock::new();

/// Makes sure this process's background thread keeps `spares` spares of `template` on
/// `server` (the one server of this process), and drops trash.
pub(crate) fn keep_ready(server: &'static Server, template: &str, spares: usize) {
    let mut receiver = None;
    let worker = WORKER.get_or_init(|| {
        let (requests, requests_rx) = mpsc::unbounded_channel();
        receiver = Some(requests_rx);
        Worker {
            requests,
            wanted: Mutex::new(Wanted {
                templates: BTreeSet::new(),
                spares,
            }),
            wake: Notify::new(),
        }
    });
    let added = worker
        .wanted
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .templates
        .insert(template.to_owned());
    if added {
        worker.wake.notify_one();
    }
    if let Some(requests) = receiver {
        let spawned = std::thread::Builder::new()
            .name("ormkit-test-spares".into())
            .spawn(move || run(server, worker, requests));
        if let Err(err) = spawned {
            eprintln!("ormkit::test: no spare databases (cannot start a thread: {err})");
        }
    }
}

/// Renames a spare of `template` to `name` (with `comment`); whether one was ready.
pub(crate) async fn claim(template: &str, name: &str, comment: &str) -> Result<bool, String> {
    let (reply, answer) = oneshot::channel();
    ask(Request::Claim {
        template: template.to_owned(),
        name: name.to_owned(),
        comment: comment.to_owned(),
        reply,
    })?;
    answer.await.map_err(|_| stopped())?
}

/// Hands a passed test's database to the thread: renamed to trash now, dropped later.
pub(crate) async fn discard(name: &str) -> Result<(), String> {
    let (reply, answer) = oneshot::channel();
    ask(Request::Discard {
        name: name.to_owned(),
        reply,
    })?;
    answer.await.map_err(|_| stopped())?
}

fn ask(request: Request) -> Result<(), String> {
    let worker = WORKER.get().ok_or_else(stopped)?;
    worker.requests.send(request).map_err(|_| stopped())?;
    worker.wake.notify_one();
    Ok(())
}

fn stopped() -> String {
    "the spare-database thread is not running".to_owned()
}

/// The thread: answers requests and makes spares at the same time, on a runtime of its own.
fn run(
    server: &'static Server,
    worker: &'static Worker,
    requests: mpsc::UnboundedReceiver<Request>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("ormkit::test: no spare databases (no runtime: {err})");
            return;
        }
    };
    runtime.block_on(async {
        tokio::join!(serve(server, requests), replenish(server, worker));
    });
}

/// Answers claims and discards in order, on one connection (made again after a failure).
async fn serve(server: &'static Server, mut requests: mpsc::UnboundedReceiver<Request>) {
    let mut admin: Option<PgConnection> = None;
    while let Some(request) = requests.recv().await {
        let conn = match admin.as_mut() {
            Some(conn) => Ok(conn),
            None => server.admin().await.map(|conn| admin.insert(conn)),
        };
        let failed = match (request, conn) {
            (Request::Claim { reply, .. }, Err(err)) => {
                let _ = reply.send(Err(err));
                true
            }
            (Request::Discard { reply, .. }, Err(err)) => {
                let _ = reply.send(Err(err));
                true
            }
            (
                Request::Claim {
                    template,
                    name,
                    comment,
                    reply,
                },
                Ok(conn),
            ) => {
                let claimed = spare_sql::claim(conn, &template, &name, &comment).await;
                let failed = claimed.is_err();
                let _ = reply.send(claimed);
                failed
            }
            (Request::Discard { name, reply }, Ok(conn)) => {
                let discarded = spare_sql::discard(conn, &name).await;
                let failed = discarded.is_err();
                let _ = reply.send(discarded);
                failed
            }
        };
        if failed {
            if let Some(conn) = admin.take() {
                close(conn).await;
            }
        }
    }
}

/// Makes spares and drops trash, one step at a time; waits for a wake-up (or half a second)
/// when there is nothing to do. Reports its first failure on stderr (tests then clone for
/// themselves).
async fn replenish(server: &'static Server, worker: &'static Worker) {
    let mut admin: Option<PgConnection> = None;
    let mut swept = false;
    let mut reported = false;
    loop {
        let woken = worker.wake.notified();
        let (templates, spares) = {
            let wanted = worker.wanted.lock().unwrap_or_else(|e| e.into_inner());
            let templates: Vec<String> = wanted.templates.iter().cloned().collect();
            (templates, wanted.spares)
        };
        let step = async {
            let conn = match admin.as_mut() {
                Some(conn) => conn,
                None => admin.insert(server.admin().await?),
            };
            if !swept {
                spare_sql::sweep_stale(conn, &templates).await?;
                swept = true;
            }
            spare_sql::step(conn, server, &templates, spares).await
        }
        .await;
        match step {
            Ok(true) => continue,
            Ok(false) => {}
            Err(err) => {
                if let Some(conn) = admin.take() {
                    close(conn).await;
                }
                if !reported {
                    eprintln!("ormkit::test: spare databases: {err}");
                    reported = true;
                }
            }
        }
        tokio::select! {
            () = woken => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}
