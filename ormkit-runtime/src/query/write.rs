//! Writes by query: `UPDATE … SET … WHERE`, `DELETE … WHERE` (through inner joins as
//! `UPDATE … FROM` and `DELETE … USING`), and `INSERT INTO … SELECT`.

use super::node::Writer;
use super::ops::{AssignTo, Assignment};
use super::render::{Join, Query};
use super::select::{render_err, table_of, Select};
use super::source::{QueryTable, Root, Source};
use crate::column::{Column, Writable};
use crate::db::Db;
use crate::entity::{Entity, Table};
use crate::error::{OrmkitError, Result};
use crate::ident::quote_ident;
use crate::statement::{self, Done, Op, Statement};
use sqlx::error::BoxDynError;
use sqlx::postgres::PgArguments;
use std::fmt::Write as _;

type RootEntity<S> = <<S as Root>::Table as QueryTable>::Entity;

impl<S: Root, R> Select<S, R>
where
    RootEntity<S>: Table,
{
    fn refuse_write(&self, what: &str) -> Result<()> {
        let q = &self.query;
        let refuse = |message: String| {
            Err(OrmkitError::Query {
                table: table_of(q),
                message,
            })
        };
        let joined = q.tables.len() > 1;
        if q.filter.is_empty() && !joined {
            return refuse(format!(
                "refusing to {what} every row without a filter; use `.filter(Expr::all())` to mean it"
            ));
        }
        if q.tables.iter().any(|t| matches!(t.join, Join::Left(_))) {
            return refuse(format!(
                "cannot {what} through a left join: use inner joins, or `exists` on a subquery"
            ));
        }
        let shaped = q.items.is_some()
            || q.grouped()
            || !q.order.is_empty()
            || q.limit.is_some()
            || q.offset.is_some()
            || q.lock.is_some()
            || !matches!(q.distinct, super::render::Distinct::No);
        if shaped {
            return refuse(format!(
                "cannot {what} by a query with a selection, grouping, order, limit, offset, lock \
                 or DISTINCT: only its tables and filters say which rows"
            ));
        }
        Ok(())
    }

    /// `UPDATE … SET … WHERE <filters>`; the number of rows changed. Needs a filter
    /// (`Expr::all()` for every row). Through inner joins it is `UPDATE … FROM`: the first
    /// table is updated where the joins and filters match, and the assignments may use the
    /// joined tables' columns (`posts::TITLE.set_to(users::EMAIL)`).
    pub async fn update<'a>(
        self,
        assignments: impl IntoIterator<Item = Assignment<S>>,
        db: impl Into<Db<'a>>,
    ) -> Result<u64> {
        self.refuse_write("update")?;
        let assignments: Vec<Assignment<S>> = assignments.into_iter().collect();
        if assignments.is_empty() {
            return Err(OrmkitError::Query {
                table: table_of(&self.query),
                message: "an update needs at least one assignment".into(),
            });
        }
        let mut args = PgArguments::default();
        let sql = write_update(&self.query, &assignments, &mut args)
            .map_err(|e| render_err(&self.query, e))?;
        let Done(n) = db
            .into()
            .run(Statement::new(RootEntity::<S>::META, Op::Update, sql, args))
            .await?;
        Ok(n)
    }

    /// `DELETE … WHERE <filters>`; the number of rows deleted. Needs a filter. Through inner
    /// joins it is `DELETE … USING`: rows of the first table are deleted where the joins and
    /// filters match.
    pub async fn delete<'a>(self, db: impl Into<Db<'a>>) -> Result<u64> {
        self.refuse_write("delete")?;
        let mut args = PgArguments::default();
        let sql = write_delete(&self.query, &mut args).map_err(|e| render_err(&self.query, e))?;
        let Done(n) = db
            .into()
            .run(Statement::new(RootEntity::<S>::META, Op::Delete, sql, args))
            .await?;
        Ok(n)
    }
}

/// Whether a write by this query must alias its tables.
fn aliased(query: &Query, extra: &[&super::node::Node]) -> bool {
    query.tables.len() > 1
        || query.filter.iter().any(super::node::Node::has_subquery)
        || extra.iter().any(|n| n.has_subquery())
}

/// `<first table> [AS "t0"]`, then (in `w`) the other tables as `FROM`/`USING` items, their
/// join conditions added to the filters.
fn write_target(w: &mut Writer<'_>, query: &Query, aliased: bool) {
    w.sql.push_str(&statement::sql(query.root()).table);
    if aliased {
        let _ = write!(w.sql, " AS \"{}\"", Writer::alias(0, 0));
    }
}

fn write_others(w: &mut Writer<'_>, query: &Query, keyword: &str) {
    for (pos, table) in query.tables.iter().enumerate().skip(1) {
        w.sql.push_str(if pos == 1 { keyword } else { ", " });
        w.sql.push_str(&statement::sql(table.meta).table);
        let _ = write!(w.sql, " AS \"{}\"", Writer::alias(0, pos as u8));
    }
}

