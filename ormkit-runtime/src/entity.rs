//! The traits generated code implements: a readable [`Entity`], a writable [`Table`], a
//! [`HasPrimaryKey`] with its typed key, and the insert and patch models.

use crate::meta::EntityMeta;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgRow};

/// A row type generated for a table or a view: it can be read.
pub trait Entity: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin + 'static {
    /// Where the rows live and what their columns are.
    const META: &'static EntityMeta;
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

/// A value that can be bound as a primary key: typed IDs and tuples of key parts.
pub trait KeyValue: Clone + Send + Sync + std::fmt::Debug + 'static {
    /// Binds each part of the key, in key order.
    fn bind_key(self, args: &mut PgArguments) -> Result<(), BoxDynError>;
}

macro_rules! tuple_key {
    ($($name:ident),+) => {
        impl<$($name),+> KeyValue for ($($name,)+)
        where
            $($name: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>
                + Clone + Send + Sync + std::fmt::Debug + 'static),+
        {
            #[allow(non_snake_case)]
            fn bind_key(self, args: &mut PgArguments) -> Result<(), BoxDynError> {
                use sqlx::Arguments as _;
                let ($($name,)+) = self;
                $(args.add($name)?;)+
                Ok(())
            }
        }
    };
}
tuple_key!(A, B);
tuple_key!(A, B, C);
tuple_key!(A, B, C, D);

/// A generated insert model: required columns are plain fields, columns the database can
/// fill in are `Option`s, read-only columns are absent.
pub trait InsertModel: Send + 'static {
    /// The table it inserts into.
    type Entity: Table;
    /// Pushes the name of every column this value sets, in the order `bind_columns` binds.
    fn set_columns(&self, columns: &mut Vec<&'static str>);
    /// Pushes the name of every column this value sets, and adds its value to `sink` (bind
    /// parameters, or a binary COPY row), in the same order.
    fn bind_columns<S: ValueSink>(
        self,
        columns: &mut Vec<&'static str>,
        sink: &mut S,
    ) -> Result<(), BoxDynError>;
}

/// Where an insert model's values go: bind parameters ([`PgArguments`]) or a binary COPY
/// stream ([`CopyRows`](crate::parallel::CopyRows)).
pub trait ValueSink {
    /// Adds one value.
    fn add_value<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static;
}

impl ValueSink for PgArguments {
    fn add_value<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
    {
        use sqlx::Arguments as _;
        self.add(value)
    }
}

/// A generated patch model: the key plus one `Option` per writable column; only the set
/// fields are written.
pub trait PatchModel: Send + 'static {
    /// The table it updates.
    type Entity: HasPrimaryKey;
    /// Whether no field is set (an update would write nothing).
    fn is_empty(&self) -> bool;
    /// Pushes and binds every set column, and returns the key of the row to update.
    fn bind_changes(
        self,
        columns: &mut Vec<&'static str>,
        args: &mut PgArguments,
    ) -> Result<<Self::Entity as HasPrimaryKey>::Id, BoxDynError>;
}
