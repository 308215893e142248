//! `#[ormkit::test]`: parses the attribute and the function, and wraps the function in a
//! plain `#[test]` that hands it a pool on a fresh database cloned from a migrated template
//! (`ormkit::testing::run`).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::Parser as _;
use syn::spanned::Spanned as _;
use syn::{Expr, ItemFn, LitStr, Path};

/// Where the attribute says the migrations are.
enum Migrations {
    /// `migrations = path::TO::MIGRATIONS`: a constant of embedded migrations.
    Constant(Path),
    /// `migrations = "dir"`: a directory, from the crate's root unless absolute, read when
    /// the test runs.
    Dir(LitStr),
}

/// What the attribute says.
struct Args {
    /// `migrations = …`; `None`: the default (see [`default_migrations`]).
    migrations: Option<Migrations>,
    /// `fixtures("name", "dir/file.sql")`.
    fixtures: Vec<LitStr>,
}

fn parse_args(args: TokenStream) -> syn::Result<Args> {
    let mut parsed = Args {
        migrations: None,
        fixtures: Vec::new(),
    };
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("migrations") {
            let value: Expr = meta.value()?.parse()?;
            match value {
                Expr::Path(path) => {
                    parsed.migrations = Some(Migrations::Constant(path.path));
                    Ok(())
                }
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(dir),
                    ..
                }) => {
                    parsed.migrations = Some(Migrations::Dir(dir));
                    Ok(())
                }
                other => Err(syn::Error::new(
                    other.span(),
                    "`migrations = …` takes the path of a migrations constant (`migrations = my_crate::entities::MIGRATIONS`) or a directory (`migrations = \"migrations\"`)",
                )),
            }
        } else if meta.path.is_ident("fixtures") {
            Err(meta.error("fixtures take a list of file names: `fixtures(\"users\", \"posts\")`"))
        } else {
            Err(meta.error(
                "unknown #[ormkit::test] argument: expected `fixtures(\"name\", …)`, `migrations = path::TO::MIGRATIONS` or `migrations = \"dir\"`",
            ))
        }
    });
    // `fixtures("a", "b")` holds string literals, which `parse_nested_meta` does not take:
    // read them with a parser of their own first.
    let (fixtures, rest) = split_fixtures(args)?;
    parsed.fixtures = fixtures;
    parser.parse2(rest)?;
    Ok(parsed)
}

/// Takes `fixtures( "…", … )` out of the attribute's tokens.
fn split_fixtures(args: TokenStream) -> syn::Result<(Vec<LitStr>, TokenStream)> {
    use proc_macro2::TokenTree;
    let tokens: Vec<TokenTree> = args.into_iter().collect();
    let mut rest = Vec::new();
    let mut fixtures = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match (&tokens[i], tokens.get(i + 1)) {
            (TokenTree::Ident(ident), Some(TokenTree::Group(group))) if ident == "fixtures" => {
                let list = syn::punctuated::Punctuated::<LitStr, syn::Token![,]>::parse_terminated
                    .parse2(group.stream())
                    .map_err(|err| {
                        syn::Error::new(
                            err.span(),
                            "fixtures take file names as strings: `fixtures(\"users\", \"posts\")`",
                        )
                    })?;
                fixtures.extend(list);
                i += 2;
                // Drop the comma after it, if any.
                if matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ',') {
                    i += 1;
                }
            }
            (token, _) => {
                rest.push(token.clone());
                i += 1;
            }
        }
    }
    Ok((fixtures, rest.into_iter().collect()))
}

/// The file a fixture names: `name` is `tests/fixtures/name.sql`; a name with a `/` or
/// ending in `.sql` is a path from the crate's root.
fn fixture_path(name: &LitStr) -> LitStr {
    let value = name.value();
    let path = if value.contains('/') || value.ends_with(".sql") {
        value
    } else {
        format!("tests/fixtures/{value}.sql")
    };
    LitStr::new(&path, name.span())
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    expand_in(args, item, &Env::from_process())
}

