//! Typed scalar expressions (public as `query::expression`): a [`Column`] or a computed
//! [`Scalar`] has a Rust type in a query's source ([`Expression`]); where a value of type `T`
//! is expected, an [`Operand`] is either an expression of `T`'s type (nullability aside) or a
//! Rust value converted to `T` and bound.

use super::node::{ColumnRef, Node};
use super::source::{HasTable, QueryTable};
use super::value::IntoValue;
use crate::column::Column;
use crate::entity::{Entity, SqlValue};
use crate::value_type::{Nullness, ValueType};
use std::fmt;
use std::marker::PhantomData;

/// An expression's SQL, as ormkit builds it (not part of the documented API).
#[doc(hidden)]
pub struct RawNode(pub(crate) Node);

impl fmt::Debug for RawNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Marks an expression that is a column of the table at position `P` of the source.
#[derive(Debug)]
pub struct InTable<P>(PhantomData<P>);
/// Marks a computed expression.
#[derive(Debug)]
pub enum Computed {}
/// Marks an operand that is a Rust value, bound as a parameter.
#[derive(Debug)]
pub enum Bound {}
/// Marks an operand that is an expression (`M` says which kind).
#[derive(Debug)]
pub struct ByExpr<M>(PhantomData<M>);

/// A typed SQL expression usable in a query over `S`: a column of one of its tables, or a
/// computed [`Scalar`]. `Type` is the Rust type of its values there: a left-joined table's
/// columns are `Option`s.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an expression of this query",
    note = "a column of a table the query does not read is not one: join its table first"
)]
pub trait Expression<S, M> {
    /// Its values' Rust type in `S`.
    type Type;
    /// Its SQL.
    #[doc(hidden)]
    fn into_raw(self) -> RawNode;
}

impl<S, E, T, A, P> Expression<S, InTable<P>> for Column<E, T, A>
where
    S: HasTable<E, P>,
    E: QueryTable,
    T: ValueType,
{
    type Type = <S::Null as Nullness>::Apply<T>;

    fn into_raw(self) -> RawNode {
        RawNode(Node::Column(column_ref::<S, E, T, A, P>(self)))
    }
}

/// The reference to `column` in source `S`.
pub(crate) fn column_ref<S, E, T, A, P>(column: Column<E, T, A>) -> ColumnRef
where
    S: HasTable<E, P>,
    E: QueryTable,
{
    ColumnRef {
        up: S::UP,
        pos: S::POS,
        meta: &<E::Entity as Entity>::META.columns[column.index()],
    }
}

/// A computed expression of Rust type `T` over the tables of `S`: a function call, an
/// aggregate, a scalar subquery.
#[must_use = "an expression does nothing until used in a query"]
pub struct Scalar<S, T> {
    pub(crate) node: Node,
    _marker: PhantomData<fn() -> (S, T)>,
}

impl<S, T> Scalar<S, T> {
    pub(crate) fn new(node: Node) -> Self {
        Scalar {
            node,
            _marker: PhantomData,
        }
    }
}

impl<S, T> fmt::Debug for Scalar<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Scalar").field(&self.node).finish()
    }
}

impl<S, T> Expression<S, Computed> for Scalar<S, T> {
    type Type = T;

    fn into_raw(self) -> RawNode {
        RawNode(self.node)
    }
}

/// What can stand where a value of type `T` is expected in a query over `S`: a Rust value
/// converted to `T` (bound as a parameter), or an expression whose type is `T` up to
/// nullability (a column of another table, a function of one).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot stand for a value of type `{T}` here",
    label = "expected a `{T}`, or a column or expression of that type",
    note = "nullable columns take `Option<_>` values (`Some(\"x\")`), in every operator, `like` included",
    note = "typed IDs (`UserId`) are not interchangeable, and a column compares only with a column of the same type"
)]
pub trait Operand<S, T, M> {
    /// Its SQL; a bound value is cast to `cast` where given (the column's SQL type).
    #[doc(hidden)]
    fn into_operand(self, cast: Option<&'static str>) -> RawNode;
}

impl<S, T: SqlValue, V: IntoValue<T>> Operand<S, T, Bound> for V {
    fn into_operand(self, cast: Option<&'static str>) -> RawNode {
        RawNode(Node::param(self.into_value(), cast))
    }
}

impl<S, T, X, M> Operand<S, T, ByExpr<M>> for X
where
    T: ValueType,
    X: Expression<S, M>,
    X::Type: ValueType<NotNull = T::NotNull>,
{
    fn into_operand(self, _cast: Option<&'static str>) -> RawNode {
        self.into_raw()
    }
}

/// A value that may be NULL in the query: a nullable column, a left-joined table's column,
/// an expression of an `Option` type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is never NULL here",
    label = "`is_null` and `is_not_null` need a nullable column or expression",
    note = "a NOT NULL column can be NULL only on the nullable side of a left join"
)]
pub trait MaybeNull {}

impl<T> MaybeNull for Option<T> {}
