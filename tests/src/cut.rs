//! [`DropAfter`]: a future polled until its k-th `Poll::Pending`, then dropped where it waits,
//! for the deterministic cancellation sweeps (no timers): run an entry point under
//! `DropAfter::new(future, k)` for k = 0, 1, 2, … until it completes.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Polls a future and drops it, unfinished, when it returns `Poll::Pending` for the
/// `(k + 1)`-th time; resolves to `Some(output)` if it completed first, else `None`.
pub struct DropAfter<F: Future> {
    future: Option<Pin<Box<F>>>,
    pendings_left: usize,
}

impl<F: Future> DropAfter<F> {
    /// `future`, to be dropped at its `(k + 1)`-th `Poll::Pending`.
    pub fn new(future: F, k: usize) -> Self {
        DropAfter {
            future: Some(Box::pin(future)),
            pendings_left: k,
        }
    }
}

impl<F: Future> Future for DropAfter<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(future) = this.future.as_mut() else {
            return Poll::Ready(None);
        };
        match future.as_mut().poll(cx) {
            Poll::Ready(output) => {
                this.future = None;
                Poll::Ready(Some(output))
            }
            Poll::Pending if this.pendings_left == 0 => {
                // Dropped here, at the await point it is suspended on.
                this.future = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                this.pendings_left -= 1;
                Poll::Pending
            }
        }
    }
}

/// How many cuts each cancellation sweep makes per entry point, at least: `ORMKIT_TEST_CUTS`,
/// else 1,000 (over the ten entry points of `tests/it/cancel.rs`, five times the 2,000 drops
/// of the reproduction the sweeps answer). CI runs the full count once, against the server,
/// and fewer in its second mode (throwaway clusters), where the same code is cut again on a
/// unix socket.
///
/// # Panics
/// When `ORMKIT_TEST_CUTS` is set but is not a whole number above zero (the message says so).
pub fn sweep_cuts() -> usize {
    const VARIABLE: &str = "ORMKIT_TEST_CUTS";
    match std::env::var(VARIABLE) {
        Err(std::env::VarError::NotPresent) => 1_000,
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(cuts) if cuts > 0 => cuts,
            _ => panic!("{VARIABLE}={text:?}: expected a whole number of cuts above 0"),
        },
        Err(err) => panic!("{VARIABLE}: {err}"),
    }
}
