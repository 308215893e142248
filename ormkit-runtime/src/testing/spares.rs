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

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Executor as _, PgConnection};

use super::server::{close, drop_database, Server};
use ormkit_schema::quote_ident;

/// How many spares to keep per template: a number, `0` turns spares off.
pub const SPARES_VAR: &str = "ORMKIT_TEST_SPARES";

const DEFAULT_SPARES: usize = 8;

/// Spares of other templates older than this are dropped.
const STALE_AFTER: Duration = Duration::from_secs(3600);

const SPARE: &str = "ormkit_spare_";
const TRASH: &str = "ormkit_trash_";

/// The number of spares to keep, from [`SPARES_VAR`].
pub(crate) fn wanted() -> Result<usize, String> {
    match std::env::var(SPARES_VAR) {
        Err(_) => Ok(DEFAULT_SPARES),
        Ok(text) => text.trim().parse().map_err(|_| {
            format!("{SPARES_VAR}={text:?} is not a number of spare databases (0 turns them off)")
        }),
    }
}

/// `ormkit_spare_<digest>_` for `template` (`ormkit_tpl_<digest>`).
fn prefix(template: &str) -> String {
    let digest = template.strip_prefix("ormkit_tpl_").unwrap_or(template);
    format!("{SPARE}{digest}_")
}

/// Renames a spare of `template` to `name` (with `comment` on it); whether there was one.
pub(crate) async fn claim(
    admin: &mut PgConnection,
    template: &str,
    name: &str,
    comment: &str,
) -> Result<bool, String> {
    let spares: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database
         WHERE starts_with(datname, $1) AND NOT datistemplate ORDER BY datname LIMIT 8",
    )
    .bind(prefix(template))
    .fetch_all(&mut *admin)
    .await
    .map_err(|err| format!("looking for spare databases: {err}"))?;
    for spare in spares {
        // One implicit transaction: the rename and the comment commit together.
        let sql = format!(
            "ALTER DATABASE {spare} RENAME TO {name}; COMMENT ON DATABASE {name} IS {comment}",
            spare = quote_ident(&spare),
            name = quote_ident(name),
            comment = literal(comment),
        );
        match admin.execute(&*sql).await {
            Ok(_) => {
                wake();
                return Ok(true);
            }
            // Claimed by another test meanwhile (gone, or being renamed).
            Err(sqlx::Error::Database(db))
                if matches!(db.code().as_deref(), Some("3D000" | "55006" | "40001")) => {}
            Err(err) => return Err(format!("claiming spare database {spare}: {err}")),
        }
    }
    Ok(false)
}

/// `text` as a SQL string literal.
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Renames a passed test's database `name` to trash for the background thread to drop;
/// drops it at once when it cannot be renamed (a session still on it).
pub(crate) async fn discard(admin: &mut PgConnection, name: &str) -> Result<(), String> {
    let suffix = name.strip_prefix("ormkit_test_").unwrap_or(name);
    let trash = format!("{TRASH}{suffix}");
    let renamed = admin
        .execute(&*format!(
            "ALTER DATABASE {} RENAME TO {}",
            quote_ident(name),
            quote_ident(&trash)
        ))
        .await;
    if renamed.is_ok() {
        wake();
        return Ok(());
    }
    drop_database(admin, name).await
}

/// What the background thread is asked to do.
struct Wanted {
    templates: BTreeSet<String>,
    spares: usize,
    /// Bumped by every claim and discard, to wake the thread.
    kicks: u64,
}

struct Worker {
    wanted: Mutex<Wanted>,
    wake: Condvar,
}

static WORKER: OnceLock<Worker> = OnceLock::new();

fn wake() {
    if let Some(worker) = WORKER.get() {
        worker
            .wanted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .kicks += 1;
        worker.wake.notify_one();
    }
}

