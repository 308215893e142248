//! [`Writer`]: renders nodes and queries to SQL text: identifiers through `quote_ident`,
//! values as bound parameters, SQL text only from ormkit itself.

use super::node::{ColumnRef, FnName, Node, SubqueryKind};
use super::value::BindValue;
use crate::ident::push_quoted;
use crate::meta::ColumnMeta;
use sqlx::error::BoxDynError;
use sqlx::postgres::PgArguments;
use sqlx::Arguments as _;
use std::fmt::Write as _;

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

    /// Writes `"alias".` for table `pos` of the query at `level`.
    fn qualifier(&mut self, level: usize, pos: u8) {
        if level == 0 {
            let _ = write!(self.sql, "\"t{pos}\".");
        } else {
            let _ = write!(self.sql, "\"t{level}_{pos}\".");
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
            self.qualifier(level, column.pos);
        }
        push_quoted(&mut self.sql, column.meta.name);
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
                            push_quoted(&mut self.sql, part);
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
                self.sql.push(' ');
                self.sql.push_str(op);
                self.sql.push(' ');
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
