//! Expressions against real PostgreSQL: ordering by an expression with NULLS FIRST/LAST,
//! `coalesce`, `lower`/`upper`, any function by name (values bound), array and jsonb
//! operators, and citext compared case-insensitively wherever a value is bound.

use super::blog::seed;
use ormkit::query::{coalesce, func, lower, upper};
use ormkit::serde_json::json;
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

#[tokio::test]
async fn order_by_expressions_and_nulls_first_or_last() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    let pool = &db.pool;
    let titles = |order| async move {
        let rows: Vec<String> = Post::query()
            .order_by(order)
            .order_by(posts::ID.asc())
            .select(posts::TITLE)
            .fetch_all(pool)
            .await?;
        anyhow::Ok(rows)
    };
    assert_eq!(
        titles(posts::PUBLISHED_AT.desc().nulls_last()).await?,
        ["Cy's post", "Hello", "Second"]
    );
    assert_eq!(
        titles(posts::PUBLISHED_AT.desc().nulls_first()).await?,
        ["Second", "Cy's post", "Hello"]
    );
    assert_eq!(
        titles(upper(posts::TITLE).asc()).await?,
        ["Cy's post", "Hello", "Second"]
    );
    Ok(())
}

#[tokio::test]
async fn coalesce_lower_upper_and_any_function_by_name() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    let evil = "'; DROP TABLE users; --";
    let rows: Vec<(String, String, Option<String>, String)> = User::query()
        .order_by(users::ID.asc())
        .select((
            coalesce(users::DISPLAY_NAME, "anonymous"),
            upper(users::EMAIL),
            lower(users::DISPLAY_NAME),
            func("concat", (users::EMAIL, evil)).returns::<String>(),
        ))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(
        rows[1],
        (
            "anonymous".to_owned(),
            "BOB@EXAMPLE.COM".to_owned(),
            None,
            format!("bob@example.com{evil}")
        )
    );
    assert_eq!(rows[0].2.as_deref(), Some("ada"));
    // A function name is an identifier, never SQL: a hostile one is simply not found.
    let err = User::query()
        .select(func("lower(email)); DROP TABLE users; --", (users::EMAIL,)).returns::<String>())
        .fetch_all(&db.pool)
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate().as_deref(), Some("42883"), "{err}");
    assert_eq!(User::query().count(&db.pool).await?, 4);
    Ok(())
}

#[tokio::test]
async fn array_and_jsonb_operators() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    let pool = &db.pool;
    let titles = |filter: ormkit::Expr<Post>| async move {
        let rows: Vec<String> = Post::query()
            .filter(filter)
            .order_by(posts::ID.asc())
            .select(posts::TITLE)
            .fetch_all(pool)
            .await?;
        anyhow::Ok(rows)
    };
    assert_eq!(
        titles(posts::TAGS.contains(vec!["rust".to_owned(), "sql".to_owned()])).await?,
        ["Second"]
    );
    assert_eq!(
        titles(posts::TAGS.overlaps(vec!["sql".to_owned(), "go".to_owned()])).await?,
        ["Second", "Cy's post"]
    );
    assert_eq!(titles(posts::TAGS.any_eq("rust")).await?, ["Second"]);
    assert_eq!(titles(posts::SCORES.any_eq(Some(2))).await?, ["Cy's post"]);

    let emails = |filter: ormkit::Expr<User>| async move {
        let rows: Vec<String> = User::query()
            .filter(filter)
            .order_by(users::ID.asc())
            .select(users::EMAIL)
            .fetch_all(pool)
            .await?;
        anyhow::Ok(rows)
    };
    assert_eq!(
        emails(users::SETTINGS.contains(json!({ "theme": "light" }))).await?,
        ["bob@example.com"]
    );
    assert_eq!(emails(users::SETTINGS.has_key("theme")).await?.len(), 4);
    assert_eq!(emails(users::SETTINGS.has_key("beta")).await?.len(), 0);
    assert_eq!(
        emails(users::SETTINGS.json_text("theme").eq(Some("dark"))).await?,
        ["ada@example.com", "cy@example.org", "dee@example.org"]
    );
    let themes: Vec<Option<ormkit::serde_json::Value>> = User::query()
        .order_by(users::ID.asc())
        .limit(2)
        .select(users::SETTINGS.json_get("theme"))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(themes, [Some(json!("dark")), Some(json!("light"))]);
    Ok(())
}

#[tokio::test]
async fn citext_compares_case_insensitively_in_every_operator() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let blog = seed(&db).await?;
    // users.email is a domain over citext; labels.name is citext.
    for spelling in ["ada@example.com", "ADA@Example.COM"] {
        let found = User::query()
            .filter(users::EMAIL.eq(spelling))
            .fetch_all(&db.pool)
            .await?;
        assert_eq!(found, std::slice::from_ref(&blog.ada), "{spelling}");
        let found = User::query()
            .filter(users::EMAIL.is_in([spelling]))
            .count(&db.pool)
            .await?;
        assert_eq!(found, 1, "{spelling}");
    }
    for spelling in ["sql", "SQL", "Sql"] {
        let linked: Vec<String> = Post::query()
            .inner_join(posts::POST_LABELS)
            .inner_join(post_labels::LABEL)
            .filter(labels::NAME.eq(spelling))
            .order_by(posts::ID.asc())
            .select(posts::TITLE)
            .fetch_all(&db.pool)
            .await?;
        assert_eq!(linked, ["Second", "Cy's post"], "{spelling}");
    }
    // Comparing two citext columns across a join is case-insensitive too.
    let n = Post::query()
        .inner_join(posts::AUTHOR)
        .inner_join_on::<PostArchive>(post_archive::AUTHOR_EMAIL.eq(users::EMAIL))
        .count(&db.pool)
        .await?;
    assert_eq!(n, 0);
    Ok(())
}
