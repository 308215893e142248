//! The scratch PostgreSQL of ormkit: the one place that decides where a
//! build script applies migrations, and that provides a throwaway database.
//!
//! [`ScratchPlan::from_env`] decides where scratch databases come from
//! (offline, a temporary database on a server, or a throwaway local cluster);
//! [`ScratchDatabase::start`] provides one, removed again when the handle is
//! dropped.
//!
//! The API is synchronous and safe to call from build scripts and from inside
//! a tokio runtime alike: async database work runs on a private thread with
//! its own runtime.
//!
//! ```no_run
//! use ormkit_build_support::{ScratchDatabase, ScratchPlan, ENV_VARS};
//!
//! for var in ENV_VARS {
//!     println!("cargo:rerun-if-env-changed={var}");
//! }
//! let plan = ScratchPlan::from_env();
//! match ScratchDatabase::start(&plan)? {
//!     Some(db) => {
//!         println!("applying migrations to {}", db.description());
//!         // connect to db.url() …
//!         db.close()?;
//!     }
//!     None => println!("offline: {plan}"),
//! }
//! # Ok::<(), ormkit_build_support::Error>(())
//! ```

mod account;
mod bindir;
mod cluster;
mod database;
mod error;
mod fsutil;
mod plan;
mod process;
mod reap;
mod runtime;
mod server;
mod template;
mod tools;
mod urls;

pub use bindir::{find_bindir, find_bindir_in, SYSTEM_PG_ROOT};
pub use database::{ScratchDatabase, ScratchKind};
pub use error::{Error, Result};
pub use plan::{ScratchPlan, ENV_VARS};
