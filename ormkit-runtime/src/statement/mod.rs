//! The statement layer: every statement ormkit sends is built here from an entity's
//! [`EntityMeta`], and run through the one executor in [`exec`].
//!
//! Nothing else assembles SQL for reading or writing rows: the repository, the cached
//! repository, eager loading, the bulk executor and the query builder call these builders,
//! and generated code carries no SQL text at all. Identifiers reach SQL only through
//! `quote_ident`; values only as bound parameters.
//!
//! The per-entity pieces that never change (the quoted table name, the select list, the
//! statements by key) are built once per entity and kept for the life of the process.

#![cfg_attr(not(feature = "orm"), allow(dead_code))]

#[cfg(feature = "orm")]
pub(crate) mod exec;
mod fixed;
pub(crate) mod span;
mod text;

use crate::meta::EntityMeta;
use sqlx::postgres::PgArguments;
use std::borrow::Cow;

#[cfg(feature = "parallel")]
pub(crate) use exec::copy_in;
#[cfg(feature = "orm")]
pub(crate) use exec::{Done, One};
pub(crate) use fixed::sql;
pub(crate) use span::Subject;
#[cfg(feature = "orm")]
pub(crate) use text::*;

/// What a statement does, for its span and metrics (`op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Select,
    Count,
    Insert,
    Update,
    Delete,
    /// An eager-loading fetch.
    Load,
    /// A binary `COPY … FROM STDIN`.
    #[cfg(feature = "parallel")]
    Copy,
    /// A checked query that writes (or locks).
    Execute,
    /// A query that locks the rows it reads (`FOR UPDATE`, `FOR SHARE`): a write, for
    /// routing and resending.
    Lock,
    /// A look-up in the system catalog on the caller's behalf (type OIDs): traced and
    /// measured, but not one of the caller's statements for
    /// [`count_statements`](crate::count_statements).
    Catalog,
}

impl Op {
    /// Whether the statement only reads (sending it twice changes nothing).
    pub(crate) fn is_read(self) -> bool {
        matches!(self, Op::Select | Op::Count | Op::Load | Op::Catalog)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Select => "select",
            Op::Count => "count",
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Load => "load",
            #[cfg(feature = "parallel")]
            Op::Copy => "copy",
            Op::Execute => "execute",
            Op::Lock => "lock",
            Op::Catalog => "catalog",
        }
    }

    /// The SQL command, as OpenTelemetry's `db.operation.name` (none for a checked query
    /// that writes: ormkit does not parse its text).
    pub(crate) fn operation_name(self) -> Option<&'static str> {
        Some(match self {
            Op::Select | Op::Count | Op::Load | Op::Lock | Op::Catalog => "SELECT",
            Op::Insert => "INSERT",
            Op::Update => "UPDATE",
            Op::Delete => "DELETE",
            #[cfg(feature = "parallel")]
            Op::Copy => "COPY",
            Op::Execute => return None,
        })
    }
}

/// One statement: its text, its bound parameters, and what it is (for the span and the
/// metrics: the table or checked query it is about, and the operation).
#[derive(Debug)]
pub(crate) struct Statement {
    pub(crate) sql: Cow<'static, str>,
    pub(crate) args: PgArguments,
    pub(crate) table: Subject,
    pub(crate) op: Op,
}

impl Statement {
    pub(crate) fn new(
        meta: &'static EntityMeta,
        op: Op,
        sql: impl Into<Cow<'static, str>>,
        args: PgArguments,
    ) -> Self {
        Statement {
            sql: sql.into(),
            args,
            table: Subject::Entity(meta),
            op,
        }
    }
}

/// A model's set columns and their values as bind parameters, in column order.
#[derive(Debug, Default)]
pub(crate) struct Values {
    pub(crate) columns: Vec<u16>,
    pub(crate) args: PgArguments,
}

impl crate::entity::ColumnWriter for Values {
    fn set<T: crate::entity::SqlValue>(
        &mut self,
        column: usize,
        value: &T,
    ) -> Result<(), sqlx::error::BoxDynError> {
        use sqlx::Arguments as _;
        // PostgreSQL tables have at most 1600 columns.
        self.columns.push(column as u16);
        self.args.add(value)
    }
}

/// A `pg_notify(channel, payload)` to send from a write's own statement (as a `RETURNING`
/// item), so that it is delivered if and only if the write commits.
#[derive(Debug, Clone)]
pub(crate) struct Notify {
    pub(crate) channel: String,
    pub(crate) payload: String,
}

impl Notify {
    /// Binds channel and payload after the statement's other parameters and returns the
    /// `RETURNING` item that sends them.
    pub(crate) fn bind(self, args: &mut PgArguments) -> Result<String, sqlx::error::BoxDynError> {
        use sqlx::Arguments as _;
        let first = args.len() + 1;
        args.add(self.channel)?;
        args.add(self.payload)?;
        Ok(format!(
            "pg_notify(${first}, ${}) AS \"ormkit.notify\"",
            first + 1
        ))
    }
}
