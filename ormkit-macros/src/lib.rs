//! ormkit's procedural macros, used through the `ormkit` crate: `#[ormkit::test]`.

use proc_macro::TokenStream;

mod test_attr;

/// A test on a database of its own: see `ormkit::test` for the whole story.
///
/// ```ignore
/// #[ormkit::test]
/// async fn signup(pool: ormkit::sqlx::PgPool) -> anyhow::Result<()> { Ok(()) }
///
/// #[ormkit::test(fixtures("users", "posts"), migrations = my_crate::entities::MIGRATIONS)]
/// async fn feed(pool: ormkit::sqlx::PgPool) { }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    test_attr::expand(args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
