//! [`Repository`]: the everyday reads and writes of one table, every write `RETURNING` the
//! stored row, on a pool, a connection or a transaction alike.
//!
//! The statements live in [`statement`](crate::statement); the functions at the bottom of
//! this module are the one implementation of each operation, shared with the
//! [`CachedRepository`](crate::CachedRepository), which only adds its write hook (a
//! `pg_notify` in the write's own statement) and its cache around them.

use crate::conflict::OnConflict;
use crate::db::Db;
use crate::entity::{Entity, HasPrimaryKey, InsertModel, PatchModel, Table};
use crate::error::{OrmkitError, Result};
use crate::key::KeyValue;
use crate::statement::{self, Done, Notify, One, Op, Statement, Values};
use sqlx::postgres::PgArguments;
use std::marker::PhantomData;

/// Reads and writes rows of `T` through a [`Db`]: `Repository::<User>::new(&pool)`,
/// `Repository::<User>::new(&tx)`, `Repository::<User>::new(&mut *conn)`.
pub struct Repository<'a, T> {
    db: Db<'a>,
    _entity: PhantomData<fn() -> T>,
}

impl<T: Entity> std::fmt::Debug for Repository<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("table", &T::META.qualified())
            .finish_non_exhaustive()
    }
}

impl<'a, T: Entity> Repository<'a, T> {
    /// A repository over a pool, a connection or a transaction.
    pub fn new(db: impl Into<Db<'a>>) -> Self {
        Repository {
            db: db.into(),
            _entity: PhantomData,
        }
    }

    /// Every row, in no particular order.
    pub async fn find_all(&self) -> Result<Vec<T>> {
        find_all(&self.db).await
    }

    /// How many rows there are.
    pub async fn count(&self) -> Result<i64> {
        count::<T>(&self.db).await
    }
}

impl<T: Table> Repository<'_, T> {
    /// Inserts one row and returns it as stored (defaults, identities, generated columns).
    pub async fn insert(&self, new: T::Insert) -> Result<T> {
        insert(&self.db, &new, None).await
    }

    /// Inserts one row, or, when it conflicts with a unique constraint, does what `conflict`
    /// says: updates the named columns from the proposed row (the stored row is returned) or
    /// skips it (`None`). One statement: `INSERT … ON CONFLICT … RETURNING`.
    ///
    /// ```ignore
    /// let conflict = OnConflict::on(users::EMAIL).do_update(users::DISPLAY_NAME);
    /// let stored = Repository::<User>::new(&pool).upsert(new_user, &conflict).await?;
    /// ```
    pub async fn upsert(&self, new: T::Insert, conflict: &OnConflict<T>) -> Result<Option<T>> {
        upsert(&self.db, &new, conflict).await
    }

    /// Inserts several rows, returning them in order. Consecutive rows that set the same
    /// columns go in one multi-row statement, in chunks below PostgreSQL's parameter limit.
    pub async fn insert_many(&self, news: impl IntoIterator<Item = T::Insert>) -> Result<Vec<T>> {
        let news: Vec<T::Insert> = news.into_iter().collect();
        insert_many(&self.db, &news, "", None).await
    }
}

impl<T: HasPrimaryKey> Repository<'_, T> {
    /// The row with key `id`, or `None`.
    pub async fn find_by_id(&self, id: T::Id) -> Result<Option<T>> {
        find_by_id(&self.db, &id).await
    }

    /// The row with key `id`, or [`OrmkitError::EntityNotFound`].
    pub async fn get(&self, id: T::Id) -> Result<T> {
        let found = find_by_id(&self.db, &id).await?;
        found.ok_or_else(|| not_found::<T>(&id))
    }

    /// Whether a row with key `id` exists.
    pub async fn exists(&self, id: T::Id) -> Result<bool> {
        exists::<T>(&self.db, &id).await
    }

    /// Writes the fields set in `patch` and returns the stored row; `None` if no row has
    /// the patch's key. An empty patch is an error and writes nothing.
    pub async fn update(&self, patch: T::Patch) -> Result<Option<T>> {
        update(&self.db, &patch, None).await
    }

    /// Deletes the row with key `id`; whether there was one.
    pub async fn delete(&self, id: T::Id) -> Result<bool> {
        delete::<T>(&self.db, &id, None).await
    }
}

/// `schema.table`, for messages.
pub(crate) fn table_name<E: Entity>() -> String {
    format!("{}.{}", E::META.schema, E::META.name)
}

pub(crate) fn encode_err<E: Entity>(source: sqlx::error::BoxDynError) -> OrmkitError {
    OrmkitError::Encode {
        table: table_name::<E>(),
        source,
    }
}

pub(crate) fn not_found<T: HasPrimaryKey>(id: &T::Id) -> OrmkitError {
    OrmkitError::EntityNotFound {
        table: table_name::<T>(),
        key: format!("{id:?}"),
    }
}

fn key_args<T: HasPrimaryKey>(id: &T::Id) -> Result<PgArguments> {
    let mut args = PgArguments::default();
    id.bind_key(&mut args).map_err(encode_err::<T>)?;
    Ok(args)
}

pub(crate) async fn find_all<T: Entity>(db: &Db<'_>) -> Result<Vec<T>> {
    let sql = &statement::sql(T::META).select_all;
    db.run(Statement::new(
        T::META,
        Op::Select,
        sql.as_str(),
        PgArguments::default(),
    ))
    .await
}

