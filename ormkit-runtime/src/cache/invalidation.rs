//! [`InvalidationStrategy`], and the messages instances exchange on the `NOTIFY` channel.
//!
//! Payloads (all ASCII, far below PostgreSQL's 8000-byte limit):
//!
//! | payload | meaning |
//! | --- | --- |
//! | `k\t<hash>\t<table>` | the row of `<table>` whose key hashes to `<hash>` (16 hex digits) changed |
//! | `t\t<table>` | `<table>` changed (an insert): query results over it are stale |
//! | `s\t<instance>\t<n>` | barrier `n` of one instance ([`EntityCache::sync`](super::EntityCache::sync)) |
//!
//! `<table>` is the entity's quoted qualified name (`"public"."users"`) and comes last, so it
//! may contain anything. A payload a listener cannot parse flushes its whole cache.

use crate::key::KeyValue;
use sqlx::error::BoxDynError;
use std::time::Duration;

/// How a cache learns that a row it holds has changed. Named for what it guarantees; the
/// module documentation of [`cache`](super) states the guarantees exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidationStrategy {
    pub(crate) mode: Mode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Strong {
        heartbeat: Option<Duration>,
        timeout: Duration,
    },
    Eventual {
        ttl: Duration,
    },
}

impl InvalidationStrategy {
    /// How often, by default, a strong cache checks that its listener still receives.
    pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(1);
    /// How long, by default, a barrier round trip may take before the listener is presumed
    /// dead (heartbeat) or [`EntityCache::sync`](super::EntityCache::sync) fails.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// Writes publish the changed key with `NOTIFY` in their own transaction; every instance
    /// `LISTEN`s and invalidates; an instance whose listener is not subscribed flushes and
    /// reads from the database. See [`cache`](super) for exactly what "no stale read" means.
    pub fn strong() -> Self {
        InvalidationStrategy {
            mode: Mode::Strong {
                heartbeat: Some(Self::DEFAULT_HEARTBEAT),
                timeout: Self::DEFAULT_TIMEOUT,
            },
        }
    }

    /// No notifications: an entry is served for at most `ttl` after the read that loaded it
    /// started, so a read reflects every write committed more than `ttl` before it. Writes
    /// through a [`CachedRepository`](super::CachedRepository) still invalidate locally.
    pub fn eventual(ttl: Duration) -> Self {
        InvalidationStrategy {
            mode: Mode::Eventual { ttl },
        }
    }

    /// For [`strong`](Self::strong): send a barrier through the listener every `every` and
    /// treat the connection as lost (flush, bypass, reconnect) when it has not come back
    /// within the timeout. Bounds how long a silently dead connection can go unnoticed.
    /// `None` turns the heartbeat off. No effect on [`eventual`](Self::eventual).
    pub fn heartbeat(mut self, every: Option<Duration>) -> Self {
        if let Mode::Strong { heartbeat, .. } = &mut self.mode {
            *heartbeat = every;
        }
        self
    }

    /// For [`strong`](Self::strong): how long a barrier round trip may take (heartbeat and
    /// [`EntityCache::sync`](super::EntityCache::sync)).
    pub fn timeout(mut self, limit: Duration) -> Self {
        if let Mode::Strong { timeout, .. } = &mut self.mode {
            *timeout = limit;
        }
        self
    }

    /// Whether this is [`strong`](Self::strong).
    pub fn is_strong(&self) -> bool {
        matches!(self.mode, Mode::Strong { .. })
    }

    /// The staleness bound of [`eventual`](Self::eventual); `None` for strong.
    pub fn ttl(&self) -> Option<Duration> {
        match self.mode {
            Mode::Eventual { ttl } => Some(ttl),
            Mode::Strong { .. } => None,
        }
    }
}

