//! ormkit's build-time code generator.
//!
//! A crate's `build.rs` calls [`generate()`]; it discovers the crate's migrations, applies
//! them to a scratch PostgreSQL (or, offline, reads the committed `schema.lock`),
//! introspects the catalog, and writes typed entities into `OUT_DIR` for
//! `ormkit::include_entities!()`.
//!
//! ```no_run
//! // build.rs, inside `fn main()`
//! if let Err(err) = ormkit_codegen::generate() {
//!     eprintln!("error: {err}");
//!     std::process::exit(1);
//! }
//! ```
//!
//! The pipeline, one module per step: discover migrations (`ormkit_schema::migrations`) →
//! scratch database (`ormkit_build_support`) → apply → introspect (`ormkit_schema::introspect`)
//! → lock (`ormkit_schema::schema_lock`) → [`render`](crate::render) → write.

mod config;
mod error;
mod names;
mod pipeline;
mod queries;
mod render;
mod stale_lock;
mod types;

pub use config::{Config, TimeCrate};
pub use error::{CodegenError, Result};
pub use ormkit_build_support::ScratchPlan;
pub use pipeline::{Generated, LockStatus, Source, MIGRATIONS_DIR_VAR};
pub use render::HEADER;

/// Generates entities with the default [`Config`]: `migrations/` and `schema.lock` next to
/// `Cargo.toml`, output `$OUT_DIR/ormkit_entities.rs`.
pub fn generate() -> Result<Generated> {
    Config::new().generate()
}
