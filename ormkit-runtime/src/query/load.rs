//! Eager loading through [`BelongsTo`], [`HasMany`] and [`ManyToMany`]: a whole result
//! set's related rows with one statement per relation level, matched on typed keys. Nested
//! relations (`users::POSTS.with(posts::COMMENTS)`) load level by level, still one statement
//! each, and come back grouped under their parents.

use crate::db::Db;
use crate::entity::{Entity, Position};
use crate::error::Result;
use crate::key::KeyValue;
use crate::relation::{BelongsTo, HasMany, ManyToMany};
use crate::repository::encode_err;
use crate::statement::exec::{Decoded, Decoder};
use crate::statement::{self, Op, Statement};
use futures::future::BoxFuture;
use sqlx::postgres::{PgArguments, PgRow};
use std::collections::{HashMap, HashSet};

/// A relation whose rows load for a slice of `From` rows, one statement per level:
/// [`BelongsTo`] gives each row an `Option<To>`, [`HasMany`] and [`ManyToMany`] a `Vec<To>`,
/// and [`With`] nests another relation under each loaded row.
pub trait Load<From>: Sync {
    /// What each `From` row gets.
    type Output: Send;
    /// The related rows of each of `rows`, in `rows`' order.
    #[doc(hidden)]
    fn load_on<'a>(
        &'a self,
        rows: &'a [From],
        db: &'a Db<'_>,
    ) -> BoxFuture<'a, Result<Vec<Self::Output>>>;
}

/// The rows of `T` whose `columns` hold one of `keys`, with one statement.
async fn fetch_matching<T: Entity, K: KeyValue>(
    columns: &[&'static str],
    keys: Vec<K>,
    db: &Db<'_>,
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

/// Hands each parent its children: moved to the last parent with a key, cloned for earlier
/// repeats of it.
fn distribute<K: KeyValue, C: Clone>(
    parent_keys: &[Option<K>],
    mut by_key: HashMap<K, Vec<C>>,
) -> Vec<Vec<C>> {
    let mut remaining: HashMap<&K, usize> = HashMap::new();
    for key in parent_keys.iter().flatten() {
        *remaining.entry(key).or_default() += 1;
    }
    let mut out = Vec::with_capacity(parent_keys.len());
    for key in parent_keys {
        let Some(key) = key else {
            out.push(Vec::new());
            continue;
        };
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
    out
}

impl<From: Entity + Sync, To: Entity + Clone, K: KeyValue> Load<From> for BelongsTo<From, To, K> {
    type Output = Option<To>;

    fn load_on<'a>(
        &'a self,
        rows: &'a [From],
        db: &'a Db<'_>,
    ) -> BoxFuture<'a, Result<Vec<Option<To>>>> {
        Box::pin(async move {
            let keys = distinct(rows.iter().filter_map(self.from_key));
            let columns = self.foreign_key().referenced_columns;
            let targets: Vec<To> = fetch_matching(columns, keys, db).await?;
            let by_key: HashMap<K, To> = targets
                .into_iter()
                .filter_map(|t| Some(((self.to_key)(&t)?, t)))
                .collect();
            Ok(rows
                .iter()
                .map(|r| (self.from_key)(r).and_then(|k| by_key.get(&k).cloned()))
                .collect())
        })
    }
}

impl<From: Entity + Sync, To: Entity + Clone, K: KeyValue> Load<From> for HasMany<From, To, K> {
    type Output = Vec<To>;

    fn load_on<'a>(
        &'a self,
        rows: &'a [From],
        db: &'a Db<'_>,
    ) -> BoxFuture<'a, Result<Vec<Vec<To>>>> {
        Box::pin(async move {
            let parent_keys: Vec<Option<K>> = rows.iter().map(self.parent_key).collect();
            let keys = distinct(parent_keys.iter().flatten().cloned());
            let columns = self.foreign_key().columns;
            let children: Vec<To> = fetch_matching(columns, keys, db).await?;
            let mut by_key: HashMap<K, Vec<To>> = HashMap::new();
            for child in children {
                if let Some(key) = (self.child_key)(&child) {
                    by_key.entry(key).or_default().push(child);
                }
            }
            Ok(distribute(&parent_keys, by_key))
        })
    }
}

