//! Shared by the `migrate` and `validate` test binaries: a database per test, migration
//! directories to play with, and catalog snapshots.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use ormkit::sqlx::postgres::PgPoolOptions;
use ormkit::sqlx::{self, PgPool};
use ormkit::Migration;
use ormkit_build_support::{ScratchDatabase, ScratchPlan};
use ormkit_schema::migrations::discover;
use ormkit_schema::{introspect, IntrospectOptions, SchemaLock, SchemaModel};

/// An empty database of its own, dropped with the value: a temporary database on
/// `DATABASE_URL`'s server when set, else a throwaway local cluster.
pub struct TestDb {
    pub pool: PgPool,
    scratch: ScratchDatabase,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let plan = ScratchPlan::from_env();
        let scratch = ScratchDatabase::start(&plan)
            .expect("a scratch database")
            .unwrap_or_else(|| panic!("these tests need PostgreSQL: {plan}"));
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(scratch.url())
            .await
            .expect("connect to the scratch database");
        TestDb { pool, scratch }
    }

    pub fn url(&self) -> &str {
        self.scratch.url()
    }

    /// Runs SQL (several statements allowed) outside the Migrator.
    pub async fn exec(&self, sql: &str) {
        sqlx::raw_sql(sql)
            .execute(&self.pool)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"));
    }

    /// The whole user-visible catalog: the model of every schema, plus the extensions.
    pub async fn catalog(&self) -> (SchemaModel, Vec<String>) {
        let mut conn = self.pool.acquire().await.unwrap();
        let model = introspect(&mut conn, &IntrospectOptions::default())
            .await
            .unwrap();
        let extensions = sqlx::query_scalar("SELECT extname::text FROM pg_extension ORDER BY 1")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        (model, extensions)
    }

    /// The model of the schemas the committed lock describes.
    pub async fn model_like_lock(&self) -> SchemaModel {
        let mut conn = self.pool.acquire().await.unwrap();
        let options = IntrospectOptions {
            schemas: Some(reference_lock().schema.schemas),
            ..IntrospectOptions::default()
        };
        introspect(&mut conn, &options).await.unwrap()
    }

    /// `(version, success)` of every tracking row, oldest first.
    pub async fn tracking_rows(&self) -> Vec<(String, bool)> {
        sqlx::query_as("SELECT version, success FROM _ormkit_migrations ORDER BY version")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }

    pub async fn table_exists(&self, name: &str) -> bool {
        sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The reference migrations, `<repo>/migrations`.
pub fn reference_dir() -> PathBuf {
    repo().join("migrations")
}

/// The committed `schema.lock` text.
pub fn reference_lock_text() -> String {
    std::fs::read_to_string(repo().join("schema.lock")).unwrap()
}

pub fn reference_lock() -> SchemaLock {
    SchemaLock::parse(&reference_lock_text(), "schema.lock").unwrap()
}

/// The reference migrations as the generated `MIGRATIONS` would embed them: borrowed
/// texts, the checksums computed when they were read, paths relative to the directory.
pub fn reference_embedded() -> &'static [Migration] {
    let list: Vec<Migration> = discover(&reference_dir())
        .unwrap()
        .iter()
        .map(embedded)
        .collect();
    Box::leak(list.into_boxed_slice())
}

/// `migration` (Diesel's layout) as generated code embeds it, with `Migration::embedded`.
pub fn embedded(migration: &Migration) -> Migration {
    let path = |file: &str| leak(&format!("{migration}/{file}"));
    let (up, down) = (&migration.up, migration.down.as_ref());
    let mut embedded = Migration::embedded(
        leak(&migration.version),
        leak(&migration.name),
        path("up.sql"),
        leak(&up.checksum),
        leak(&up.sql),
    );
    if up.no_transaction {
        embedded = embedded.up_outside_transaction();
    }
    if let Some(down) = down {
        embedded = embedded.with_down(path("down.sql"), leak(&down.checksum), leak(&down.sql));
        if down.no_transaction {
            embedded = embedded.down_outside_transaction();
        }
    }
    embedded
}

/// A `&'static str` for tests that build embedded migrations at run time.
pub fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

/// A temporary migrations directory.
pub struct Dir(tempfile::TempDir);

impl Dir {
    pub fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }

    /// A copy of the reference migrations.
    pub fn reference() -> Dir {
        let dir = Dir::new();
        copy_dir(&reference_dir(), dir.path());
        dir
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes a Diesel-layout migration `<stem>/up.sql` (+ `down.sql`).
    pub fn add(&self, stem: &str, up: &str, down: Option<&str>) -> &Self {
        let dir = self.path().join(stem);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("up.sql"), up).unwrap();
        if let Some(down) = down {
            std::fs::write(dir.join("down.sql"), down).unwrap();
        }
        self
    }

    /// Writes any file under the directory.
    pub fn write(&self, relative: &str, text: &str) -> &Self {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
