//! A query without its types ([`Query`]): its tables and joins, what it selects, its filters,
//! grouping, order, limit and lock, checked and written as one `SELECT` (a statement, or a
//! subquery inside one).

use super::node::{ColumnRef, Node, Walk, Writer};
use crate::meta::EntityMeta;
use crate::statement;
use crate::value_type::{Presence, PRESENT};
use sqlx::error::BoxDynError;
use std::fmt::Write as _;

/// A query that cannot be sent, found before anything is: the message says why.
#[derive(Debug)]
pub(crate) struct Refused(pub(crate) String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn refuse(message: impl Into<String>) -> BoxDynError {
    Box::new(Refused(message.into()))
}

/// One table of the `FROM` list.
#[derive(Debug)]
pub(crate) struct FromItem {
    pub(crate) meta: &'static EntityMeta,
    pub(crate) join: Join,
}

#[derive(Debug)]
pub(crate) enum Join {
    /// The first table.
    From,
    Inner(Node),
    Left(Node),
}

/// One item of the select list.
#[derive(Debug)]
pub(crate) enum Item {
    Node(Node),
    /// Every column of table `pos` (and its presence marker when left-joined).
    Table(u8),
}

/// `NULLS FIRST` or `NULLS LAST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nulls {
    First,
    Last,
}

#[derive(Debug)]
pub(crate) struct OrderItem {
    pub(crate) node: Node,
    pub(crate) descending: bool,
    pub(crate) nulls: Option<Nulls>,
}

#[derive(Debug, Default)]
pub(crate) enum Distinct {
    #[default]
    No,
    All,
    On(Vec<Node>),
}

/// A row-locking clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lock {
    pub(crate) strength: &'static str,
    pub(crate) wait: Option<&'static str>,
}

#[derive(Debug)]
pub(crate) struct Query {
    pub(crate) tables: Vec<FromItem>,
    /// `None`: every column of every table, in table order.
    pub(crate) items: Option<Vec<Item>>,
    pub(crate) filter: Vec<Node>,
    pub(crate) group_by: Vec<Node>,
    pub(crate) having: Vec<Node>,
    pub(crate) order: Vec<OrderItem>,
    pub(crate) distinct: Distinct,
    pub(crate) limit: Option<i64>,
    pub(crate) offset: Option<i64>,
    pub(crate) lock: Option<Lock>,
}

impl Query {
    pub(crate) fn new(root: &'static EntityMeta) -> Self {
        Query {
            tables: vec![FromItem {
                meta: root,
                join: Join::From,
            }],
            items: None,
            filter: Vec::new(),
            group_by: Vec::new(),
            having: Vec::new(),
            order: Vec::new(),
            distinct: Distinct::No,
            limit: None,
            offset: None,
            lock: None,
        }
    }

