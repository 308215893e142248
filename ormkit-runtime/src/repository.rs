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
    /// A repository over a pool, a connection or a transaction (anything that converts into a
    /// [`Db`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, NewUser, User};
    /// use ormkit::Repository;
    ///
    /// let on_pool = Repository::<User>::new(&pool);
    /// let mut conn = pool.acquire().await?;
    /// let on_conn = Repository::<User>::new(&mut *conn);
    /// assert_eq!(on_pool.count().await?, on_conn.count().await?);
    /// ormkit::transaction(&pool, |tx| async move {
    ///     Repository::<User>::new(&tx).insert(NewUser::new("ada@example.com".into())).await?;
    ///     Ok::<_, ormkit::OrmkitError>(())
    /// })
    /// .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(db: impl Into<Db<'a>>) -> Self {
        Repository {
            db: db.into(),
            _entity: PhantomData,
        }
    }

    /// Every row, in no particular order (for an order, a filter or a limit, use the query
    /// DSL: `User::query()`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, NewUser, User};
    /// let repo = ormkit::Repository::<User>::new(&pool);
    /// repo.insert(NewUser::new("ada@example.com".into())).await?;
    /// let all: Vec<User> = repo.find_all().await?;
    /// assert_eq!(all.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn find_all(&self) -> Result<Vec<T>> {
        find_all(&self.db).await
    }

    /// How many rows there are (`SELECT count(*)`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, NewUser, User};
    /// let repo = ormkit::Repository::<User>::new(&pool);
    /// assert_eq!(repo.count().await?, 0);
    /// repo.insert(NewUser::new("ada@example.com".into())).await?;
    /// assert_eq!(repo.count().await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn count(&self) -> Result<i64> {
        count::<T>(&self.db).await
    }
}

impl<T: Table> Repository<'_, T> {
    /// Inserts one row and returns it as stored (defaults, identities, generated columns).
    /// `NewUser::new` takes the columns without a default; the others are `Option` fields
    /// (`None`: the column's default).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, NewUser, User};
    /// use ormkit_tests::entities::Mood;
    ///
    /// let repo = ormkit::Repository::<User>::new(&pool);
    /// let mut new = NewUser::new("ada@example.com".into());
    /// new.display_name = Some("Ada".into());
    /// let ada = repo.insert(new).await?;
    /// assert_eq!(ada.mood, Mood::Happy); // the column's default
    /// assert_eq!(ada.display_name.as_deref(), Some("Ada"));
    /// // A unique violation is an error with its SQLSTATE; nothing is written.
    /// let again = repo.insert(NewUser::new("ada@example.com".into())).await;
    /// assert_eq!(again.unwrap_err().sqlstate().as_deref(), Some("23505"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn insert(&self, new: T::Insert) -> Result<T> {
        insert(&self.db, &new, None).await
    }

    /// Inserts one row, or, when it conflicts with a unique constraint, does what `conflict`
    /// says: updates the named columns from the proposed row (the stored row is returned) or
    /// skips it (`None`). One statement: `INSERT … ON CONFLICT … RETURNING`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, NewUser, User};
    /// use ormkit::OnConflict;
    ///
    /// let repo = ormkit::Repository::<User>::new(&pool);
    /// repo.insert(NewUser::new("ada@example.com".into())).await?;
    /// let mut new = NewUser::new("ada@example.com".into());
    /// new.display_name = Some("Ada L.".into());
    /// let conflict = OnConflict::on(users::EMAIL).do_update(users::DISPLAY_NAME);
    /// let stored = repo.upsert(new, &conflict).await?.expect("updated");
    /// assert_eq!(stored.display_name.as_deref(), Some("Ada L."));
    /// let skip = OnConflict::on(users::EMAIL).do_nothing();
    /// let skipped = repo.upsert(NewUser::new("ada@example.com".into()), &skip).await?;
    /// assert_eq!(skipped, None);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn upsert(&self, new: T::Insert, conflict: &OnConflict<T>) -> Result<Option<T>> {
        upsert(&self.db, &new, conflict).await
    }

    /// Inserts several rows, returning them in order. Consecutive rows that set the same
    /// columns go in one multi-row statement, in chunks below PostgreSQL's parameter limit.
    /// On a pool each statement commits on its own: for all or nothing, call it on a
    /// transaction (or for large loads use [`ParallelExecutor`](crate::ParallelExecutor)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, NewUser, User};
    /// let repo = ormkit::Repository::<User>::new(&pool);
    /// let news = ["ada@example.com", "grace@example.com"].map(|e| NewUser::new(e.into()));
    /// let stored = repo.insert_many(news).await?;
    /// assert_eq!(stored[1].email, "grace@example.com");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn insert_many(&self, news: impl IntoIterator<Item = T::Insert>) -> Result<Vec<T>> {
        let news: Vec<T::Insert> = news.into_iter().collect();
        insert_many(&self.db, &news, "", None).await
    }
}

