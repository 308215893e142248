//! Read-your-writes: what a [`Cluster`](crate::Cluster) handle remembers of its own writes.
//!
//! After a write through a handle ends, the handle's reads need a replica that has replayed
//! the WAL position of some moment after that end. The monitor samples the primary's
//! position every probe interval, so the first sample begun after the write gives that
//! position for free; until it is answered the handle reads from the primary.
//! [`Cluster::token`](crate::Cluster::token) asks the primary at once instead.

use super::lsn::Lsn;
use super::wal::WalClock;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

/// One handle's token.
#[derive(Debug)]
pub(crate) struct Session {
    /// What a replica must have replayed to serve this handle's reads.
    token: AtomicU64,
    /// The sample that will cover the writes not yet in `token` (0: none pending).
    pending: AtomicU64,
}

impl Session {
    pub(crate) fn new(token: Lsn) -> Self {
        Session {
            token: AtomicU64::new(token.0),
            pending: AtomicU64::new(0),
        }
    }

    /// A write through the handle has ended (or was abandoned: it may yet commit).
    pub(crate) fn wrote(&self, clock: &WalClock) {
        self.pending.fetch_max(clock.next_number(), SeqCst);
    }

    /// The token, if the samples answered so far cover every ended write; else `None` (read
    /// from the primary).
    pub(crate) fn token(&self, clock: &WalClock) -> Option<Lsn> {
        let pending = self.pending.load(SeqCst);
        if pending != 0 {
            let lsn = clock.lsn_from(pending)?;
            self.resolve(pending, lsn);
        }
        Some(Lsn(self.token.load(SeqCst)))
    }

    /// The writes pending as of `pending` are covered by `lsn` (a sample, or the primary's
    /// answer to a question asked after they ended).
    pub(crate) fn resolve(&self, pending: u64, lsn: Lsn) {
        self.token.fetch_max(lsn.0, SeqCst);
        // A write that ended since then keeps its own, later, pending sample.
        let _ = self.pending.compare_exchange(pending, 0, SeqCst, SeqCst);
    }

    /// The pending sample number (0: none).
    pub(crate) fn pending(&self) -> u64 {
        self.pending.load(SeqCst)
    }
}

/// Marks a write through a handle as ended when dropped: after the statement or transaction
/// returned, or when its future was dropped.
pub(crate) struct WriteGuard<'s> {
    pub(crate) session: &'s Session,
    pub(crate) clock: &'s WalClock,
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        self.session.wrote(self.clock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_waits_for_the_sample_after_the_write() {
        let clock = WalClock::default();
        let session = Session::new(Lsn::ZERO);
        assert_eq!(session.token(&clock), Some(Lsn::ZERO));
        let (n, at) = clock.begin();
        drop(WriteGuard {
            session: &session,
            clock: &clock,
        });
        clock.record(n, at, Lsn(50)); // begun before the write ended: does not cover it
        assert_eq!(session.token(&clock), None);
        let (n, at) = clock.begin();
        clock.record(n, at, Lsn(70));
        assert_eq!(session.token(&clock), Some(Lsn(70)));
        assert_eq!(session.pending(), 0);
        // A later write that ended before an explicit answer: pending again until covered.
        session.wrote(&clock);
        let pending = session.pending();
        session.resolve(pending, Lsn(90));
        assert_eq!(session.token(&clock), Some(Lsn(90)));
    }
}
