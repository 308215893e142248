//! Queries built at run time stay typed: optional filters, lists of conditions, selects
//! passed to and returned from functions; the SQL of a query can be seen (never its
//! values); a keyset cursor belongs to its ordering.

use super::blog::seed;
use ormkit::query::count_of;
use ormkit::{Expr, Select};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

/// What a search form might hold.
#[derive(Default)]
struct Search {
    email: Option<&'static str>,
    moods: Vec<Mood>,
    with_posts_titled: Option<&'static str>,
}

/// A report built from the form: a select returned from a function, its shape fixed by its
/// type whatever the form holds.
fn report(search: &Search) -> Select<(User, Option<Post>), (String, i64)> {
    let moods: Vec<Expr<(User, Option<Post>)>> =
        search.moods.iter().map(|m| users::MOOD.eq(*m)).collect();
    User::query()
        .left_join(users::POSTS)
        .filter(search.email.map(|e| users::EMAIL.like(e)))
        .filter((!moods.is_empty()).then(|| Expr::or_any(moods)))
        .filter(search.with_posts_titled.map(|t| posts::TITLE.eq(t)))
        .group_by(users::ID)
        .order_by(users::EMAIL.asc())
        .select((users::EMAIL, count_of(posts::ID)))
}

#[tokio::test]
async fn conditions_decided_at_run_time() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    let everyone = report(&Search::default()).fetch_all(&db.pool).await?;
    assert_eq!(everyone.len(), 4);
    let happy = report(&Search {
        moods: vec![Mood::Happy, Mood::SoSo],
        ..Search::default()
    })
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(
        happy,
        [
            ("ada@example.com".to_owned(), 2),
            ("cy@example.org".to_owned(), 1)
        ]
    );
    let narrow = report(&Search {
        email: Some("%.com"),
        with_posts_titled: Some("Hello"),
        ..Search::default()
    })
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(narrow, [("ada@example.com".to_owned(), 1)]);

    // An empty list: AND of nothing is every row, OR of nothing none.
    let all = User::query()
        .filter(Expr::and_all(Vec::new()))
        .count(&db.pool)
        .await?;
    let none = User::query()
        .filter(Expr::or_any(Vec::new()))
        .count(&db.pool)
        .await?;
    assert_eq!((all, none), (4, 0));
    Ok(())
}

#[tokio::test]
async fn the_sql_shows_the_statement_and_parameter_count_never_values() -> anyhow::Result<()> {
    let secret = "secret@example.com";
    let query = User::query()
        .inner_join(users::POSTS)
        .filter(users::EMAIL.eq(secret))
        .filter(posts::TAGS.any_eq("hidden-value"))
        .order_by(posts::ID.desc())
        .limit(10);
    let text = query.to_sql()?;
    assert_eq!(text.params, 2);
    assert!(!text.sql.contains(secret) && !text.sql.contains("hidden-value"));
    assert!(
        text.sql.contains(r#"FROM "public"."users" AS "t0" INNER JOIN "public"."posts" AS "t1" ON "t1"."author_id" = "t0"."id""#),
        "{}",
        text.sql
    );
    assert!(
        text.sql.contains(r#""t0"."email" = $1::public.citext"#),
        "{}",
        text.sql
    );
    let shown = query.to_string();
    assert!(shown.ends_with("LIMIT 10 -- 2 parameters"), "{shown}");
    assert!(!shown.contains(secret));
    // The query is still whole after being shown: it runs.
    let db = TestDb::new().await?;
    assert_eq!(query.fetch_all(&db.pool).await?, vec![]);
    Ok(())
}

#[tokio::test]
async fn a_cursor_from_another_ordering_is_refused() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    let page = User::query()
        .order_by(users::CREATED_AT.desc())
        .fetch_page(2, &db.pool)
        .await?;
    let cursor = page.next_cursor.expect("a second page");
    // The same ordering continues.
    let next = User::query()
        .order_by(users::CREATED_AT.desc())
        .after(Some(&cursor))?
        .fetch_page(2, &db.pool)
        .await?;
    assert_eq!(next.items.len(), 2);
    // Another ordering with as many columns, or another table, is refused before sending.
    let err = User::query()
        .order_by(users::EMAIL.asc())
        .after(Some(&cursor))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("made for another table or another ordering"),
        "{err}"
    );
    let err = Post::query()
        .order_by(posts::TITLE.desc())
        .after(Some(&cursor))
        .unwrap_err();
    assert!(err.to_string().contains("another table"), "{err}");
    Ok(())
}
