//! What every test that captures spans with a thread-local subscriber calls first.
//!
//! `tracing` caches each callsite's interest for the whole process. While at most one
//! dispatcher is registered, a callsite is registered with the interest of the thread that
//! reaches it first: a sibling test's thread, with no subscriber, caches it as "never", and
//! the capturing test never sees that span. [`anchor`] registers, once per process, a second
//! dispatcher that lives as long as the process and answers "sometimes" for every callsite:
//! from then on each callsite's interest is asked of every live dispatcher, never "never"
//! while a capture is live, and spans are enabled per call by the calling thread's own
//! subscriber.

use std::sync::OnceLock;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};

/// Registers the anchor dispatcher, once per process (registering it re-asks every callsite).
pub(crate) fn anchor() {
    static ANCHOR: OnceLock<Dispatch> = OnceLock::new();
    ANCHOR.get_or_init(|| Dispatch::new(Anchor));
}

/// Registers `subscriber` as this thread's default after the anchor, and re-asks every
/// callsite already registered.
pub(crate) fn set_default(
    subscriber: impl Subscriber + Send + Sync + 'static,
) -> tracing::subscriber::DefaultGuard {
    anchor();
    let guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    guard
}

/// Interested in every callsite "sometimes", enabled for none.
struct Anchor;

impl Subscriber for Anchor {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
