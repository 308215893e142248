//! The smart pool's lane: connections ormkit keeps between its own statements.
//!
//! sqlx 0.8 answers every release of a pooled connection with a round trip: dropping a
//! `PoolConnection` spawns a task that sends `Sync` and waits for the server's answer before
//! the connection is idle again (sqlx-core's `return_to_pool`). For a point read that is a
//! second round trip and two more task wake-ups per statement, most of what separates a
//! pooled sqlx read from a prepared statement on one tokio-postgres connection.
//!
//! ormkit knows when its own statement ended cleanly: the executor read its result up to the
//! server's `ReadyForQuery` and called [`crate::db::Conn::finish`]. Such a connection is parked
//! here, still checked out of the sqlx pool, and the next ormkit statement on the pool takes
//! it without asking sqlx. A connection whose statement did not finish (an error, a future
//! dropped mid-statement) is never parked: it goes back through sqlx's release, which checks
//! it, exactly as before.
//!
//! Parked connections stay counted by the sqlx pool, so its `max_connections` holds and raw
//! sqlx on the same `PgPool` keeps working. The lane gives them back to sqlx
//! - when they idled `PoolConfig::check_idle_after` (sqlx then checks them before use, as the
//!   smart pool does for its own idle ones) or [`HAND_BACK_AFTER`], whichever is shorter, or
//!   were parked before a connection failure anywhere on the pool;
//! - when the pool has no idle connection and no room to open one (a caller of sqlx's
//!   `acquire` may be waiting for them): checked every [`TICK`] while anything is parked;
//! - when the pool is closed (so `PgPool::close` completes);
//! - after [`HAND_BACK_AFTER`] in the lane, so that sqlx's `max_lifetime` and its release
//!   check still reach every connection now and then.

#![cfg_attr(not(all(feature = "orm", feature = "smart-pool")), allow(dead_code))]

use crate::pool::health::PoolHealth;
use crate::pool::registry::PoolRegistry;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgConnectOptions;
use sqlx::{PgConnection, PgPool, Postgres};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How often a lane with parked connections looks whether the pool needs them back.
pub(crate) const TICK: Duration = Duration::from_millis(5);
/// How long a connection stays in the lane, however busy, before it goes back to sqlx once.
pub(crate) const HAND_BACK_AFTER: Duration = Duration::from_secs(10);
/// How often an empty lane looks whether its pool still exists.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// One pool's parked connections.
pub(crate) struct Lane {
    parked: Mutex<Parked>,
    /// Woken when the first connection is parked in an empty lane.
    wake: Notify,
    health: Arc<PoolHealth>,
    /// How long a connection may stay parked: the pool's `check_idle_after`, at most
    /// [`HAND_BACK_AFTER`] (so a pool its owner dropped is let go soon).
    idle_limit: Duration,
    /// The pool's connect options: gone when the pool is.
    options: Weak<PgConnectOptions>,
}

#[derive(Default)]
struct Parked {
    /// Most recently parked last.
    slots: Vec<Slot>,
    /// The pool, while anything is parked (its parked connections keep it open anyway).
    pool: Option<PgPool>,
}

struct Slot {
    conn: PoolConnection<Postgres>,
    parked_at: Instant,
    /// When the lane took the connection from sqlx.
    since: Instant,
}

/// A connection lent to one statement by a lane: parked again by [`Lent::park`] when the
/// statement finished cleanly; dropped, it goes back through sqlx's release.
pub(crate) struct Lent {
    conn: PoolConnection<Postgres>,
    since: Instant,
    lane: Arc<Lane>,
}

/// The pools that have a lane (only the registry's weak handle: the lane's watcher owns it).
static LANES: PoolRegistry<Weak<Lane>> = PoolRegistry::new();
/// Whether any lane was ever made: until then nothing is looked up.
static ANY: AtomicBool = AtomicBool::new(false);

/// Gives `pool` a lane and starts its watcher on the current tokio runtime.
pub(crate) fn register(pool: &PgPool, health: Arc<PoolHealth>, check_idle_after: Duration) {
    let lane = Arc::new(Lane {
        parked: Mutex::new(Parked::default()),
        wake: Notify::new(),
        health,
        idle_limit: check_idle_after.min(HAND_BACK_AFTER),
        options: Arc::downgrade(&pool.connect_options()),
    });
    LANES.insert(pool, Arc::new(Arc::downgrade(&lane)));
    ANY.store(true, Ordering::Release);
    tokio::spawn(watch(lane));
}

