//! The renderer from a lock, without a database: golden snapshots, syntax, determinism and
//! the promise that no SQL name can inject code.

mod online;
mod queries;
mod render;
mod versions;