pub(crate) async fn count<T: Entity>(db: &Db<'_>) -> Result<i64> {
    let sql = &statement::sql(T::META).count;
    let One((n,)) = db
        .run(Statement::new(
            T::META,
            Op::Count,
            sql.as_str(),
            PgArguments::default(),
        ))
        .await?;
    Ok(n)
}

pub(crate) async fn find_by_id<T: HasPrimaryKey>(db: &Db<'_>, id: &T::Id) -> Result<Option<T>> {
    let sql = &statement::sql(T::META).select_by_key;
    db.run(Statement::new(
        T::META,
        Op::Select,
        sql.as_str(),
        key_args::<T>(id)?,
    ))
    .await
}

pub(crate) async fn exists<T: HasPrimaryKey>(db: &Db<'_>, id: &T::Id) -> Result<bool> {
    let sql = &statement::sql(T::META).exists_by_key;
    let One((found,)) = db
        .run(Statement::new(
            T::META,
            Op::Select,
            sql.as_str(),
            key_args::<T>(id)?,
        ))
        .await?;
    Ok(found)
}

/// Inserts one row, with `notify` sent by the same statement.
pub(crate) async fn insert<T: Table>(
    db: &Db<'_>,
    new: &T::Insert,
    notify: Option<Notify>,
) -> Result<T> {
    let mut values = Values::default();
    new.write(&mut values).map_err(encode_err::<T>)?;
    let extra = notify
        .map(|n| n.bind(&mut values.args))
        .transpose()
        .map_err(encode_err::<T>)?;
    let sql = statement::insert(T::META, &values.columns, 1, "", extra.as_deref());
    let One(row) = db
        .run(Statement::new(T::META, Op::Insert, sql, values.args))
        .await?;
    Ok(row)
}

/// Inserts one row with an `ON CONFLICT` clause; `None` when the clause skipped it.
pub(crate) async fn upsert<T: Table>(
    db: &Db<'_>,
    new: &T::Insert,
    conflict: &OnConflict<T>,
) -> Result<Option<T>> {
    let mut values = Values::default();
    new.write(&mut values).map_err(encode_err::<T>)?;
    let sql = statement::insert(T::META, &values.columns, 1, &conflict.clause(), None);
    db.run(Statement::new(T::META, Op::Insert, sql, values.args))
        .await
}

/// The most parameters one statement may bind.
const MAX_PARAMS: usize = 32_767;

/// Inserts `news` in order, consecutive rows that set the same columns in one multi-row
/// `INSERT … VALUES` (below the parameter limit), with `conflict` (an `ON CONFLICT` clause
/// or nothing) and `notify` sent by every statement; rows skipped by the clause are not
/// returned.
pub(crate) async fn insert_many<T: Table>(
    db: &Db<'_>,
    news: &[T::Insert],
    conflict: &str,
    notify: Option<Notify>,
) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(news.len());
    let mut start = 0;
    while start < news.len() {
        let columns = crate::entity::columns_of(|w| news[start].write(w));
        let per_row = columns.len().max(1);
        let mut end = start + 1;
        while end < news.len()
            && (end - start + 1) * per_row <= MAX_PARAMS
            && !columns.is_empty()
            && crate::entity::columns_of(|w| news[end].write(w)) == columns
        {
            end += 1;
        }
        let mut values = Values::default();
        for new in &news[start..end] {
            new.write(&mut values).map_err(encode_err::<T>)?;
        }
        let extra = notify
            .clone()
            .map(|n| n.bind(&mut values.args))
            .transpose()
            .map_err(encode_err::<T>)?;
        // `INSERT … VALUES … RETURNING` returns rows in VALUES order for a plain insert.
        let sql = statement::insert(T::META, &columns, end - start, conflict, extra.as_deref());
        let rows: Vec<T> = db
            .run(Statement::new(T::META, Op::Insert, sql, values.args))
            .await?;
        out.extend(rows);
        start = end;
    }
    Ok(out)
}

/// Writes the fields set in `patch`, with `notify` sent by the same statement.
pub(crate) async fn update<T: HasPrimaryKey>(
    db: &Db<'_>,
    patch: &T::Patch,
    notify: Option<Notify>,
) -> Result<Option<T>> {
    let key = patch.key();
    let mut values = Values::default();
    patch.write(&mut values).map_err(encode_err::<T>)?;
    if values.columns.is_empty() {
        return Err(OrmkitError::EmptyPatch {
            table: table_name::<T>(),
            key: format!("{key:?}"),
        });
    }
    key.bind_key(&mut values.args).map_err(encode_err::<T>)?;
    let extra = notify
        .map(|n| n.bind(&mut values.args))
        .transpose()
        .map_err(encode_err::<T>)?;
    let sql = statement::update_by_key(T::META, &values.columns, extra.as_deref());
    db.run(Statement::new(T::META, Op::Update, sql, values.args))
        .await
}

/// Deletes the row with key `id`, with `notify` sent by the same statement.
pub(crate) async fn delete<T: HasPrimaryKey>(
    db: &Db<'_>,
    id: &T::Id,
    notify: Option<Notify>,
) -> Result<bool> {
    let mut args = key_args::<T>(id)?;
    let extra = notify
        .map(|n| n.bind(&mut args))
        .transpose()
        .map_err(encode_err::<T>)?;
    let sql = statement::delete_by_key(T::META, extra.as_deref());
    let Done(n) = db
        .run(Statement::new(T::META, Op::Delete, sql, args))
        .await?;
    Ok(n > 0)
}
