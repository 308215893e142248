//! What a query selects: whole rows of its tables, or a tuple of columns, expressions and
//! aggregates ([`Selection`]), each decoded as the type it has in the query: a left-joined
//! table's columns as `Option`s, `count()` as `i64`.

use super::node::Node;
use super::render::Item;
use super::scalar::{column_ref, Computed, Expression, InTable, RawNode, Scalar};
use super::source::{HasTable, QueryTable};
use crate::column::Column;
use crate::entity::Position;
use crate::value_type::{Nullness, ValueType};
use sqlx::postgres::PgRow;
use sqlx::{Decode, Postgres, Type};
use std::marker::PhantomData;

/// A select-list item, as ormkit builds it (not part of the documented API).
#[doc(hidden)]
#[derive(Debug)]
pub struct RawItem(pub(crate) Item);

/// A value a query's rows can hold: decodable, and owned.
pub trait Decodable:
    for<'r> Decode<'r, Postgres> + Type<Postgres> + Send + Unpin + 'static
{
}
impl<T> Decodable for T where
    T: for<'r> Decode<'r, Postgres> + Type<Postgres> + Send + Unpin + 'static
{
}

/// One item of a selection: a column, an expression or aggregate, or a whole table
/// ([`all`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be selected in this query",
    note = "select columns of the query's tables, expressions over them, aggregates, or `all::<Table>()`"
)]
pub trait SelectItem<S, M> {
    /// Its Rust type in the query's rows.
    type Output: Send + Unpin + 'static;
    #[doc(hidden)]
    fn into_item(self) -> RawItem;
    #[doc(hidden)]
    fn read(row: &PgRow, at: &mut Position) -> Result<Self::Output, sqlx::Error>;
}

impl<S, E, T, A, P> SelectItem<S, InTable<P>> for Column<E, T, A>
where
    S: HasTable<E, P>,
    E: QueryTable,
    T: ValueType,
    <S::Null as Nullness>::Apply<T>: Decodable,
{
    type Output = <S::Null as Nullness>::Apply<T>;

    fn into_item(self) -> RawItem {
        RawItem(Item::Node(Node::Column(column_ref::<S, E, T, A, P>(self))))
    }

    fn read(row: &PgRow, at: &mut Position) -> Result<Self::Output, sqlx::Error> {
        at.next(row)
    }
}

impl<S, T: Decodable> SelectItem<S, Computed> for Scalar<S, T> {
    type Output = T;

    fn into_item(self) -> RawItem {
        RawItem(Item::Node(self.node))
    }

    fn read(row: &PgRow, at: &mut Position) -> Result<T, sqlx::Error> {
        at.next(row)
    }
}

/// Every column of table `T`, selected as one item: see [`all`].
pub struct All<T>(PhantomData<fn() -> T>);

impl<T> std::fmt::Debug for All<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("All")
    }
}

/// The whole row of table `T` as one selected item: `select((all::<User>(), count()))`
/// gives `(User, i64)` rows (an `Option<User>` where `User` is left-joined).
pub fn all<T: QueryTable>() -> All<T> {
    All(PhantomData)
}

/// Marks a whole table selected at position `P`.
#[derive(Debug)]
pub struct WholeTable<P>(PhantomData<P>);

impl<S, T, P> SelectItem<S, WholeTable<P>> for All<T>
where
    S: HasTable<T, P>,
    T: QueryTable,
{
    type Output = <S::Null as Nullness>::Row<T::Entity>;

    fn into_item(self) -> RawItem {
        debug_assert_eq!(S::UP, 0, "a whole table of an outer query");
        RawItem(Item::Table(S::POS))
    }

    fn read(row: &PgRow, at: &mut Position) -> Result<Self::Output, sqlx::Error> {
        <S::Null as Nullness>::read::<T::Entity>(row, at)
    }
}

/// What a query selects: one [`SelectItem`], or a tuple of up to twelve.
pub trait Selection<S, M> {
    /// A row: the item's type, or a tuple of the items' types.
    type Output: Send + Unpin + 'static;
    #[doc(hidden)]
    fn into_items(self, items: &mut Vec<RawItem>);
    #[doc(hidden)]
    fn read(row: &PgRow, at: &mut Position) -> Result<Self::Output, sqlx::Error>;
}