/// A link row and the row it leads to, read one after the other.
fn read_linked<Link: Entity, To: Entity>(row: &PgRow) -> Result<(Link, To), sqlx::Error> {
    let mut at = Position::default();
    Ok((Link::read_at(row, &mut at)?, To::read_at(row, &mut at)?))
}

impl<From, To, Link, K> ManyToMany<From, To, Link, K>
where
    From: Entity + Sync,
    To: Entity + Clone,
    Link: Entity + Clone,
    K: KeyValue,
{
    async fn fetch_linked(&self, rows: &[From], db: &Db<'_>) -> Result<Vec<Vec<(Link, To)>>> {
        let parent_keys: Vec<Option<K>> = rows.iter().map(self.own_key).collect();
        let keys = distinct(parent_keys.iter().flatten().cloned());
        if keys.is_empty() {
            return Ok(parent_keys.iter().map(|_| Vec::new()).collect());
        }
        let mut args = PgArguments::default();
        K::bind_arrays(&keys, &mut args).map_err(encode_err::<Link>)?;
        let sql = statement::select_through(Link::META, self.from_key(), self.to_key(), To::META);
        let Decoded(linked) = db
            .run_with(
                Statement::new(To::META, Op::Load, sql, args),
                read_linked::<Link, To> as Decoder<(Link, To)>,
            )
            .await?;
        let mut by_key: HashMap<K, Vec<(Link, To)>> = HashMap::new();
        for (link, to) in linked {
            if let Some(key) = (self.link_key)(&link) {
                by_key.entry(key).or_default().push((link, to));
            }
        }
        Ok(distribute(&parent_keys, by_key))
    }

    /// The rows of `To` linked to each of `rows`, in `rows`' order, with one query.
    pub async fn load<'a>(&self, rows: &[From], db: impl Into<Db<'a>>) -> Result<Vec<Vec<To>>> {
        self.load_on(rows, &db.into()).await
    }

    /// The rows of `To` linked to each of `rows`, each with its link row (which holds the
    /// link's payload), with one query.
    pub async fn load_with_links<'a>(
        &self,
        rows: &[From],
        db: impl Into<Db<'a>>,
    ) -> Result<Vec<Vec<(Link, To)>>> {
        self.fetch_linked(rows, &db.into()).await
    }
}

impl<From, To, Link, K> Load<From> for ManyToMany<From, To, Link, K>
where
    From: Entity + Sync,
    To: Entity + Clone,
    Link: Entity + Clone,
    K: KeyValue,
{
    type Output = Vec<To>;

    fn load_on<'a>(
        &'a self,
        rows: &'a [From],
        db: &'a Db<'_>,
    ) -> BoxFuture<'a, Result<Vec<Vec<To>>>> {
        Box::pin(async move {
            let linked = self.fetch_linked(rows, db).await?;
            Ok(linked
                .into_iter()
                .map(|pairs| pairs.into_iter().map(|(_, to)| to).collect())
                .collect())
        })
    }
}

impl<From: Entity + Sync, To: Entity + Clone, K: KeyValue> BelongsTo<From, To, K> {
    /// The row each of `rows` references (`None` where the foreign key is NULL or dangling),
    /// in `rows`' order, with one query.
    pub async fn load<'a>(&self, rows: &[From], db: impl Into<Db<'a>>) -> Result<Vec<Option<To>>> {
        self.load_on(rows, &db.into()).await
    }
}

