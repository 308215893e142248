//! The traits generated code implements: a readable [`Entity`], a writable [`Table`], a
//! [`HasPrimaryKey`] with its typed key, and the insert and patch models.
//!
//! Generated code only describes: its metadata, how a row is decoded (by position, in
//! column order) and which fields a model sets ([`InsertModel::write`],
//! [`PatchModel::write`]). Every statement is built by the runtime.

use crate::key::KeyValue;
use crate::meta::EntityMeta;
use sqlx::error::BoxDynError;
use sqlx::postgres::PgRow;
use sqlx::{Encode, Postgres, Type};

/// A column value type ormkit can bind: what sqlx's `Encode` + `Type` give, owned and
/// `Send`.
pub trait SqlValue: for<'q> Encode<'q, Postgres> + Type<Postgres> + Send + 'static {}

impl<T> SqlValue for T where T: for<'q> Encode<'q, Postgres> + Type<Postgres> + Send + 'static {}

/// A row type generated for a table or a view: it can be read.
///
/// Its `FromRow` reads the columns by position, in [`EntityMeta::columns`] order, so a raw
/// query decoding into it must select exactly those columns first, in that order (`SELECT *`
/// does).
pub trait Entity: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin + 'static {
    /// Where the rows live and what their columns are.
    const META: &'static EntityMeta;

    /// Reads a row's columns from `at` on (a joined row holds several entities one after
    /// the other). Generated code implements it; `FromRow` reads from the first column.
    #[doc(hidden)]
    fn read_at(row: &PgRow, at: &mut Position) -> Result<Self, sqlx::Error>;
}

/// An entity that can be written: tables, not views.
pub trait Table: Entity {
    /// The insert model (`NewUser` for `User`).
    type Insert: InsertModel<Entity = Self>;
}

/// A table with a primary key.
pub trait HasPrimaryKey: Table {
    /// The key: a typed ID for one column, a tuple for several.
    type Id: KeyValue;
    /// The patch model (`UserPatch` for `User`).
    type Patch: PatchModel<Entity = Self>;
    /// This row's key.
    fn id(&self) -> Self::Id;
}

/// Receives the columns a model sets, by their index in [`EntityMeta::columns`]: bind
/// parameters, a binary COPY row, one array per column, or just the list of columns.
/// Generated models call it; applications do not need to.
pub trait ColumnWriter {
    /// Column `column` is written with `value`.
    fn set<T: SqlValue>(&mut self, column: usize, value: &T) -> Result<(), BoxDynError>;

    /// Column `column` is written with the value inside `value`, if there is one (`None`
    /// leaves the column out: its default in an insert, unchanged in a patch).
    fn set_some<T: SqlValue>(
        &mut self,
        column: usize,
        value: &Option<T>,
    ) -> Result<(), BoxDynError> {
        match value {
            Some(value) => self.set(column, value),
            None => Ok(()),
        }
    }
}

/// A generated insert model: required columns are plain fields, columns the database can
/// fill in are `Option`s, read-only columns are absent.
pub trait InsertModel: Send + Sync + 'static {
    /// The table it inserts into.
    type Entity: Table;
    /// Gives `writer` every column this value sets, in column order.
    fn write<W: ColumnWriter>(&self, writer: &mut W) -> Result<(), BoxDynError>;
}

/// A generated patch model: the key plus one `Option` per writable column; only the set
/// fields are written.
pub trait PatchModel: Send + Sync + 'static {
    /// The table it updates.
    type Entity: HasPrimaryKey;
    /// The key of the row it changes.
    fn key(&self) -> <Self::Entity as HasPrimaryKey>::Id;
    /// Gives `writer` every column this patch sets, in column order.
    fn write<W: ColumnWriter>(&self, writer: &mut W) -> Result<(), BoxDynError>;
    /// Whether no field is set (an update would write nothing).
    fn is_empty(&self) -> bool {
        columns_of(|w| self.write(w)).is_empty()
    }
}

/// The columns a model sets, without encoding any value.
#[derive(Debug, Default)]
pub(crate) struct ColumnList(pub(crate) Vec<u16>);

impl ColumnWriter for ColumnList {
    fn set<T: SqlValue>(&mut self, column: usize, _: &T) -> Result<(), BoxDynError> {
        // PostgreSQL tables have at most 1600 columns.
        self.0.push(column as u16);
        Ok(())
    }
}

/// Checks, without allocating, that a model sets exactly the expected columns, in order.
#[cfg(feature = "parallel")]
#[derive(Debug)]
pub(crate) struct ColumnCheck<'a> {
    expected: &'a [u16],
    seen: usize,
    same: bool,
}

#[cfg(feature = "parallel")]
impl ColumnWriter for ColumnCheck<'_> {
    fn set<T: SqlValue>(&mut self, column: usize, _: &T) -> Result<(), BoxDynError> {
        let expected = self.expected.get(self.seen).map(|&c| usize::from(c));
        self.same &= expected == Some(column);
        self.seen += 1;
        Ok(())
    }
}

/// Whether `write` sets exactly the columns `expected` lists (checking encodes nothing).
#[cfg(feature = "parallel")]
pub(crate) fn sets_columns(
    expected: &[u16],
    write: impl FnOnce(&mut ColumnCheck<'_>) -> Result<(), BoxDynError>,
) -> bool {
    let mut check = ColumnCheck {
        expected,
        seen: 0,
        same: true,
    };
    let _ = write(&mut check);
    check.same && check.seen == expected.len()
}

/// The indexes of the columns `write` sets (listing encodes nothing, so it cannot fail).
pub(crate) fn columns_of(
    write: impl FnOnce(&mut ColumnList) -> Result<(), BoxDynError>,
) -> Vec<u16> {
    let mut list = ColumnList::default();
    let _ = write(&mut list);
    list.0
}

/// Reads a row's columns one after the other, by position: what a generated `FromRow` does.
#[derive(Debug, Default)]
pub struct Position(usize);

impl Position {
    /// The index of the next column.
    pub fn index(&self) -> usize {
        self.0
    }

    /// Passes over `n` columns.
    pub fn skip(&mut self, n: usize) {
        self.0 += n;
    }

    /// The next column's value.
    pub fn next<'r, T>(&mut self, row: &'r PgRow) -> Result<T, sqlx::Error>
    where
        T: sqlx::Decode<'r, Postgres> + Type<Postgres>,
    {
        use sqlx::Row as _;
        let value = row.try_get(self.0);
        self.0 += 1;
        value
    }
}
