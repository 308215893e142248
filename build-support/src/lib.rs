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
//! # Scratch databases
//!
//! * **On a server** (`ORMKIT_SCRATCH_URL`, else `DATABASE_URL`): a uniquely
//!   named database `ormkit_scratch_<pid>_<nanos>_<counter>` is created from
//!   `template0` and dropped `WITH (FORCE)` afterwards. The database the URL
//!   names is only used to issue `CREATE DATABASE` / `DROP DATABASE`.
//! * **A throwaway local cluster** (PostgreSQL 10+ server binaries found):
//!   an initdb'd template data directory, kept per server version and user
//!   (`ORMKIT_PG_TEMPLATE_DIR` overrides where), is copied into a temporary
//!   directory and `postgres` is started on it, listening only on a Unix
//!   socket in a short directory under `/tmp`. As root, PostgreSQL runs as
//!   the `postgres` user (else `nobody`).
//!
//! Dropping a [`ScratchDatabase`] (also during a panic) removes the database,
//! or stops the cluster and deletes its directories. Clusters left behind by
//! killed processes are stopped and deleted by the next cluster start and by
//! [`reap_stale_clusters`], which every build and CLI command calls.
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
mod dirs;
mod error;
mod fsutil;
pub mod optional_tools;
mod pgbouncer;
mod plan;
mod process;
mod reap;
mod replica;
mod runtime;
mod server;
mod standby;
mod template;
#[cfg(feature = "tls-cluster")]
mod tls;
mod tools;
mod urls;

pub use bindir::{find_bindir, find_bindir_in, SYSTEM_PG_ROOT};
pub use database::{ScratchDatabase, ScratchKind};
pub use error::{Error, Result};
pub use pgbouncer::{PgBouncer, PgBouncerOptions, PoolMode};
pub use plan::{ScratchPlan, ENV_VARS};
pub use reap::reap_stale_clusters;
pub use replica::{ReplicaOptions, ReplicaSet};
#[cfg(feature = "tls-cluster")]
pub use tls::{TlsCluster, CERT_USER};
pub use urls::connect_options;
