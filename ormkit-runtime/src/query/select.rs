//! [`Select`]: filter, order, limit, then fetch, count, stream, update or delete.

use super::expr::{Expr, Node};
use super::ops::{Assignment, Order};
use crate::column::Column;
use crate::db::Db;
use crate::entity::{Entity, Table};
use crate::error::{OrmkitError, Result};
use crate::ident::quote_ident;
use crate::repository::{encode_err, table_name};
use crate::statement::{self, Done, One, Op, Statement};
use futures::stream::BoxStream;
use sqlx::postgres::{PgArguments, PgRow};
use std::fmt::Write as _;
use std::marker::PhantomData;

/// A query over entity `E`. Start with `User::query()` (or [`Select::new`]).
#[must_use = "a query does nothing until fetched"]
pub struct Select<E> {
    pub(crate) filter: Vec<Node>,
    pub(crate) order: Vec<Order<E>>,
    pub(crate) limit: Option<i64>,
    pub(crate) offset: Option<i64>,
    _entity: PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for Select<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Select")
            .field("filters", &self.filter.len())
            .field("order", &self.order)
            .field("limit", &self.limit)
            .field("offset", &self.offset)
            .finish()
    }
}

impl<E: Entity> Default for Select<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Entity> Select<E> {
    /// Every row of `E`.
    pub fn new() -> Self {
        Select {
            filter: Vec::new(),
            order: Vec::new(),
            limit: None,
            offset: None,
            _entity: PhantomData,
        }
    }

    /// Keeps rows matching `condition` (several filters are ANDed).
    pub fn filter(mut self, condition: Expr<E>) -> Self {
        self.filter.push(condition.node);
        self
    }

    /// Adds an ordering (call again for ties).
    pub fn order_by(mut self, order: Order<E>) -> Self {
        self.order.push(order);
        self
    }

    /// At most `n` rows.
    pub fn limit(mut self, n: i64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skips `n` rows.
    pub fn offset(mut self, n: i64) -> Self {
        self.offset = Some(n);
        self
    }

    /// `WHERE …` (with a leading space) for the filters, binding their values.
    pub(crate) fn render_where(&mut self, sql: &mut String, args: &mut PgArguments) -> Result<()> {
        if self.filter.is_empty() {
            return Ok(());
        }
        sql.push_str(" WHERE ");
        let node = Node::And(std::mem::take(&mut self.filter));
        node.render(sql, args).map_err(encode_err::<E>)
    }

    pub(crate) fn render_tail(&self, sql: &mut String) {
        if !self.order.is_empty() {
            sql.push_str(" ORDER BY ");
            for (i, o) in self.order.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&quote_ident(o.column.name));
                if o.descending {
                    sql.push_str(" DESC");
                }
            }
        }
        if let Some(limit) = self.limit {
            let _ = write!(sql, " LIMIT {limit}");
        }
        if let Some(offset) = self.offset {
            let _ = write!(sql, " OFFSET {offset}");
        }
    }

    /// `SELECT <list> FROM <table> WHERE … ORDER BY … LIMIT … OFFSET …`.
    fn build(mut self, op: Op, select_list: &str) -> Result<Statement> {
        let mut sql = format!(
            "SELECT {select_list} FROM {}",
            statement::sql(E::META).table
        );
        let mut args = PgArguments::default();
        self.render_where(&mut sql, &mut args)?;
        self.render_tail(&mut sql);
        Ok(Statement::new(E::META, op, sql, args))
    }

    fn build_rows(self) -> Result<Statement> {
        self.build(Op::Select, &statement::sql(E::META).select_list)
    }

    /// All matching rows.
    pub async fn fetch_all<'a>(self, db: impl Into<Db<'a>>) -> Result<Vec<E>> {
        let statement = self.build_rows()?;
        db.into().run(statement).await
    }

    /// The first matching row, or `None`.
    pub async fn fetch_optional<'a>(self, db: impl Into<Db<'a>>) -> Result<Option<E>> {
        let statement = self.build_rows()?;
        db.into().run(statement).await
    }

    /// The first matching row; [`OrmkitError::EntityNotFound`] when there is none.
    pub async fn fetch_one<'a>(self, db: impl Into<Db<'a>>) -> Result<E> {
        self.fetch_optional(db)
            .await?
            .ok_or_else(|| OrmkitError::EntityNotFound {
                table: table_name::<E>(),
                key: "(query)".into(),
            })
    }

    /// Matching rows as a stream, decoded one at a time.
    pub fn fetch<'a>(self, db: impl Into<Db<'a>>) -> BoxStream<'a, Result<E>> {
        let db = db.into();
        match self.build_rows() {
            Ok(statement) => statement::exec::stream(db, statement),
            Err(err) => Box::pin(futures::stream::once(async move { Err(err) })),
        }
    }

    /// How many rows match (ignores order, limit and offset).
    pub async fn count<'a>(mut self, db: impl Into<Db<'a>>) -> Result<i64> {
        let mut sql = statement::sql(E::META).count.clone();
        let mut args = PgArguments::default();
        self.render_where(&mut sql, &mut args)?;
        let One((n,)) = db
            .into()
            .run(Statement::new(E::META, Op::Count, sql, args))
            .await?;
        Ok(n)
    }

    /// Only some columns: `select((users::ID, users::EMAIL))` gives `(UserId, String)` rows.
    pub async fn select<'a, S: Selection<E>>(
        self,
        columns: S,
        db: impl Into<Db<'a>>,
    ) -> Result<Vec<S::Output>> {
        let selected = &statement::sql(E::META).selected;
        let list = columns
            .indexes()
            .iter()
            .map(|&i| selected[i].as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let statement = self.build(Op::Select, &list)?;
        db.into().run(statement).await
    }
}

