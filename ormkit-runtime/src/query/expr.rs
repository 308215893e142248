//! [`Expr`]: a typed `WHERE` condition over the columns of one entity.

use super::value::{array_placeholder, placeholder, BindValue};
use crate::ident::quote_ident;
use crate::meta::ColumnMeta;
use sqlx::error::BoxDynError;
use sqlx::postgres::PgArguments;
use std::fmt;
use std::marker::PhantomData;

pub(crate) enum Node {
    Compare {
        column: &'static ColumnMeta,
        op: &'static str,
        value: Box<dyn BindValue>,
    },
    Between {
        column: &'static ColumnMeta,
        low: Box<dyn BindValue>,
        high: Box<dyn BindValue>,
    },
    IsNull {
        column: &'static ColumnMeta,
        negated: bool,
    },
    Any {
        column: &'static ColumnMeta,
        values: Box<dyn BindValue>,
        negated: bool,
    },
    Literal(bool),
    /// Rows after a cursor: `values` (a JSON array) of `columns` (name, SQL type, descending).
    Keyset {
        columns: Vec<(&'static str, &'static str, bool)>,
        values: serde_json::Value,
    },
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

impl Node {
    pub(crate) fn render(
        self,
        sql: &mut String,
        args: &mut PgArguments,
    ) -> Result<(), BoxDynError> {
        match self {
            Node::Compare { column, op, value } => {
                let p = placeholder(column, value, args)?;
                sql.push_str(&format!("{} {op} {p}", quote_ident(column.name)));
            }
            Node::Between { column, low, high } => {
                let low = placeholder(column, low, args)?;
                let high = placeholder(column, high, args)?;
                sql.push_str(&format!(
                    "{} BETWEEN {low} AND {high}",
                    quote_ident(column.name)
                ));
            }
            Node::IsNull { column, negated } => {
                let not = if negated { " NOT" } else { "" };
                sql.push_str(&format!("{} IS{not} NULL", quote_ident(column.name)));
            }
            Node::Any {
                column,
                values,
                negated,
            } => {
                let p = array_placeholder(column, values, args)?;
                let test = if negated { "<> ALL" } else { "= ANY" };
                sql.push_str(&format!("{} {test}({p})", quote_ident(column.name)));
            }
            Node::Literal(value) => sql.push_str(if value { "TRUE" } else { "FALSE" }),
            Node::Keyset { columns, values } => {
                let p = super::value::bind(Box::new(values.to_string()), args)?;
                let value = |i: usize, ty: &str| format!("(({p})::jsonb->>{i})::{ty}");
                let mut alternatives = Vec::new();
                for (i, (column, ty, desc)) in columns.iter().enumerate() {
                    let mut terms: Vec<String> = columns[..i]
                        .iter()
                        .enumerate()
                        .map(|(j, (c, t, _))| format!("{} = {}", quote_ident(c), value(j, t)))
                        .collect();
                    let op = if *desc { "<" } else { ">" };
                    terms.push(format!("{} {op} {}", quote_ident(column), value(i, ty)));
                    alternatives.push(format!("({})", terms.join(" AND ")));
                }
                sql.push_str(&alternatives.join(" OR "));
            }
            Node::And(nodes) => join(nodes, " AND ", "TRUE", sql, args)?,
            Node::Or(nodes) => join(nodes, " OR ", "FALSE", sql, args)?,
            Node::Not(node) => {
                sql.push_str("NOT (");
                node.render(sql, args)?;
                sql.push(')');
            }
        }
        Ok(())
    }
}

fn join(
    nodes: Vec<Node>,
    sep: &str,
    empty: &str,
    sql: &mut String,
    args: &mut PgArguments,
) -> Result<(), BoxDynError> {
    if nodes.is_empty() {
        sql.push_str(empty);
        return Ok(());
    }
    for (i, node) in nodes.into_iter().enumerate() {
        if i > 0 {
            sql.push_str(sep);
        }
        sql.push('(');
        node.render(sql, args)?;
        sql.push(')');
    }
    Ok(())
}

/// A condition on rows of entity `E`: built from its typed columns (`users::EMAIL.eq(…)`),
/// combined with [`and`](Expr::and), [`or`](Expr::or) and [`not`](Expr::not). A condition on
/// another entity's columns is a type error.
#[must_use = "a condition does nothing until passed to `filter`"]
pub struct Expr<E> {
    pub(crate) node: Node,
    _entity: PhantomData<fn() -> E>,
}

impl<E> fmt::Debug for Expr<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expr").finish_non_exhaustive()
    }
}

impl<E> Expr<E> {
    pub(crate) fn new(node: Node) -> Self {
        Expr {
            node,
            _entity: PhantomData,
        }
    }

    /// Both conditions.
    pub fn and(self, other: Expr<E>) -> Expr<E> {
        Expr::new(match self.node {
            Node::And(mut nodes) => {
                nodes.push(other.node);
                Node::And(nodes)
            }
            node => Node::And(vec![node, other.node]),
        })
    }

    /// Either condition.
    pub fn or(self, other: Expr<E>) -> Expr<E> {
        Expr::new(match self.node {
            Node::Or(mut nodes) => {
                nodes.push(other.node);
                Node::Or(nodes)
            }
            node => Node::Or(vec![node, other.node]),
        })
    }

    /// The negation.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Expr<E> {
        Expr::new(Node::Not(Box::new(self.node)))
    }

    /// Every row: the explicit way to update or delete a whole table.
    pub fn all() -> Expr<E> {
        Expr::new(Node::Literal(true))
    }

    /// All of `conditions` (TRUE when empty).
    pub fn all_of(conditions: impl IntoIterator<Item = Expr<E>>) -> Expr<E> {
        Expr::new(Node::And(conditions.into_iter().map(|e| e.node).collect()))
    }

    /// Any of `conditions` (FALSE when empty).
    pub fn any_of(conditions: impl IntoIterator<Item = Expr<E>>) -> Expr<E> {
        Expr::new(Node::Or(conditions.into_iter().map(|e| e.node).collect()))
    }
}
