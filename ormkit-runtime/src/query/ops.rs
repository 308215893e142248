//! The operators of typed columns and expressions: comparisons, `IN`, `BETWEEN`, `LIKE`,
//! `IS NULL`, subqueries, array and jsonb operators, ordering and assignments, each available
//! only for the types that support it.

use super::condition::Expr;
use super::node::{Node, SubqueryKind};
use super::render::{Nulls, OrderItem};
use super::scalar::{column_ref, Expression, MaybeNull, Operand, Scalar};
use super::select::Select;
use super::source::{HasTable, QueryTable, Root, Scope, Source};
use super::value::IntoValue;
use crate::column::{Column, SqlOrd, SqlText, Writable};
use crate::entity::SqlValue;
use crate::meta::ColumnMeta;
use crate::value_type::{Nullness, ValueType};
use sqlx::postgres::PgHasArrayType;
use std::fmt;
use std::marker::PhantomData;

/// One key of an `ORDER BY`: `users::CREATED_AT.desc()`, `lower(users::EMAIL).asc()`,
/// `posts::PUBLISHED_AT.desc().nulls_last()`.
pub struct Order<S> {
    pub(crate) item: OrderItem,
    _source: PhantomData<fn() -> S>,
}

impl<S> Order<S> {
    fn new(node: Node, descending: bool) -> Self {
        Order {
            item: OrderItem {
                node,
                descending,
                nulls: None,
            },
            _source: PhantomData,
        }
    }

    /// Rows where the key is NULL come first.
    pub fn nulls_first(mut self) -> Self {
        self.item.nulls = Some(Nulls::First);
        self
    }

    /// Rows where the key is NULL come last.
    pub fn nulls_last(mut self) -> Self {
        self.item.nulls = Some(Nulls::Last);
        self
    }
}

impl<S> fmt::Debug for Order<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = if self.item.descending { "DESC" } else { "ASC" };
        write!(f, "Order({:?} {dir})", self.item.node)
    }
}

/// `SET column = value` in an update by filter.
pub struct Assignment<S> {
    pub(crate) column: &'static ColumnMeta,
    pub(crate) value: Node,
    _source: PhantomData<fn() -> S>,
}

impl<S> fmt::Debug for Assignment<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Assignment")
            .field(&self.column.name)
            .finish()
    }
}

/// A value of type `Self` can be stored in a column of type `T`: the same type, or a value
/// that is never NULL into a nullable column.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` cannot be stored in a column of type `{T}`",
    note = "a value that may be NULL goes only into a nullable column"
)]
pub trait AssignTo<T> {}
impl<T> AssignTo<T> for T {}
impl<T: ValueType<NotNull = T>> AssignTo<Option<T>> for T {}

/// Array types, for `contains`, `overlaps` and `any_eq`.
#[diagnostic::on_unimplemented(message = "`{Self}` is not an array type")]
pub trait SqlArray: SqlValue {
    /// The element type.
    type Element: ValueType;
}

impl<T: ValueType> SqlArray for Vec<T>
where
    Vec<T>: SqlValue,
{
    type Element = T;
}

/// Types `contains` (`@>`) applies to: arrays and JSON.
#[diagnostic::on_unimplemented(message = "`contains` needs an array or JSON column, not `{Self}`")]
pub trait SqlContains: SqlValue {}
impl<T: ValueType> SqlContains for Vec<T> where Vec<T>: SqlValue {}
impl SqlContains for serde_json::Value {}

type Json = serde_json::Value;

