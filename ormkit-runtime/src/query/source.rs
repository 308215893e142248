//! Where a query's rows come from, as a type: `Select<User>` reads one table,
//! `Select<(User, Post)>` an inner join, `Select<(User, Option<Post>)>` a left join, whose
//! rows are exactly those tuples. A column can be used in a query only if its table is one of
//! the query's ([`HasTable`]): anything else does not compile.
//!
//! Each table of a source has a position ([`P0`] … [`P5`]) that the compiler infers; a
//! subquery's source is a [`Scope`] whose own tables are [`Inner`] and whose enclosing
//! query's tables are [`Outer`], so a correlated subquery reaches the columns around it.
//! The same table twice (a self-join, or a subquery over its outer query's table) needs an
//! [`Alias`], or the position is ambiguous and the query does not compile.

use crate::column::Column;
pub use crate::column::QueryTable;
use crate::entity::{Entity, Position};
use crate::value_type::{AsDeclared, Nullable, Nullness};
use sqlx::postgres::PgRow;
use std::fmt;
use std::marker::PhantomData;

/// Entity `E`'s table under another name, for joining a table with itself or a subquery
/// over its outer query's table: `type Parent = Alias<Post, 1>;`, then
/// `Parent::col(posts::ID)` is that copy's `id`.
pub struct Alias<E, const N: u8>(PhantomData<fn() -> E>);

impl<E: Entity, const N: u8> Alias<E, N> {
    /// `column` of this copy of the table.
    pub const fn col<T, A>(column: Column<E, T, A>) -> Column<Self, T, A> {
        Column::new(column.index())
    }

    /// A query over this copy of the table.
    pub fn query() -> crate::Select<Self> {
        crate::Select::new()
    }

    /// A subquery over this copy of the table, inside a query over `O` (typically `E`'s own
    /// table, which is why the alias is needed).
    pub fn subquery<O: Source>() -> crate::Select<Scope<Self, O>> {
        super::subquery::sub()
    }
}

impl<E: Entity, const N: u8> QueryTable for Alias<E, N> {
    type Entity = E;
}

impl<E: Entity, const N: u8> fmt::Debug for Alias<E, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Alias<{}, {N}>", E::META.name)
    }
}

/// One table of a joined source: `T` (its rows always there) or `Option<T>` (the nullable
/// side of a left join).
pub trait Member: 'static {
    /// The table.
    type Table: QueryTable;
    /// Whether its columns may be NULL where the table says they cannot.
    type Null: Nullness;
    /// What a row of the query holds for it: the entity, or `Option` of it.
    type Row: Send + Unpin + 'static;
    /// Reads it from `row` at `at`.
    #[doc(hidden)]
    fn read(row: &PgRow, at: &mut Position) -> Result<Self::Row, sqlx::Error>;
}

impl<T: QueryTable> Member for T {
    type Table = T;
    type Null = AsDeclared;
    type Row = T::Entity;

    fn read(row: &PgRow, at: &mut Position) -> Result<Self::Row, sqlx::Error> {
        T::Entity::read_at(row, at)
    }
}

impl<T: QueryTable> Member for Option<T> {
    type Table = T;
    type Null = Nullable;
    type Row = Option<T::Entity>;

    fn read(row: &PgRow, at: &mut Position) -> Result<Self::Row, sqlx::Error> {
        Nullable::read::<T::Entity>(row, at)
    }
}

/// What a query reads from: one table, a tuple of joined tables, or a subquery's [`Scope`].
pub trait Source: 'static {
    /// A row of the query when it selects whole tables: the entity, or a tuple of entities
    /// (`Option`s for left-joined ones).
    type Row: Send + Unpin + 'static;
    /// Reads a row.
    #[doc(hidden)]
    fn read(row: &PgRow, at: &mut Position) -> Result<Self::Row, sqlx::Error>;
}

impl<T: QueryTable> Source for T {
    type Row = T::Entity;

    fn read(row: &PgRow, at: &mut Position) -> Result<Self::Row, sqlx::Error> {
        T::Entity::read_at(row, at)
    }
}

/// Decodes a whole row of `S`.
pub(crate) fn read_row<S: Source>(row: &PgRow) -> Result<S::Row, sqlx::Error> {
    S::read(row, &mut Position::default())
}

/// Table `T` is one of source `Self`'s, at position `P` (which the compiler infers).
#[diagnostic::on_unimplemented(
    message = "`{T}` is not one of the tables of this query",
    label = "a column of `{T}` used here",
    note = "the query reads `{Self}`: join `{T}` first (`inner_join`, `left_join`, `inner_join_on`), or use a column of a table in the query",
    note = "a table joined twice needs an `Alias` for the second copy"
)]
pub trait HasTable<T: QueryTable, P>: Source {
    /// Whether `T`'s columns may be NULL here where the table says they cannot.
    type Null: Nullness;
    /// How many subquery levels out the table is (0: this query's own).
    const UP: u8;
    /// Its position among that query's tables.
    const POS: u8;
}

/// The first table of a query.
#[derive(Debug)]
pub enum P0 {}
/// The second table of a query.
#[derive(Debug)]
pub enum P1 {}
/// The third table of a query.
#[derive(Debug)]
pub enum P2 {}
/// The fourth table of a query.
#[derive(Debug)]
pub enum P3 {}
/// The fifth table of a query.
#[derive(Debug)]
pub enum P4 {}
/// The sixth table of a query.
#[derive(Debug)]
pub enum P5 {}

