//! Functions and aggregates, typed: `lower(users::EMAIL)` is text, `sum(posts::SCORE)` of an
//! `int4` is `Option<i64>` (NULL over no rows), `count()` an `i64`. [`func`] and
//! [`aggregate`] call any other function by name, binding every value.

use super::node::{FnName, Node};
use super::scalar::{Bound, ByExpr, Expression, RawNode, Scalar};
use crate::column::SqlMinMax;
use crate::entity::SqlValue;
use crate::value_type::ValueType;
use rust_decimal::Decimal;
use sqlx::postgres::types::{PgInterval, PgMoney};

/// Types `sum` adds up, and the type PostgreSQL gives the sum: `int2`/`int4` → `int8`,
/// `int8` and `numeric` → `numeric`, floats, intervals and money → themselves.
#[diagnostic::on_unimplemented(
    message = "`sum` needs a number, an interval or money, not `{Self}`",
    note = "sum adds int2, int4, int8, float4, float8, numeric, interval and money columns"
)]
pub trait Summable {
    /// PostgreSQL's result type, in Rust.
    type Sum: ValueType;
}

/// Types `avg` averages, and the type PostgreSQL gives the average: integers and `numeric`
/// → `numeric`, floats → `float8`, intervals → interval.
#[diagnostic::on_unimplemented(
    message = "`avg` needs a number or an interval, not `{Self}`",
    note = "avg takes int2, int4, int8, float4, float8, numeric and interval columns"
)]
pub trait Averageable {
    /// PostgreSQL's result type, in Rust.
    type Avg: ValueType;
}

macro_rules! result_types {
    ($trait:ident :: $assoc:ident { $($t:ty => $r:ty),* $(,)? }) => {
        $(impl $trait for $t { type $assoc = $r; })*
    };
}
result_types!(Summable::Sum {
    i16 => i64, i32 => i64, i64 => Decimal, f32 => f32, f64 => f64, Decimal => Decimal,
    PgInterval => PgInterval, PgMoney => PgMoney,
});
result_types!(Averageable::Avg {
    i16 => Decimal, i32 => Decimal, i64 => Decimal, f32 => f64, f64 => f64,
    Decimal => Decimal, PgInterval => PgInterval,
});

/// Timestamps and intervals, for [`date_trunc`].
#[diagnostic::on_unimplemented(
    message = "`date_trunc` needs a timestamp or an interval, not `{Self}`"
)]
pub trait Truncatable {}
impl<Tz: chrono::TimeZone> Truncatable for chrono::DateTime<Tz> {}
impl Truncatable for chrono::NaiveDateTime {}
impl Truncatable for time::PrimitiveDateTime {}
impl Truncatable for time::OffsetDateTime {}
impl Truncatable for PgInterval {}

/// The precision [`date_trunc`] truncates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum DateUnit {
    Microseconds,
    Milliseconds,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    Decade,
    Century,
    Millennium,
}

impl DateUnit {
    /// The unit as a SQL literal: a fixed text, so that the same truncation in the select
    /// list and in `group_by` is the same expression.
    fn literal(self) -> &'static str {
        match self {
            DateUnit::Microseconds => "'microseconds'",
            DateUnit::Milliseconds => "'milliseconds'",
            DateUnit::Second => "'second'",
            DateUnit::Minute => "'minute'",
            DateUnit::Hour => "'hour'",
            DateUnit::Day => "'day'",
            DateUnit::Week => "'week'",
            DateUnit::Month => "'month'",
            DateUnit::Quarter => "'quarter'",
            DateUnit::Year => "'year'",
            DateUnit::Decade => "'decade'",
            DateUnit::Century => "'century'",
            DateUnit::Millennium => "'millennium'",
        }
    }
}

fn aggregate_call(name: &'static str, args: Vec<Node>, distinct: bool) -> Node {
    Node::Call {
        name: FnName::Builtin(name),
        args,
        aggregate: true,
        distinct,
    }
}

/// `count(*)`: the rows (of the group). Never NULL.
pub fn count<S>() -> Scalar<S, i64> {
    Scalar::new(aggregate_call("count", vec![Node::Sql("*")], false))
}

