//! Eager loading through [`BelongsTo`] and [`HasMany`]: a whole result set's related rows
//! with one statement per relation level, matched on typed keys.

use crate::db::Db;
use crate::entity::Entity;
use crate::error::Result;
use crate::key::KeyValue;
use crate::relation::{BelongsTo, HasMany};
use crate::repository::encode_err;
use crate::statement::{self, Op, Statement};
use sqlx::postgres::PgArguments;
use std::collections::{HashMap, HashSet};

/// The rows of `T` whose `columns` hold one of `keys`, with one statement.
async fn fetch_matching<T: Entity, K: KeyValue>(
    columns: &[&'static str],
    keys: Vec<K>,
    db: Db<'_>,
) -> Result<Vec<T>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = PgArguments::default();
    K::bind_arrays(&keys, &mut args).map_err(encode_err::<T>)?;
    let sql = statement::select_matching(T::META, columns);
    db.run(Statement::new(T::META, Op::Load, sql, args)).await
}

/// Each key once, in first-seen order.
fn distinct<K: KeyValue>(keys: impl Iterator<Item = K>) -> Vec<K> {
    let mut seen = HashSet::new();
    keys.filter(|k| seen.insert(k.clone())).collect()
}

impl<From: Entity, To: Entity + Clone, K: KeyValue> BelongsTo<From, To, K> {
    /// The row each of `rows` references (`None` where the foreign key is NULL or dangling),
    /// in `rows`' order, with one query.
    pub async fn load<'a>(&self, rows: &[From], db: impl Into<Db<'a>>) -> Result<Vec<Option<To>>> {
        let keys = distinct(rows.iter().filter_map(self.from_key));
        let columns = self.foreign_key().referenced_columns;
        let targets: Vec<To> = fetch_matching(columns, keys, db.into()).await?;
        let by_key: HashMap<K, To> = targets
            .into_iter()
            .filter_map(|t| Some(((self.to_key)(&t)?, t)))
            .collect();
        Ok(rows
            .iter()
            .map(|r| (self.from_key)(r).and_then(|k| by_key.get(&k).cloned()))
            .collect())
    }
}

impl<From: Entity, To: Entity + Clone, K: KeyValue> HasMany<From, To, K> {
    /// The rows of `To` pointing at each of `rows`, in `rows`' order, with one query.
    pub async fn load<'a>(&self, rows: &[From], db: impl Into<Db<'a>>) -> Result<Vec<Vec<To>>> {
        let parent_keys: Vec<Option<K>> = rows.iter().map(self.parent_key).collect();
        let keys = distinct(parent_keys.iter().flatten().cloned());
        let columns = self.foreign_key().columns;
        let children: Vec<To> = fetch_matching(columns, keys, db.into()).await?;
        let mut by_key: HashMap<K, Vec<To>> = HashMap::new();
        for child in children {
            if let Some(key) = (self.child_key)(&child) {
                by_key.entry(key).or_default().push(child);
            }
        }
        let mut remaining: HashMap<&K, usize> = HashMap::new();
        for key in parent_keys.iter().flatten() {
            *remaining.entry(key).or_default() += 1;
        }
        let mut out = Vec::with_capacity(rows.len());
        for key in &parent_keys {
            let Some(key) = key else {
                out.push(Vec::new());
                continue;
            };
            // Move the children to the last parent with this key; clone for earlier repeats.
            let left = remaining.get_mut(key).map_or(0, |n| {
                *n -= 1;
                *n
            });
            out.push(if left == 0 {
                by_key.remove(key).unwrap_or_default()
            } else {
                by_key.get(key).cloned().unwrap_or_default()
            });
        }
        Ok(out)
    }
}