/// Marks a selection of one item.
#[derive(Debug)]
pub struct Single<M>(PhantomData<M>);

impl<S, X: SelectItem<S, M>, M> Selection<S, Single<M>> for X {
    type Output = X::Output;

    fn into_items(self, items: &mut Vec<RawItem>) {
        items.push(self.into_item());
    }

    fn read(row: &PgRow, at: &mut Position) -> Result<Self::Output, sqlx::Error> {
        X::read(row, at)
    }
}

macro_rules! selection {
    ($($x:ident / $m:ident),+) => {
        impl<S, $($x: SelectItem<S, $m>, $m),+> Selection<S, ($($m,)+)> for ($($x,)+) {
            type Output = ($($x::Output,)+);

            #[allow(non_snake_case)]
            fn into_items(self, items: &mut Vec<RawItem>) {
                let ($($x,)+) = self;
                $(items.push($x.into_item());)+
            }

            fn read(row: &PgRow, at: &mut Position) -> Result<Self::Output, sqlx::Error> {
                Ok(($($x::read(row, at)?,)+))
            }
        }
    };
}
selection!(A / MA);
selection!(A / MA, B / MB);
selection!(A / MA, B / MB, C / MC);
selection!(A / MA, B / MB, C / MC, D / MD);
selection!(A / MA, B / MB, C / MC, D / MD, E / ME);
selection!(A / MA, B / MB, C / MC, D / MD, E / ME, F / MF);
selection!(A / MA, B / MB, C / MC, D / MD, E / ME, F / MF, G / MG);
selection!(
    A / MA,
    B / MB,
    C / MC,
    D / MD,
    E / ME,
    F / MF,
    G / MG,
    H / MH
);

selection!(
    A / MA,
    B / MB,
    C / MC,
    D / MD,
    E / ME,
    F / MF,
    G / MG,
    H / MH,
    I / MI
);
selection!(
    A / MA,
    B / MB,
    C / MC,
    D / MD,
    E / ME,
    F / MF,
    G / MG,
    H / MH,
    I / MI,
    J / MJ
);
selection!(
    A / MA,
    B / MB,
    C / MC,
    D / MD,
    E / ME,
    F / MF,
    G / MG,
    H / MH,
    I / MI,
    J / MJ,
    K / MK
);
selection!(
    A / MA,
    B / MB,
    C / MC,
    D / MD,
    E / ME,
    F / MF,
    G / MG,
    H / MH,
    I / MI,
    J / MJ,
    K / MK,
    L / ML
);

/// Decodes a row of selection `X`: what a projected query's decoder is.
pub(crate) fn read_selection<X: Selection<S, M>, S, M>(
    row: &PgRow,
) -> Result<X::Output, sqlx::Error> {
    X::read(row, &mut Position::default())
}

/// Expressions for `group_by` and `distinct_on`: one, or a tuple of up to six.
pub trait Expressions<S, M> {
    #[doc(hidden)]
    fn into_nodes(self) -> Vec<RawNode>;
}

impl<S, X: Expression<S, M>, M> Expressions<S, Single<M>> for X {
    fn into_nodes(self) -> Vec<RawNode> {
        vec![self.into_raw()]
    }
}

macro_rules! expressions {
    ($($x:ident / $m:ident),+) => {
        impl<S, $($x: Expression<S, $m>, $m),+> Expressions<S, ($($m,)+)> for ($($x,)+) {
            #[allow(non_snake_case)]
            fn into_nodes(self) -> Vec<RawNode> {
                let ($($x,)+) = self;
                vec![$($x.into_raw()),+]
            }
        }
    };
}
expressions!(A / MA);
expressions!(A / MA, B / MB);
expressions!(A / MA, B / MB, C / MC);
expressions!(A / MA, B / MB, C / MC, D / MD);
expressions!(A / MA, B / MB, C / MC, D / MD, E / ME);
expressions!(A / MA, B / MB, C / MC, D / MD, E / ME, F / MF);
