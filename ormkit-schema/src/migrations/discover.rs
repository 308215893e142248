//! Discovery of migrations in a directory, in Diesel's and sqlx's layouts.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::MigrationError;
use super::migration::{Migration, MigrationScript, VersionKey};
use super::split::split_statements;

/// Finds every migration in `dir`, sorted by [`Migration::version_key`]; the warnings of
/// [`discover_with_warnings`] are dropped (call that to show them).
///
/// # Errors
///
/// As [`discover_with_warnings`].
pub fn discover(dir: &Path) -> Result<Vec<Migration>, MigrationError> {
    discover_with_warnings(dir).map(|discovery| discovery.migrations)
}

/// What [`discover_with_warnings`] found: the migrations, and what deserves a warning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// The migrations, sorted by [`Migration::version_key`].
    pub migrations: Vec<Migration>,
    /// What was ignored or looks like a mistake, for the caller to show (the build prints
    /// them as `cargo:warning`, the CLI on stderr, the Migrator through `tracing` and
    /// `Migrator::warnings`).
    pub warnings: Vec<DiscoveryWarning>,
}

/// Something discovery ignored, or accepted although it looks like a mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscoveryWarning {
    /// `.sql` files at the top of a directory of Diesel-layout migration directories that are
    /// not named like migrations: ignored, as Diesel ignores them (crates.io keeps
    /// `migrations/data_oauth_github.sql` there).
    IgnoredFiles {
        /// The migrations directory.
        dir: PathBuf,
        /// The ignored files, sorted.
        files: Vec<PathBuf>,
    },
    /// An up script without a single SQL statement (empty, or only comments): applying it
    /// records the migration and changes nothing.
    EmptyUp {
        /// The script.
        path: PathBuf,
    },
}

impl std::fmt::Display for DiscoveryWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiscoveryWarning::IgnoredFiles { dir, files } => {
                let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "ignoring {} in {}: not named like a migration, and the directory holds \
                     Diesel-layout migration directories (`<version>_<name>/up.sql`), which \
                     Diesel also ignores such files beside; move them elsewhere to silence this",
                    names.join(", "),
                    dir.display()
                )
            }
            DiscoveryWarning::EmptyUp { path } => write!(
                f,
                "{} has no SQL statement (it is empty or only comments): applying it records \
                 the migration and changes nothing",
                path.display()
            ),
        }
    }
}

/// Finds every migration in `dir`, sorted by [`Migration::version_key`], with warnings.
///
/// Each entry of `dir` is looked at independently, so layouts may be mixed:
///
/// - Diesel's directory layout: `<version>_<name>/up.sql`, an optional `down.sql`, and an
///   optional `metadata.toml` whose `run_in_transaction = false` makes both scripts run
///   outside a transaction (each script's own flag is set);
/// - sqlx's flat layout: `<version>_<name>.sql` (no down script), or a
///   `<version>_<name>.up.sql` and `<version>_<name>.down.sql` pair.
///
/// `<version>` is made of ASCII digits and dashes (at least one digit) and ends at the first
/// `_`; `<name>` is not empty. Hidden entries and files not ending in `.sql` (`README.md`,
/// `.keep`...) are ignored. A `.sql` file that is not named like a migration is an error,
/// since it would silently never run — unless the directory holds Diesel-layout migration
/// directories: Diesel ignores the files beside them, so they are ignored here too, with one
/// [`DiscoveryWarning::IgnoredFiles`] naming them. A directory holding an `up.sql` that is
/// not named like a migration is always an error. An up script with no statement is
/// accepted (a Diesel project may have applied such a placeholder long ago, and changing it
/// would change its checksum) with a [`DiscoveryWarning::EmptyUp`].
///
/// # Errors
///
/// [`MigrationError`] naming the path at fault: unreadable directory or file, non-UTF-8
/// script, misnamed `.sql` file, migration directory without `up.sql`, `.down.sql` without
/// its `.up.sql`, invalid `metadata.toml`, or two migrations with the same version digits.
pub fn discover_with_warnings(dir: &Path) -> Result<Discovery, MigrationError> {
    let mut migrations = Vec::new();
    let mut files = Vec::new();
    for (path, file_name) in list_dir(dir)? {
        if file_name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let metadata = fs::metadata(&path).map_err(io_error(&path))?;
        if metadata.is_dir() {
            let Some(name) = file_name.to_str() else {
                // A non-UTF-8 name cannot be a migration; flag one that holds an up.sql.
                if is_file(&path.join("up.sql"))? {
                    return Err(MigrationError::UnrecognisedDirectory { path });
                }
                continue;
            };
            migrations.extend(discover_directory(&path, name)?);
        } else if metadata.is_file() {
            files.push((path, file_name));
        }
    }
    // Diesel ignores files beside its migration directories; so does a directory of them.
    let diesel_layout = !migrations.is_empty();
    let mut ignored = Vec::new();
    let mut flat: BTreeMap<String, FlatFiles> = BTreeMap::new();
    for (path, file_name) in files {
        let classified = match file_name.to_str() {
            Some(name) => classify_flat_file(&mut flat, path, name),
            None if file_name.to_string_lossy().ends_with(".sql") => {
                Err(MigrationError::UnrecognisedFile { path })
            }
            None => Ok(()),
        };
        match classified {
            Err(MigrationError::UnrecognisedFile { path }) if diesel_layout => ignored.push(path),
            other => other?,
        }
    }
    for (stem, files) in flat {
        migrations.extend(load_flat(dir, &stem, files)?);
    }
    migrations.sort_by_key(Migration::version_key);
    check_unique_versions(&migrations)?;
    let mut warnings = Vec::new();
    if !ignored.is_empty() {
        warnings.push(DiscoveryWarning::IgnoredFiles {
            dir: dir.to_owned(),
            files: ignored,
        });
    }
    for migration in &migrations {
        if split_statements(&migration.up.sql).is_empty() {
            warnings.push(DiscoveryWarning::EmptyUp {
                path: PathBuf::from(migration.up.path.as_ref()),
            });
        }
    }
    Ok(Discovery {
        migrations,
        warnings,
    })
}

