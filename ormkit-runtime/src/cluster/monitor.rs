//! The monitor: every probe interval it samples the primary's WAL position and asks each
//! replica how far it has replayed, and puts replicas in or out of the rotation.
//!
//! Probes use connections of their own (never the pools', so a busy pool cannot starve
//! them) and the simple query protocol (no prepared statement, so they also work through a
//! transaction-mode pooler); each waits at most the probe timeout.

use super::lsn::Lsn;
use super::replica::Replica;
use super::Core;
use futures::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{Connection as _, Row as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The monitor's connections: the primary's, then each replica's (`None` until connected,
/// and again after a failure).
pub(crate) struct Probes {
    primary: Option<PgConnection>,
    replicas: Vec<Option<PgConnection>>,
}

impl Probes {
    pub(crate) fn new(replicas: usize) -> Self {
        Probes {
            primary: None,
            replicas: (0..replicas).map(|_| None).collect(),
        }
    }
}

/// Probes every probe interval, for as long as the cluster's handles live (the task is
/// aborted with the last one).
pub(crate) async fn run(core: Arc<Core>, mut probes: Probes) {
    let mut tick = tokio::time::interval(core.options.probe_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        probe(&core, &mut probes).await;
    }
}

/// One round: the primary first, so that each replica is compared with a position sampled
/// just before it was asked.
pub(crate) async fn probe(core: &Core, probes: &mut Probes) {
    let timeout = core.options.probe_timeout;
    let (number, at) = core.clock.begin();
    let primary = core.primary.connect_options();
    match ask(&mut probes.primary, &primary, timeout, PRIMARY_SQL).await {
        Ok(row) => match row
            .first()
            .and_then(|lsn| lsn.as_deref()?.parse::<Lsn>().ok())
        {
            Some(lsn) => core.clock.record(number, at, lsn),
            None => {
                tracing::debug!(target: "ormkit::cluster", ?row, "unexpected primary probe answer")
            }
        },
        Err(err) => {
            tracing::debug!(target: "ormkit::cluster", %err, "the primary did not answer its probe");
        }
    }
    for (i, replica) in core.replicas.iter().enumerate() {
        let options = replica.pool.connect_options();
        match ask(&mut probes.replicas[i], &options, timeout, REPLICA_SQL).await {
            Ok(row) => judge(core, replica, &row),
            Err(err) => replica.leave(format!("unreachable: {err}")),
        }
    }
}

const PRIMARY_SQL: &str = "SELECT pg_catalog.pg_current_wal_insert_lsn()::text";
const REPLICA_SQL: &str =
    "SELECT pg_catalog.pg_is_in_recovery()::text, pg_catalog.pg_last_wal_replay_lsn()::text";

/// Puts `replica` in or out of the rotation from its answer to [`REPLICA_SQL`].
fn judge(core: &Core, replica: &Replica, row: &[Option<String>]) {
    let in_recovery = row.first().and_then(Option::as_deref) == Some("true");
    let replayed = row
        .get(1)
        .and_then(|lsn| lsn.as_deref()?.parse::<Lsn>().ok());
    let Some(replayed) = replayed.filter(|_| in_recovery) else {
        replica.leave("it is not in recovery: promoted, or not a replica".into());
        return;
    };
    let lag = core.clock.lag(replayed, Instant::now());
    let bytes = core.clock.newest().map(|s| s.lsn.bytes_since(replayed));
    replica.observed(replayed, lag, bytes);
    let max = core.options.max_lag;
    match lag {
        Some(lag) if lag > max => replica.leave(format!(
            "its replay lag of {} ms exceeds max_lag ({} ms)",
            lag.as_millis(),
            max.as_millis()
        )),
        Some(_) => replica.join(),
        // Without a primary sample the lag is unknown: keep what the last probe decided.
        None => {}
    }
}

/// Runs `sql` (one row of text columns) on the probe connection in `slot`, connecting it
/// first if needed; a failure (or an answer later than `timeout`) drops the connection.
async fn ask(
    slot: &mut Option<PgConnection>,
    options: &PgConnectOptions,
    timeout: Duration,
    sql: &'static str,
) -> Result<Vec<Option<String>>, String> {
    let asked = tokio::time::timeout(timeout, async {
        if slot.is_none() {
            let options = options.clone().application_name("ormkit_cluster_monitor");
            *slot = Some(PgConnection::connect_with(&options).await?);
        }
        let conn = slot.as_mut().expect("connected above");
        let row = fetch_row(conn, sql).await?;
        (0..row.len())
            .map(|i| row.try_get::<Option<String>, _>(i))
            .collect::<Result<Vec<_>, sqlx::Error>>()
    })
    .await;
    let outcome = match asked {
        Ok(Ok(row)) => return Ok(row),
        Ok(Err(err)) => err.to_string(),
        Err(_) => format!("no answer within {} ms", timeout.as_millis()),
    };
    if let Some(conn) = slot.take() {
        // Closed in the background: a connection that stopped answering could hang a close.
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
        });
    }
    Err(outcome)
}

/// The one row of `sql`, by the simple query protocol. Boxed, and checked `Send` here with
/// concrete lifetimes (see `statement::exec::Fetch`): the monitor is a spawned task.
fn fetch_row<'c>(
    conn: &'c mut PgConnection,
    sql: &'static str,
) -> BoxFuture<'c, Result<PgRow, sqlx::Error>> {
    sqlx::Executor::fetch_one(conn, sqlx::raw_sql(sql))
}
