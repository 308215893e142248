//! [`Repository`]: the everyday reads and writes of one table, every write `RETURNING` the
//! stored row, on a pool, a connection or a transaction alike.

use crate::db::{with_executor, Db};
use crate::entity::{Entity, HasPrimaryKey, InsertModel, KeyValue, PatchModel, Table};
use crate::error::{OrmkitError, Result};
use crate::ident::quote_ident;
use crate::query::select::{encode_err, table_name};
use sqlx::postgres::PgArguments;
use std::fmt::Write as _;
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
            .field("table", &T::META.qualified)
            .finish_non_exhaustive()
    }
}

fn insert_sql<T: Entity>(columns: &[&'static str], rows: usize, conflict: &str) -> String {
    let mut sql = format!("INSERT INTO {}", T::META.qualified);
    if columns.is_empty() {
        sql.push_str(" DEFAULT VALUES");
    } else {
        let list: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        let _ = write!(sql, " ({}) VALUES ", list.join(", "));
        for row in 0..rows {
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for i in 0..columns.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                let _ = write!(sql, "${}", row * columns.len() + i + 1);
            }
            sql.push(')');
        }
    }
    let _ = write!(sql, "{conflict} RETURNING {}", T::META.select_list);
    sql
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
        let sql = format!("SELECT {} FROM {}", T::META.select_list, T::META.qualified);
        let query = sqlx::query_as::<_, T>(&sql);
        Ok(with_executor!(
            &self.db,
            (T::META, "select", crate::metrics::rows_vec),
            |e| query.fetch_all(e).await
        )?)
    }

    /// How many rows there are.
    pub async fn count(&self) -> Result<i64> {
        let sql = format!("SELECT count(*) FROM {}", T::META.qualified);
        let query = sqlx::query_scalar::<_, i64>(&sql);
        Ok(with_executor!(
            &self.db,
            (T::META, "count", crate::metrics::rows_one),
            |e| query.fetch_one(e).await
        )?)
    }
}

impl<T: Table> Repository<'_, T> {
    /// Inserts one row and returns it as stored (defaults, identities, generated columns).
    pub async fn insert(&self, new: T::Insert) -> Result<T> {
        let mut columns = Vec::new();
        let mut args = PgArguments::default();
        new.bind_columns(&mut columns, &mut args)
            .map_err(encode_err::<T>)?;
        let sql = insert_sql::<T>(&columns, 1, "");
        let query = sqlx::query_as_with::<_, T, _>(&sql, args);
        Ok(with_executor!(
            &self.db,
            (T::META, "insert", crate::metrics::rows_one),
            |e| query.fetch_one(e).await
        )?)
    }

    /// Inserts several rows, returning them in order. Consecutive rows that set the same
    /// columns go in one multi-row statement, in chunks below PostgreSQL's parameter limit.
    pub async fn insert_many(&self, news: impl IntoIterator<Item = T::Insert>) -> Result<Vec<T>> {
        self.insert_many_with(news, "").await
    }

    /// [`insert_many`](Self::insert_many) with `conflict` (an `ON CONFLICT` clause or
    /// nothing) before `RETURNING`; rows skipped by the clause are not returned.
    pub(crate) async fn insert_many_with(
        &self,
        news: impl IntoIterator<Item = T::Insert>,
        conflict: &str,
    ) -> Result<Vec<T>> {
        const MAX_PARAMS: usize = 32_767;
        let mut out = Vec::new();
        let mut batch: Vec<&'static str> = Vec::new();
        let mut args = PgArguments::default();
        let mut rows = 0;
        for new in news {
            let mut columns = Vec::new();
            new.set_columns(&mut columns);
            let fits = (rows + 1) * columns.len() <= MAX_PARAMS;
            if rows > 0 && (columns != batch || !fits) {
                let args = std::mem::take(&mut args);
                out.extend(self.flush(&batch, rows, args, conflict).await?);
                rows = 0;
            }
            let mut bound = Vec::with_capacity(columns.len());
            new.bind_columns(&mut bound, &mut args)
                .map_err(encode_err::<T>)?;
            batch = columns;
            rows += 1;
        }
        if rows > 0 {
            out.extend(self.flush(&batch, rows, args, conflict).await?);
        }
        Ok(out)
    }

    async fn flush(
        &self,
        columns: &[&'static str],
        rows: usize,
        args: PgArguments,
        conflict: &str,
    ) -> Result<Vec<T>> {
        if columns.is_empty() {
            let mut out = Vec::with_capacity(rows);
            let sql = insert_sql::<T>(columns, 1, conflict);
            for _ in 0..rows {
                let query = sqlx::query_as::<_, T>(&sql);
                out.extend(with_executor!(
                    &self.db,
                    (T::META, "insert", crate::metrics::rows_vec),
                    |e| query.fetch_all(e).await
                )?);
            }
            return Ok(out);
        }
        // `INSERT … VALUES … RETURNING` returns rows in VALUES order for a plain insert.
        let sql = insert_sql::<T>(columns, rows, conflict);
        let query = sqlx::query_as_with::<_, T, _>(&sql, args);
        Ok(with_executor!(
            &self.db,
            (T::META, "insert", crate::metrics::rows_vec),
            |e| query.fetch_all(e).await
        )?)
    }
}

impl<T: HasPrimaryKey> Repository<'_, T> {
    /// The row with key `id`, or `None`.
    pub async fn find_by_id(&self, id: T::Id) -> Result<Option<T>> {
        let mut args = PgArguments::default();
        id.bind_key(&mut args).map_err(encode_err::<T>)?;
        let query = sqlx::query_as_with::<_, T, _>(T::META.select_by_key, args);
        Ok(with_executor!(
            &self.db,
            (T::META, "select", crate::metrics::rows_opt),
            |e| query.fetch_optional(e).await
        )?)
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
        let mut args = PgArguments::default();
        id.bind_key(&mut args).map_err(encode_err::<T>)?;
        let sql = format!("SELECT EXISTS ({})", T::META.select_by_key);
        let query = sqlx::query_scalar_with::<_, bool, _>(&sql, args);
        Ok(with_executor!(
            &self.db,
            (T::META, "select", crate::metrics::rows_one),
            |e| query.fetch_one(e).await
        )?)
    }

    /// Writes the fields set in `patch` and returns the stored row; `None` if no row has
    /// the patch's key. An empty patch is an error and writes nothing.
    pub async fn update(&self, patch: T::Patch) -> Result<Option<T>> {
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
        let query = sqlx::query_as_with::<_, T, _>(&sql, args);
        Ok(with_executor!(
            &self.db,
            (T::META, "update", crate::metrics::rows_opt),
            |e| query.fetch_optional(e).await
        )?)
    }

    /// Deletes the row with key `id`; whether there was one.
    pub async fn delete(&self, id: T::Id) -> Result<bool> {
        let mut args = PgArguments::default();
        id.bind_key(&mut args).map_err(encode_err::<T>)?;
        let query = sqlx::query_with(T::META.delete_by_key, args);
        let done = with_executor!(
            &self.db,
            (T::META, "delete", crate::metrics::rows_done),
            |e| query.execute(e).await
        )?;
        Ok(done.rows_affected() > 0)
    }
}