/// The files of one flat-layout migration, by kind.
#[derive(Default)]
struct FlatFiles {
    /// `<stem>.sql`
    simple: Option<PathBuf>,
    /// `<stem>.up.sql`
    up: Option<PathBuf>,
    /// `<stem>.down.sql`
    down: Option<PathBuf>,
}

/// Diesel's per-migration `metadata.toml`.
#[derive(Deserialize)]
struct DieselMetadata {
    #[serde(default = "run_in_transaction_default")]
    run_in_transaction: bool,
}

fn run_in_transaction_default() -> bool {
    true
}

/// The entries of `dir` as `(path, file name)`, sorted by name for deterministic results.
fn list_dir(dir: &Path) -> Result<Vec<(PathBuf, std::ffi::OsString)>, MigrationError> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        entries.push((entry.path(), entry.file_name()));
    }
    entries.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(entries)
}

/// Splits a `<version>_<name>` stem, if it is well formed.
fn parse_stem(stem: &str) -> Option<(&str, &str)> {
    let (version, name) = stem.split_once('_')?;
    (VersionKey::parse(version).is_some() && !name.is_empty()).then_some((version, name))
}

/// Loads a Diesel-layout directory, if `dir_name` is named like a migration.
fn discover_directory(path: &Path, dir_name: &str) -> Result<Option<Migration>, MigrationError> {
    let up_path = path.join("up.sql");
    let Some((version, name)) = parse_stem(dir_name) else {
        return match is_file(&up_path)? {
            true => Err(MigrationError::UnrecognisedDirectory {
                path: path.to_owned(),
            }),
            false => Ok(None),
        };
    };
    if !is_file(&up_path)? {
        return Err(MigrationError::MissingUp {
            path: path.to_owned(),
        });
    }
    let run_in_transaction = read_metadata(&path.join("metadata.toml"))?;
    let mut up = read_script(up_path)?;
    let down_path = path.join("down.sql");
    let mut down = match is_file(&down_path)? {
        true => Some(read_script(down_path)?),
        false => None,
    };
    // `run_in_transaction = false` is about the migration: it sets both scripts' flags, on
    // top of any marker either script has on its first line.
    if !run_in_transaction {
        up.no_transaction = true;
        if let Some(down) = &mut down {
            down.no_transaction = true;
        }
    }
    Ok(Some(Migration {
        version: version.to_owned().into(),
        name: name.to_owned().into(),
        up,
        down,
    }))
}

