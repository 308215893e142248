//! The generated `MIGRATIONS`: every migration embedded for the runtime `Migrator`, as data.
//!
//! Each migration is one chain of `const` constructor calls, so the list is a `static`. The checksums
//! are the ones computed when the files were read; the runtime uses them as they are. Each
//! script carries its own no-transaction flag, whether it came from a first-line marker or
//! from Diesel's `metadata.toml`.

use std::path::{Component, Path};

use ormkit_schema::migrations::{Migration, MigrationScript};
use proc_macro2::TokenStream;
use quote::quote;

/// `pub static MIGRATIONS: &[::ormkit::Migration] = &[…];`, in the order given.
pub(super) fn render_migrations(migrations: &[Migration]) -> TokenStream {
    let embedded = migrations.iter().map(render_migration);
    quote! {
        /// The migrations, embedded for the `Migrator`.
        pub static MIGRATIONS: &[::ormkit::Migration] = &[#(#embedded),*];
    }
}

/// `::ormkit::Migration::embedded(version, name, up…)`, then `.with_down(…)` when it has a
/// down script, and each script's no-transaction flag.
fn render_migration(migration: &Migration) -> TokenStream {
    let (version, name) = (migration.version.as_ref(), migration.name.as_ref());
    let (path, checksum, sql) = script_parts(migration, &migration.up);
    let mut tokens = quote!(::ormkit::Migration::embedded(#version, #name, #path, #checksum, #sql));
    if migration.up.no_transaction {
        tokens = quote!(#tokens.up_outside_transaction());
    }
    if let Some(down) = &migration.down {
        let (path, checksum, sql) = script_parts(migration, down);
        tokens = quote!(#tokens.with_down(#path, #checksum, #sql));
        if down.no_transaction {
            tokens = quote!(#tokens.down_outside_transaction());
        }
    }
    tokens
}

/// A script's path (relative), checksum and text, as the literals of its constructor.
fn script_parts<'m>(
    migration: &Migration,
    script: &'m MigrationScript,
) -> (String, &'m str, &'m str) {
    let path = relative_path(migration, script);
    (path, script.checksum.as_ref(), script.sql.as_ref())
}

/// The script's path relative to the migrations directory, with `/` separators:
/// `<version>_<name>/up.sql` in Diesel's layout, the file name in sqlx's. Messages at run time
/// name the file as the project sees it, and the generated code does not depend on where
/// the project was checked out.
fn relative_path(migration: &Migration, script: &MigrationScript) -> String {
    let path = Path::new(script.path.as_ref());
    let relative = migration
        .display_path()
        .parent()
        .and_then(|dir| path.strip_prefix(dir).ok())
        .unwrap_or(path);
    let parts: Vec<_> = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy()),
            _ => None,
        })
        .collect();
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, relative: &str, text: &str) {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The `Migration::embedded` calls of the rendered static, formatted.
    fn rendered(migrations: &[Migration]) -> String {
        let tokens = render_migrations(migrations);
        let file = syn::parse2::<syn::File>(tokens).expect("the static parses");
        prettyplease::unparse(&file)
    }

    /// One migration's call, from its version to the next migration's.
    fn call_of<'a>(code: &'a str, version: &str) -> &'a str {
        let start = code
            .find(&format!("\"{version}\""))
            .unwrap_or_else(|| panic!("{version} in {code}"));
        let rest = &code[start..];
        let end = rest[1..]
            .find("::ormkit::Migration::embedded(")
            .map_or(rest.len(), |at| at + 1);
        &rest[..end]
    }

    #[test]
    fn each_script_carries_its_own_flag_and_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Diesel's metadata.toml: both scripts, neither with a marker.
        write(
            root,
            "1_metadata/up.sql",
            "CREATE INDEX CONCURRENTLY i ON t (c);\n",
        );
        write(root, "1_metadata/down.sql", "DROP INDEX CONCURRENTLY i;\n");
        write(
            root,
            "1_metadata/metadata.toml",
            "run_in_transaction = false\n",
        );
        // A marker in the down script only.
        write(root, "2_down_marker/up.sql", "CREATE INDEX j ON t (c);\n");
        write(
            root,
            "2_down_marker/down.sql",
            "-- no-transaction\nDROP INDEX CONCURRENTLY j;\n",
        );
        // sqlx's flat layout, no down script.
        write(root, "3_flat.sql", "SELECT 1;\n");
        let migrations = ormkit_schema::migrations::discover(root).unwrap();
        let code = rendered(&migrations);
        assert!(
            code.contains("pub static MIGRATIONS: &[::ormkit::Migration] = &["),
            "{code}"
        );

        let metadata = call_of(&code, "1");
        assert!(metadata.contains(".up_outside_transaction()"), "{metadata}");
        assert!(
            metadata.contains(".down_outside_transaction()"),
            "{metadata}"
        );
        assert!(metadata.contains("\"1_metadata/up.sql\""), "{metadata}");
        assert!(metadata.contains("\"1_metadata/down.sql\""), "{metadata}");
        for script in [&migrations[0].up, migrations[0].down.as_ref().unwrap()] {
            let literal = format!("\"{}\"", script.checksum);
            assert!(metadata.contains(&literal), "{metadata}");
        }

        let down_marker = call_of(&code, "2");
        assert!(
            !down_marker.contains(".up_outside_transaction()"),
            "{down_marker}"
        );
        assert!(
            down_marker.contains(".down_outside_transaction()"),
            "{down_marker}"
        );

        let flat = call_of(&code, "3");
        assert!(flat.contains("\"3_flat.sql\""), "{flat}");
        assert!(!flat.contains(".with_down("), "{flat}");
        assert!(!flat.contains("outside_transaction"), "{flat}");
        assert!(!flat.contains(root.to_str().unwrap()), "{flat}");
    }

    #[test]
    fn no_migrations_is_an_empty_static() {
        let code = rendered(&[]);
        assert!(
            code.contains("pub static MIGRATIONS: &[::ormkit::Migration] = &[];"),
            "{code}"
        );
    }
}
