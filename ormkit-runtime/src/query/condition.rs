//! [`Expr`]: a typed condition over the tables of a query (public as `query::expr`).

use super::node::Node;
use std::fmt;
use std::marker::PhantomData;

/// A condition on the rows of a query over `S` (`Expr<User>` for `User::query()`): built
/// from its tables' typed columns (`users::EMAIL.eq(…)`), combined with [`and`](Expr::and),
/// [`or`](Expr::or) and [`not`](Expr::not). A condition on a column of a table the query
/// does not read is a type error.
///
/// Conditions can be built at run time and combined: [`Expr::and_all`] and
/// [`Expr::or_any`] take any number, and `filter` takes an `Option`:
///
/// ```no_run
/// # use ormkit_tests::entities::*;
/// use ormkit::Expr;
/// # fn example(wanted_mood: Option<Mood>, names: &[&str]) {
/// let mut conditions = Vec::new();
/// if let Some(mood) = wanted_mood {
///     conditions.push(users::MOOD.eq(mood));
/// }
/// let any_name = Expr::or_any(names.iter().map(|n| users::DISPLAY_NAME.eq(Some(*n))));
/// let query = User::query().filter(Expr::and_all(conditions)).filter(any_name);
/// # }
/// ```
#[must_use = "a condition does nothing until passed to `filter`"]
pub struct Expr<S> {
    pub(crate) node: Node,
    _source: PhantomData<fn() -> S>,
}

impl<S> fmt::Debug for Expr<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expr").field(&self.node).finish()
    }
}

impl<S> Expr<S> {
    pub(crate) fn new(node: Node) -> Self {
        Expr {
            node,
            _source: PhantomData,
        }
    }

    /// Both conditions.
    pub fn and(self, other: Expr<S>) -> Expr<S> {
        Expr::new(match self.node {
            Node::And(mut nodes) => {
                nodes.push(other.node);
                Node::And(nodes)
            }
            node => Node::And(vec![node, other.node]),
        })
    }

    /// Either condition.
    pub fn or(self, other: Expr<S>) -> Expr<S> {
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
    pub fn not(self) -> Expr<S> {
        Expr::new(Node::Not(Box::new(self.node)))
    }

    /// Every row: the explicit way to update or delete a whole table.
    pub fn all() -> Expr<S> {
        Expr::new(Node::Sql("TRUE"))
    }

    /// All of `conditions` (TRUE when there are none).
    pub fn and_all(conditions: impl IntoIterator<Item = Expr<S>>) -> Expr<S> {
        Expr::new(Node::And(conditions.into_iter().map(|e| e.node).collect()))
    }

    /// Any of `conditions` (FALSE when there are none).
    pub fn or_any(conditions: impl IntoIterator<Item = Expr<S>>) -> Expr<S> {
        Expr::new(Node::Or(conditions.into_iter().map(|e| e.node).collect()))
    }
}
