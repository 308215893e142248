//! Typed joins against real PostgreSQL: along relations and on conditions, inner and left,
//! three tables, a self-join through an alias, a left-joined view; a left join's missing
//! side comes back as `None`, whole rows and single columns alike.

use super::blog::seed;
use ormkit::query::Alias;
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

#[tokio::test]
async fn inner_join_along_a_relation_pairs_each_post_with_its_author() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let blog = seed(&db).await?;
    let rows: Vec<(Post, User)> = Post::query()
        .inner_join(posts::AUTHOR)
        .order_by(posts::ID.asc())
        .fetch_all(&db.pool)
        .await?;
    let pairs: Vec<(&str, &str)> = rows
        .iter()
        .map(|(p, u)| (p.title.as_str(), u.email.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("Hello", "ada@example.com"),
            ("Second", "ada@example.com"),
            ("Cy's post", "cy@example.org"),
        ]
    );
    assert_eq!(rows[0], (blog.hello, blog.ada));
    Ok(())
}

#[tokio::test]
async fn a_left_join_gives_none_where_the_right_side_is_missing() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let blog = seed(&db).await?;
    let rows: Vec<(User, Option<Post>)> = User::query()
        .left_join(users::POSTS)
        .order_by(users::ID.asc())
        .order_by(posts::ID.asc())
        .fetch_all(&db.pool)
        .await?;
    let shape: Vec<(&str, Option<&str>)> = rows
        .iter()
        .map(|(u, p)| (u.email.as_str(), p.as_ref().map(|p| p.title.as_str())))
        .collect();
    assert_eq!(
        shape,
        [
            ("ada@example.com", Some("Hello")),
            ("ada@example.com", Some("Second")),
            ("bob@example.com", None),
            ("cy@example.org", Some("Cy's post")),
            ("dee@example.org", None),
        ]
    );
    // The whole row decodes, every column in place, after the user's columns.
    assert_eq!(rows[3].1.as_ref(), Some(&blog.cys));

    // Columns of the left-joined table, selected one by one, are `Option`s although NOT
    // NULL in their table; a nullable one stays a single `Option`.
    let columns: Vec<(String, Option<String>, Option<PostId>)> = User::query()
        .left_join(users::POSTS)
        .order_by(users::ID.asc())
        .order_by(posts::ID.asc())
        .select((users::EMAIL, posts::TITLE, posts::PARENT_ID))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(columns[2], ("bob@example.com".to_owned(), None, None));
    assert_eq!(columns[0].1.as_deref(), Some("Hello"));

    // The anti-join: users whose left-joined post is missing.
    let lonely: Vec<String> = User::query()
        .left_join(users::POSTS)
        .filter(posts::ID.is_null())
        .order_by(users::EMAIL.asc())
        .select(users::EMAIL)
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(lonely, ["bob@example.com", "dee@example.org"]);
    Ok(())
}

#[tokio::test]
async fn three_tables_along_relations_and_on_a_typed_condition() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    // comments → posts → the post's author; and the comment's author on a condition.
    let rows: Vec<(String, String, String, Option<String>)> = Comment::query()
        .inner_join(comments::POST)
        .inner_join(posts::AUTHOR)
        .left_join_on::<Alias<User, 1>>(Alias::<User, 1>::col(users::ID).eq(comments::AUTHOR_ID))
        .filter(users::EMAIL.like("%@example.com"))
        .order_by(comments::ID.asc())
        .select((
            comments::BODY,
            posts::TITLE,
            users::EMAIL,
            Alias::<User, 1>::col(users::EMAIL),
        ))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(
        rows,
        [
            (
                "nice".to_owned(),
                "Hello".to_owned(),
                "ada@example.com".to_owned(),
                Some("bob@example.com".to_owned())
            ),
            (
                "+1".to_owned(),
                "Hello".to_owned(),
                "ada@example.com".to_owned(),
                Some("cy@example.org".to_owned())
            ),
        ]
    );
    // The same pairs on an explicit condition instead of the relation.
    let n = Post::query()
        .inner_join_on::<User>(users::ID.eq(posts::AUTHOR_ID))
        .filter(users::EMAIL.eq("ada@example.com"))
        .count(&db.pool)
        .await?;
    assert_eq!(n, 2);
    Ok(())
}

type Parent = Alias<Post, 1>;

#[tokio::test]
async fn a_self_join_through_an_alias() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let blog = seed(&db).await?;
    let mut reply = NewPost::new(blog.bob.id, "Re: Hello".into());
    reply.parent_id = Some(blog.hello.id);
    ormkit::Repository::<Post>::new(&db.pool)
        .insert(reply)
        .await?;
    let rows: Vec<(String, Option<String>)> = Post::query()
        .left_join_on::<Parent>(posts::PARENT_ID.eq(Parent::col(posts::ID)))
        .order_by(posts::ID.asc())
        .select((posts::TITLE, Parent::col(posts::TITLE)))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(
        rows,
        [
            ("Hello".to_owned(), None),
            ("Second".to_owned(), None),
            ("Cy's post".to_owned(), None),
            ("Re: Hello".to_owned(), Some("Hello".to_owned())),
        ]
    );
    // Whole rows of both copies.
    let pairs: Vec<(Post, Option<Post>)> = Post::query()
        .left_join_on::<Parent>(posts::PARENT_ID.eq(Parent::col(posts::ID)))
        .filter(posts::PARENT_ID.is_not_null())
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].1.as_ref(), Some(&blog.hello));
    Ok(())
}

#[tokio::test]
async fn a_left_joined_view_without_not_null_columns_is_told_apart_by_its_marker(
) -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    // Every column of a view is nullable in the catalog: a missing row and a row of NULLs
    // must still differ, so the join selects a presence marker.
    let rows: Vec<(User, Option<UserPostCount>)> = User::query()
        .left_join_on::<UserPostCount>(
            user_post_counts::EMAIL
                .eq(users::EMAIL)
                .and(user_post_counts::POST_COUNT.gt(Some(0))),
        )
        .order_by(users::ID.asc())
        .fetch_all(&db.pool)
        .await?;
    let counts: Vec<Option<i64>> = rows
        .iter()
        .map(|(_, c)| c.as_ref().and_then(|c| c.post_count))
        .collect();
    assert_eq!(counts, [Some(2), None, Some(1), None]);
    assert!(rows[1].1.is_none(), "bob has no row in the joined view");
    let sql = User::query()
        .left_join_on::<UserPostCount>(user_post_counts::EMAIL.eq(users::EMAIL))
        .to_sql()?
        .sql;
    assert!(sql.contains(r#"TRUE AS "ormkit.present""#), "{sql}");
    Ok(())
}
