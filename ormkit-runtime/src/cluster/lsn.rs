//! [`Lsn`]: a position in PostgreSQL's write-ahead log, the read-your-writes token.

use std::fmt;
use std::str::FromStr;

/// A position in the write-ahead log (`pg_lsn`, written `16/B374D848`): what a
/// [`Cluster`](crate::Cluster) handle holds after a write, and what a replica must have
/// replayed before it may serve that handle's reads.
///
/// It prints and parses as PostgreSQL writes it, so it can travel in a cookie or a header
/// to the next request (`cluster.session_after(token)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// The start of the log: every replica has replayed it.
    pub const ZERO: Lsn = Lsn(0);

    /// Bytes of log from `earlier` to `self` (0 when `earlier` is not earlier).
    pub fn bytes_since(self, earlier: Lsn) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xffff_ffff)
    }
}

/// Why a text is not an [`Lsn`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a WAL position: expected two hexadecimal numbers like 16/B374D848")]
pub struct ParseLsnError {
    text: String,
}

impl FromStr for Lsn {
    type Err = ParseLsnError;

    fn from_str(text: &str) -> Result<Self, ParseLsnError> {
        let error = || ParseLsnError {
            text: text.to_owned(),
        };
        let (high, low) = text.trim().split_once('/').ok_or_else(error)?;
        let half = |part: &str| {
            (!part.is_empty() && part.len() <= 8)
                .then(|| u32::from_str_radix(part, 16).ok())
                .flatten()
                .ok_or_else(error)
        };
        Ok(Lsn((u64::from(half(high)?) << 32) | u64::from(half(low)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_and_parses_as_postgresql_does() {
        let lsn: Lsn = "16/B374D848".parse().unwrap();
        assert_eq!(lsn, Lsn(0x16_B374_D848));
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert_eq!(Lsn::ZERO.to_string(), "0/0");
        assert_eq!("0/1".parse::<Lsn>().unwrap().bytes_since(Lsn::ZERO), 1);
        assert_eq!(Lsn(5).bytes_since(Lsn(9)), 0);
        for bad in ["", "16", "16/", "/1", "G/1", "123456789/0", "1/2/3"] {
            let err = bad.parse::<Lsn>().unwrap_err();
            assert!(err.to_string().contains("WAL position"), "{bad}: {err}");
        }
    }
}
