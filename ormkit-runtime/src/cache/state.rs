//! What every part of one cache shares: the generation and stripe counters that decide
//! whether an entry may still be served, the listener's status, and the barriers of `sync`.
//!
//! An entry records the counters it was loaded under (read *before* its statement was sent);
//! it is served only while they are unchanged. An invalidation bumps a counter *after* the
//! write has committed, so any entry that could predate the write dies at that instant, even
//! one whose load is still in flight: no lock and no ordering with moka's insert is needed.

use super::invalidation::{barrier_payload, parse, InvalidationStrategy, Message, Mode};
use super::stats::{bump, Counters};
use crate::error::{OrmkitError, Result};
use futures::future::BoxFuture;
use sqlx::PgPool;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{oneshot, Notify};

/// Per-table counters (for the query cache): a fixed number of stripes.
const TABLE_STRIPES: usize = 256;

/// A typed store, seen from the shared state.
pub(crate) trait Store: Send + Sync {
    fn invalidate_all(&self);
    fn entry_count(&self) -> u64;
    fn run_pending_tasks(&self) -> BoxFuture<'_, ()>;
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// See [`State::mark`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteMark {
    events: u64,
    generation: u64,
    pub(crate) at: Instant,
}

/// The counters a load started under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) generation: u64,
    pub(crate) key: u64,
    pub(crate) table: u64,
}

impl Stamp {
    /// Whether a load stamped `self` started no earlier than a read stamped `start`: then
    /// every invalidation that read must respect happened before the load's statement.
    pub(crate) fn covers(&self, start: &Stamp) -> bool {
        self.generation >= start.generation && self.key >= start.key && self.table >= start.table
    }
}

pub(crate) struct State {
    pub(crate) strategy: InvalidationStrategy,
    /// Where the listener connects and `sync` sends its barriers: the cache's pool, or a
    /// small pool on a direct URL when that pool goes through a transaction-mode pooler.
    pub(crate) pool: PgPool,
    pub(crate) channel: String,
    pub(crate) application_name: String,
    pub(crate) counters: Arc<Counters>,
    /// Tells the listener to drop its connection and subscribe again.
    pub(crate) kick: Notify,
    instance: u64,
    generation: AtomicU64,
    stripes: Box<[AtomicU64]>,
    tables: Box<[AtomicU64]>,
    key_events: AtomicU64,
    live: AtomicBool,
    barriers: Mutex<HashMap<u64, oneshot::Sender<()>>>,
    next_barrier: AtomicU64,
    entities: HashMap<TypeId, Arc<dyn Store>>,
    extra: Vec<Arc<dyn Store>>,
}

impl State {
    pub(crate) fn new(
        strategy: InvalidationStrategy,
        pool: PgPool,
        (channel, application_name): (String, String),
        stripes: usize,
        entities: HashMap<TypeId, Arc<dyn Store>>,
        extra: Vec<Arc<dyn Store>>,
        counters: Arc<Counters>,
    ) -> State {
        let counters_of = |n: usize| (0..n).map(|_| AtomicU64::new(0)).collect();
        State {
            strategy,
            pool,
            channel,
            application_name,
            counters,
            kick: Notify::new(),
            instance: rand::random(),
            generation: AtomicU64::new(0),
            stripes: counters_of(stripes.next_power_of_two()),
            tables: counters_of(TABLE_STRIPES),
            key_events: AtomicU64::new(0),
            live: AtomicBool::new(!strategy.is_strong()),
            barriers: Mutex::new(HashMap::new()),
            next_barrier: AtomicU64::new(0),
            entities,
            extra,
        }
    }

    /// Whether entries may be served: always for `eventual`; for `strong`, only while the
    /// listener is subscribed.
    pub(crate) fn serving(&self) -> bool {
        self.live.load(SeqCst)
    }

    pub(crate) fn stripe_of(&self, hash: u64) -> usize {
        (hash as usize) & (self.stripes.len() - 1)
    }

    pub(crate) fn table_of(table: &str) -> usize {
        (super::invalidation::fnv1a(&[table.as_bytes()]) as usize) % TABLE_STRIPES
    }

    pub(crate) fn stamp(&self, stripe: usize, table: usize) -> Stamp {
        Stamp {
            generation: self.generation.load(SeqCst),
            key: self.stripes[stripe].load(SeqCst),
            table: self.tables[table].load(SeqCst),
        }
    }

    /// Whether an entry loaded under `generation` and stripe counter `epoch` is still good.
    pub(crate) fn key_current(&self, generation: u64, stripe: usize, epoch: u64) -> bool {
        self.generation.load(SeqCst) == generation && self.stripes[stripe].load(SeqCst) == epoch
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(SeqCst)
    }

    pub(crate) fn table_epoch(&self, table: usize) -> u64 {
        self.tables[table].load(SeqCst)
    }

