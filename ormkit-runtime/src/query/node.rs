//! The untyped expression tree behind every typed condition and expression, and the writer
//! that renders it: identifiers through `quote_ident`, values as bound parameters, SQL text
//! only from ormkit itself.

use super::render::Query;
use super::value::BindValue;
use crate::ident::quote_ident;
use crate::meta::ColumnMeta;
use sqlx::error::BoxDynError;
use sqlx::postgres::PgArguments;
use sqlx::Arguments as _;
use std::fmt::Write as _;

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

/// Renders nodes and queries: SQL text into `sql`, values into the arguments (or, for a
/// preview, only counted).
pub(crate) struct Writer<'a> {
    pub(crate) sql: String,
    args: Option<&'a mut PgArguments>,
    params: usize,
    /// For each query level being written (0: the statement), whether its tables are
    /// written with aliases.
    levels: Vec<bool>,
}

impl<'a> Writer<'a> {
    /// A writer binding values into `args`.
    pub(crate) fn new(args: &'a mut PgArguments) -> Self {
        Writer {
            sql: String::with_capacity(256),
            params: args.len(),
            args: Some(args),
            levels: Vec::new(),
        }
    }

    /// A writer that only counts parameters (for showing a statement).
    pub(crate) fn preview() -> Writer<'static> {
        Writer {
            sql: String::with_capacity(256),
            args: None,
            params: 0,
            levels: Vec::new(),
        }
    }

    /// The parameters bound (or counted) so far.
    pub(crate) fn params(&self) -> usize {
        self.params
    }

    /// Enters a query level; `aliased` says whether its tables carry aliases.
    pub(crate) fn enter(&mut self, aliased: bool) {
        self.levels.push(aliased);
    }

    /// Whether a query is being written already (what is written now is a subquery).
    pub(crate) fn nested(&self) -> bool {
        !self.levels.is_empty()
    }

    pub(crate) fn leave(&mut self) {
        self.levels.pop();
    }

    /// The depth of the query being written (0: the statement).
    pub(crate) fn level(&self) -> usize {
        self.levels.len().saturating_sub(1)
    }

    /// The alias of table `pos` of the query at `level`.
    pub(crate) fn alias(level: usize, pos: u8) -> String {
        if level == 0 {
            format!("t{pos}")
        } else {
            format!("t{level}_{pos}")
        }
    }

    /// Binds `value` and writes its placeholder.
    pub(crate) fn bind(
        &mut self,
        value: &dyn BindValue,
        cast: Option<&'static str>,
        array: bool,
    ) -> Result<(), BoxDynError> {
        if let Some(args) = self.args.as_deref_mut() {
            value.bind(args)?;
        }
        self.params += 1;
        let _ = write!(self.sql, "${}", self.params);
        if let Some(ty) = cast {
            let _ = write!(self.sql, "::{ty}");
            if array {
                self.sql.push_str("[]");
            }
        }
        Ok(())
    }

    /// Writes a column reference, qualified with its table's alias where the query has them.
    pub(crate) fn column(&mut self, column: &ColumnRef) {
        let level = self.level().saturating_sub(usize::from(column.up));
        if self.levels.get(level).copied().unwrap_or(false) {
            let alias = Self::alias(level, column.pos);
            let _ = write!(self.sql, "\"{alias}\".");
        }
        self.sql.push_str(&quote_ident(column.meta.name));
    }

    /// Writes a column as a select item: read as text when it is a text-form column.
    pub(crate) fn select_column(&mut self, column: &ColumnRef) {
        self.column(column);
        if column.meta.text_form {
            self.sql.push_str("::text");
            if column.meta.sql_type.ends_with("[]") {
                self.sql.push_str("[]");
            }
        }
    }

    pub(crate) fn node(&mut self, node: &Node) -> Result<(), BoxDynError> {
        match node {
            Node::Column(column) => self.column(column),
            Node::Param { value, cast, array } => self.bind(value.as_ref(), *cast, *array)?,
            Node::Sql(text) => self.sql.push_str(text),
            Node::Call {
                name,
                args,
                aggregate: _,
                distinct,
            } => {
                match name {
                    FnName::Builtin(name) => self.sql.push_str(name),
                    FnName::Quoted(name) => {
                        for (i, part) in name.split('.').enumerate() {
                            if i > 0 {
                                self.sql.push('.');
                            }
                            self.sql.push_str(&quote_ident(part));
                        }
                    }
                }
                self.sql.push('(');
                if *distinct {
                    self.sql.push_str("DISTINCT ");
                }
                self.list(args, ", ")?;
                self.sql.push(')');
            }
            Node::Binary { lhs, op, rhs } => {
                self.operand(lhs)?;
                let _ = write!(self.sql, " {op} ");
                self.operand(rhs)?;
            }
            Node::Postfix { operand, op } => {
                self.operand(operand)?;
                let _ = write!(self.sql, " {op}");
            }
            Node::Not(operand) => {
                self.sql.push_str("NOT (");
                self.node(operand)?;
                self.sql.push(')');
            }
            Node::Between { operand, low, high } => {
                self.operand(operand)?;
                self.sql.push_str(" BETWEEN ");
                self.operand(low)?;
                self.sql.push_str(" AND ");
                self.operand(high)?;
            }
            Node::Quantified { lhs, op, rhs } => {
                self.operand(lhs)?;
                let _ = write!(self.sql, " {op}(");
                self.node(rhs)?;
                self.sql.push(')');
            }
            Node::And(nodes) => self.join(nodes, " AND ", "TRUE")?,
            Node::Or(nodes) => self.join(nodes, " OR ", "FALSE")?,
            Node::Cast { operand, ty } => {
                self.sql.push('(');
                self.node(operand)?;
                let _ = write!(self.sql, ")::{ty}");
            }
            Node::Subquery { kind, lhs, query } => {
                if let Some(lhs) = lhs {
                    self.operand(lhs)?;
                }
                self.sql.push_str(match kind {
                    SubqueryKind::Exists => "EXISTS (",
                    SubqueryKind::NotExists => "NOT EXISTS (",
                    SubqueryKind::In => " IN (",
                    SubqueryKind::NotIn => " NOT IN (",
                    SubqueryKind::Scalar => "(",
                });
                let exists = matches!(kind, SubqueryKind::Exists | SubqueryKind::NotExists);
                query.write_as(self, exists)?;
                self.sql.push(')');
            }
            Node::Keyset { columns, values } => self.keyset(columns, values)?,
        }
        Ok(())
    }

    /// An operand of an operator: parenthesised unless it is a single term.
    fn operand(&mut self, node: &Node) -> Result<(), BoxDynError> {
        let simple = matches!(
            node,
            Node::Column(_)
                | Node::Param { .. }
                | Node::Sql(_)
                | Node::Call { .. }
                | Node::Cast { .. }
                | Node::Subquery {
                    kind: SubqueryKind::Scalar,
                    ..
                }
        );
        if simple {
            return self.node(node);
        }
        self.sql.push('(');
        self.node(node)?;
        self.sql.push(')');
        Ok(())
    }

    pub(crate) fn list(&mut self, nodes: &[Node], sep: &str) -> Result<(), BoxDynError> {
        for (i, node) in nodes.iter().enumerate() {
            if i > 0 {
                self.sql.push_str(sep);
            }
            self.node(node)?;
        }
        Ok(())
    }

    /// `(a) AND (b) …`, or `empty` for no nodes.
    pub(crate) fn join(
        &mut self,
        nodes: &[Node],
        sep: &str,
        empty: &str,
    ) -> Result<(), BoxDynError> {
        if nodes.is_empty() {
            self.sql.push_str(empty);
            return Ok(());
        }
        if let [only] = nodes {
            return self.node(only);
        }
        for (i, node) in nodes.iter().enumerate() {
            if i > 0 {
                self.sql.push_str(sep);
            }
            self.sql.push('(');
            self.node(node)?;
            self.sql.push(')');
        }
        Ok(())
    }

    fn keyset(
        &mut self,
        columns: &[(&'static ColumnMeta, bool)],
        values: &serde_json::Value,
    ) -> Result<(), BoxDynError> {
        // One parameter, the JSON array of the cursor's values, read once per use.
        let mut p = String::new();
        {
            let start = self.sql.len();
            self.bind(&values.to_string(), None, false)?;
            p.push_str(&self.sql[start..]);
            self.sql.truncate(start);
        }
        let column = |meta| ColumnRef {
            up: 0,
            pos: 0,
            meta,
        };
        for (i, (meta, desc)) in columns.iter().enumerate() {
            if i > 0 {
                self.sql.push_str(" OR ");
            }
            self.sql.push('(');
            for (j, (earlier, _)) in columns[..i].iter().enumerate() {
                self.column(&column(earlier));
                let _ = write!(
                    self.sql,
                    " = (({p})::jsonb->>{j})::{} AND ",
                    earlier.sql_type
                );
            }
            self.column(&column(meta));
            let op = if *desc { "<" } else { ">" };
            let _ = write!(self.sql, " {op} (({p})::jsonb->>{i})::{}", meta.sql_type);
            self.sql.push(')');
        }
        Ok(())
    }
}