/// `count(expression)`: the rows where `expression` is not NULL.
pub fn count_of<S, X: Expression<S, M>, M>(expression: X) -> Scalar<S, i64> {
    Scalar::new(aggregate_call(
        "count",
        vec![expression.into_raw().0],
        false,
    ))
}

/// `count(DISTINCT expression)`: the distinct values that are not NULL.
pub fn count_distinct<S, X: Expression<S, M>, M>(expression: X) -> Scalar<S, i64> {
    Scalar::new(aggregate_call("count", vec![expression.into_raw().0], true))
}

/// `sum(expression)`, in PostgreSQL's result type ([`Summable`]); NULL (`None`) over no
/// rows, or when every value is NULL.
pub fn sum<S, X, M>(
    expression: X,
) -> Scalar<S, Option<<<X::Type as ValueType>::NotNull as Summable>::Sum>>
where
    X: Expression<S, M>,
    X::Type: ValueType,
    <X::Type as ValueType>::NotNull: Summable,
{
    Scalar::new(aggregate_call("sum", vec![expression.into_raw().0], false))
}

/// `avg(expression)`, in PostgreSQL's result type ([`Averageable`]); `None` over no rows.
pub fn avg<S, X, M>(
    expression: X,
) -> Scalar<S, Option<<<X::Type as ValueType>::NotNull as Averageable>::Avg>>
where
    X: Expression<S, M>,
    X::Type: ValueType,
    <X::Type as ValueType>::NotNull: Averageable,
{
    Scalar::new(aggregate_call("avg", vec![expression.into_raw().0], false))
}

/// `min(expression)`; `None` over no rows.
pub fn min<S, X, M>(expression: X) -> Scalar<S, Option<<X::Type as ValueType>::NotNull>>
where
    X: Expression<S, M>,
    X::Type: ValueType,
    <X::Type as ValueType>::NotNull: SqlMinMax,
{
    Scalar::new(aggregate_call("min", vec![expression.into_raw().0], false))
}

/// `max(expression)`; `None` over no rows.
pub fn max<S, X, M>(expression: X) -> Scalar<S, Option<<X::Type as ValueType>::NotNull>>
where
    X: Expression<S, M>,
    X::Type: ValueType,
    <X::Type as ValueType>::NotNull: SqlMinMax,
{
    Scalar::new(aggregate_call("max", vec![expression.into_raw().0], false))
}

/// `lower(text)`; NULL stays NULL.
pub fn lower<S, X, M>(text: X) -> Scalar<S, X::Type>
where
    X: Expression<S, M>,
    X::Type: ValueType<NotNull = String>,
{
    Scalar::new(Node::call("lower", vec![text.into_raw().0]))
}

/// `upper(text)`; NULL stays NULL.
pub fn upper<S, X, M>(text: X) -> Scalar<S, X::Type>
where
    X: Expression<S, M>,
    X::Type: ValueType<NotNull = String>,
{
    Scalar::new(Node::call("upper", vec![text.into_raw().0]))
}

/// `date_trunc('unit', value)`: a timestamp or interval truncated to `unit`.
pub fn date_trunc<S, X, M>(unit: DateUnit, value: X) -> Scalar<S, X::Type>
where
    X: Expression<S, M>,
    X::Type: ValueType,
    <X::Type as ValueType>::NotNull: Truncatable,
{
    Scalar::new(Node::call(
        "date_trunc",
        vec![Node::Sql(unit.literal()), value.into_raw().0],
    ))
}

/// What stands in for NULL in [`coalesce`]: a Rust value (then the result is never NULL)
/// or an expression of the same type (the result is NULL only where it is).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot replace a NULL `{T}`",
    note = "coalesce's fallback is a value of the same type, or a column or expression of it"
)]
pub trait Fallback<S, T, M> {
    /// The type of `coalesce(…, self)`.
    type Type;
    #[doc(hidden)]
    fn into_fallback(self, cast: Option<&'static str>) -> RawNode;
}

impl<S, T: SqlValue, V: super::IntoValue<T>> Fallback<S, T, Bound> for V {
    type Type = T;

