//! The untyped expression tree behind every typed condition and expression; [`Writer`]
//! renders it.

use super::render::Query;
use super::value::BindValue;
pub(crate) use super::writer::Writer;
use crate::meta::ColumnMeta;

/// A column of the table at position `pos` of the query `up` subquery levels out (0: the
/// query the column is written in).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ColumnRef {
    pub(crate) up: u8,
    pub(crate) pos: u8,
    pub(crate) meta: &'static ColumnMeta,
}

impl ColumnRef {
    fn same(&self, other: &ColumnRef) -> bool {
        self.up == other.up && self.pos == other.pos && std::ptr::eq(self.meta, other.meta)
    }
}

/// A function's name: one of ormkit's (trusted text) or the application's (quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FnName {
    Builtin(&'static str),
    /// `name` or `schema.name`, each part quoted as an identifier.
    Quoted(String),
}

/// What a subquery stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubqueryKind {
    Exists,
    NotExists,
    /// `lhs IN (…)` (the node's `lhs`).
    In,
    NotIn,
    /// `(…)`: one value.
    Scalar,
}

pub(crate) enum Node {
    Column(ColumnRef),
    /// A bound value, cast to the SQL type when given (`$1::public.citext`), or to an
    /// array of it when `array` (`$1::public.citext[]`).
    Param {
        value: Box<dyn BindValue>,
        cast: Option<&'static str>,
        array: bool,
    },
    /// SQL text that ormkit wrote (a keyword, `*`, a fixed literal): never application input.
    Sql(&'static str),
    Call {
        name: FnName,
        args: Vec<Node>,
        aggregate: bool,
        distinct: bool,
    },
    Binary {
        lhs: Box<Node>,
        op: &'static str,
        rhs: Box<Node>,
    },
    /// `operand op` (`IS NULL`, `IS NOT NULL`).
    Postfix {
        operand: Box<Node>,
        op: &'static str,
    },
    Not(Box<Node>),
    Between {
        operand: Box<Node>,
        low: Box<Node>,
        high: Box<Node>,
    },
    /// `lhs op (rhs)` with `op` one of `= ANY`, `<> ALL`.
    Quantified {
        lhs: Box<Node>,
        op: &'static str,
        rhs: Box<Node>,
    },
    And(Vec<Node>),
    Or(Vec<Node>),
    Cast {
        operand: Box<Node>,
        ty: &'static str,
    },
    Subquery {
        kind: SubqueryKind,
        lhs: Option<Box<Node>>,
        query: Box<Query>,
    },
    /// Rows after a keyset cursor: `values` (a JSON array, one bound parameter) of `columns`
    /// of the query's first table (column, descending).
    Keyset {
        columns: Vec<(&'static ColumnMeta, bool)>,
        values: serde_json::Value,
    },
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut w = Writer::preview();
        match w.node(self) {
            Ok(()) => f.write_str(&w.sql),
            Err(_) => f.write_str("<node>"),
        }
    }
}

impl Node {
    pub(crate) fn param(value: impl BindValue + 'static, cast: Option<&'static str>) -> Node {
        Node::Param {
            value: Box::new(value),
            cast,
            array: false,
        }
    }

    /// An array of values of a column whose values are cast to `cast`.
    pub(crate) fn array_param(
        values: impl BindValue + 'static,
        cast: Option<&'static str>,
    ) -> Node {
        Node::Param {
            value: Box::new(values),
            cast,
            array: true,
        }
    }

    pub(crate) fn binary(lhs: Node, op: &'static str, rhs: Node) -> Node {
        Node::Binary {
            lhs: Box::new(lhs),
            op,
            rhs: Box::new(rhs),
        }
    }

    pub(crate) fn call(name: &'static str, args: Vec<Node>) -> Node {
        Node::Call {
            name: FnName::Builtin(name),
            args,
            aggregate: false,
            distinct: false,
        }
    }

    /// Calls `f` on this node and every node below it, not entering subqueries.
    pub(crate) fn walk<'n>(&'n self, f: &mut impl FnMut(&'n Node) -> Walk) {
        if f(self) == Walk::Skip {
            return;
        }
        match self {
            Node::Column(_)
            | Node::Param { .. }
            | Node::Sql(_)
            | Node::Keyset { .. }
            | Node::Subquery { lhs: None, .. } => {}
            Node::Call { args, .. } | Node::And(args) | Node::Or(args) => {
                args.iter().for_each(|a| a.walk(f));
            }
            Node::Binary { lhs, rhs, .. } | Node::Quantified { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            Node::Postfix { operand, .. } | Node::Not(operand) | Node::Cast { operand, .. } => {
                operand.walk(f);
            }
            Node::Between {
                operand, low, high, ..
            } => {
                operand.walk(f);
                low.walk(f);
                high.walk(f);
            }
            Node::Subquery { lhs: Some(lhs), .. } => lhs.walk(f),
        }
    }

    /// Whether an aggregate call is in it (outside subqueries).
    pub(crate) fn has_aggregate(&self) -> bool {
        let mut found = false;
        self.walk(&mut |n| {
            if matches!(
                n,
                Node::Call {
                    aggregate: true,
                    ..
                }
            ) {
                found = true;
            }
            Walk::Into
        });
        found
    }

    /// Whether a subquery is in it.
    pub(crate) fn has_subquery(&self) -> bool {
        let mut found = false;
        self.walk(&mut |n| {
            if matches!(n, Node::Subquery { .. }) {
                found = true;
            }
            Walk::Into
        });
        found
    }

    /// Whether both are the same expression, as PostgreSQL compares a selected expression
    /// with the `GROUP BY` list: two bound parameters are never the same.
    pub(crate) fn same(&self, other: &Node) -> bool {
        match (self, other) {
            (Node::Column(a), Node::Column(b)) => a.same(b),
            (Node::Sql(a), Node::Sql(b)) => a == b,
            (
                Node::Call {
                    name: n1,
                    args: a1,
                    aggregate: g1,
                    distinct: d1,
                },
                Node::Call {
                    name: n2,
                    args: a2,
                    aggregate: g2,
                    distinct: d2,
                },
            ) => n1 == n2 && g1 == g2 && d1 == d2 && all_same(a1, a2),
            (
                Node::Binary {
                    lhs: l1,
                    op: o1,
                    rhs: r1,
                },
                Node::Binary {
                    lhs: l2,
                    op: o2,
                    rhs: r2,
                },
            ) => o1 == o2 && l1.same(l2) && r1.same(r2),
            (Node::Cast { operand: a, ty: t1 }, Node::Cast { operand: b, ty: t2 }) => {
                t1 == t2 && a.same(b)
            }
            (Node::Postfix { operand: a, op: o1 }, Node::Postfix { operand: b, op: o2 }) => {
                o1 == o2 && a.same(b)
            }
            (Node::Not(a), Node::Not(b)) => a.same(b),
            (Node::And(a), Node::And(b)) | (Node::Or(a), Node::Or(b)) => all_same(a, b),
            _ => false,
        }
    }
}

fn all_same(a: &[Node], b: &[Node]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
}

/// What [`Node::walk`] does after visiting a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Walk {
    Into,
    Skip,
}
