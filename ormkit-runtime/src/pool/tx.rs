//! [`PoolTx`]: a transaction that owns its pooled connection and can be dropped at any await
//! point without handing the pool's next user a connection in an unknown state.
//!
//! sqlx 0.8's `Transaction` is not: `PgTransactionManager::begin` sends `BEGIN` and only then
//! counts the transaction (`transaction_depth`), and its drop guard queues a `ROLLBACK` only
//! for a counted one. A future dropped while `BEGIN` is in flight therefore returns the
//! connection to the pool with the `BEGIN` sent and uncounted: sqlx's release check reads its
//! answer, and the next user's statements run inside a transaction nobody will commit — an
//! `INSERT` that returned `Ok` is lost when the connection closes. Likewise a future dropped
//! while `COMMIT` is in flight leaves its outcome unknown.
//!
//! A `PoolTx` knows at every await point what the server may have done:
//!
//! - **beginning** while `BEGIN` is in flight (or after it failed): dropped so, the connection
//!   does not go back to the pool as is. A task takes it, reads `BEGIN`'s answer and runs
//!   `ROLLBACK` (a no-op warning if nothing began), and only then releases it; if that fails,
//!   or no tokio runtime is there to run the task, the connection is closed;
//! - **open** once `BEGIN`'s success was read: dropped so (the closure panicked, the caller's
//!   future was cancelled, possibly mid-statement), a `ROLLBACK` is queued, which sqlx sends
//!   and reads to the end — together with whatever the cut statement left unread — before the
//!   connection is used again (its release check does). A cut `ROLLBACK` is the same case;
//! - **committing** while `COMMIT` is in flight, or after it failed without the server's
//!   answer: the outcome is unknown, so the connection is closed
//!   ([`PoolConnection::close_on_drop`]), never reused, and nothing retries the `COMMIT`;
//! - **ended** once `COMMIT` or `ROLLBACK` was answered: the connection goes back as is.

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgTransactionManager;
use sqlx::{PgConnection, PgPool, Postgres, TransactionManager as _};
use std::borrow::Cow;
use std::ops::{Deref, DerefMut};

/// What the server may have done with the connection's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// `BEGIN` is in flight or failed, and sqlx counts no transaction: dropped, a task ends
    /// whatever began before the connection is released.
    Beginning,
    /// The transaction is open: dropped, a `ROLLBACK` is queued.
    Open,
    /// `COMMIT` is in flight, or failed without an answer: dropped, the connection is closed.
    Committing,
    /// Committed or rolled back, the answer read: the connection is reusable.
    Ended,
}

/// A transaction on a connection taken from a pool, safe to drop at any await point (see the
/// module's documentation). Derefs to the connection for the transaction's statements.
pub(crate) struct PoolTx {
    /// Always there, but taken by `drop` when a task must settle a cut `BEGIN`.
    conn: Option<PoolConnection<Postgres>>,
    state: State,
}

/// `conn` is only ever `None` inside `drop`.
const LIVE: &str = "BUG: a PoolTx's connection is taken only when it is dropped";

impl std::fmt::Debug for PoolTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolTx")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// A connection from `pool` in a transaction begun with `statement` (`None`: `BEGIN`).
pub(crate) async fn begin(
    pool: &PgPool,
    statement: Option<&'static str>,
) -> Result<PoolTx, sqlx::Error> {
    // Not counted as waiting here: a caller that counts its wait wraps the whole begin.
    let conn = pool.acquire().await?;
    PoolTx::begin(conn, statement).await
}

impl PoolTx {
    /// Begins a transaction on `conn` with `statement` (`None`: `BEGIN`). If `BEGIN` fails,
    /// the connection is settled as if the future had been cut: it may be inside a failed
    /// transaction block (a `BEGIN; DEALLOCATE ALL` whose second statement failed).
    pub(crate) async fn begin(
        conn: PoolConnection<Postgres>,
        statement: Option<&'static str>,
    ) -> Result<PoolTx, sqlx::Error> {
        let mut tx = PoolTx {
            conn: Some(conn),
            state: State::Beginning,
        };
        PgTransactionManager::begin(&mut tx, statement.map(Cow::Borrowed)).await?;
        tx.state = State::Open;
        Ok(tx)
    }

    /// Commits. If the future is dropped before the answer, or the connection fails, the
    /// outcome is unknown: the connection is closed and the error says so
    /// ([`crate::transaction::commit_error`]). A refusal from the server (a deferred
    /// constraint, a serialization failure) ended the transaction: the connection is reusable.
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.state = State::Committing;
        self.end(PgTransactionManager::commit).await
    }

    /// Rolls back. Cut, it is as if the transaction had been dropped open: another `ROLLBACK`
    /// is queued behind the first.
    pub(crate) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.end(PgTransactionManager::rollback).await
    }

    async fn end(
        &mut self,
        statement: for<'c> fn(
            &'c mut PgConnection,
        ) -> futures::future::BoxFuture<'c, Result<(), sqlx::Error>>,
    ) -> Result<(), sqlx::Error> {
        match statement(self).await {
            Ok(()) => {
                self.state = State::Ended;
                Ok(())
            }
            Err(err @ sqlx::Error::Database(_)) => {
                // The server answered (and ended the transaction block), but sqlx still counts
                // the transaction: the queued ROLLBACK (a warning, no-op) settles its count.
                PgTransactionManager::start_rollback(self);
                self.state = State::Ended;
                Err(err)
            }
            Err(err) => {
                self.state = State::Committing;
                Err(err)
            }
        }
    }
}

/// Settles a connection whose `BEGIN` was cut or failed, then releases it: reads what the
/// server answered and ends any transaction block it began. Closed if that fails, or if no
/// tokio runtime runs here.
fn settle_begin(mut conn: PoolConnection<Postgres>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        conn.close_on_drop();
        return;
    };
    runtime.spawn(async move {
        // Simple protocol: sqlx first reads every answer still owed (BEGIN's), then this one.
        let ended = sqlx::Executor::execute(&mut *conn, sqlx::raw_sql("ROLLBACK")).await;
        if ended.is_err() {
            conn.close_on_drop();
        }
    });
}

impl Drop for PoolTx {
    fn drop(&mut self) {
        match self.state {
            State::Beginning => {
                if let Some(conn) = self.conn.take() {
                    settle_begin(conn);
                }
            }
            State::Open => PgTransactionManager::start_rollback(self),
            State::Committing => {
                if let Some(conn) = self.conn.as_mut() {
                    conn.close_on_drop();
                }
            }
            State::Ended => {}
        }
    }
}

impl Deref for PoolTx {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        self.conn.as_deref().expect(LIVE)
    }
}

impl DerefMut for PoolTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_deref_mut().expect(LIVE)
    }
}
