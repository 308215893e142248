//! [`Db`]: one handle for a pool, a connection or a transaction, so every query API takes the
//! same argument whatever it runs on.

use crate::transaction::Tx;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio::sync::Mutex;

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

/// Runs one statement: `$body` with `$e` bound to a `sqlx::Executor` for `$db` (a `&Db`),
/// inside a `tracing` span (`ormkit.query`: table, op, rows, duration), recorded in the
/// metrics. `$meta` is the entity's `EntityMeta`, `$op` the operation's name and `$rows` a
/// function counting the result's rows.
///
/// On a connection or transaction the body is boxed as a `Send` future: checking `Send`
/// there, with concrete lifetimes, keeps the caller's future `Send` for every lifetime (so
/// it can be `tokio::spawn`ed), which sqlx's `Executor` impls otherwise defeat.
macro_rules! with_executor {
    ($db:expr, ($meta:expr, $op:expr, $rows:expr), |$e:ident| $body:expr) => {{
        use ::tracing::Instrument as _;
        $crate::stats::record_statement();
        let meta: &'static $crate::meta::EntityMeta = $meta;
        let span = ::tracing::debug_span!(
            "ormkit.query",
            table = meta.name,
            op = $op,
            rows = ::tracing::field::Empty,
            duration_us = ::tracing::field::Empty,
            error = ::tracing::field::Empty,
        );
        let start = ::std::time::Instant::now();
        let result = match $db {
            $crate::db::Db::Pool(pool) => {
                let fut: ::futures::future::BoxFuture<'_, _> = Box::pin(async move {
                    let mut conn = $crate::metrics::acquire(pool).await?;
                    let $e = &mut *conn;
                    $body
                });
                fut.instrument(span.clone()).await
            }
            $crate::db::Db::Conn(conn) => {
                let mut guard = conn.lock().await;
                let fut: ::futures::future::BoxFuture<'_, _> = Box::pin(async {
                    let $e = &mut **guard;
                    $body
                });
                fut.instrument(span.clone()).await
            }
            $crate::db::Db::Tx(tx) => {
                let mut guard = tx.lock().await?;
                let fut: ::futures::future::BoxFuture<'_, _> = Box::pin(async {
                    let $e = &mut *guard;
                    $body
                });
                fut.instrument(span.clone()).await
            }
        };
        $crate::metrics::record(meta, $op, start.elapsed(), &result, $rows, &span);
        result
    }};
    // A statement not tied to one entity: counted, not labelled.
    ($db:expr, |$e:ident| $body:expr) => {{
        $crate::stats::record_statement();
        match $db {
            $crate::db::Db::Pool(pool) => {
                let fut: ::futures::future::BoxFuture<'_, _> = Box::pin(async move {
                    let mut conn = $crate::metrics::acquire(pool).await?;
                    let $e = &mut *conn;
                    $body
                });
                fut.await
            }
            $crate::db::Db::Conn(conn) => {
                let mut guard = conn.lock().await;
                let fut: ::futures::future::BoxFuture<'_, _> = Box::pin(async {
                    let $e = &mut **guard;
                    $body
                });
                fut.await
            }
            $crate::db::Db::Tx(tx) => {
                let mut guard = tx.lock().await?;
                let fut: ::futures::future::BoxFuture<'_, _> = Box::pin(async {
                    let $e = &mut *guard;
                    $body
                });
                fut.await
            }
        }
    }};
}
pub(crate) use with_executor;
