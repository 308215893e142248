//! `#[ormkit::test]`: parses the attribute and the function, and wraps the function in a
//! plain `#[test]` that hands it a pool on a fresh database cloned from a migrated template
//! (`ormkit::testing::run`).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::Parser as _;
use syn::spanned::Spanned as _;
use syn::{Expr, ItemFn, LitStr, Path};

/// What the attribute says.
struct Args {
    /// `migrations = path::TO::MIGRATIONS` (default `crate::entities::MIGRATIONS`).
    migrations: Option<Path>,
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
                    parsed.migrations = Some(path.path);
                    Ok(())
                }
                other => Err(syn::Error::new(
                    other.span(),
                    "`migrations = …` takes the path of a migrations constant, e.g. `migrations = crate::entities::MIGRATIONS`",
                )),
            }
        } else if meta.path.is_ident("fixtures") {
            Err(meta.error("fixtures take a list of file names: `fixtures(\"users\", \"posts\")`"))
        } else {
            Err(meta.error(
                "unknown #[ormkit::test] argument: expected `fixtures(\"name\", …)` or `migrations = path`",
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
    let migrations = args
        .migrations
        .map_or_else(|| quote!(crate::entities::MIGRATIONS), |path| quote!(#path));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_the_function_in_a_plain_test() {
        let out = expand(
            quote!(fixtures("users", "more/posts.sql")),
            quote!(
                async fn signup(pool: PgPool) -> anyhow::Result<()> {
                    Ok(())
                }
            ),
        )
        .unwrap()
        .to_string();
        assert!(out.contains("fn signup ()"), "{out}");
        assert!(out.contains("\"tests/fixtures/users.sql\""), "{out}");
        assert!(out.contains("\"more/posts.sql\""), "{out}");
        assert!(out.contains("crate :: entities :: MIGRATIONS"), "{out}");
        syn::parse2::<syn::File>(out.parse().unwrap()).expect("the expansion parses");
    }

    #[test]
    fn names_the_migrations_and_refuses_what_it_cannot_run() {
        let out = expand(
            quote!(migrations = my_app::entities::MIGRATIONS),
            quote!(
                async fn t(pool: PgPool) {}
            ),
        )
        .unwrap()
        .to_string();
        assert!(out.contains("my_app :: entities :: MIGRATIONS"), "{out}");
        let err = expand(
            quote!(),
            quote!(
                fn t(pool: PgPool) {}
            ),
        )
        .unwrap_err();
        assert!(err.to_string().contains("async fn"), "{err}");
        let err = expand(
            quote!(),
            quote!(
                async fn t() {}
            ),
        )
        .unwrap_err();
        assert!(err.to_string().contains("one argument"), "{err}");
        let err = expand(
            quote!(flavor = "x"),
            quote!(
                async fn t(pool: PgPool) {}
            ),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown #[ormkit::test] argument"),
            "{err}"
        );
    }
}
