//! [`Db`]: one handle for a pool, a connection or a transaction, so every query API takes the
//! same argument whatever it runs on.

use crate::cluster::Cluster;
use crate::error::Result;
use crate::pool::lane::Lent;
use crate::pool::tx::PoolTx;
use crate::transaction::Tx;
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use std::ops::{Deref, DerefMut};
use std::time::Duration;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

/// Where statements run: a pool (each statement on any connection), one connection (a plain
/// connection or a transaction, used by one statement at a time), or a [`Cluster`] (each
/// statement on its primary or one of its replicas).
///
/// `&PgPool`, `&mut PgConnection`, `&mut sqlx::Transaction`, `&Tx` and `&Cluster` all convert
/// into it, so `Repository::new(&pool)`, `Repository::new(&mut *conn)`,
/// `Repository::new(&tx)` and `Repository::new(&cluster)` work alike.
#[derive(Debug)]
pub enum Db<'a> {
    /// A pool.
    Pool(&'a PgPool),
    /// A borrowed connection (or an open sqlx transaction).
    Conn(Mutex<&'a mut PgConnection>),
    /// An ormkit transaction handle.
    Tx(&'a Tx),
    /// A primary with read replicas: reads go to a replica that has replayed the handle's
    /// own writes, everything else to the primary.
    Cluster(&'a Cluster),
}

impl<'a> From<&'a PgPool> for Db<'a> {
    fn from(pool: &'a PgPool) -> Self {
        Db::Pool(pool)
    }
}

impl<'a> From<&'a mut PgConnection> for Db<'a> {
    fn from(conn: &'a mut PgConnection) -> Self {
        Db::Conn(Mutex::new(conn))
    }
}

impl<'a, 't> From<&'a mut Transaction<'t, Postgres>> for Db<'a> {
    fn from(tx: &'a mut Transaction<'t, Postgres>) -> Self {
        Db::Conn(Mutex::new(&mut **tx))
    }
}

impl<'a> From<&'a Tx> for Db<'a> {
    fn from(tx: &'a Tx) -> Self {
        Db::Tx(tx)
    }
}

impl<'a> From<&'a Cluster> for Db<'a> {
    fn from(cluster: &'a Cluster) -> Self {
        Db::Cluster(cluster)
    }
}

impl<'a> Db<'a> {
    /// Where a statement goes when nothing routes it: the pool (a cluster's primary), or the
    /// connection or transaction.
    pub(crate) fn target(&self) -> Target<'_, 'a> {
        match self {
            Db::Pool(pool) => Target::pool(pool, PoolTag::Primary),
            Db::Cluster(cluster) => Target::pool(cluster.primary(), PoolTag::Primary),
            Db::Conn(conn) => Target::Conn(conn),
            Db::Tx(tx) => Target::Tx(tx),
        }
    }

    /// The pool whose rows a cache may keep: a pool, or a cluster's primary (a replica may
    /// be older than an invalidation the cache has applied). `None` for a connection or a
    /// transaction, whose reads must bypass the cache.
    #[cfg_attr(not(feature = "cache"), allow(dead_code))]
    pub(crate) fn cache_pool(&self) -> Option<&PgPool> {
        match self {
            Db::Pool(pool) => Some(pool),
            Db::Cluster(cluster) => Some(cluster.primary()),
            Db::Conn(_) | Db::Tx(_) => None,
        }
    }
}

/// Which pool a statement ran on, for its span and metrics (`pool`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoolTag {
    /// A plain pool, a connection, a transaction, or a cluster's primary.
    Primary,
    /// One of a cluster's replicas.
    Replica,
}

impl PoolTag {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PoolTag::Primary => "primary",
            PoolTag::Replica => "replica",
        }
    }
}

/// Where one statement is sent.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'t, 'a> {
    /// A connection from a pool, waiting at most `wait` for it when given.
    Pool {
        pool: &'t PgPool,
        tag: PoolTag,
        wait: Option<Duration>,
    },
    /// A borrowed connection.
    Conn(&'t Mutex<&'a mut PgConnection>),
    /// An ormkit transaction.
    Tx(&'t Tx),
}

impl<'t, 'a> Target<'t, 'a> {
    pub(crate) fn pool(pool: &'t PgPool, tag: PoolTag) -> Self {
        Target::Pool {
            pool,
            tag,
            wait: None,
        }
    }

    pub(crate) fn tag(&self) -> PoolTag {
        match self {
            Target::Pool { tag, .. } => *tag,
            Target::Conn(_) | Target::Tx(_) => PoolTag::Primary,
        }
    }