impl<E: Table> Select<E> {
    fn require_filter(&self, what: &str) -> Result<()> {
        if self.filter.is_empty() {
            return Err(OrmkitError::Query {
                table: table_name::<E>(),
                message: format!(
                    "refusing to {what} every row without a filter; use `.filter(Expr::all())` to mean it"
                ),
            });
        }
        Ok(())
    }

    /// `UPDATE … SET … WHERE <filters>`; the number of rows changed. Needs a filter
    /// (`Expr::all()` for every row).
    pub async fn update<'a>(
        mut self,
        assignments: impl IntoIterator<Item = Assignment<E>>,
        db: impl Into<Db<'a>>,
    ) -> Result<u64> {
        self.require_filter("update")?;
        let mut sql = format!("UPDATE {} SET ", statement::sql(E::META).table);
        let mut args = PgArguments::default();
        let mut any = false;
        for (i, a) in assignments.into_iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let p =
                super::value::placeholder(a.column, a.value, &mut args).map_err(encode_err::<E>)?;
            let _ = write!(sql, "{} = {p}", quote_ident(a.column.name));
            any = true;
        }
        if !any {
            return Err(OrmkitError::Query {
                table: table_name::<E>(),
                message: "an update needs at least one assignment".into(),
            });
        }
        self.render_where(&mut sql, &mut args)?;
        let Done(n) = db
            .into()
            .run(Statement::new(E::META, Op::Update, sql, args))
            .await?;
        Ok(n)
    }

    /// `DELETE … WHERE <filters>`; the number of rows deleted. Needs a filter.
    pub async fn delete<'a>(mut self, db: impl Into<Db<'a>>) -> Result<u64> {
        self.require_filter("delete")?;
        let mut sql = format!("DELETE FROM {}", statement::sql(E::META).table);
        let mut args = PgArguments::default();
        self.render_where(&mut sql, &mut args)?;
        let Done(n) = db
            .into()
            .run(Statement::new(E::META, Op::Delete, sql, args))
            .await?;
        Ok(n)
    }
}

/// Columns to select: one typed column or a tuple of them, all of entity `E`.
pub trait Selection<E> {
    /// The row type: a tuple of the columns' types.
    type Output: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin + 'static;
    /// The columns' positions in the entity's columns.
    fn indexes(&self) -> Vec<usize>;
}

macro_rules! selection {
    ($($c:ident: $t:ident / $a:ident),+) => {
        impl<E: Entity, $($t, $a),+> Selection<E> for ($(Column<E, $t, $a>,)+)
        where
            $($t: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin + 'static),+
        {
            type Output = ($($t,)+);
            #[allow(non_snake_case)]
            fn indexes(&self) -> Vec<usize> {
                let ($($c,)+) = self;
                vec![$($c.index()),+]
            }
        }
    };
}
selection!(a: A / AA);
selection!(a: A / AA, b: B / BB);
selection!(a: A / AA, b: B / BB, c: C / CC);
selection!(a: A / AA, b: B / BB, c: C / CC, d: D / DD);