fn write_where(w: &mut Writer<'_>, query: &Query) -> std::result::Result<(), BoxDynError> {
    let joins = query.tables.iter().filter_map(|t| match &t.join {
        Join::Inner(on) | Join::Left(on) => Some(on),
        Join::From => None,
    });
    let conditions: Vec<&super::node::Node> = joins.chain(&query.filter).collect();
    for (i, node) in conditions.iter().enumerate() {
        w.sql.push_str(if i == 0 { " WHERE (" } else { " AND (" });
        w.node(node)?;
        w.sql.push(')');
    }
    Ok(())
}

fn write_update<S>(
    query: &Query,
    assignments: &[Assignment<S>],
    args: &mut PgArguments,
) -> std::result::Result<String, BoxDynError> {
    let values: Vec<&super::node::Node> = assignments.iter().map(|a| &a.value).collect();
    let aliased = aliased(query, &values);
    let mut w = Writer::new(args);
    w.enter(aliased);
    w.sql.push_str("UPDATE ");
    write_target(&mut w, query, aliased);
    w.sql.push_str(" SET ");
    for (i, a) in assignments.iter().enumerate() {
        if i > 0 {
            w.sql.push_str(", ");
        }
        let _ = write!(w.sql, "{} = ", quote_ident(a.column.name));
        w.node(&a.value)?;
    }
    write_others(&mut w, query, " FROM ");
    write_where(&mut w, query)?;
    w.leave();
    Ok(w.sql)
}

fn write_delete(query: &Query, args: &mut PgArguments) -> std::result::Result<String, BoxDynError> {
    let aliased = aliased(query, &[]);
    let mut w = Writer::new(args);
    w.enter(aliased);
    w.sql.push_str("DELETE FROM ");
    write_target(&mut w, query, aliased);
    write_others(&mut w, query, " USING ");
    write_where(&mut w, query)?;
    w.leave();
    Ok(w.sql)
}

/// Columns of table `T` that `INSERT … SELECT` fills from a query's rows `R`: one writable
/// column, or a tuple of them, each taking the selected value at its place.
#[diagnostic::on_unimplemented(
    message = "these columns cannot take the query's rows `{R}`",
    note = "list writable columns of one table, as many as the query selects, each of a type the selected value can be stored in"
)]
pub trait InsertColumns<T, R> {
    #[doc(hidden)]
    fn names(&self) -> Vec<&'static str>;
}

impl<T: Table, X, R: AssignTo<X>> InsertColumns<T, R> for Column<T, X, Writable> {
    fn names(&self) -> Vec<&'static str> {
        vec![self.name()]
    }
}

macro_rules! insert_columns {
    ($($x:ident / $r:ident / $c:ident),+) => {
        impl<T: Table, $($x, $r: AssignTo<$x>),+> InsertColumns<T, ($($r,)+)>
            for ($(Column<T, $x, Writable>,)+)
        {
            fn names(&self) -> Vec<&'static str> {
                let ($($c,)+) = self;
                vec![$($c.name()),+]
            }
        }
    };
}
insert_columns!(X1 / R1 / c1);
insert_columns!(X1 / R1 / c1, X2 / R2 / c2);
insert_columns!(X1 / R1 / c1, X2 / R2 / c2, X3 / R3 / c3);
insert_columns!(X1 / R1 / c1, X2 / R2 / c2, X3 / R3 / c3, X4 / R4 / c4);
insert_columns!(
    X1 / R1 / c1,
    X2 / R2 / c2,
    X3 / R3 / c3,
    X4 / R4 / c4,
    X5 / R5 / c5
);
insert_columns!(
    X1 / R1 / c1,
    X2 / R2 / c2,
    X3 / R3 / c3,
    X4 / R4 / c4,
    X5 / R5 / c5,
    X6 / R6 / c6
);

impl<S: Source, R> Select<S, R> {
    /// `INSERT INTO <T> (columns) SELECT …`: the rows this query selects, written into
    /// `columns` of table `T` in one statement; the number of rows inserted.
    /// `Post::query().select((posts::ID, posts::TITLE)).insert_into((archive::POST_ID,
    /// archive::TITLE), &pool)`.
    pub async fn insert_into<'a, T: Table, C: InsertColumns<T, R>>(
        self,
        columns: C,
        db: impl Into<Db<'a>>,
    ) -> Result<u64> {
        let names = columns.names();
        let mut args = PgArguments::default();
        let sql = {
            let mut w = Writer::new(&mut args);
            let _ = write!(w.sql, "INSERT INTO {} (", statement::sql(T::META).table);
            for (i, name) in names.iter().enumerate() {
                if i > 0 {
                    w.sql.push_str(", ");
                }
                w.sql.push_str(&quote_ident(name));
            }
            w.sql.push_str(") ");
            self.query
                .write(&mut w)
                .map_err(|e| render_err(&self.query, e))?;
            w.sql
        };
        let Done(n) = db
            .into()
            .run(Statement::new(T::META, Op::Insert, sql, args))
            .await?;
        Ok(n)
    }
}