    pub(crate) fn root(&self) -> &'static EntityMeta {
        self.tables[0].meta
    }

    fn nodes(&self) -> impl Iterator<Item = &Node> {
        let joins = self.tables.iter().filter_map(|t| match &t.join {
            Join::From => None,
            Join::Inner(on) | Join::Left(on) => Some(on),
        });
        let items = self.items.iter().flatten().filter_map(|i| match i {
            Item::Node(n) => Some(n),
            Item::Table(_) => None,
        });
        let distinct = match &self.distinct {
            Distinct::On(nodes) => nodes.as_slice(),
            _ => &[],
        };
        joins
            .chain(items)
            .chain(&self.filter)
            .chain(&self.group_by)
            .chain(&self.having)
            .chain(self.order.iter().map(|o| &o.node))
            .chain(distinct)
    }

    /// Whether the tables must carry aliases: several tables, or a subquery that may refer
    /// to them.
    fn aliased(&self) -> bool {
        self.tables.len() > 1 || self.nodes().any(Node::has_subquery)
    }

    /// Whether rows are grouped: a `GROUP BY`, or an aggregate in what is selected, the
    /// `HAVING` or the order.
    pub(crate) fn grouped(&self) -> bool {
        !self.group_by.is_empty()
            || !self.having.is_empty()
            || self.items.iter().flatten().any(|i| match i {
                Item::Node(n) => n.has_aggregate(),
                Item::Table(_) => false,
            })
            || self.order.iter().any(|o| o.node.has_aggregate())
    }

    /// Why the query cannot be sent, found before sending it.
    fn check(&self) -> Result<(), BoxDynError> {
        let joins = self.tables.iter().filter_map(|t| match &t.join {
            Join::From => None,
            Join::Inner(on) | Join::Left(on) => Some(on),
        });
        for node in self.filter.iter().chain(joins) {
            if node.has_aggregate() {
                return Err(refuse(
                    "an aggregate (count, sum, …) cannot be in a filter or a join condition: \
                     put it in `having`",
                ));
            }
        }
        let grouped = self.grouped();
        if let Some(lock) = self.lock {
            if grouped || !matches!(self.distinct, Distinct::No) {
                return Err(refuse(format!(
                    "{} cannot lock rows of a query with GROUP BY, DISTINCT or aggregates",
                    lock.strength
                )));
            }
        }
        if grouped {
            self.check_grouping()?;
        }
        Ok(())
    }

    /// Every column selected, ordered by or in `HAVING` is grouped, aggregated, or of a
    /// table whose primary key is grouped (PostgreSQL's rule).
    fn check_grouping(&self) -> Result<(), BoxDynError> {
        let grouped_column = |c: &ColumnRef| {
            let in_group = |name: &str| {
                self.group_by.iter().any(|g| {
                    matches!(g, Node::Column(k) if k.up == 0 && k.pos == c.pos && k.meta.name == name)
                })
            };
            if in_group(c.meta.name) {
                return true;
            }
            let key = self.tables[usize::from(c.pos)].meta.primary_key;
            !key.is_empty() && key.iter().all(|k| in_group(k))
        };
        let mut offending: Option<ColumnRef> = None;
        let mut visit = |node: &Node| {
            node.walk(&mut |n| {
                if offending.is_some() || self.group_by.iter().any(|g| g.same(n)) {
                    return Walk::Skip;
                }
                match n {
                    Node::Call {
                        aggregate: true, ..
                    } => Walk::Skip,
                    Node::Column(c) if c.up == 0 && !grouped_column(c) => {
                        offending = Some(*c);
                        Walk::Skip
                    }
                    _ => Walk::Into,
                }
            });
        };
        let items: Vec<&Node> = match &self.items {
            None => Vec::new(),
            Some(items) => items
                .iter()
                .filter_map(|i| match i {
                    Item::Node(n) => Some(n),
                    Item::Table(_) => None,
                })
                .collect(),
        };
        for node in items
            .into_iter()
            .chain(&self.having)
            .chain(self.order.iter().map(|o| &o.node))
        {
            visit(node);
        }
        if let Some(c) = offending {
            let table = self.tables[usize::from(c.pos)].meta;
            return Err(refuse(format!(
                "{}.{} is neither grouped nor aggregated: add it to `group_by`, group by its \
                 table's primary key, or wrap it in an aggregate",
                table.name, c.meta.name
            )));
        }
        let whole_tables: Vec<u8> = match &self.items {
            None => (0..self.tables.len() as u8).collect(),
            Some(items) => items
                .iter()
                .filter_map(|i| match i {
                    Item::Table(pos) => Some(*pos),
                    Item::Node(_) => None,
                })
                .collect(),
        };
        for pos in whole_tables {
            let meta = self.tables[usize::from(pos)].meta;
            let all = meta.columns.iter().all(|c| {
                grouped_column(&ColumnRef {
                    up: 0,
                    pos,
                    meta: c,
                })
            });
            if !all {
                return Err(refuse(format!(
                    "a grouped query selects whole rows of {}: group by its primary key, or \
                     select grouped columns and aggregates with `select`",
                    meta.name
                )));
            }
        }
        Ok(())
    }

    /// Writes the query (as the statement, or as a subquery at the writer's next level).
    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), BoxDynError> {
        self.write_as(w, false)
    }

    /// Writes the query; `bare` (for `EXISTS`) leaves the select list empty when the query
    /// selects whole rows: only whether there is a row matters.
    pub(crate) fn write_as(&self, w: &mut Writer<'_>, bare: bool) -> Result<(), BoxDynError> {
        self.check()?;
        let aliased = w.nested() || self.aliased();
        w.enter(aliased);
        let level = w.level();
        let result = self.write_at(w, level, aliased, bare);
        w.leave();
        result
    }

    fn write_at(
        &self,
        w: &mut Writer<'_>,
        level: usize,
        aliased: bool,
        bare: bool,
    ) -> Result<(), BoxDynError> {
        let root = statement::sql(self.root());
        w.sql.push_str("SELECT ");
        match &self.distinct {
            Distinct::No => {}
            Distinct::All => w.sql.push_str("DISTINCT "),
            Distinct::On(nodes) => {
                w.sql.push_str("DISTINCT ON (");
                w.list(nodes, ", ")?;
                w.sql.push_str(") ");
            }
        }
        match &self.items {
            None if bare => w.sql.truncate(w.sql.len() - 1),
            None if !aliased => w.sql.push_str(&root.select_list),
            None => {
                for pos in 0..self.tables.len() {
                    if pos > 0 {
                        w.sql.push_str(", ");
                    }
                    self.write_table_columns(w, pos as u8);
                }
            }
            Some(items) if items.is_empty() => w.sql.push_str("TRUE"),
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        w.sql.push_str(", ");
                    }
                    match item {
                        Item::Table(pos) => self.write_table_columns(w, *pos),
                        Item::Node(Node::Column(c)) => w.select_column(c),
                        Item::Node(node) => w.node(node)?,
                    }
                }
            }
        }
        w.sql.push_str(" FROM ");
        for (pos, table) in self.tables.iter().enumerate() {
            let quoted = &statement::sql(table.meta).table;
            let on = match &table.join {
                Join::From => None,
                Join::Inner(on) => {
                    w.sql.push_str(" INNER JOIN ");
                    Some(on)
                }
                Join::Left(on) => {
                    w.sql.push_str(" LEFT JOIN ");
                    Some(on)
                }
            };
            let marker =
                matches!(table.join, Join::Left(_)) && Presence::of(table.meta) == Presence::Marker;
            if marker {
                let _ = write!(w.sql, "(SELECT *, TRUE AS \"{PRESENT}\" FROM {quoted})");
            } else {
                w.sql.push_str(quoted);
            }
            if aliased {
                let _ = write!(w.sql, " AS \"{}\"", Writer::alias(level, pos as u8));
            }
            if let Some(on) = on {
                w.sql.push_str(" ON ");
                w.node(on)?;
            }
        }
        if !self.filter.is_empty() {
            w.sql.push_str(" WHERE ");
            w.join(&self.filter, " AND ", "TRUE")?;
        }
        if !self.group_by.is_empty() {
            w.sql.push_str(" GROUP BY ");
            w.list(&self.group_by, ", ")?;
        }
        if !self.having.is_empty() {
            w.sql.push_str(" HAVING ");
            w.join(&self.having, " AND ", "TRUE")?;
        }
        self.write_order(w)?;
        if let Some(limit) = self.limit {
            let _ = write!(w.sql, " LIMIT {limit}");
        }
        if let Some(offset) = self.offset {
            let _ = write!(w.sql, " OFFSET {offset}");
        }
        if let Some(lock) = self.lock {
            let _ = write!(w.sql, " {}", lock.strength);
            let left = self.tables.iter().any(|t| matches!(t.join, Join::Left(_)));
            if left {
                // Rows of the nullable side of an outer join cannot be locked: lock the others.
                w.sql.push_str(" OF ");
                let mut first = true;
                for (pos, table) in self.tables.iter().enumerate() {
                    if matches!(table.join, Join::Left(_)) {
                        continue;
                    }
                    if !first {
                        w.sql.push_str(", ");
                    }
                    first = false;
                    let _ = write!(w.sql, "\"{}\"", Writer::alias(level, pos as u8));
                }
            }
            if let Some(wait) = lock.wait {
                let _ = write!(w.sql, " {wait}");
            }
        }
        Ok(())
    }

    pub(crate) fn write_order(&self, w: &mut Writer<'_>) -> Result<(), BoxDynError> {
        if self.order.is_empty() {
            return Ok(());
        }
        w.sql.push_str(" ORDER BY ");
        for (i, o) in self.order.iter().enumerate() {
            if i > 0 {
                w.sql.push_str(", ");
            }
            w.node(&o.node)?;
            if o.descending {
                w.sql.push_str(" DESC");
            }
            match o.nulls {
                None => {}
                Some(Nulls::First) => w.sql.push_str(" NULLS FIRST"),
                Some(Nulls::Last) => w.sql.push_str(" NULLS LAST"),
            }
        }
        Ok(())
    }

    /// Every column of table `pos`, as selected (and its presence marker when it needs one).
    fn write_table_columns(&self, w: &mut Writer<'_>, pos: u8) {
        let table = &self.tables[usize::from(pos)];
        for (i, meta) in table.meta.columns.iter().enumerate() {
            if i > 0 {
                w.sql.push_str(", ");
            }
            w.select_column(&ColumnRef { up: 0, pos, meta });
        }
        if matches!(table.join, Join::Left(_)) && Presence::of(table.meta) == Presence::Marker {
            let level = w.level();
            let _ = write!(w.sql, ", \"{}\".\"{PRESENT}\"", Writer::alias(level, pos));
        }
    }
}