#[diagnostic::do_not_recommend]
impl<T: QueryTable> HasTable<T, P0> for T {
    type Null = AsDeclared;
    const UP: u8 = 0;
    const POS: u8 = 0;
}

/// A source with one more table: `X` (`T` or `Option<T>`) joined to `Self`.
pub trait Push<X: Member>: Source {
    /// The joined source.
    type Output: Source;
}

impl<T: QueryTable, X: Member> Push<X> for T {
    type Output = (T, X);
}

/// The first table of a query, the one `update` and `delete` write.
pub trait Root: Source {
    /// That table.
    type Table: QueryTable;
}

impl<T: QueryTable> Root for T {
    type Table = T;
}

macro_rules! tuple_source {
    ($($x:ident),+ ; $next:tt) => {
        impl<$($x: Member),+> Source for ($($x,)+) {
            type Row = ($($x::Row,)+);

            fn read(row: &PgRow, at: &mut Position) -> Result<Self::Row, sqlx::Error> {
                Ok(($($x::read(row, at)?,)+))
            }
        }
        tuple_source!(@push ($($x),+) $next);
    };
    (@push ($($x:ident),+) none) => {};
    (@push ($($x:ident),+) push) => {
        impl<$($x: Member,)+ Next: Member> Push<Next> for ($($x,)+) {
            type Output = ($($x,)+ Next);
        }
    };
}
tuple_source!(X0, X1; push);
tuple_source!(X0, X1, X2; push);
tuple_source!(X0, X1, X2, X3; push);
tuple_source!(X0, X1, X2, X3, X4; push);
tuple_source!(X0, X1, X2, X3, X4, X5; none);

macro_rules! has_table {
    ($pos:ident = $n:literal : $at:ident in $($x:ident),+) => {
        #[diagnostic::do_not_recommend]
        impl<$($x: Member),+> HasTable<$at::Table, $pos> for ($($x,)+) {
            type Null = $at::Null;
            const UP: u8 = 0;
            const POS: u8 = $n;
        }
    };
}
macro_rules! root {
    ($($x:ident),+) => {
        impl<X0: QueryTable, $($x: Member),+> Root for (X0, $($x,)+) {
            type Table = X0;
        }
    };
}
has_table!(P0 = 0: X0 in X0, X1);
has_table!(P1 = 1: X1 in X0, X1);
has_table!(P0 = 0: X0 in X0, X1, X2);
has_table!(P1 = 1: X1 in X0, X1, X2);
has_table!(P2 = 2: X2 in X0, X1, X2);
has_table!(P0 = 0: X0 in X0, X1, X2, X3);
has_table!(P1 = 1: X1 in X0, X1, X2, X3);
has_table!(P2 = 2: X2 in X0, X1, X2, X3);
has_table!(P3 = 3: X3 in X0, X1, X2, X3);
has_table!(P0 = 0: X0 in X0, X1, X2, X3, X4);
has_table!(P1 = 1: X1 in X0, X1, X2, X3, X4);
has_table!(P2 = 2: X2 in X0, X1, X2, X3, X4);
has_table!(P3 = 3: X3 in X0, X1, X2, X3, X4);
has_table!(P4 = 4: X4 in X0, X1, X2, X3, X4);
has_table!(P0 = 0: X0 in X0, X1, X2, X3, X4, X5);
has_table!(P1 = 1: X1 in X0, X1, X2, X3, X4, X5);
has_table!(P2 = 2: X2 in X0, X1, X2, X3, X4, X5);
has_table!(P3 = 3: X3 in X0, X1, X2, X3, X4, X5);
has_table!(P4 = 4: X4 in X0, X1, X2, X3, X4, X5);
has_table!(P5 = 5: X5 in X0, X1, X2, X3, X4, X5);
root!(X1);
root!(X1, X2);
root!(X1, X2, X3);
root!(X1, X2, X3, X4);
root!(X1, X2, X3, X4, X5);

/// A subquery's source: its own tables `I`, inside a query reading `O`, whose columns it may
/// use (a correlated subquery).
pub struct Scope<I, O>(PhantomData<fn() -> (I, O)>);

impl<I, O> fmt::Debug for Scope<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scope")
    }
}

/// A table of the subquery itself, at position `P` of its tables.
#[derive(Debug)]
pub struct Inner<P>(PhantomData<P>);
/// A table of an enclosing query, at position `P` of that query's tables.
#[derive(Debug)]
pub struct Outer<P>(PhantomData<P>);

impl<I: Source, O: Source> Source for Scope<I, O> {
    type Row = I::Row;

    fn read(row: &PgRow, at: &mut Position) -> Result<Self::Row, sqlx::Error> {
        I::read(row, at)
    }
}

#[diagnostic::do_not_recommend]
impl<I: HasTable<T, P>, O: Source, T: QueryTable, P> HasTable<T, Inner<P>> for Scope<I, O> {
    type Null = I::Null;
    const UP: u8 = I::UP;
    const POS: u8 = I::POS;
}

#[diagnostic::do_not_recommend]
impl<I: Source, O: HasTable<T, P>, T: QueryTable, P> HasTable<T, Outer<P>> for Scope<I, O> {
    type Null = O::Null;
    const UP: u8 = O::UP + 1;
    const POS: u8 = O::POS;
}

impl<I: Push<X>, O: Source, X: Member> Push<X> for Scope<I, O> {
    type Output = Scope<I::Output, O>;
}
