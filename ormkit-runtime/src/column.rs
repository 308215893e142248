//! Typed columns: `users::EMAIL` is a `Column<User, String>`, so a value of the wrong type or
//! a column of another table does not compile.

use std::fmt;
use std::marker::PhantomData;

/// A column of entity `E` holding values of Rust type `T` (`Option<_>` when nullable).
pub struct Column<E, T> {
    name: &'static str,
    _marker: PhantomData<fn() -> (E, T)>,
}

impl<E, T> Column<E, T> {
    /// The column called `name` (its exact SQL name). Generated code calls this.
    pub const fn new(name: &'static str) -> Self {
        Column {
            name,
            _marker: PhantomData,
        }
    }

    /// The column's exact SQL name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<E, T> Clone for Column<E, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E, T> Copy for Column<E, T> {}

impl<E, T> fmt::Debug for Column<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Column").field(&self.name).finish()
    }
}