/// Makes sure this process's background thread keeps `spares` spares of `template` on
/// `server` (the one server of this process) and drops trash.
pub(crate) fn keep_ready(server: &'static Server, template: &str, spares: usize) {
    let mut started = false;
    let worker = WORKER.get_or_init(|| {
        started = true;
        Worker {
            wanted: Mutex::new(Wanted {
                templates: BTreeSet::new(),
                spares,
                kicks: 0,
            }),
            wake: Condvar::new(),
        }
    });
    {
        let mut wanted = worker.wanted.lock().unwrap_or_else(|e| e.into_inner());
        wanted.templates.insert(template.to_owned());
        wanted.kicks += 1;
    }
    worker.wake.notify_one();
    if started {
        let spawned = std::thread::Builder::new()
            .name("ormkit-test-spares".into())
            .spawn(move || run(server, worker));
        if let Err(err) = spawned {
            eprintln!("ormkit::test: no spare databases (cannot start a thread: {err})");
        }
    }
}

/// The background thread: one step at a time (a spare created, or a database dropped);
/// sleeps when there is nothing to do until a claim or a discard wakes it.
fn run(server: &'static Server, worker: &'static Worker) {
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
    let mut admin: Option<PgConnection> = None;
    let mut swept = false;
    let mut reported = false;
    loop {
        let (templates, spares, kicks) = {
            let wanted = worker.wanted.lock().unwrap_or_else(|e| e.into_inner());
            let templates: Vec<String> = wanted.templates.iter().cloned().collect();
            (templates, wanted.spares, wanted.kicks)
        };
        let step = runtime.block_on(async {
            let conn = match admin.as_mut() {
                Some(conn) => conn,
                None => admin.insert(server.admin().await?),
            };
            if !swept {
                sweep_stale(conn, &templates).await?;
                swept = true;
            }
            step(conn, &templates, spares).await
        });
        match step {
            Ok(true) => continue,
            Ok(false) => {}
            Err(err) => {
                if let Some(conn) = admin.take() {
                    runtime.block_on(close(conn));
                }
                if !reported {
                    eprintln!("ormkit::test: spare databases: {err}");
                    reported = true;
                }
            }
        }
        let wanted = worker.wanted.lock().unwrap_or_else(|e| e.into_inner());
        let _unused = worker
            .wake
            .wait_timeout_while(wanted, Duration::from_millis(500), |w| w.kicks == kicks);
    }
}

/// Creates one missing spare, else drops one trash database; whether it did anything.
async fn step(
    admin: &mut PgConnection,
    templates: &[String],
    spares: usize,
) -> Result<bool, String> {
    let sql = |err: sqlx::Error| err.to_string();
    for template in templates {
        let prefix = prefix(template);
        let have: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)")
                .bind(&prefix)
                .fetch_one(&mut *admin)
                .await
                .map_err(sql)?;
        if usize::try_from(have).unwrap_or(0) < spares {
            let name = spare_name(&prefix);
            admin
                .execute(&*format!(
                    "CREATE DATABASE {} TEMPLATE {}",
                    quote_ident(&name),
                    quote_ident(template)
                ))
                .await
                .map_err(|err| format!("creating spare {name} from {template}: {err}"))?;
            return Ok(true);
        }
    }
    let trash: Option<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1) LIMIT 1",
    )
    .bind(TRASH)
    .fetch_optional(&mut *admin)
    .await
    .map_err(sql)?;
    match trash {
        Some(name) => {
            drop_database(admin, &name).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// `<prefix><unix secs>_<pid>_<n>`: unique, and dated for [`sweep_stale`].
fn spare_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}{}_{}_{}",
        unix_secs(SystemTime::now()),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn unix_secs(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Drops the spares of templates other than `templates` made more than an hour ago.
async fn sweep_stale(admin: &mut PgConnection, templates: &[String]) -> Result<(), String> {
    let keep: Vec<String> = templates.iter().map(|t| prefix(t)).collect();
    let spares: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)")
            .bind(SPARE)
            .fetch_all(&mut *admin)
            .await
            .map_err(|err| err.to_string())?;
    let cutoff = unix_secs(SystemTime::now()).saturating_sub(STALE_AFTER.as_secs());
    for spare in spares {
        if keep.iter().any(|k| spare.starts_with(k.as_str())) {
            continue;
        }
        // `ormkit_spare_<digest>_<secs>_<pid>_<n>`
        let made = spare[SPARE.len()..]
            .split('_')
            .nth(1)
            .and_then(|secs| secs.parse::<u64>().ok());
        if made.is_some_and(|made| made < cutoff) {
            drop_database(admin, &spare).await?;
        }
    }
    Ok(())
}
