//! [`Cluster`]: a router over a primary pool and replica pools, usable wherever a
//! [`Db`] is.
//!
//! ```ignore
//! let cluster = ormkit::Cluster::builder(primary_pool)
//!     .replica(replica_pool)
//!     .max_lag(Duration::from_secs(2))
//!     .build()
//!     .await?;
//! let users = Repository::<User>::new(&cluster);
//! users.update(patch).await?;              // the primary
//! let ada = users.get(ada_id).await?;      // the primary until a replica has replayed it
//! let all = User::query().fetch_all(&cluster).await?; // a replica
//! ```
//!
//! # Routing
//!
//! Every statement ormkit builds knows whether it only reads (generated statements by their
//! kind, checked queries by their plan). Reads outside a transaction go to a replica;
//! writes, locking reads (`FOR UPDATE`/`FOR SHARE`), [`Cluster::transaction`] and anything
//! else go to the primary. Raw SQL through the handle (it is a `sqlx::Executor`) goes to the
//! primary; [`Cluster::reader`] is the pool to send a read to explicitly. The Migrator and
//! the entity cache take the primary's pool ([`Cluster::primary`]).
//!
//! # Consistency
//!
//! **A caller never reads older than its own last write.** Each handle holds a token: a
//! WAL position at or after the commit of every write made through it. A replica serves the
//! handle's reads only once its `pg_last_wal_replay_lsn()` has passed the token; until then
//! they go to the primary. The token costs no round trip: the monitor samples the primary's
//! position every probe interval, and the first sample begun after a write covers it, so a
//! handle reads from the primary for about one probe interval (plus the replica's lag)
//! after it writes. [`Cluster::token`] returns it at once (one round trip when a write is not
//! yet covered), to hand to another handle or process: [`Cluster::session_after`].
//!
//! Handles made by `clone()` share a token (one caller, several tasks); handles made by
//! [`Cluster::session`] each have their own (one per request: reads of a request that wrote
//! nothing go to replicas whatever other requests wrote).
//!
//! Without a write of its own a handle reads whatever a replica in the rotation has: at most
//! `max_lag` behind the primary, as of the replica's last probe. A write whose future was
//! dropped before it returned may commit later than the token says.
//!
//! # Health
//!
//! Every probe interval (250 ms by default) the monitor asks each replica
//! `pg_last_wal_replay_lsn()` and measures its lag against the primary's sampled positions.
//! A replica that does not answer within the probe timeout, is no longer in recovery, or lags
//! by more than `max_lag` leaves the rotation, as does one on which a read just failed; reads
//! go to the other replicas or the primary, and a read that failed on a replica is sent to
//! the primary, so callers see no failure. It returns once a probe finds it reachable and
//! within `max_lag`. Gauges: `ormkit_replica_lag_seconds{replica}`,
//! `ormkit_replica_lag_bytes{replica}`, `ormkit_replica_in_rotation{replica}`; counter:
//! `ormkit_replica_fallbacks_total{replica}`; every statement's span and metrics carry
//! `pool = "primary" | "replica"`.

mod builder;
mod lsn;
mod monitor;
mod raw;
mod replica;
mod route;
mod session;
mod wal;

pub use builder::ClusterBuilder;
pub use lsn::{Lsn, ParseLsnError};
pub use replica::ReplicaStatus;
pub(crate) use route::StreamRoute;

use crate::db::{Db, PoolTag, Target};
use crate::error::Result;
use crate::statement::{One, Op, Statement, Subject};
use crate::transaction::{TransactionError, TransactionOptions, Tx};
use replica::Replica;
use session::{Session, WriteGuard};
use sqlx::PgPool;
use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;
use wal::WalClock;

/// A primary pool and replica pools behind one handle; see the [module documentation](self).
/// Cheap to clone (clones share the read-your-writes token); the monitor stops when the last
/// handle is dropped.
#[derive(Clone)]
pub struct Cluster {
    core: Arc<Core>,
    session: Arc<Session>,
    _monitor: Arc<Monitor>,
}