/// `pool`'s lane, if it has one.
pub(crate) fn of(pool: &PgPool) -> Option<Arc<Lane>> {
    if !ANY.load(Ordering::Acquire) {
        return None;
    }
    LANES.get(pool)?.upgrade()
}

/// How many connections `pool`'s lane holds parked.
pub(crate) fn parked(pool: &PgPool) -> usize {
    of(pool).map_or(0, |lane| lane.lock().slots.len())
}

/// Whether `pool` has neither an idle connection nor room to open one.
fn saturated(pool: &PgPool) -> bool {
    pool.num_idle() == 0 && pool.size() >= pool.options().get_max_connections()
}

impl Lane {
    fn lock(&self) -> MutexGuard<'_, Parked> {
        self.parked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently parked connection that may still be used without a check, if any.
    /// Connections that idled too long, or were parked before a connection failure on the
    /// pool, go back to sqlx (which checks them) on the way.
    pub(crate) fn take(self: &Arc<Self>, pool: &PgPool) -> Option<Lent> {
        let mut stale = Vec::new();
        let lent = {
            let mut parked = self.lock();
            if pool.is_closed() {
                stale.append(&mut parked.slots);
            }
            loop {
                let Some(slot) = parked.slots.pop() else {
                    break None;
                };
                let idle = slot.parked_at.elapsed();
                if idle >= self.idle_limit || self.health.released_before_last_failure(idle) {
                    stale.push(slot);
                    continue;
                }
                break Some(Lent {
                    conn: slot.conn,
                    since: slot.since,
                    lane: Arc::clone(self),
                });
            }
        };
        drop(stale);
        lent
    }

    /// Lends a connection just taken from sqlx, to be parked here when its statement ends.
    pub(crate) fn lend(self: &Arc<Self>, conn: PoolConnection<Postgres>) -> Lent {
        Lent {
            conn,
            since: Instant::now(),
            lane: Arc::clone(self),
        }
    }

    /// Gives back what the pool needs: everything when it is closed or saturated, else what
    /// idled past the limit.
    fn sweep(&self) {
        let given_back = {
            let mut parked = self.lock();
            let Some(pool) = parked.pool.clone() else {
                return;
            };
            let all = pool.is_closed() || saturated(&pool);
            let (back, keep): (Vec<Slot>, Vec<Slot>) = std::mem::take(&mut parked.slots)
                .into_iter()
                .partition(|slot| all || slot.parked_at.elapsed() >= self.idle_limit);
            parked.slots = keep;
            if parked.slots.is_empty() {
                parked.pool = None;
            }
            back
        };
        // Dropped outside the lock: each goes back through sqlx's release.
        drop(given_back);
    }
}

/// A lane's watcher: while anything is parked, gives back every [`TICK`] what the pool
/// needs; while nothing is, sleeps until something is, and ends once the pool is gone.
async fn watch(lane: Arc<Lane>) {
    loop {
        let empty = lane.lock().slots.is_empty();
        if empty {
            let woken = tokio::time::timeout(IDLE_CHECK, lane.wake.notified()).await;
            if woken.is_err() && lane.options.strong_count() == 0 {
                return;
            }
            continue;
        }
        tokio::time::sleep(TICK).await;
        lane.sweep();
    }
}

impl Lent {
    /// Parks the connection again after its statement ended cleanly, unless the pool is
    /// closed, has no connection to spare, or the connection's time in the lane is up: then
    /// it goes back to sqlx.
    pub(crate) fn park(self, pool: &PgPool) {
        let Lent { conn, since, lane } = self;
        if since.elapsed() >= HAND_BACK_AFTER || pool.is_closed() || saturated(pool) {
            return;
        }
        let first = {
            let mut parked = lane.lock();
            parked.slots.push(Slot {
                conn,
                parked_at: Instant::now(),
                since,
            });
            if parked.pool.is_none() {
                parked.pool = Some(pool.clone());
            }
            parked.slots.len() == 1
        };
        if first {
            lane.wake.notify_one();
        }
    }
}

impl Deref for Lent {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for Lent {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}
