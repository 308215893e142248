//! The typed query builder: `User::query().filter(users::EMAIL.eq("a@b.c"))
//! .order_by(users::CREATED_AT.desc()).limit(20).fetch_all(&pool)`.

pub(crate) mod expr;
mod load;
mod ops;
mod page;
pub(crate) mod select;
pub(crate) mod value;

pub use expr::Expr;
pub use ops::{Assignment, Order};
pub use page::{CursorPage, Page};
pub use select::{Select, Selection};
pub use value::{IntoValue, SqlValue};
