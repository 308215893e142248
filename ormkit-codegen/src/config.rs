//! [`Config`]: the build-script builder, prost-style.

use ormkit_build_support::ScratchPlan;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which crate date and time columns map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeCrate {
    /// `chrono` (default): `DateTime<Utc>`, `NaiveDateTime`, `NaiveDate`, `NaiveTime`.
    #[default]
    Chrono,
    /// `time`: `OffsetDateTime`, `PrimitiveDateTime`, `Date`, `Time`.
    Time,
}

/// How `build.rs` generates entities. `Config::new().generate()` is what
/// [`generate()`](crate::generate) does.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) manifest_dir: Option<PathBuf>,
    pub(crate) migrations: PathBuf,
    pub(crate) queries: PathBuf,
    pub(crate) lock: PathBuf,
    pub(crate) out_dir: Option<PathBuf>,
    pub(crate) file_name: String,
    pub(crate) module: String,
    pub(crate) schemas: Option<Vec<String>>,
    pub(crate) overrides: BTreeMap<String, String>,
    pub(crate) serde: bool,
    pub(crate) time_crate: TimeCrate,
    pub(crate) singularize: bool,
    pub(crate) non_null_array_elements: bool,
    pub(crate) cargo_directives: bool,
    pub(crate) scratch_plan: Option<ScratchPlan>,
    pub(crate) diesel_compat: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            manifest_dir: None,
            migrations: PathBuf::from("migrations"),
            queries: PathBuf::from("queries"),
            lock: PathBuf::from("schema.lock"),
            out_dir: None,
            file_name: "ormkit_entities.rs".into(),
            module: "entities".into(),
            schemas: None,
            overrides: BTreeMap::new(),
            serde: false,
            time_crate: TimeCrate::Chrono,
            singularize: true,
            non_null_array_elements: false,
            cargo_directives: true,
            scratch_plan: None,
            diesel_compat: false,
        }
    }
}

impl Config {
    /// The defaults: `migrations/` and `schema.lock` next to Cargo.toml, output in `OUT_DIR`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The crate directory relative paths resolve against. Default: `CARGO_MANIFEST_DIR`,
    /// else the current directory.
    pub fn manifest_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.manifest_dir = Some(dir.into());
        self
    }

    /// The migrations directory. Default: `migrations`.
    pub fn migrations(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.migrations = dir.into();
        self
    }

    /// The directory of checked SQL files (`**/*.sql`, named queries in sqlc's convention).
    /// Default: `queries`; none is fine.
    pub fn queries(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.queries = dir.into();
        self
    }

    /// The lock file. Default: `schema.lock`.
    pub fn lock_file(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.lock = path.into();
        self
    }

    /// Where the generated file goes. Default: `OUT_DIR`.
    pub fn out_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// The generated file's name. Default: `ormkit_entities.rs`
    /// (what `ormkit::include_entities!()` includes).
    pub fn file_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.file_name = name.into();
        self
    }

    /// The name of the generated module. Default: `entities`.
    pub fn module(&mut self, name: impl Into<String>) -> &mut Self {
        self.module = name.into();
        self
    }

    /// The schemas to generate. Default: every schema but PostgreSQL's own.
    pub fn schemas<S: Into<String>>(&mut self, schemas: impl IntoIterator<Item = S>) -> &mut Self {
        self.schemas = Some(schemas.into_iter().map(Into::into).collect());
        self
    }

    /// Maps a PostgreSQL type to a Rust type everywhere: `type_override("citext", "String")`,
    /// `type_override("public.money_amount", "my_crate::Money")`. Default: the built-in table.
    pub fn type_override(&mut self, sql_type: &str, rust_type: &str) -> &mut Self {
        self.overrides
            .insert(sql_type.to_owned(), rust_type.to_owned());
        self
    }

    /// Maps one column (`schema.table.column`) to a Rust type (the non-null value type;
    /// nullable columns still get an `Option` around it). Default: none.
    pub fn column_override(&mut self, column: &str, rust_type: &str) -> &mut Self {
        self.overrides
            .insert(column.to_owned(), rust_type.to_owned());
        self
    }

    /// Derive serde's `Serialize`/`Deserialize` on generated types. Default: off.
    pub fn serde(&mut self, enabled: bool) -> &mut Self {
        self.serde = enabled;
        self
    }

    /// Map dates and times to `chrono` or `time`. Default: [`TimeCrate::Chrono`].
    pub fn time_crate(&mut self, time_crate: TimeCrate) -> &mut Self {
        self.time_crate = time_crate;
        self
    }

    /// Name row types in the singular (`users` → `User`). Default: on.
    pub fn singularize(&mut self, enabled: bool) -> &mut Self {
        self.singularize = enabled;
        self
    }

    /// Map every array to `Vec<T>` instead of `Vec<Option<T>>`. PostgreSQL cannot declare
    /// array elements NOT NULL, so the default is `Vec<Option<T>>`, except for columns with
    /// `CHECK (array_position(col, NULL) IS NULL)`. Default: off.
    pub fn non_null_array_elements(&mut self, enabled: bool) -> &mut Self {
        self.non_null_array_elements = enabled;
        self
    }

    /// Print `cargo:` directives (rerun-if-changed, warnings). Default: on; the CLI turns
    /// it off.
    pub fn cargo_directives(&mut self, enabled: bool) -> &mut Self {
        self.cargo_directives = enabled;
        self
    }

    /// Create Diesel's `__diesel_schema_migrations` table (Diesel's DDL) on the scratch
    /// database before the first migration, for migrations written for Diesel that use it;
    /// it is left out of the generated entities. Default: off.
    pub fn diesel_compat(&mut self, enabled: bool) -> &mut Self {
        self.diesel_compat = enabled;
        self
    }

    /// Where the migrations are applied, instead of the plan the environment selects
    /// ([`ScratchPlan::from_env`]): for tools that decide for themselves. A plan that
    /// provides no database generates from the lock, as when nothing is installed.
    pub fn scratch_plan(&mut self, plan: ScratchPlan) -> &mut Self {
        self.scratch_plan = Some(plan);
        self
    }

    /// The plan to use: the one set, else the environment's.
    pub(crate) fn plan(&self) -> ScratchPlan {
        self.scratch_plan
            .clone()
            .unwrap_or_else(ScratchPlan::from_env)
    }

    pub(crate) fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            return path.to_owned();
        }
        let base = self
            .manifest_dir
            .clone()
            .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join(path)
    }
}