    /// Taken before a write is sent: a write-through of its row is allowed only if no key
    /// invalidation and no flush happened in between (it could not yet know which stripe to
    /// watch).
    pub(crate) fn mark(&self) -> WriteMark {
        WriteMark {
            events: self.key_events.load(SeqCst),
            generation: self.generation.load(SeqCst),
            at: Instant::now(),
        }
    }

    /// Whether nothing happened since `mark` that could make its row stale (read after the
    /// stamp the row will be stored under).
    pub(crate) fn unchanged_since(&self, mark: &WriteMark, stamp: &Stamp) -> bool {
        self.serving()
            && stamp.generation == mark.generation
            && self.key_events.load(SeqCst) == mark.events
    }

    pub(crate) fn invalidate_key(&self, hash: u64, table: &str) {
        // The event count first: a write-through that sees the stripe bumped sees it too.
        self.key_events.fetch_add(1, SeqCst);
        self.stripes[self.stripe_of(hash)].fetch_add(1, SeqCst);
        self.tables[Self::table_of(table)].fetch_add(1, SeqCst);
        bump(&self.counters.invalidations);
    }

    pub(crate) fn invalidate_table(&self, table: &str) {
        self.tables[Self::table_of(table)].fetch_add(1, SeqCst);
        bump(&self.counters.invalidations);
    }

    /// Drops everything: entries loaded before this call are never served again.
    pub(crate) fn flush(&self) {
        self.generation.fetch_add(1, SeqCst);
        for store in self.entities.values().chain(&self.extra) {
            store.invalidate_all();
        }
        bump(&self.counters.flushes);
    }

    /// The listener lost its subscription: stop serving, then flush.
    pub(crate) fn went_down(&self) {
        if self.live.swap(false, SeqCst) {
            bump(&self.counters.disconnects);
        }
        self.flush();
        self.release_barriers();
    }

    /// The listener is subscribed again: flush what was loaded while notifications could
    /// have been missed, then serve.
    pub(crate) fn went_live(&self) {
        self.flush();
        self.live.store(true, SeqCst);
        self.release_barriers();
    }

    /// Answers every waiting `sync`: after a flush nothing older than it is served.
    fn release_barriers(&self) {
        let waiting = std::mem::take(&mut *self.barriers.lock().unwrap_or_else(|e| e.into_inner()));
        for (_, done) in waiting {
            let _ = done.send(());
        }
    }

    /// Applies one notification payload.
    pub(crate) fn handle(&self, payload: &str) {
        match parse(payload) {
            Message::Key { hash, table } => self.invalidate_key(hash, table),
            Message::Table { table } => self.invalidate_table(table),
            Message::Barrier { instance, n } if instance == self.instance => {
                let done = self
                    .barriers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&n);
                if let Some(done) = done {
                    let _ = done.send(());
                }
            }
            Message::Barrier { .. } => {}
            Message::Unknown => self.flush(),
        }
    }

    /// Waits until every notification committed before this call has been applied.
    pub(crate) async fn sync(&self) -> Result<()> {
        let Mode::Strong { timeout, .. } = self.strategy.mode else {
            return Ok(());
        };
        if !self.serving() {
            return Ok(()); // nothing is served from the cache until it re-subscribes
        }
        let n = self.next_barrier.fetch_add(1, SeqCst);
        let (done, wait) = oneshot::channel();
        self.barriers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(n, done);
        let forget = || {
            self.barriers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&n);
        };
        if !self.serving() {
            forget(); // went down between the check and the registration
            return Ok(());
        }
        crate::stats::record_statement();
        let round_trip = async {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(&self.channel)
                .bind(barrier_payload(self.instance, n))
                .execute(&self.pool)
                .await?;
            // Answered by the barrier itself, or by a flush (lost or re-made subscription).
            let _ = wait.await;
            Ok::<_, sqlx::Error>(())
        };
        // The whole round trip, sending included (a busy pool must not stretch it).
        match tokio::time::timeout(timeout, round_trip).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => {
                forget();
                Err(err.into())
            }
            Err(_) => {
                forget();
                Err(OrmkitError::Cache {
                    message: format!(
                        "no barrier round trip through the listener on channel {:?} within {timeout:?}",
                        self.channel
                    ),
                })
            }
        }
    }

    pub(crate) fn entity_store(&self, ty: TypeId) -> Option<Arc<dyn Store>> {
        self.entities.get(&ty).cloned()
    }

    pub(crate) fn entries(&self) -> u64 {
        self.entities.values().map(|s| s.entry_count()).sum()
    }

    pub(crate) async fn run_pending_tasks(&self) {
        for store in self.entities.values().chain(&self.extra) {
            store.run_pending_tasks().await;
        }
    }
}
