//! The typed query builder: `User::query().filter(users::EMAIL.eq("a@b.c"))
//! .order_by(users::CREATED_AT.desc()).limit(20).fetch_all(&pool)`.

pub mod expr;
mod load;
pub mod ops;
mod page;
pub mod select;
pub mod value;

pub use crate::entity::SqlValue;
pub use expr::Expr;
pub use ops::{Assignment, Order};
pub use page::{CursorPage, Page};
pub use select::{Select, Selection};
pub use value::IntoValue;
