//! [`Db`]: one handle for a pool, a connection or a transaction, so every query API takes the
//! same argument whatever it runs on.

use crate::error::Result;
use crate::transaction::Tx;
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use std::ops::{Deref, DerefMut};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

/// Where statements run: a pool (each statement on any connection), or one connection (a plain
/// connection or a transaction, used by one statement at a time).
///
/// `&PgPool`, `&mut PgConnection`, `&mut sqlx::Transaction` and `&Tx` all convert into it, so
/// `Repository::new(&pool)`, `Repository::new(&mut *conn)` and `Repository::new(&tx)` work
/// alike.
#[derive(Debug)]
pub enum Db<'a> {
    /// A pool.
    Pool(&'a PgPool),
    /// A borrowed connection (or an open sqlx transaction).
    Conn(Mutex<&'a mut PgConnection>),
    /// An ormkit transaction handle.
    Tx(&'a Tx),
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

/// The connection one statement runs on: taken from the pool for the statement, or the
/// borrowed connection or transaction, held for the statement.
pub(crate) enum Conn<'g, 'a> {
    Pooled(PoolConnection<Postgres>),
    Borrowed(MutexGuard<'g, &'a mut PgConnection>),
    Tx(MappedMutexGuard<'g, PgConnection>),
}

impl Deref for Conn<'_, '_> {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match self {
            Conn::Pooled(conn) => conn,
            Conn::Borrowed(conn) => conn,
            Conn::Tx(conn) => conn,
        }
    }
}

impl DerefMut for Conn<'_, '_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match self {
            Conn::Pooled(conn) => conn,
            Conn::Borrowed(conn) => conn,
            Conn::Tx(conn) => conn,
        }
    }
}

impl<'a> Db<'a> {
    /// The connection for one statement.
    pub(crate) async fn connection(&self) -> Result<Conn<'_, 'a>> {
        Ok(match self {
            Db::Pool(pool) => Conn::Pooled(crate::metrics::acquire(pool).await?),
            Db::Conn(conn) => Conn::Borrowed(conn.lock().await),
            Db::Tx(tx) => Conn::Tx(tx.lock().await?),
        })
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
}

#[cfg_attr(not(feature = "parallel"), allow(dead_code))]
impl Exclusive {
    pub(crate) async fn acquire(pool: &PgPool) -> Result<Self> {
        Ok(Exclusive {
            conn: crate::metrics::acquire(pool).await?,
            known: false,
        })
    }

    /// Marks the job's outcome: the connection may be reused if `outcome` leaves its protocol
    /// state known.
    pub(crate) fn settle<T>(&mut self, outcome: &Result<T>) {
        self.known = match outcome {
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
