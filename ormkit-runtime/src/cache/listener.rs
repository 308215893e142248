//! The strong strategy's background tasks: the listener, which applies every notification in
//! commit order and flushes around each loss of its connection, and the heartbeat, which
//! notices a connection that died without telling anyone.

use super::state::State;
use crate::error::Result;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A `LISTEN`ing connection of its own (its own one-connection pool, named
/// `application_name` so operators can find it), subscribed when this returns. One
/// connection is tried first under the connect timeout, so a server that is down or refuses
/// us (a dead `direct_url`) fails at once with its cause, not a pool timeout.
async fn subscribe(state: &State) -> Result<(PgListener, PgPool)> {
    let options = (*state.pool.connect_options())
        .clone()
        .application_name(&state.application_name);
    crate::connect::probe(&options, crate::connect::timeout_of(&state.pool)).await?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(super::invalidation::InvalidationStrategy::DEFAULT_TIMEOUT)
        .connect_lazy_with(options);
    let mut listener = {
        let connecting = std::pin::pin!(PgListener::connect_with(&pool));
        crate::connect::acquire_explained(&pool, connecting).await?
    };
    listener.ignore_pool_close_event(true);
    listener.listen(&state.channel).await?;
    Ok((listener, pool))
}

/// Closes a listener whose connection is lost or no longer trusted. The pool is marked closed
/// first, so the connection is closed rather than pinged and kept (a ping to a backend that
/// stopped answering would never return).
async fn close(listener: PgListener, pool: PgPool) {
    let closing = pool.close();
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(1), closing).await;
}

/// Starts the listener; returns once it is subscribed (or with the error of the first
/// attempt). Afterwards it reconnects by itself, with backoff, for as long as it runs.
pub(crate) async fn start(state: &Arc<State>) -> Result<JoinHandle<()>> {
    let (ready, subscribed) = oneshot::channel();
    let task = tokio::spawn(run(Arc::clone(state), ready));
    match subscribed.await {
        Ok(Ok(())) => Ok(task),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(crate::error::OrmkitError::Cache {
            message: "the cache listener stopped before subscribing".into(),
        }),
    }
}

async fn run(state: Arc<State>, ready: oneshot::Sender<Result<()>>) {
    let mut ready = Some(ready);
    let mut backoff = MIN_BACKOFF;
    loop {
        let (mut listener, pool) = match subscribe(&state).await {
            Ok(subscribed) => subscribed,
            Err(err) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(err));
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = MIN_BACKOFF;
        // Commits between the loss and this LISTEN were never announced: flush, then serve.
        state.went_live();
        if let Some(ready) = ready.take() {
            let _ = ready.send(Ok(()));
        }
        loop {
            tokio::select! {
                biased;
                // The heartbeat gave up on this connection. Cancelling `try_recv` is fine:
                // the listener is dropped just after.
                () = state.kick.notified() => break,
                received = listener.try_recv() => match received {
                    Ok(Some(notification)) => state.handle(notification.payload()),
                    // `None`: the connection was lost; an error: it is no longer trusted.
                    Ok(None) | Err(_) => break,
                },
            }
        }
        state.went_down();
        close(listener, pool).await;
    }
}

/// Every `every`, a barrier through the listener; one that does not come back in time
/// makes the listener drop its connection (which flushes and bypasses until re-subscribed).
pub(crate) async fn heartbeat(state: Arc<State>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if state.serving() && state.sync().await.is_err() && state.serving() {
            state.kick.notify_one();
        }
    }
}
