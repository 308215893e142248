//! The primary's WAL position over time, as the monitor samples it: what a replica's replay
//! position is compared with (its lag), and what a handle's token becomes after a write.

use super::lsn::Lsn;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Samples kept: at the default interval (250 ms), the last two minutes.
const KEPT: usize = 512;

/// One answer of the primary to `pg_current_wal_insert_lsn()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Samples are numbered from 1 in the order they begin.
    pub(crate) number: u64,
    /// When the question was sent: the answer is at least the position as of then.
    pub(crate) at: Instant,
    pub(crate) lsn: Lsn,
}

/// The recent samples of one primary.
#[derive(Debug, Default)]
pub(crate) struct WalClock {
    /// Samples begun so far.
    begun: AtomicU64,
    /// The number of the newest answered sample (0: none yet).
    answered: AtomicU64,
    samples: Mutex<VecDeque<Sample>>,
}

impl WalClock {
    /// Begins a sample, right before the primary is asked: its number and time.
    pub(crate) fn begin(&self) -> (u64, Instant) {
        (self.begun.fetch_add(1, SeqCst) + 1, Instant::now())
    }

    /// The primary answered sample `number`, begun at `at`, with `lsn`.
    pub(crate) fn record(&self, number: u64, at: Instant, lsn: Lsn) {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.push_back(Sample { number, at, lsn });
        if samples.len() > KEPT {
            samples.pop_front();
        }
        self.answered.fetch_max(number, SeqCst);
    }

    /// The number of the next sample to begin: a write that ended before this call is
    /// covered by that sample and every later one (the position only grows).
    pub(crate) fn next_number(&self) -> u64 {
        self.begun.load(SeqCst) + 1
    }

    /// The position sample `number` found (or the first kept one after it), once answered.
    pub(crate) fn lsn_from(&self, number: u64) -> Option<Lsn> {
        if self.answered.load(SeqCst) < number {
            return None;
        }
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.iter().find(|s| s.number >= number).map(|s| s.lsn)
    }

    /// The newest answered sample.
    pub(crate) fn newest(&self) -> Option<Sample> {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.back().copied()
    }

    /// How far behind a server that has replayed up to `replayed` is at `now`: zero when it
    /// has replayed the newest sample's position, else the age of the oldest sample whose
    /// position it has not replayed (at least the oldest kept one's). `None` before the
    /// first answer.
    pub(crate) fn lag(&self, replayed: Lsn, now: Instant) -> Option<Duration> {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let newest = samples.back()?;
        if replayed >= newest.lsn {
            return Some(Duration::ZERO);
        }
        let behind = samples.iter().find(|s| s.lsn > replayed)?;
        Some(now.saturating_duration_since(behind.at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_age_of_the_oldest_position_not_replayed() {
        let clock = WalClock::default();
        let t0 = Instant::now();
        assert_eq!(clock.lag(Lsn(0), t0), None);
        assert_eq!(clock.next_number(), 1);
        for (i, lsn) in [100, 200, 300].into_iter().enumerate() {
            let (number, _) = clock.begin();
            clock.record(number, t0 + Duration::from_secs(i as u64), Lsn(lsn));
        }
        let now = t0 + Duration::from_secs(10);
        assert_eq!(clock.lag(Lsn(300), now), Some(Duration::ZERO));
        assert_eq!(clock.lag(Lsn(250), now), Some(Duration::from_secs(8)));
        assert_eq!(clock.lag(Lsn(150), now), Some(Duration::from_secs(9)));
        assert_eq!(clock.lag(Lsn(0), now), Some(Duration::from_secs(10)));
        assert_eq!(clock.newest().map(|s| s.lsn), Some(Lsn(300)));
    }

    #[test]
    fn a_write_is_covered_by_the_next_sample_only_once_it_is_answered() {
        let clock = WalClock::default();
        let (first, at) = clock.begin();
        let covering = clock.next_number(); // a write ends while sample 1 is in flight
        assert_eq!(covering, 2);
        clock.record(first, at, Lsn(10));
        assert_eq!(
            clock.lsn_from(covering),
            None,
            "sample 1 may predate the write"
        );
        let (second, at) = clock.begin();
        clock.record(second, at, Lsn(20));
        assert_eq!(clock.lsn_from(covering), Some(Lsn(20)));
        assert_eq!(clock.lsn_from(1), Some(Lsn(10)));
    }
}