/// What every handle of one cluster shares.
pub(crate) struct Core {
    pub(crate) primary: PgPool,
    pub(crate) replicas: Box<[Replica]>,
    pub(crate) clock: WalClock,
    pub(crate) options: Options,
    /// The round robin's position.
    pub(crate) next: AtomicUsize,
}

/// The builder's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) max_lag: Duration,
    pub(crate) probe_interval: Duration,
    pub(crate) probe_timeout: Duration,
}

/// The monitor task, aborted when the last handle goes.
struct Monitor(tokio::task::JoinHandle<()>);

impl Drop for Monitor {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("replicas", &self.replicas())
            .field("options", &self.core.options)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// A builder over `primary`: add replicas, then `build().await`.
    pub fn builder(primary: PgPool) -> ClusterBuilder {
        ClusterBuilder::new(primary)
    }

    /// The primary's pool: for the Migrator, the entity cache, bulk writes and raw SQL.
    /// Writes sent to it directly are not in this handle's token: call
    /// [`token`](Self::token) after them when later reads must see them.
    pub fn primary(&self) -> &PgPool {
        &self.core.primary
    }

    /// The pool a read through this handle would go to now: a replica that may serve it, or
    /// the primary. For raw SQL that only reads.
    pub fn reader(&self) -> &PgPool {
        self.pick()
            .map_or(&self.core.primary, |replica| &replica.pool)
    }

    /// A handle with a token of its own, starting empty: its reads see its own writes, and
    /// do not wait for anyone else's.
    pub fn session(&self) -> Cluster {
        self.session_after(Lsn::ZERO)
    }

    /// A handle with a token of its own, starting at `token` (one that
    /// [`token`](Self::token) returned, maybe in another process): its reads never see the
    /// database older than that.
    pub fn session_after(&self, token: Lsn) -> Cluster {
        Cluster {
            core: Arc::clone(&self.core),
            session: Arc::new(Session::new(token)),
            _monitor: Arc::clone(&self._monitor),
        }
    }

    /// This handle's token: a WAL position at or after the commit of every write made through
    /// it that has returned. Asks the primary (one round trip) only when such a write is not
    /// yet covered by the monitor's samples.
    pub async fn token(&self) -> Result<Lsn> {
        if let Some(token) = self.session.token(&self.core.clock) {
            return Ok(token);
        }
        let pending = self.session.pending();
        let statement = Statement {
            sql: "SELECT pg_catalog.pg_current_wal_insert_lsn()::text".into(),
            args: Default::default(),
            table: Subject::Catalog("pg_current_wal_insert_lsn"),
            op: Op::Catalog,
        };
        let One((lsn,)) = Db::Pool(&self.core.primary)
            .run::<One<(String,)>>(statement)
            .await?;
        let lsn = lsn
            .parse::<Lsn>()
            .map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
        self.session.resolve(pending, lsn);
        Ok(self.session.token(&self.core.clock).unwrap_or(lsn))
    }

    /// What the router knows of each replica, as of its last probe.
    pub fn replicas(&self) -> Vec<ReplicaStatus> {
        self.core.replicas.iter().map(Replica::status).collect()
    }

    /// [`transaction`](crate::transaction) on the primary; this handle's token covers it once
    /// it returns.
    pub async fn transaction<R, E, F, Fut>(&self, f: F) -> Result<R, E>
    where
        E: TransactionError,
        F: FnMut(Tx) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        self.transaction_with(TransactionOptions::default(), f)
            .await
    }

    /// [`transaction_with`](crate::transaction_with) on the primary; this handle's token
    /// covers it once it returns.
    pub async fn transaction_with<R, E, F, Fut>(
        &self,
        options: TransactionOptions,
        f: F,
    ) -> Result<R, E>
    where
        E: TransactionError,
        F: FnMut(Tx) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let _write = self.writing();
        crate::transaction_with(&self.core.primary, options, f).await
    }

    /// Marks a write through this handle: when the guard drops, the token must cover it.
    pub(crate) fn writing(&self) -> WriteGuard<'_> {
        WriteGuard {
            session: &self.session,
            clock: &self.core.clock,
        }
    }

    pub(crate) fn primary_target<'a>(&self) -> Target<'_, 'a> {
        Target::pool(&self.core.primary, PoolTag::Primary)
    }
}
