//! [`Repository`]: the everyday reads and writes of one table, every write `RETURNING` the
//! stored row.

use crate::entity::{Entity, HasPrimaryKey, InsertModel, KeyValue, PatchModel, Table};
use crate::error::{OrmkitError, Result};
use crate::ident::quote_ident;
use sqlx::postgres::PgArguments;
use sqlx::{Executor, PgPool, Postgres};
use std::fmt::Write as _;
use std::marker::PhantomData;

/// Reads and writes rows of `T` through a pool.
pub struct Repository<'p, T> {
    pool: &'p PgPool,
    _entity: PhantomData<fn() -> T>,
}

impl<T> Clone for Repository<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Repository<'_, T> {}

impl<T> std::fmt::Debug for Repository<'_, T>
where
    T: Entity,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("table", &T::META.qualified)
            .finish_non_exhaustive()
    }
}

fn table_name<T: Entity>() -> String {
    format!("{}.{}", T::META.schema, T::META.name)
}

fn encode_err<T: Entity>(source: sqlx::error::BoxDynError) -> OrmkitError {
    OrmkitError::Encode {
        table: table_name::<T>(),
        source,
    }
}

impl<'p, T: Entity> Repository<'p, T> {
    /// A repository over `pool`.
    pub fn new(pool: &'p PgPool) -> Self {
        Repository {
            pool,
            _entity: PhantomData,
        }
    }

    /// Every row, in no particular order.
    pub async fn find_all(&self) -> Result<Vec<T>> {
        let sql = format!("SELECT {} FROM {}", T::META.select_list, T::META.qualified);
        Ok(sqlx::query_as::<_, T>(&sql).fetch_all(self.pool).await?)
    }

    /// How many rows there are.
    pub async fn count(&self) -> Result<i64> {
        let sql = format!("SELECT count(*) FROM {}", T::META.qualified);
        Ok(sqlx::query_scalar(&sql).fetch_one(self.pool).await?)
    }
}

impl<'p, T: Table> Repository<'p, T> {
    /// Inserts one row and returns it as stored (defaults, identities, generated columns).
    pub async fn insert(&self, new: T::Insert) -> Result<T> {
        insert::<T>(self.pool, new).await
    }
}

impl<'p, T: HasPrimaryKey> Repository<'p, T> {
    /// The row with key `id`, or `None`.
    pub async fn find_by_id(&self, id: T::Id) -> Result<Option<T>> {
        let mut args = PgArguments::default();
        id.bind_key(&mut args).map_err(encode_err::<T>)?;
        Ok(sqlx::query_as_with::<_, T, _>(T::META.select_by_key, args)
            .fetch_optional(self.pool)
            .await?)
    }

    /// The row with key `id`, or [`OrmkitError::EntityNotFound`].
    pub async fn get(&self, id: T::Id) -> Result<T> {
        let key = format!("{id:?}");
        self.find_by_id(id)
            .await?
            .ok_or_else(|| OrmkitError::EntityNotFound {
                table: table_name::<T>(),
                key,
            })
    }

    /// Whether a row with key `id` exists.
    pub async fn exists(&self, id: T::Id) -> Result<bool> {
        Ok(self.find_by_id(id).await?.is_some())
    }

    /// Writes the fields set in `patch` and returns the stored row; `None` if no row has
    /// the patch's key. An empty patch is an error and writes nothing.
    pub async fn update(&self, patch: T::Patch) -> Result<Option<T>> {
        update::<T>(self.pool, patch).await
    }

    /// Deletes the row with key `id`; whether there was one.
    pub async fn delete(&self, id: T::Id) -> Result<bool> {
        let mut args = PgArguments::default();
        id.bind_key(&mut args).map_err(encode_err::<T>)?;
        let done = sqlx::query_with(T::META.delete_by_key, args)
            .execute(self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// Inserts `new` through any executor (pool, connection, transaction).
pub async fn insert<'c, T: Table>(
    executor: impl Executor<'c, Database = Postgres>,
    new: T::Insert,
) -> Result<T> {
    let mut columns = Vec::new();
    let mut args = PgArguments::default();
    new.bind_columns(&mut columns, &mut args)
        .map_err(encode_err::<T>)?;
    let mut sql = format!("INSERT INTO {}", T::META.qualified);
    if columns.is_empty() {
        sql.push_str(" DEFAULT VALUES");
    } else {
        sql.push_str(" (");
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&quote_ident(column));
        }
        sql.push_str(") VALUES (");
        for i in 1..=columns.len() {
            if i > 1 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "${i}");
        }
        sql.push(')');
    }
    let _ = write!(sql, " RETURNING {}", T::META.select_list);
    Ok(sqlx::query_as_with::<_, T, _>(&sql, args)
        .fetch_one(executor)
        .await?)
}

/// Applies `patch` through any executor; see [`Repository::update`].
pub async fn update<'c, T: HasPrimaryKey>(
    executor: impl Executor<'c, Database = Postgres>,
    patch: T::Patch,
) -> Result<Option<T>> {
    let mut columns = Vec::new();
    let mut args = PgArguments::default();
    let key = patch
        .bind_changes(&mut columns, &mut args)
        .map_err(encode_err::<T>)?;
    if columns.is_empty() {
        return Err(OrmkitError::EmptyPatch {
            table: table_name::<T>(),
            key: format!("{key:?}"),
        });
    }
    key.bind_key(&mut args).map_err(encode_err::<T>)?;
    let mut sql = format!("UPDATE {} SET ", T::META.qualified);
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "{} = ${}", quote_ident(column), i + 1);
    }
    sql.push_str(" WHERE ");
    for (i, column) in T::META.primary_key.iter().enumerate() {
        if i > 0 {
            sql.push_str(" AND ");
        }
        let _ = write!(sql, "{} = ${}", quote_ident(column), columns.len() + i + 1);
    }
    let _ = write!(sql, " RETURNING {}", T::META.select_list);
    Ok(sqlx::query_as_with::<_, T, _>(&sql, args)
        .fetch_optional(executor)
        .await?)
}