/// Records a flat-layout file under its stem; rejects misnamed `.sql` files.
fn classify_flat_file(
    flat: &mut BTreeMap<String, FlatFiles>,
    path: PathBuf,
    file_name: &str,
) -> Result<(), MigrationError> {
    let Some(without_sql) = file_name.strip_suffix(".sql") else {
        return Ok(());
    };
    let (stem, kind) = if let Some(stem) = without_sql.strip_suffix(".up") {
        (stem, FlatKind::Up)
    } else if let Some(stem) = without_sql.strip_suffix(".down") {
        (stem, FlatKind::Down)
    } else {
        (without_sql, FlatKind::Simple)
    };
    if parse_stem(stem).is_none() {
        return Err(MigrationError::UnrecognisedFile { path });
    }
    let files = flat.entry(stem.to_owned()).or_default();
    match kind {
        FlatKind::Simple => files.simple = Some(path),
        FlatKind::Up => files.up = Some(path),
        FlatKind::Down => files.down = Some(path),
    }
    Ok(())
}

/// The three kinds of flat-layout files.
enum FlatKind {
    Simple,
    Up,
    Down,
}

/// Loads a flat-layout migration from the files found for `stem` (none if there are none).
fn load_flat(
    dir: &Path,
    stem: &str,
    files: FlatFiles,
) -> Result<Option<Migration>, MigrationError> {
    let (up_path, down_path) = match (files.simple, files.up, files.down) {
        (Some(first), Some(second), _) => {
            let version = VersionKey::new(stem).to_string();
            return Err(MigrationError::DuplicateVersion {
                first,
                second,
                version,
            });
        }
        (_, None, Some(down)) => {
            let expected_up = dir.join(format!("{stem}.up.sql"));
            return Err(MigrationError::OrphanDown {
                path: down,
                expected_up,
            });
        }
        (Some(up), None, None) | (None, Some(up), None) => (up, None),
        (None, Some(up), Some(down)) => (up, Some(down)),
        (None, None, None) => return Ok(None),
    };
    let (version, name) = parse_stem(stem).unwrap_or((stem, ""));
    let up = read_script(up_path)?;
    let down = down_path.map(read_script).transpose()?;
    Ok(Some(Migration {
        version: version.to_owned().into(),
        name: name.to_owned().into(),
        up,
        down,
    }))
}

/// Rejects two consecutive (sorted) migrations with equal version keys.
fn check_unique_versions(migrations: &[Migration]) -> Result<(), MigrationError> {
    for pair in migrations.windows(2) {
        let (first, second) = (&pair[0], &pair[1]);
        if first.version_key() == second.version_key() {
            return Err(MigrationError::DuplicateVersion {
                first: first.display_path().to_owned(),
                second: second.display_path().to_owned(),
                version: first.version_key().to_string(),
            });
        }
    }
    Ok(())
}

/// Whether `path` is an existing file (following symlinks).
fn is_file(path: &Path) -> Result<bool, MigrationError> {
    match fs::metadata(path) {
        Ok(metadata) => Ok(metadata.is_file()),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(false),
        Err(err) => Err(io_error(path)(err)),
    }
}

/// Reads Diesel's `metadata.toml`: its `run_in_transaction`, `true` when absent.
fn read_metadata(path: &Path) -> Result<bool, MigrationError> {
    if !is_file(path)? {
        return Ok(true);
    }
    let text = super::normalise(&read_text(path)?);
    let metadata: DieselMetadata = toml::from_str(&text).map_err(|err| {
        let line = err.span().map(|span| {
            let before = text.get(..span.start).unwrap_or_default();
            before.matches('\n').count() + 1
        });
        let message = match line {
            Some(line) => format!("line {line}: {}", err.message()),
            None => err.message().to_owned(),
        };
        MigrationError::InvalidMetadata {
            path: path.to_owned(),
            message,
        }
    })?;
    Ok(metadata.run_in_transaction)
}

/// Reads a script file into a [`MigrationScript`], checksummed now.
fn read_script(path: PathBuf) -> Result<MigrationScript, MigrationError> {
    let text = read_text(&path)?;
    // Discovery rejects non-UTF-8 file names; only a directory above the migrations could
    // still have one, and the path is only shown in messages.
    let shown = path
        .into_os_string()
        .into_string()
        .unwrap_or_else(|path| path.to_string_lossy().into_owned());
    Ok(MigrationScript::new(shown, &text))
}

/// Reads a UTF-8 text file.
fn read_text(path: &Path) -> Result<String, MigrationError> {
    let bytes = fs::read(path).map_err(io_error(path))?;
    String::from_utf8(bytes).map_err(|_| MigrationError::NotUtf8 {
        path: path.to_owned(),
    })
}

/// Wraps an I/O error with the path it concerns.
fn io_error(path: &Path) -> impl Fn(std::io::Error) -> MigrationError + '_ {
    move |error| MigrationError::Io {
        path: path.to_owned(),
        error,
    }
}
