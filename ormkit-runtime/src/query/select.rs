//! [`Select`]: a typed query. Filter, join, group, order, limit and lock it, choose what it
//! selects, then fetch, count or stream its rows.

use super::condition::Expr;
use super::node::Writer;
use super::ops::Order;
use super::project::{read_selection, Expressions, RawItem, Selection};
use super::render::{Distinct, Lock, Query, Refused};
use super::source::{read_row, QueryTable, Source};
use crate::db::Db;
use crate::entity::Entity;
use crate::error::{OrmkitError, Result};
use crate::statement::exec::{Decoded, Decoder, MaybeDecoded};
use crate::statement::{self, Op, Statement};
use futures::stream::BoxStream;
use sqlx::postgres::PgArguments;
use std::fmt;
use std::marker::PhantomData;

/// A query over `S` whose rows are `R`. `User::query()` is a `Select<User>` (rows `User`);
/// `.left_join(users::POSTS)` makes it a `Select<(User, Option<Post>)>`, and
/// `.select((users::EMAIL, count()))` a `Select<(User, Option<Post>), (String, i64)>`.
///
/// A `Select` is a plain value: build it in steps, pass it to functions and return it
/// from them, filter it with conditions decided at run time.
#[must_use = "a query does nothing until fetched"]
pub struct Select<S: Source, R = <S as Source>::Row> {
    pub(crate) query: Query,
    pub(crate) decode: Decoder<R>,
    _source: PhantomData<fn() -> S>,
}

impl<S: Source, R> fmt::Debug for Select<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

/// The SQL of a query and how many parameters it binds, never their values: what
/// [`Select::to_sql`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectSql {
    /// The statement, with `$1`, `$2`, … where values are bound.
    pub sql: String,
    /// How many values are bound.
    pub params: usize,
}

/// The old name of [`SelectSql`], which [`crate::column::SqlText`] (a marker for text-typed
/// columns) made ambiguous.
#[deprecated(
    note = "renamed to `SelectSql`; `SqlText` is the marker trait `ormkit::column::SqlText`"
)]
pub type SqlText = SelectSql;

impl fmt::Display for SelectSql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.params == 1 { "" } else { "s" };
        write!(f, "{} -- {} parameter{s}", self.sql, self.params)
    }
}

/// Shows the statement and its parameter count (never the values), or why it cannot be
/// sent.
impl<S: Source, R> fmt::Display for Select<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_sql() {
            Ok(text) => text.fmt(f),
            Err(err) => write!(f, "-- {err}"),
        }
    }
}

impl<T: QueryTable> Default for Select<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: QueryTable> Select<T> {
    /// Every row of `T`.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let everyone: Vec<User> = ormkit::Select::<User>::new().fetch_all(pool).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new() -> Self {
        Select::from_query(Query::new(T::Entity::META), read_row::<T>)
    }
}

impl<S: Source, R> Select<S, R> {
    pub(crate) fn from_query(query: Query, decode: Decoder<R>) -> Self {
        Select {
            query,
            decode,
            _source: PhantomData,
        }
    }

    /// The same query over another source type (a join, a projection).
    pub(crate) fn retyped<S2: Source, R2>(self, decode: Decoder<R2>) -> Select<S2, R2> {
        Select::from_query(self.query, decode)
    }

    /// Keeps rows matching `condition` (several filters are ANDed). `None` adds nothing, so
    /// conditions decided at run time read plainly: `.filter(name.map(|n| users::EMAIL.eq(n)))`.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// // Conditions decided at run time: `None` adds nothing.
    /// let wanted: Option<&str> = Some("%@example.com");
    /// let users = User::query()
    ///     .filter(users::MOOD.eq(Mood::Happy))
    ///     .filter(wanted.map(|p| users::EMAIL.like(p)))
    ///     .fetch_all(pool)
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn filter(mut self, condition: impl Into<Option<Expr<S>>>) -> Self {
        if let Some(condition) = condition.into() {
            self.query.filter.push(condition.node);
        }
        self
    }

    /// Adds an ordering key (call again for ties).
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let posts = Post::query()
    ///     .order_by(posts::PUBLISHED_AT.desc().nulls_last())
    ///     .order_by(posts::ID.asc())
    ///     .fetch_all(pool)
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn order_by(mut self, order: Order<S>) -> Self {
        self.query.order.push(order.item);
        self
    }

