//! Eager loading through [`BelongsTo`] and [`HasMany`]: a whole result set's related rows
//! with one statement per relation level.

use crate::db::{with_executor, Db};
use crate::entity::Entity;
use crate::error::Result;
use crate::ident::quote_ident;
use crate::meta::EntityMeta;
use crate::relation::{BelongsTo, HasMany, KeyText};
use sqlx::postgres::PgArguments;
use sqlx::Arguments as _;
use std::collections::HashMap;

/// `SELECT <all> FROM <target> WHERE <columns> match any of keys`, one statement.
async fn fetch_matching<'a, T: Entity>(
    columns: &[&'static str],
    keys: Vec<KeyText>,
    db: Db<'a>,
) -> Result<Vec<T>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let meta: &EntityMeta = T::META;
    let mut args = PgArguments::default();
    let mut arrays = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        let parts: Vec<String> = keys.iter().map(|k| k[i].clone()).collect();
        args.add(parts)
            .map_err(crate::query::select::encode_err::<T>)?;
        let ty = meta.column(column).map_or("text", |c| c.sql_type);
        arrays.push(format!("${}::text[]::{ty}[]", i + 1));
    }
    let sql = if columns.len() == 1 {
        format!(
            "SELECT {} FROM {} WHERE {} = ANY({})",
            meta.select_list,
            meta.qualified,
            quote_ident(columns[0]),
            arrays[0]
        )
    } else {
        let cols: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        format!(
            "SELECT {} FROM {} WHERE ({}) IN (SELECT * FROM unnest({}))",
            meta.select_list,
            meta.qualified,
            cols.join(", "),
            arrays.join(", ")
        )
    };
    let query = sqlx::query_as_with::<_, T, _>(&sql, args);
    Ok(with_executor!(
        &db,
        (T::META, "load", crate::metrics::rows_vec),
        |e| query.fetch_all(e).await
    )?)
}

fn distinct(keys: impl Iterator<Item = KeyText>) -> Vec<KeyText> {
    let mut seen = std::collections::HashSet::new();
    keys.filter(|k| seen.insert(k.clone())).collect()
}

impl<From: Entity, To: Entity + Clone> BelongsTo<From, To> {
    /// The row each of `rows` references (`None` where the foreign key is NULL or dangling),
    /// in `rows`' order, with one query.
    pub async fn load<'a>(&self, rows: &[From], db: impl Into<Db<'a>>) -> Result<Vec<Option<To>>> {
        let keys = distinct(rows.iter().filter_map(self.from_key));
        let targets: Vec<To> =
            fetch_matching(self.foreign_key.referenced_columns, keys, db.into()).await?;
        let by_key: HashMap<KeyText, To> = targets
            .into_iter()
            .map(|t| ((self.to_key)(&t), t))
            .collect();
        Ok(rows
            .iter()
            .map(|r| (self.from_key)(r).and_then(|k| by_key.get(&k).cloned()))
            .collect())
    }
}

impl<From: Entity, To: Entity + Clone> HasMany<From, To> {
    /// The rows of `To` pointing at each of `rows`, in `rows`' order, with one query.
    pub async fn load<'a>(&self, rows: &[From], db: impl Into<Db<'a>>) -> Result<Vec<Vec<To>>> {
        let keys = distinct(rows.iter().map(self.parent_key));
        let children: Vec<To> = fetch_matching(self.foreign_key.columns, keys, db.into()).await?;
        let mut by_key: HashMap<KeyText, Vec<To>> = HashMap::new();
        for child in children {
            if let Some(key) = (self.child_key)(&child) {
                by_key.entry(key).or_default().push(child);
            }
        }
        let parent_keys: Vec<KeyText> = rows.iter().map(self.parent_key).collect();
        let mut remaining: HashMap<&KeyText, usize> = HashMap::new();
        for key in &parent_keys {
            *remaining.entry(key).or_default() += 1;
        }
        let mut out = Vec::with_capacity(rows.len());
        for key in &parent_keys {
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