impl<T: HasPrimaryKey> Repository<'_, T> {
    /// The row with key `id`, or `None`. The key is the table's typed ID (`UserId`, which is
    /// `ormkit::Id<User, i64>`): from a row (`user.id`), or built with `UserId::new(7)`; a
    /// composite key is a tuple of its parts.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, NewUser, User};
    /// use ormkit_tests::entities::UserId;
    ///
    /// let repo = ormkit::Repository::<User>::new(&pool);
    /// let ada = repo.insert(NewUser::new("ada@example.com".into())).await?;
    /// assert_eq!(repo.find_by_id(ada.id).await?, Some(ada));
    /// assert_eq!(repo.find_by_id(UserId::new(-1)).await?, None);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn find_by_id(&self, id: T::Id) -> Result<Option<T>> {
        find_by_id(&self.db, &id).await
    }

    /// The row with key `id`, or [`OrmkitError::EntityNotFound`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, NewUser, User};
    /// use ormkit::OrmkitError;
    /// use ormkit_tests::entities::UserId;
    ///
    /// let repo = ormkit::Repository::<User>::new(&pool);
    /// let ada = repo.insert(NewUser::new("ada@example.com".into())).await?;
    /// assert_eq!(repo.get(ada.id).await?.email, "ada@example.com");
    /// let missing = repo.get(UserId::new(-1)).await;
    /// assert!(matches!(missing, Err(OrmkitError::EntityNotFound { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get(&self, id: T::Id) -> Result<T> {
        let found = find_by_id(&self.db, &id).await?;
        found.ok_or_else(|| not_found::<T>(&id))
    }

    /// Whether a row with key `id` exists (`SELECT EXISTS`, no row read).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, NewUser, User};
    /// let repo = ormkit::Repository::<User>::new(&pool);
    /// let ada = repo.insert(NewUser::new("ada@example.com".into())).await?;
    /// assert!(repo.exists(ada.id).await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn exists(&self, id: T::Id) -> Result<bool> {
        exists::<T>(&self.db, &id).await
    }

    /// Writes the fields set in `patch` and returns the stored row; `None` if no row has
    /// the patch's key. An empty patch is an error and writes nothing. A patch's setters
    /// take the column's type: `Some(x)` or `None` (NULL) for a nullable column.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, NewUser, User};
    /// use ormkit_tests::entities::UserPatch;
    ///
    /// let repo = ormkit::Repository::<User>::new(&pool);
    /// let ada = repo.insert(NewUser::new("ada@example.com".into())).await?;
    /// let patch = UserPatch::new(ada.id).display_name(Some("Ada".into())).karma(None);
    /// let ada = repo.update(patch).await?.expect("the row exists");
    /// assert_eq!(ada.display_name.as_deref(), Some("Ada"));
    /// assert!(repo.update(UserPatch::new(ada.id)).await.is_err()); // nothing to write
    /// # Ok(())
    /// # }
    /// ```
    pub async fn update(&self, patch: T::Patch) -> Result<Option<T>> {
        update(&self.db, &patch, None).await
    }

    /// Deletes the row with key `id`; whether there was one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities::{users, NewUser, User};
    /// let repo = ormkit::Repository::<User>::new(&pool);
    /// let ada = repo.insert(NewUser::new("ada@example.com".into())).await?;
    /// assert!(repo.delete(ada.id).await?);
    /// assert!(!repo.delete(ada.id).await?);
    /// # Ok(())
    /// # }
    /// ```
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

/// Sends `notify` as a statement of its own on `db` (for a write whose notification cannot
/// ride in its own statement): under a transaction, delivered at commit.
#[cfg(feature = "cache")]
pub(crate) async fn notify<T: Table>(db: &Db<'_>, notify: Notify) -> Result<()> {
    let mut args = PgArguments::default();
    let item = notify.bind(&mut args).map_err(encode_err::<T>)?;
    let sql = format!("SELECT {item}");
    db.run::<Done>(Statement::new(T::META, Op::Execute, sql, args))
        .await?;
    Ok(())
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