fn expand_in(args: TokenStream, item: TokenStream, env: &Env) -> syn::Result<TokenStream> {
    let args = parse_args(args)?;
    let mut function: ItemFn = syn::parse2(item)?;
    if function.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            function.sig.fn_token.span(),
            "#[ormkit::test] functions are `async fn name(pool: ormkit::sqlx::PgPool)`",
        ));
    }
    if function.sig.inputs.len() != 1 {
        return Err(syn::Error::new(
            function.sig.inputs.span(),
            "#[ormkit::test] functions take one argument, the pool on the test's database: `pool: ormkit::sqlx::PgPool`",
        ));
    }
    let name = function.sig.ident.clone();
    let attrs = std::mem::take(&mut function.attrs);
    function.vis = syn::Visibility::Inherited;
    let migrations = match args.migrations {
        Some(Migrations::Constant(path)) => {
            quote!(::ormkit::testing::TestMigrations::Embedded(#path))
        }
        Some(Migrations::Dir(dir)) => dir_migrations(&dir, env)?,
        None => default_migrations(env, function.sig.ident.span())?,
    };
    let fixtures = args.fixtures.iter().map(|fixture| {
        let path = fixture_path(fixture);
        quote_spanned! {fixture.span()=>
            ::ormkit::testing::Fixture {
                path: #path,
                sql: ::core::include_str!(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/", #path)),
            }
        }
    });
    Ok(quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        fn #name() {
            #function
            ::ormkit::testing::run(
                ::ormkit::testing::TestArgs {
                    test: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                    migrations: #migrations,
                    fixtures: &[#(#fixtures),*],
                },
                #name,
            )
        }
    })
}

/// The variables of the compilation the macro looks at: passed in, so unit tests can set
/// them.
struct Env {
    /// `CARGO_MANIFEST_DIR`: the package's root.
    manifest_dir: Option<String>,
    /// [`MIGRATIONS_DIR_VAR`], which `ormkit-codegen` sets from the package's build.rs.
    generated_from: Option<String>,
}

/// The variable through which `ormkit-codegen`, run by the package's build.rs, tells its
/// targets (library, tests, examples) which migrations directory it generated from.
const MIGRATIONS_DIR_VAR: &str = "ORMKIT_MIGRATIONS_DIR";

impl Env {
    fn from_process() -> Env {
        Env {
            manifest_dir: std::env::var("CARGO_MANIFEST_DIR").ok(),
            generated_from: std::env::var(MIGRATIONS_DIR_VAR)
                .ok()
                .filter(|dir| !dir.is_empty()),
        }
    }
}

/// What to write instead of the default, for the error that says there is none.
const NAME_THEM: &str = "name them: `#[ormkit::test(migrations = my_crate::entities::MIGRATIONS)]` \
     (the constant `ormkit::include_entities!()` declares) or `#[ormkit::test(migrations = \"path/to/migrations\")]` \
     (a directory, from the package's root)";

/// The default migrations, which work in a library's unit tests and in `tests/*.rs` alike:
/// the directory the package's build.rs generated its entities from (`ormkit-codegen` sets
/// [`MIGRATIONS_DIR_VAR`]), else the package's `migrations/` directory, as `#[sqlx::test]`
/// finds it; read when the test runs. Neither: a compile error saying what to write.
fn default_migrations(env: &Env, span: proc_macro2::Span) -> syn::Result<TokenStream> {
    if env.generated_from.is_some() {
        // `env!` rather than the value: rustc then rebuilds when it changes.
        return Ok(quote_spanned! {span=>
            ::ormkit::testing::TestMigrations::Dir(::core::env!(#MIGRATIONS_DIR_VAR))
        });
    }
    let Some(root) = &env.manifest_dir else {
        return Err(syn::Error::new(
            span,
            format!("#[ormkit::test] cannot find the migrations (CARGO_MANIFEST_DIR is not set: not built by cargo); {NAME_THEM}"),
        ));
    };
    let dir = std::path::Path::new(root).join("migrations");
    if !dir.is_dir() {
        return Err(syn::Error::new(
            span,
            format!(
                "#[ormkit::test] cannot find the migrations: no build.rs of this package runs ormkit-codegen, \
                 and {} does not exist; {NAME_THEM}",
                dir.display()
            ),
        ));
    }
    Ok(quote_spanned! {span=>
        ::ormkit::testing::TestMigrations::Dir(
            ::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/migrations")
        )
    })
}

/// `migrations = "dir"`: the directory from the package's root (unless absolute), which
/// must exist now.
fn dir_migrations(dir: &LitStr, env: &Env) -> syn::Result<TokenStream> {
    let value = dir.value();
    let absolute = std::path::Path::new(&value).is_absolute();
    let resolved = match (&env.manifest_dir, absolute) {
        (Some(root), false) => std::path::Path::new(root).join(&value),
        _ => std::path::PathBuf::from(&value),
    };
    if !resolved.is_dir() {
        return Err(syn::Error::new(
            dir.span(),
            format!(
                "#[ormkit::test]: the migrations directory {} does not exist (a relative path is \
                 read from the package's root, where Cargo.toml is)",
                resolved.display()
            ),
        ));
    }
    Ok(if absolute {
        quote!(::ormkit::testing::TestMigrations::Dir(#dir))
    } else {
        quote!(::ormkit::testing::TestMigrations::Dir(
            ::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/", #dir)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A package whose build.rs ran ormkit-codegen.
    fn generated() -> Env {
        Env {
            manifest_dir: Some("/nowhere".into()),
            generated_from: Some("/nowhere/db/migrations".into()),
        }
    }

    fn expand_with(args: TokenStream, item: TokenStream, env: &Env) -> syn::Result<String> {
        expand_in(args, item, env).map(|out| out.to_string())
    }

    /// A package with the directories `dirs` and no build.rs that ran the generator.
    fn package(dirs: &[&str]) -> (tempfile::TempDir, Env) {
        let root = tempfile::tempdir().unwrap();
        for dir in dirs {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        let env = Env {
            manifest_dir: Some(root.path().display().to_string()),
            generated_from: None,
        };
        (root, env)
    }

    /// `#[ormkit::test(<args>)] async fn t(pool: PgPool) {}` in `env`.
    fn expand_plain(args: TokenStream, env: &Env) -> syn::Result<String> {
        expand_with(
            args,
            quote!(
                async fn t(pool: PgPool) {}
            ),
            env,
        )
    }

    #[test]
    fn wraps_the_function_in_a_plain_test() {
        let out = expand_with(
            quote!(fixtures("users", "more/posts.sql")),
            quote!(
                async fn signup(pool: PgPool) -> anyhow::Result<()> {
                    Ok(())
                }
            ),
            &generated(),
        )
        .unwrap();
        assert!(out.contains("fn signup ()"), "{out}");
        assert!(out.contains("\"tests/fixtures/users.sql\""), "{out}");
        assert!(out.contains("\"more/posts.sql\""), "{out}");
        assert!(
            out.contains("TestMigrations :: Dir (:: core :: env ! (\"ORMKIT_MIGRATIONS_DIR\"))"),
            "{out}"
        );
        syn::parse2::<syn::File>(out.parse().unwrap()).expect("the expansion parses");
    }

    /// `tests/isolation.rs` is a crate of its own, with no `crate::entities`: without a
    /// build.rs that ran the generator, the default is the package's `migrations/`.
    #[test]
    fn the_default_is_the_packages_migrations_directory() {
        let (_package, env) = package(&["migrations"]);
        let out = expand_plain(quote!(), &env).unwrap();
        assert!(
            out.contains(
                "TestMigrations :: Dir (:: core :: concat ! (:: core :: env ! (\"CARGO_MANIFEST_DIR\") , \"/migrations\"))"
            ),
            "{out}"
        );
    }

    #[test]
    fn without_migrations_to_find_the_error_says_what_to_write() {
        let (package, env) = package(&[]);
        let err = expand_plain(quote!(), &env).unwrap_err();
        let expected = format!(
            "#[ormkit::test] cannot find the migrations: no build.rs of this package runs \
             ormkit-codegen, and {}/migrations does not exist; name them: \
             `#[ormkit::test(migrations = my_crate::entities::MIGRATIONS)]` (the constant \
             `ormkit::include_entities!()` declares) or \
             `#[ormkit::test(migrations = \"path/to/migrations\")]` (a directory, from the \
             package's root)",
            package.path().display()
        );
        assert_eq!(err.to_string(), expected);

        let err = expand_plain(quote!(migrations = "db/missing"), &env).unwrap_err();
        assert!(
            err.to_string().contains(&format!(
                "the migrations directory {}/db/missing does not exist",
                package.path().display()
            )),
            "{err}"
        );
    }

    #[test]
    fn names_the_migrations_and_refuses_what_it_cannot_run() {
        let (_package, env) = package(&["db/migrations"]);
        let out = expand_plain(quote!(migrations = my_app::entities::MIGRATIONS), &env).unwrap();
        assert!(
            out.contains("TestMigrations :: Embedded (my_app :: entities :: MIGRATIONS)"),
            "{out}"
        );
        let out = expand_plain(quote!(migrations = "db/migrations"), &env).unwrap();
        assert!(out.contains("\"/\" , \"db/migrations\""), "{out}");
        let err = expand_with(
            quote!(),
            quote!(
                fn t(pool: PgPool) {}
            ),
            &generated(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("async fn"), "{err}");
        let err = expand_with(
            quote!(),
            quote!(
                async fn t() {}
            ),
            &generated(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("one argument"), "{err}");
        let err = expand_plain(quote!(flavor = "x"), &generated()).unwrap_err();
        assert!(
            err.to_string().contains("unknown #[ormkit::test] argument"),
            "{err}"
        );
    }
}
