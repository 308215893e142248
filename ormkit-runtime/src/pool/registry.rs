//! Facts ormkit keeps about pools: sqlx's `PgPool` has no room for them, so they are kept
//! here, by the identity of the pool's connect options (which a pool holds, in one `Arc`,
//! for its whole life).

#![cfg_attr(not(feature = "orm"), allow(dead_code))]

use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use std::sync::{Arc, RwLock, Weak};

/// One fact of type `T` per registered pool.
pub(crate) struct PoolRegistry<T> {
    entries: RwLock<Vec<(Weak<PgConnectOptions>, Arc<T>)>>,
}

impl<T> PoolRegistry<T> {
    pub(crate) const fn new() -> Self {
        PoolRegistry {
            entries: RwLock::new(Vec::new()),
        }
    }

    /// Records `value` for `pool` (forgetting pools that are gone).
    pub(crate) fn insert(&self, pool: &PgPool, value: Arc<T>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(options, _)| options.strong_count() > 0);
        entries.push((Arc::downgrade(&pool.connect_options()), value));
    }

    /// What was recorded for `pool`, if anything.
    pub(crate) fn get(&self, pool: &PgPool) -> Option<Arc<T>> {
        let options = pool.connect_options();
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .find(|(o, _)| std::ptr::eq(o.as_ptr(), Arc::as_ptr(&options)))
            .map(|(_, value)| Arc::clone(value))
    }
}