    /// The pool, when the statement takes a connection from one.
    pub(crate) fn pool_of(&self) -> Option<&'t PgPool> {
        match self {
            Target::Pool { pool, .. } => Some(pool),
            Target::Conn(_) | Target::Tx(_) => None,
        }
    }

    /// The connection for one statement: from the pool (inside a transaction of its own on
    /// a pool whose statements are pinned, see [`crate::pool::pooler`]), or the held one.
    pub(crate) async fn connection(&self) -> Result<Conn<'t, 'a>> {
        match *self {
            Target::Pool { pool, wait, .. } => {
                let conn = async {
                    Ok(if crate::pool::pooler::pinned(pool) {
                        let begin =
                            crate::pool::tx::begin(pool, Some(crate::pool::pooler::PINNED_BEGIN));
                        let begun = std::pin::pin!(crate::metrics::waiting(begin));
                        Conn::Pinned(crate::connect::acquire_explained(pool, begun).await?)
                    } else if let Some(lane) = crate::pool::lane::of(pool) {
                        let lent = match lane.take(pool) {
                            Some(lent) => lent,
                            None => lane.lend(crate::metrics::acquire(pool).await?),
                        };
                        Conn::Lane(lent, pool)
                    } else {
                        Conn::Pooled(crate::metrics::acquire(pool).await?)
                    })
                };
                match wait {
                    None => conn.await,
                    Some(wait) => match tokio::time::timeout(wait, conn).await {
                        Ok(conn) => conn,
                        Err(_) => Err(Box::pin(crate::connect::pool_timed_out(pool, wait)).await),
                    },
                }
            }
            Target::Conn(conn) => Ok(Conn::Borrowed(conn.lock().await)),
            Target::Tx(tx) => Ok(Conn::Tx(tx.lock().await?)),
        }
    }
}

/// The connection one statement runs on: taken from the pool for the statement (possibly in
/// a transaction of its own, or from the smart pool's [lane](crate::pool::lane)), or the borrowed
/// connection or transaction, held for the statement.
pub(crate) enum Conn<'g, 'a> {
    Pooled(PoolConnection<Postgres>),
    /// Lent by the pool's lane: [`Conn::finish`] parks it there again.
    Lane(Lent, &'g PgPool),
    /// In a transaction begun for this statement alone: [`Conn::finish`] commits it, and
    /// dropping it unfinished rolls it back (cut during `BEGIN` or `COMMIT`, see
    /// [`crate::pool::tx`]).
    Pinned(PoolTx),
    Borrowed(MutexGuard<'g, &'a mut PgConnection>),
    Tx(MappedMutexGuard<'g, PgConnection>),
}

impl Conn<'_, '_> {
    /// Ends the statement's use of the connection after it succeeded (its result read to the
    /// end): commits a pinned statement's transaction (a lost answer to that `COMMIT` is an
    /// unknown outcome), parks a lent connection in its lane.
    pub(crate) async fn finish(self) -> Result<()> {
        match self {
            Conn::Pinned(tx) => tx.commit().await.map_err(crate::transaction::commit_error),
            Conn::Lane(lent, pool) => {
                lent.park(pool);
                Ok(())
            }
            Conn::Pooled(_) | Conn::Borrowed(_) | Conn::Tx(_) => Ok(()),
        }
    }
}

impl Deref for Conn<'_, '_> {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match self {
            Conn::Pooled(conn) => conn,
            Conn::Lane(conn, _) => conn,
            Conn::Pinned(tx) => tx,
            Conn::Borrowed(conn) => conn,
            Conn::Tx(conn) => conn,
        }
    }
}

impl DerefMut for Conn<'_, '_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match self {
            Conn::Pooled(conn) => conn,
            Conn::Lane(conn, _) => conn,
            Conn::Pinned(tx) => tx,
            Conn::Borrowed(conn) => conn,
            Conn::Tx(conn) => conn,
        }
    }
}

/// A pooled connection held for a multi-statement job (a bulk chunk's transaction): it goes
/// back to the pool only when the job ended in a state the protocol knows (success, or an
/// error the server reported). Dropped any other way — the job's future cancelled mid-COPY,
/// an I/O error, a protocol error — it is closed instead, so no other caller ever gets a
/// connection in the middle of someone else's statement.
#[cfg_attr(not(feature = "parallel"), allow(dead_code))]
pub(crate) struct Exclusive {
    conn: PoolConnection<Postgres>,
    known: bool,
    /// How the job's transactions begin (`None`: sqlx's `BEGIN`).
    begin: Option<&'static str>,
    /// Whether a `BEGIN` failed: sqlx does not count a transaction whose `BEGIN` failed, yet
    /// the connection may be inside one (`BEGIN; DEALLOCATE ALL` whose second statement
    /// failed), so it is closed whatever the error says.
    begin_failed: bool,
}

#[cfg_attr(not(feature = "parallel"), allow(dead_code))]
impl Exclusive {
    pub(crate) async fn acquire(pool: &PgPool) -> Result<Self> {
        Ok(Exclusive {
            conn: crate::metrics::acquire(pool).await?,
            known: false,
            begin: crate::pool::pooler::begin_statement(pool),
            begin_failed: false,
        })
    }

    /// Begins a transaction on the connection; behind a transaction-mode pooler with
    /// `BEGIN; DEALLOCATE ALL` (see [`crate::pool::pooler`]). Every statement of the job runs in
    /// one: outside a transaction such a pooler may move the connection between statements.
    pub(crate) async fn begin(&mut self) -> Result<Transaction<'_, Postgres>> {
        let conn = &mut *self.conn;
        let begun = match self.begin {
            Some(statement) => sqlx::Connection::begin_with(conn, statement).await,
            None => sqlx::Connection::begin(conn).await,
        };
        if begun.is_err() {
            self.begin_failed = true;
        }
        Ok(begun?)
    }

    /// Marks the job's outcome: the connection may be reused if `outcome` leaves its protocol
    /// state known.
    pub(crate) fn settle<T>(&mut self, outcome: &Result<T>) {
        self.known = !self.begin_failed
            && match outcome {
                Ok(_) => true,
                Err(err) => err.leaves_connection_usable(),
            };
    }
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        if !self.known {
            self.conn.close_on_drop();
        }
    }
}

impl Deref for Exclusive {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for Exclusive {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}