/// A parsed notification payload.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Message<'a> {
    Key { hash: u64, table: &'a str },
    Table { table: &'a str },
    Barrier { instance: u64, n: u64 },
    Unknown,
}

pub(crate) fn key_payload(hash: u64, table: &str) -> String {
    format!("k\t{hash:016x}\t{table}")
}

pub(crate) fn table_payload(table: &str) -> String {
    format!("t\t{table}")
}

pub(crate) fn barrier_payload(instance: u64, n: u64) -> String {
    format!("s\t{instance:016x}\t{n}")
}

pub(crate) fn parse(payload: &str) -> Message<'_> {
    let mut parts = payload.splitn(3, '\t');
    let (kind, first, rest) = (parts.next(), parts.next(), parts.next());
    match (kind, first, rest) {
        (Some("k"), Some(hash), Some(table)) if hash.len() == 16 => {
            match u64::from_str_radix(hash, 16) {
                Ok(hash) => Message::Key { hash, table },
                Err(_) => Message::Unknown,
            }
        }
        // A table name may itself contain a tab: everything after the kind is the name.
        (Some("t"), Some(_), _) => Message::Table {
            table: &payload[2..],
        },
        (Some("s"), Some(instance), Some(n)) => {
            match (u64::from_str_radix(instance, 16), n.parse()) {
                (Ok(instance), Ok(n)) => Message::Barrier { instance, n },
                _ => Message::Unknown,
            }
        }
        _ => Message::Unknown,
    }
}

/// FNV-1a: stable across processes, builds and Rust versions (unlike `DefaultHasher`), so
/// every instance maps a published key hash to its own stripes the same way.
pub(crate) fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash ^= 0xff;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        for &byte in *part {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The published hash of a row: FNV-1a over its table's quoted name and the
/// [stable encoding](crate::key) of its key, so every instance, build and version of
/// ormkit computes the same value for the same row.
pub(crate) fn key_hash<K: KeyValue>(table: &str, key: &K) -> Result<u64, BoxDynError> {
    Ok(fnv1a(&[table.as_bytes(), &crate::key::encoded(key)?]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let table = "\"public\".\"we\tird\"";
        let hash = key_hash(table, &5_i64).unwrap();
        assert_eq!(
            parse(&key_payload(hash, table)),
            Message::Key { hash, table }
        );
        assert_eq!(parse(&table_payload(table)), Message::Table { table });
        assert_eq!(
            parse(&barrier_payload(u64::MAX, 42)),
            Message::Barrier {
                instance: u64::MAX,
                n: 42
            }
        );
        for garbage in ["", "k", "k\tzz\tx", "s\t1", "x\ty\tz", "k\t0123\tt"] {
            assert_eq!(parse(garbage), Message::Unknown, "{garbage:?}");
        }
    }

    #[test]
    fn the_hash_is_stable() {
        // Pinned: another build of another instance must publish the same value.
        assert_eq!(fnv1a(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(
            key_hash("t", &"1".to_owned()).unwrap(),
            key_hash("t1", &String::new()).unwrap()
        );
    }

    #[test]
    fn the_key_hash_is_pinned() {
        // The NOTIFY payload of `UserId(42)` in "public"."users" and the hash of a composite
        // (uuid, text, int4) key: fixed values, computed independently from the documented
        // encoding (FNV-1a over the table name, 0xff, then each part as a 4-byte big-endian
        // length and its PostgreSQL binary form), so that two builds or two versions of
        // ormkit publish and recognise the same keys.
        struct User;
        let id = crate::Id::<User, i64>::new(42);
        assert_eq!(
            key_payload(
                key_hash("\"public\".\"users\"", &id).unwrap(),
                "\"public\".\"users\""
            ),
            "k\tfcbbfdeb87402103\t\"public\".\"users\""
        );
        let composite = (
            uuid::Uuid::from_u128(0x00112233_4455_6677_8899_aabbccddeeff),
            "Ada".to_owned(),
            7_i32,
        );
        assert_eq!(
            format!("{:016x}", key_hash("\"s\".\"t\"", &composite).unwrap()),
            "ac561005691ca587"
        );
    }

    #[test]
    fn strategies_expose_their_bounds() {
        let strong = InvalidationStrategy::strong().heartbeat(None);
        assert!(strong.is_strong() && strong.ttl().is_none());
        let eventual = InvalidationStrategy::eventual(Duration::from_secs(3));
        assert_eq!(eventual.ttl(), Some(Duration::from_secs(3)));
        assert_eq!(eventual.heartbeat(None), eventual, "no effect on eventual");
    }
}
