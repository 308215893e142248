//! `#[ormkit::test]` in an integration-test file of its own: a crate with no
//! `crate::entities`, as most users write database tests. The default migrations are the
//! directory this package's build.rs generated from (`../migrations`, passed on by
//! `ormkit-codegen` as `ORMKIT_MIGRATIONS_DIR`), read when the tests run.

use ormkit::Repository;
use ormkit_tests::entities::{NewUser, User};

/// The template is built from the reference migrations: their tables are there.
#[ormkit::test]
async fn the_default_migrations_reach_a_test_crate_of_its_own(
    pool: ormkit::sqlx::PgPool,
) -> anyhow::Result<()> {
    let users = Repository::<User>::new(&pool);
    users.insert(NewUser::new("ada@example.com".into())).await?;
    assert_eq!(User::query().count(&pool).await?, 1);
    Ok(())
}

/// The same unique e-mail inserted by another test: each test has a database of its own.
#[ormkit::test]
async fn each_test_has_a_database_of_its_own(pool: ormkit::sqlx::PgPool) -> anyhow::Result<()> {
    let users = Repository::<User>::new(&pool);
    users.insert(NewUser::new("ada@example.com".into())).await?;
    assert_eq!(User::query().count(&pool).await?, 1);
    Ok(())
}

/// `migrations = "dir"`: a directory from the package's root, the same template.
#[ormkit::test(migrations = "../migrations")]
async fn a_directory_can_be_named(pool: ormkit::sqlx::PgPool) -> anyhow::Result<()> {
    assert_eq!(User::query().count(&pool).await?, 0);
    Ok(())
}

/// What the default read: the directory the build generated from, which holds the very
/// migrations the library embeds.
#[test]
fn the_default_is_the_directory_the_build_generated_from() {
    let dir = std::path::Path::new(env!("ORMKIT_MIGRATIONS_DIR"));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    assert_eq!(dir, root.canonicalize().unwrap());
    let loaded = ormkit::testing::TestMigrations::Dir(env!("ORMKIT_MIGRATIONS_DIR"))
        .load()
        .unwrap();
    assert_eq!(
        ormkit::testing::template_name(loaded),
        ormkit::testing::template_name(ormkit_tests::entities::MIGRATIONS)
    );
}