    fn into_fallback(self, cast: Option<&'static str>) -> RawNode {
        RawNode(Node::param(self.into_value(), cast))
    }
}

impl<S, T, X, M> Fallback<S, T, ByExpr<M>> for X
where
    T: ValueType,
    X: Expression<S, M>,
    X::Type: ValueType<NotNull = T::NotNull>,
{
    type Type = X::Type;

    fn into_fallback(self, _cast: Option<&'static str>) -> RawNode {
        self.into_raw()
    }
}

/// `coalesce(value, fallback)`: `value`, or `fallback` where it is NULL.
/// `coalesce(users::DISPLAY_NAME, "anonymous")` is a `String`.
pub fn coalesce<S, X, MX, F, MF>(value: X, fallback: F) -> Scalar<S, F::Type>
where
    X: Expression<S, MX>,
    X::Type: ValueType,
    F: Fallback<S, <X::Type as ValueType>::NotNull, MF>,
{
    let value = value.into_raw().0;
    let cast = match &value {
        Node::Column(c) => c.meta.cast,
        _ => None,
    };
    let fallback = fallback.into_fallback(cast).0;
    Scalar::new(Node::call("coalesce", vec![value, fallback]))
}

/// One argument of [`func`]: a column or expression, or a Rust value (bound).
pub trait Arg<S, M> {
    #[doc(hidden)]
    fn into_arg(self) -> RawNode;
}

impl<S, V: SqlValue> Arg<S, Bound> for V {
    fn into_arg(self) -> RawNode {
        RawNode(Node::param(self, None))
    }
}

impl<S, X: Expression<S, M>, M> Arg<S, ByExpr<M>> for X {
    fn into_arg(self) -> RawNode {
        self.into_raw()
    }
}

/// The arguments of [`func`]: `()`, or a tuple of up to six [`Arg`]s.
pub trait Args<S, M> {
    #[doc(hidden)]
    fn into_args(self) -> Vec<RawNode>;
}

impl<S> Args<S, ()> for () {
    fn into_args(self) -> Vec<RawNode> {
        Vec::new()
    }
}

macro_rules! args {
    ($($a:ident / $m:ident),+) => {
        impl<S, $($a: Arg<S, $m>, $m),+> Args<S, ($($m,)+)> for ($($a,)+) {
            #[allow(non_snake_case)]
            fn into_args(self) -> Vec<RawNode> {
                let ($($a,)+) = self;
                vec![$($a.into_arg()),+]
            }
        }
    };
}
args!(A / MA);
args!(A / MA, B / MB);
args!(A / MA, B / MB, C / MC);
args!(A / MA, B / MB, C / MC, D / MD);
args!(A / MA, B / MB, C / MC, D / MD, E / ME);
args!(A / MA, B / MB, C / MC, D / MD, E / ME, F / MF);

/// A call of a function named by the application, waiting for its result type: see
/// [`func`].
#[must_use = "give the call its result type with `.returns::<T>()`"]
pub struct Call<S> {
    node: Node,
    _source: std::marker::PhantomData<fn() -> S>,
}

impl<S> std::fmt::Debug for Call<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Call").field(&self.node).finish()
    }
}

impl<S> Call<S> {
    /// The call as an expression of type `T`. `T` is the caller's word: a result of another
    /// type fails to decode, naming the column.
    pub fn returns<T>(self) -> Scalar<S, T> {
        Scalar::new(self.node)
    }
}

fn named_call<S, A: Args<S, M>, M>(name: &str, args: A, aggregate: bool) -> Call<S> {
    Call {
        node: Node::Call {
            name: FnName::Quoted(name.to_owned()),
            args: args.into_args().into_iter().map(|a| a.0).collect(),
            aggregate,
            distinct: false,
        },
        _source: std::marker::PhantomData,
    }
}

/// Any SQL function, by name: `func("initcap", (users::EMAIL,)).returns::<String>()`. The
/// name is quoted as an identifier (each part of `schema.name`), so it is the function's
/// exact, case-sensitive name and never SQL text; every Rust value among the arguments is
/// bound as a parameter.
pub fn func<S, A: Args<S, M>, M>(name: &str, args: A) -> Call<S> {
    named_call(name, args, false)
}

/// Any aggregate function, by name, as [`func`]:
/// `aggregate("string_agg", (posts::TITLE, ", ")).returns::<Option<String>>()`. It counts
/// as an aggregate for the grouping rules.
pub fn aggregate<S, A: Args<S, M>, M>(name: &str, args: A) -> Call<S> {
    named_call(name, args, true)
}