impl<From: Entity + Sync, To: Entity + Clone, K: KeyValue> HasMany<From, To, K> {
    /// The rows of `To` pointing at each of `rows`, in `rows`' order, with one query.
    pub async fn load<'a>(&self, rows: &[From], db: impl Into<Db<'a>>) -> Result<Vec<Vec<To>>> {
        self.load_on(rows, &db.into()).await
    }
}

/// A relation with another nested under each row it loads:
/// `users::POSTS.with(posts::COMMENTS)` gives each user its posts, each post with its
/// comments (`Vec<(Post, Vec<Comment>)>`), one statement per level.
#[derive(Debug, Clone, Copy)]
pub struct With<R, N> {
    relation: R,
    nested: N,
}

/// Nests `nested` under the rows a relation loads.
pub trait Nest: Sized {
    /// This relation, with `nested` loaded for each of its rows.
    fn with<N>(self, nested: N) -> With<Self, N> {
        With {
            relation: self,
            nested,
        }
    }
}

impl<From, To, K> Nest for BelongsTo<From, To, K> {}
impl<From, To, K> Nest for HasMany<From, To, K> {}
impl<From, To, Link, K> Nest for ManyToMany<From, To, Link, K> {}
impl<R, N> Nest for With<R, N> {}

/// What a relation gives one row: an `Option` or a `Vec` of related rows.
pub trait Related: Send {
    /// A related row.
    type Item: Send;
    /// The same shape holding `T`s.
    type Shape<T: Send>: Send;
    #[doc(hidden)]
    fn take(self, items: &mut Vec<Self::Item>) -> usize;
    #[doc(hidden)]
    fn rebuild<T: Send>(count: usize, items: &mut impl Iterator<Item = T>) -> Self::Shape<T>;
}

impl<T: Send> Related for Option<T> {
    type Item = T;
    type Shape<U: Send> = Option<U>;

    fn take(self, items: &mut Vec<T>) -> usize {
        match self {
            Some(item) => {
                items.push(item);
                1
            }
            None => 0,
        }
    }

    fn rebuild<U: Send>(count: usize, items: &mut impl Iterator<Item = U>) -> Option<U> {
        if count == 0 {
            None
        } else {
            items.next()
        }
    }
}

impl<T: Send> Related for Vec<T> {
    type Item = T;
    type Shape<U: Send> = Vec<U>;

    fn take(self, items: &mut Vec<T>) -> usize {
        let n = self.len();
        items.extend(self);
        n
    }

    fn rebuild<U: Send>(count: usize, items: &mut impl Iterator<Item = U>) -> Vec<U> {
        items.take(count).collect()
    }
}

impl<From, R, N> Load<From> for With<R, N>
where
    From: Sync,
    R: Load<From>,
    R::Output: Related,
    N: Load<<R::Output as Related>::Item>,
    <R::Output as Related>::Item: Sync,
{
    type Output = <R::Output as Related>::Shape<(<R::Output as Related>::Item, N::Output)>;

    fn load_on<'a>(
        &'a self,
        rows: &'a [From],
        db: &'a Db<'_>,
    ) -> BoxFuture<'a, Result<Vec<Self::Output>>> {
        Box::pin(async move {
            let outer = self.relation.load_on(rows, db).await?;
            let mut items = Vec::new();
            let counts: Vec<usize> = outer.into_iter().map(|o| o.take(&mut items)).collect();
            let nested = self.nested.load_on(&items, db).await?;
            let mut pairs = items.into_iter().zip(nested);
            Ok(counts
                .into_iter()
                .map(|n| <R::Output as Related>::rebuild(n, &mut pairs))
                .collect())
        })
    }
}

impl<R, N> With<R, N> {
    /// Loads the relation for each of `rows`, with the nested relations under each loaded
    /// row, one statement per level.
    pub async fn load<'a, From>(
        &self,
        rows: &[From],
        db: impl Into<Db<'a>>,
    ) -> Result<Vec<<Self as Load<From>>::Output>>
    where
        Self: Load<From>,
    {
        self.load_on(rows, &db.into()).await
    }
}
