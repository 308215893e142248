//! Subqueries against real PostgreSQL: correlated `EXISTS` / `NOT EXISTS`, `IN` and
//! `NOT IN` a subquery, a scalar subquery selected and ordered by, a subquery over the outer
//! query's own table through an alias.

use super::blog::seed;
use ormkit::query::{count, exists, not_exists, scalar, Alias};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

#[tokio::test]
async fn correlated_exists_and_not_exists() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    let without_posts: Vec<String> = User::query()
        .filter(not_exists(
            Post::subquery().filter(posts::AUTHOR_ID.eq(users::ID)),
        ))
        .order_by(users::EMAIL.asc())
        .select(users::EMAIL)
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(without_posts, ["bob@example.com", "dee@example.org"]);

    // Users who commented on a post of someone else, two levels of correlation apart.
    let commenters: Vec<String> = User::query()
        .filter(exists(
            Comment::subquery()
                .inner_join(comments::POST)
                .filter(comments::AUTHOR_ID.eq(users::ID))
                .filter(posts::AUTHOR_ID.ne(users::ID)),
        ))
        .order_by(users::EMAIL.asc())
        .select(users::EMAIL)
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(
        commenters,
        ["ada@example.com", "bob@example.com", "cy@example.org"]
    );
    Ok(())
}

#[tokio::test]
async fn in_a_subquery_and_not_in() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    let commented: Vec<String> = User::query()
        .filter(users::ID.in_subquery(Comment::subquery().select(comments::AUTHOR_ID)))
        .order_by(users::EMAIL.asc())
        .select(users::EMAIL)
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(
        commented,
        ["ada@example.com", "bob@example.com", "cy@example.org"]
    );
    let never_posted: Vec<String> = User::query()
        .filter(users::ID.not_in_subquery(Post::subquery().select(posts::AUTHOR_ID)))
        .order_by(users::EMAIL.asc())
        .select(users::EMAIL)
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(never_posted, ["bob@example.com", "dee@example.org"]);
    Ok(())
}

#[tokio::test]
async fn a_scalar_subquery_selected_and_ordered_by() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    let posts_of = || {
        scalar(
            Post::subquery()
                .filter(posts::AUTHOR_ID.eq(users::ID))
                .select(count()),
        )
    };
    let rows: Vec<(String, Option<i64>)> = User::query()
        .order_by(posts_of().desc())
        .order_by(users::EMAIL.asc())
        .select((users::EMAIL, posts_of()))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(
        rows,
        [
            ("ada@example.com".to_owned(), Some(2)),
            ("cy@example.org".to_owned(), Some(1)),
            ("bob@example.com".to_owned(), Some(0)),
            ("dee@example.org".to_owned(), Some(0)),
        ]
    );
    Ok(())
}

type Reply = Alias<Post, 1>;

#[tokio::test]
async fn a_subquery_over_the_outer_table_through_an_alias() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let blog = seed(&db).await?;
    let mut reply = NewPost::new(blog.cy.id, "Re: Hello".into());
    reply.parent_id = Some(blog.hello.id);
    ormkit::Repository::<Post>::new(&db.pool)
        .insert(reply)
        .await?;
    let answered: Vec<String> = Post::query()
        .filter(exists(
            Reply::subquery().filter(Reply::col(posts::PARENT_ID).eq(posts::ID)),
        ))
        .select(posts::TITLE)
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(answered, ["Hello"]);
    Ok(())
}