    /// At most `n` rows.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let first_ten = User::query().order_by(users::ID.asc()).limit(10).fetch_all(pool).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn limit(mut self, n: i64) -> Self {
        self.query.limit = Some(n);
        self
    }

    /// Skips `n` rows.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let next_ten = User::query().order_by(users::ID.asc()).offset(10).limit(10).fetch_all(pool).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn offset(mut self, n: i64) -> Self {
        self.query.offset = Some(n);
        self
    }

    /// `SELECT DISTINCT`: each row once.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let moods: Vec<Mood> = User::query().distinct().select(users::MOOD).fetch_all(pool).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn distinct(mut self) -> Self {
        self.query.distinct = Distinct::All;
        self
    }

    /// `SELECT DISTINCT ON (…)`: the first row (in the query's order, which must start
    /// with these expressions) of each group of rows with the same values.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// // Each author's latest post.
    /// let latest: Vec<Post> = Post::query()
    ///     .distinct_on(posts::AUTHOR_ID)
    ///     .order_by(posts::AUTHOR_ID.asc())
    ///     .order_by(posts::ID.desc())
    ///     .fetch_all(pool)
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn distinct_on<X: Expressions<S, M>, M>(mut self, expressions: X) -> Self {
        let nodes = expressions.into_nodes().into_iter().map(|n| n.0).collect();
        self.query.distinct = Distinct::On(nodes);
        self
    }

    /// `GROUP BY` these expressions. What is selected must then be grouped, aggregated, or
    /// a column of a table whose primary key is grouped; anything else is refused before
    /// the statement is sent.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// use ormkit::query::count;
    /// let per_mood: Vec<(Mood, i64)> = User::query()
    ///     .group_by(users::MOOD)
    ///     .select((users::MOOD, count()))
    ///     .fetch_all(pool)
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn group_by<X: Expressions<S, M>, M>(mut self, expressions: X) -> Self {
        let nodes = expressions.into_nodes().into_iter().map(|n| n.0);
        self.query.group_by.extend(nodes);
        self
    }

    /// `HAVING condition`: a filter on groups, which may use aggregates.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// use ormkit::query::count;
    /// let prolific: Vec<UserId> = Post::query()
    ///     .group_by(posts::AUTHOR_ID)
    ///     .having(count().gt(10))
    ///     .select(posts::AUTHOR_ID)
    ///     .fetch_all(pool)
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn having(mut self, condition: Expr<S>) -> Self {
        self.query.having.push(condition.node);
        self
    }

    /// What each row holds: a column, an expression or aggregate, `all::<T>()`, or a tuple
    /// of them (`select((users::EMAIL, count()))` gives `(String, i64)` rows).
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// use ormkit::query::{all, count_of};
    /// let pairs: Vec<(UserId, String)> = User::query().select((users::ID, users::EMAIL)).fetch_all(pool).await?;
    /// let with_counts: Vec<(User, i64)> = User::query()
    ///     .left_join(users::POSTS)
    ///     .group_by(users::ID)
    ///     .select((all::<User>(), count_of(posts::ID)))
    ///     .fetch_all(pool)
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn select<X: Selection<S, M>, M>(mut self, selection: X) -> Select<S, X::Output> {
        let mut items: Vec<RawItem> = Vec::new();
        selection.into_items(&mut items);
        self.query.items = Some(items.into_iter().map(|i| i.0).collect());
        self.retyped(read_selection::<X, S, M>)
    }

    fn lock(mut self, strength: &'static str) -> Self {
        let wait = self.query.lock.and_then(|l| l.wait);
        self.query.lock = Some(Lock { strength, wait });
        self
    }

    fn wait(mut self, wait: &'static str) -> Self {
        let strength = self.query.lock.map_or("FOR UPDATE", |l| l.strength);
        self.query.lock = Some(Lock {
            strength,
            wait: Some(wait),
        });
        self
    }

    /// `FOR UPDATE`: locks the rows read until the transaction ends (the first table's, and
    /// the inner-joined ones'; rows of a left join's nullable side cannot be locked).
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let locked: Vec<Job> = ormkit::transaction(pool, |tx| async move {
    ///     Job::query().filter(jobs::STATE.eq("ready")).limit(1).for_update().fetch_all(&tx).await
    /// })
    /// .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_update(self) -> Self {
        self.lock("FOR UPDATE")
    }

    /// `FOR NO KEY UPDATE`: as `for_update`, letting others insert rows referencing these.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let q = Job::query().filter(jobs::ID.eq(JobId::new(1))).for_no_key_update();
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_no_key_update(self) -> Self {
        self.lock("FOR NO KEY UPDATE")
    }

    /// `FOR SHARE`: others may read and share-lock the rows, not change them.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let q = Job::query().filter(jobs::ID.eq(JobId::new(1))).for_share();
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_share(self) -> Self {
        self.lock("FOR SHARE")
    }

    /// `FOR KEY SHARE`: others may change the rows, not their keys.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let q = Job::query().filter(jobs::ID.eq(JobId::new(1))).for_key_share();
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_key_share(self) -> Self {
        self.lock("FOR KEY SHARE")
    }

    /// `SKIP LOCKED`: rows another transaction has locked are passed over (a job queue's
    /// workers take disjoint rows). Locks `FOR UPDATE` unless another strength is chosen.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// // A job queue: concurrent workers take disjoint rows.
    /// let jobs: Vec<Job> = ormkit::transaction(pool, |tx| async move {
    ///     Job::query()
    ///         .filter(jobs::STATE.eq("ready"))
    ///         .order_by(jobs::ID.asc())
    ///         .limit(10)
    ///         .for_update()
    ///         .skip_locked()
    ///         .fetch_all(&tx)
    ///         .await
    /// })
    /// .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn skip_locked(self) -> Self {
        self.wait("SKIP LOCKED")
    }

    /// `NOWAIT`: fails at once (SQLSTATE 55P03) instead of waiting for a locked row.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let q = Job::query().filter(jobs::ID.eq(JobId::new(1))).for_update().nowait();
    /// # Ok(())
    /// # }
    /// ```
    pub fn nowait(self) -> Self {
        self.wait("NOWAIT")
    }

    /// The statement this query sends and how many values it binds (never the values
    /// themselves); an error says why it would not be sent (a refusal, or a value that does
    /// not encode). It builds the statement exactly as sending it would.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let text = User::query().filter(users::EMAIL.eq("a@b.c")).to_sql()?;
    /// assert_eq!(text.params, 1);
    /// assert!(!text.sql.contains("a@b.c"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_sql(&self) -> Result<SelectSql> {
        let statement = self.statement()?;
        Ok(SelectSql {
            params: sqlx::Arguments::len(&statement.args),
            sql: statement.sql.into_owned(),
        })
    }

    pub(crate) fn statement(&self) -> Result<Statement> {
        let mut args = PgArguments::default();
        let sql = {
            let mut w = Writer::new(&mut args);
            self.query
                .write(&mut w)
                .map_err(|e| render_err(&self.query, e))?;
            w.sql
        };
        let op = if self.query.lock.is_some() {
            Op::Lock
        } else {
            Op::Select
        };
        Ok(Statement::new(self.query.root(), op, sql, args))
    }

    /// How many rows the query gives (its order is ignored; a grouped, distinct or limited
    /// query is counted as a subquery).
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let happy: i64 = User::query().filter(users::MOOD.eq(Mood::Happy)).count(pool).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn count<'a>(mut self, db: impl Into<Db<'a>>) -> Result<i64> {
        let query = &mut self.query;
        query.order.clear();
        query.lock = None;
        let wrap = query.grouped()
            || !matches!(query.distinct, Distinct::No)
            || query.limit.is_some()
            || query.offset.is_some();
        let mut args = PgArguments::default();
        let mut w = Writer::new(&mut args);
        if wrap {
            w.sql.push_str("SELECT count(*) FROM (");
            query.write(&mut w).map_err(|e| render_err(query, e))?;
            w.sql.push_str(") AS q");
        } else {
            query.items = Some(vec![super::render::Item::Node(
                super::func::count::<S>().node,
            )]);
            query.write(&mut w).map_err(|e| render_err(query, e))?;
        }
        let sql = w.sql;
        let statement::One((n,)) = db
            .into()
            .run(Statement::new(query.root(), Op::Count, sql, args))
            .await?;
        Ok(n)
    }
}

