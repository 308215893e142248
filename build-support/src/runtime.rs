//! Running async sqlx work from synchronous code, inside a tokio runtime or not.

use std::future::Future;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

use crate::error::{Error, Result};

/// How long to wait for a connection to a PostgreSQL server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the future `make` returns to completion on a fresh current-thread
/// tokio runtime in a new thread, so it works from plain code and from inside
/// any tokio runtime (where blocking on the caller's runtime would panic or
/// deadlock).
///
/// The future is created on that thread, so it need not be `Send`. A panic
/// in it is resumed in the caller (or becomes an error if the caller is
/// already unwinding).
pub(crate) fn block_on<M, F>(make: M) -> Result<F::Output>
where
    M: FnOnce() -> F + Send,
    F: Future,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("ormkit-scratch".into())
            .spawn_scoped(scope, move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|err| Error::io("could not start a tokio runtime", err))?;
                Ok(runtime.block_on(make()))
            })
            .map_err(|err| Error::io("could not spawn a thread for database work", err))?;
        match worker.join() {
            Ok(result) => result,
            // Resuming a panic while already unwinding (cleanup in Drop) would abort.
            Err(_) if std::thread::panicking() => Err(Error::io(
                "database work failed",
                std::io::Error::other("the database thread panicked"),
            )),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Connects with a timeout (sqlx itself waits as long as the OS lets it).
pub(crate) async fn connect(options: &PgConnectOptions) -> Result<PgConnection, sqlx::Error> {
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(options)).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no connection after {} s", CONNECT_TIMEOUT.as_secs()),
        ))),
    }
}