/// The inherent operators, written once for columns (which take the query's source as a
/// generic parameter) and for computed expressions (which know it).
macro_rules! operators {
    (
        impl[$($g:tt)*] $ty:ty;
        source: $s:ident, value: $t:ty, generics: [$($mg:tt)*], bounds: [$($mb:tt)*],
        lhs: |$this:ident| $lhs:expr, cast: |$cs:ident| $cast:expr, typed: $typed:ty $(,)?
    ) => {
        impl<$($g)*> $ty {
            fn compare<$($mg)* R, M>(self, op: &'static str, rhs: R) -> Expr<$s>
            where
                $($mb)*
                R: Operand<$s, $t, M>,
            {
                let cast = { let $cs = &self; $cast };
                let $this = self;
                Expr::new(Node::binary($lhs, op, rhs.into_operand(cast).0))
            }

            /// `self = rhs`: a value (`users::EMAIL.eq("a@b.c")`, bound as a parameter) or a
            /// column or expression of the same type (`posts::AUTHOR_ID.eq(users::ID)`).
            pub fn eq<$($mg)* R, M>(self, rhs: R) -> Expr<$s>
            where
                $($mb)*
                R: Operand<$s, $t, M>,
            {
                self.compare::<$($mg)* R, M>("=", rhs)
            }

            /// `self <> rhs`.
            pub fn ne<$($mg)* R, M>(self, rhs: R) -> Expr<$s>
            where
                $($mb)*
                R: Operand<$s, $t, M>,
            {
                self.compare::<$($mg)* R, M>("<>", rhs)
            }

            /// `self > rhs`.
            pub fn gt<$($mg)* R, M>(self, rhs: R) -> Expr<$s>
            where
                $($mb)*
                $t: SqlOrd,
                R: Operand<$s, $t, M>,
            {
                self.compare::<$($mg)* R, M>(">", rhs)
            }

            /// `self >= rhs`.
            pub fn gte<$($mg)* R, M>(self, rhs: R) -> Expr<$s>
            where
                $($mb)*
                $t: SqlOrd,
                R: Operand<$s, $t, M>,
            {
                self.compare::<$($mg)* R, M>(">=", rhs)
            }

            /// `self < rhs`.
            pub fn lt<$($mg)* R, M>(self, rhs: R) -> Expr<$s>
            where
                $($mb)*
                $t: SqlOrd,
                R: Operand<$s, $t, M>,
            {
                self.compare::<$($mg)* R, M>("<", rhs)
            }

            /// `self <= rhs`.
            pub fn lte<$($mg)* R, M>(self, rhs: R) -> Expr<$s>
            where
                $($mb)*
                $t: SqlOrd,
                R: Operand<$s, $t, M>,
            {
                self.compare::<$($mg)* R, M>("<=", rhs)
            }

            /// `self BETWEEN low AND high`.
            pub fn between<$($mg)* L, H, ML, MH>(self, low: L, high: H) -> Expr<$s>
            where
                $($mb)*
                $t: SqlOrd,
                L: Operand<$s, $t, ML>,
                H: Operand<$s, $t, MH>,
            {
                let cast = { let $cs = &self; $cast };
                let $this = self;
                Expr::new(Node::Between {
                    operand: Box::new($lhs),
                    low: Box::new(low.into_operand(cast).0),
                    high: Box::new(high.into_operand(cast).0),
                })
            }

            /// `self LIKE pattern` (`%` and `_` are the pattern's). A nullable column takes an
            /// `Option` pattern, as with every other operator.
            pub fn like<$($mg)* R, M>(self, pattern: R) -> Expr<$s>
            where
                $($mb)*
                $t: SqlText,
                R: Operand<$s, $t, M>,
            {
                self.compare::<$($mg)* R, M>("LIKE", pattern)
            }

            /// `self ILIKE pattern` (case-insensitive `like`).
            pub fn ilike<$($mg)* R, M>(self, pattern: R) -> Expr<$s>
            where
                $($mb)*
                $t: SqlText,
                R: Operand<$s, $t, M>,
            {
                self.compare::<$($mg)* R, M>("ILIKE", pattern)
            }

            fn any<$($mg)* V: IntoValue<$t>>(
                self,
                op: &'static str,
                values: impl IntoIterator<Item = V>,
            ) -> Expr<$s>
            where
                $($mb)*
                $t: SqlValue + PgHasArrayType,
            {
                let values: Vec<$t> = values.into_iter().map(IntoValue::into_value).collect();
                let cast = { let $cs = &self; $cast };
                let $this = self;
                Expr::new(Node::Quantified {
                    lhs: Box::new($lhs),
                    op,
                    rhs: Box::new(Node::array_param(values, cast)),
                })
            }

            /// `self = ANY($1)`: one array parameter, whatever the number of values.
            pub fn is_in<$($mg)* V: IntoValue<$t>>(
                self,
                values: impl IntoIterator<Item = V>,
            ) -> Expr<$s>
            where
                $($mb)*
                $t: SqlValue + PgHasArrayType,
            {
                self.any::<$($mg)* V>("= ANY", values)
            }

            /// `self <> ALL($1)`.
            pub fn not_in<$($mg)* V: IntoValue<$t>>(
                self,
                values: impl IntoIterator<Item = V>,
            ) -> Expr<$s>
            where
                $($mb)*
                $t: SqlValue + PgHasArrayType,
            {
                self.any::<$($mg)* V>("<> ALL", values)
            }

            fn subquery<$($mg)* I, U>(
                self,
                kind: SubqueryKind,
                query: Select<Scope<I, $s>, U>,
            ) -> Expr<$s>
            where
                $($mb)*
                I: Source,
                $s: Source,
            {
                let $this = self;
                Expr::new(Node::Subquery {
                    kind,
                    lhs: Some(Box::new($lhs)),
                    query: Box::new(query.query),
                })
            }

            /// `self IN (subquery)`: `users::ID.in_subquery(sub::<Post>().select(posts::AUTHOR_ID))`.
            /// The subquery selects one value of the same type (nullability aside).
            pub fn in_subquery<$($mg)* I, U>(self, query: Select<Scope<I, $s>, U>) -> Expr<$s>
            where
                $($mb)*
                I: Source,
                $s: Source,
                $t: ValueType,
                U: ValueType<NotNull = <$t as ValueType>::NotNull>,
            {
                self.subquery::<$($mg)* I, U>(SubqueryKind::In, query)
            }

            /// `self NOT IN (subquery)`. Beware SQL's rule: when the subquery yields a NULL,
            /// no row passes.
            pub fn not_in_subquery<$($mg)* I, U>(self, query: Select<Scope<I, $s>, U>) -> Expr<$s>
            where
                $($mb)*
                I: Source,
                $s: Source,
                $t: ValueType,
                U: ValueType<NotNull = <$t as ValueType>::NotNull>,
            {
                self.subquery::<$($mg)* I, U>(SubqueryKind::NotIn, query)
            }

            /// `self IS NULL` (a nullable column, or any column of a left-joined table).
            pub fn is_null<$($mg)*>(self) -> Expr<$s>
            where
                $($mb)*
                $t: ValueType,
                $typed: MaybeNull,
            {
                let $this = self;
                Expr::new(Node::Postfix { operand: Box::new($lhs), op: "IS NULL" })
            }

            /// `self IS NOT NULL`.
            pub fn is_not_null<$($mg)*>(self) -> Expr<$s>
            where
                $($mb)*
                $t: ValueType,
                $typed: MaybeNull,
            {
                let $this = self;
                Expr::new(Node::Postfix { operand: Box::new($lhs), op: "IS NOT NULL" })
            }

            /// `ORDER BY self ASC`.
            pub fn asc<$($mg)*>(self) -> Order<$s>
            where
                $($mb)*
                $t: SqlOrd,
            {
                let $this = self;
                Order::new($lhs, false)
            }

            /// `ORDER BY self DESC`.
            pub fn desc<$($mg)*>(self) -> Order<$s>
            where
                $($mb)*
                $t: SqlOrd,
            {
                let $this = self;
                Order::new($lhs, true)
            }

            /// `self @> values`: the array holds every one of `values`, or the JSON document
            /// holds `value`'s structure.
            pub fn contains<$($mg)* V>(self, values: V) -> Expr<$s>
            where
                $($mb)*
                $t: ValueType,
                <$t as ValueType>::NotNull: SqlContains,
                V: IntoValue<<$t as ValueType>::NotNull>,
            {
                let cast = { let $cs = &self; $cast };
                let $this = self;
                let lhs = jsonb($lhs);
                Expr::new(Node::binary(lhs, "@>", Node::param(values.into_value(), cast)))
            }

            /// `self && values`: the arrays have an element in common.
            pub fn overlaps<$($mg)* V>(self, values: V) -> Expr<$s>
            where
                $($mb)*
                $t: ValueType,
                <$t as ValueType>::NotNull: SqlArray,
                V: IntoValue<<$t as ValueType>::NotNull>,
            {
                let cast = { let $cs = &self; $cast };
                let $this = self;
                Expr::new(Node::binary($lhs, "&&", Node::param(values.into_value(), cast)))
            }

            /// `value = ANY(self)`: the array holds `value`.
            pub fn any_eq<$($mg)* V>(self, value: V) -> Expr<$s>
            where
                $($mb)*
                $t: ValueType,
                <$t as ValueType>::NotNull: SqlArray,
                <<$t as ValueType>::NotNull as SqlArray>::Element: SqlValue,
                V: IntoValue<<<$t as ValueType>::NotNull as SqlArray>::Element>,
            {
                let $this = self;
                Expr::new(Node::Quantified {
                    lhs: Box::new(Node::param(value.into_value(), None)),
                    op: "= ANY",
                    rhs: Box::new($lhs),
                })
            }

            /// `self ? key`: the JSON object has the key (or the JSON array the string).
            pub fn has_key<$($mg)*>(self, key: &str) -> Expr<$s>
            where
                $($mb)*
                $t: ValueType<NotNull = Json>,
            {
                let $this = self;
                Expr::new(Node::binary(jsonb($lhs), "?", Node::param(key.to_owned(), None)))
            }

            /// `self -> key`: the JSON value under `key` (NULL when absent).
            pub fn json_get<$($mg)*>(self, key: &str) -> Scalar<$s, Option<Json>>
            where
                $($mb)*
                $t: ValueType<NotNull = Json>,
            {
                let $this = self;
                Scalar::new(Node::binary(jsonb($lhs), "->", Node::param(key.to_owned(), None)))
            }

            /// `self ->> key`: the JSON value under `key`, as text (NULL when absent).
            pub fn json_text<$($mg)*>(self, key: &str) -> Scalar<$s, Option<String>>
            where
                $($mb)*
                $t: ValueType<NotNull = Json>,
            {
                let $this = self;
                Scalar::new(Node::binary(jsonb($lhs), "->>", Node::param(key.to_owned(), None)))
            }
        }
    };
}

/// A JSON operand as `jsonb` (a `json` column has no `@>`, `?` or containment).
fn jsonb(node: Node) -> Node {
    match &node {
        Node::Column(c) if c.meta.sql_type == "json" || c.meta.sql_type == "json[]" => Node::Cast {
            operand: Box::new(node),
            ty: "jsonb",
        },
        _ => node,
    }
}

operators! {
    impl[E: QueryTable, T, A] Column<E, T, A>;
    source: S, value: T, generics: [S, P,], bounds: [S: HasTable<E, P>,],
    lhs: |this| Node::Column(column_ref::<S, E, T, A, P>(this)),
    cast: |c| c.meta().cast,
    typed: <<S as HasTable<E, P>>::Null as Nullness>::Apply<T>,
}

operators! {
    impl[S, T] Scalar<S, T>;
    source: S, value: T, generics: [], bounds: [],
    lhs: |this| this.node,
    cast: |_c| None,
    typed: T,
}

impl<E: crate::Table, T: SqlValue> Column<E, T, Writable> {
    /// `SET column = value`, for [`Select::update`]. Read-only columns (identity ALWAYS,
    /// generated, views) have no `set`.
    pub fn set<S>(self, value: impl IntoValue<T>) -> Assignment<S>
    where
        S: Root<Table = E>,
    {
        let column = self.meta();
        Assignment {
            column,
            value: Node::param(value.into_value(), column.cast),
            _source: PhantomData,
        }
    }

    /// `SET column = expression`: another column (`posts::TITLE.set_to(lower(posts::TITLE))`,
    /// or a joined table's in an update through a join). An expression that may be NULL
    /// goes only into a nullable column.
    pub fn set_to<S, X, M>(self, expression: X) -> Assignment<S>
    where
        S: Root<Table = E>,
        X: Expression<S, M>,
        X::Type: AssignTo<T>,
    {
        Assignment {
            column: self.meta(),
            value: expression.into_raw().0,
            _source: PhantomData,
        }
    }
}