impl<S: Source, R: Send + Unpin + 'static> Select<S, R> {
    /// All matching rows.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let rows: Vec<(Post, User)> = Post::query().inner_join(posts::AUTHOR).fetch_all(pool).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_all<'a>(self, db: impl Into<Db<'a>>) -> Result<Vec<R>> {
        let statement = self.statement()?;
        let Decoded(rows) = db.into().run_with(statement, self.decode).await?;
        Ok(rows)
    }

    /// The first matching row, or `None`.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let ada: Option<User> = User::query().filter(users::EMAIL.eq("ada@example.com")).fetch_optional(pool).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_optional<'a>(self, db: impl Into<Db<'a>>) -> Result<Option<R>> {
        let statement = self.statement()?;
        let MaybeDecoded(row) = db.into().run_with(statement, self.decode).await?;
        Ok(row)
    }

    /// The first matching row; [`OrmkitError::EntityNotFound`] when there is none.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let ada: User = User::query().filter(users::EMAIL.eq("ada@example.com")).fetch_one(pool).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_one<'a>(self, db: impl Into<Db<'a>>) -> Result<R> {
        let table = table_of(&self.query);
        self.fetch_optional(db)
            .await?
            .ok_or_else(|| OrmkitError::EntityNotFound {
                table,
                key: "(query)".into(),
            })
    }

    /// Matching rows as a stream, decoded one at a time as they arrive.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// use futures::TryStreamExt as _;
    /// let mut rows = User::query().fetch(pool);
    /// while let Some(user) = rows.try_next().await? {
    ///     println!("{}", user.email);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn fetch<'a>(self, db: impl Into<Db<'a>>) -> BoxStream<'a, Result<R>> {
        let db = db.into();
        match self.statement() {
            Ok(statement) => statement::exec::stream(db, statement, self.decode),
            Err(err) => Box::pin(futures::stream::once(async move { Err(err) })),
        }
    }
}

/// `schema.table` of the query's first table, for messages.
pub(crate) fn table_of(query: &Query) -> String {
    let root = query.root();
    format!("{}.{}", root.schema, root.name)
}

/// A rendering failure as ormkit's error: a refusal names the first table, anything else
/// is a value that did not encode.
pub(crate) fn render_err(query: &Query, err: sqlx::error::BoxDynError) -> OrmkitError {
    let table = table_of(query);
    match err.downcast::<Refused>() {
        Ok(refused) => OrmkitError::Query {
            table,
            message: refused.0,
        },
        Err(source) => OrmkitError::Encode { table, source },
    }
}
