//! The generator's golden cases (each case's input beside its snapshot in `tests/cases/`),
//! syntax, determinism and the promise that no SQL name can inject code.

mod online;
mod queries;
mod render;
mod versions;
