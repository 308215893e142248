//! Writes beyond one row at a time, against real PostgreSQL: a single-row upsert,
//! `INSERT … SELECT` from a typed join, `UPDATE … FROM` and `DELETE … USING` through inner
//! joins, and the refusals around them.

use super::blog::seed;
use ormkit::query::lower;
use ormkit::{Expr, OnConflict, OrmkitError, Repository};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

#[tokio::test]
async fn upsert_inserts_updates_or_skips_one_row() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let users = Repository::<User>::new(&db.pool);
    let new = |name: &str| {
        let mut new = NewUser::new("eve@example.com".into());
        new.display_name = Some(name.into());
        new
    };
    let update = OnConflict::on(users::EMAIL).do_update(users::DISPLAY_NAME);
    let first = users.upsert(new("Eve"), &update).await?.expect("inserted");
    // citext: the conflict is found whatever the case.
    let mut shouting = new("EVE");
    shouting.email = "EVE@EXAMPLE.COM".into();
    let second = users.upsert(shouting, &update).await?.expect("updated");
    assert_eq!(second.id, first.id);
    assert_eq!(second.display_name.as_deref(), Some("EVE"));
    assert_eq!(second.email, "eve@example.com", "the stored email is kept");
    let skipped = users
        .upsert(new("ignored"), &OnConflict::on(users::EMAIL).do_nothing())
        .await?;
    assert_eq!(skipped, None);
    assert_eq!(users.count().await?, 1);
    Ok(())
}

#[tokio::test]
async fn insert_select_from_a_typed_join() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let blog = seed(&db).await?;
    let inserted = Post::query()
        .inner_join(posts::AUTHOR)
        .filter(posts::PUBLISHED_AT.is_not_null())
        .select((posts::ID, posts::TITLE, users::EMAIL))
        .insert_into(
            (
                post_archive::POST_ID,
                post_archive::TITLE,
                post_archive::AUTHOR_EMAIL,
            ),
            &db.pool,
        )
        .await?;
    assert_eq!(inserted, 2);
    let archived: Vec<(PostId, String, String)> = PostArchive::query()
        .order_by(post_archive::POST_ID.asc())
        .select((
            post_archive::POST_ID,
            post_archive::TITLE,
            post_archive::AUTHOR_EMAIL,
        ))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(
        archived,
        [
            (blog.hello.id, "Hello".into(), "ada@example.com".into()),
            (blog.cys.id, "Cy's post".into(), "cy@example.org".into()),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn update_from_and_delete_using_through_inner_joins() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let blog = seed(&db).await?;
    // Posts of authors with karma of at least 5 get their author's e-mail as body.
    let changed = Post::query()
        .inner_join(posts::AUTHOR)
        .filter(users::KARMA.gte(Some(5)))
        .update([posts::BODY.set_to(users::EMAIL)], &db.pool)
        .await?;
    assert_eq!(changed, 1);
    let cys = Repository::<Post>::new(&db.pool).get(blog.cys.id).await?;
    assert_eq!(cys.body, "cy@example.org");
    // An assignment from an expression of the row itself.
    Post::query()
        .filter(posts::ID.eq(blog.hello.id))
        .update([posts::TITLE.set_to(lower(posts::TITLE))], &db.pool)
        .await?;
    let hello = Repository::<Post>::new(&db.pool).get(blog.hello.id).await?;
    assert_eq!(hello.title, "hello");

    // Comments on Ada's posts, through the join.
    let deleted = Comment::query()
        .inner_join(comments::POST)
        .filter(posts::AUTHOR_ID.eq(blog.ada.id))
        .delete(&db.pool)
        .await?;
    assert_eq!(deleted, 2);
    assert_eq!(Comment::query().count(&db.pool).await?, 1);

    // Through a left join there is no such statement: refused, nothing sent.
    let (result, sent) = ormkit::count_statements(async {
        User::query()
            .left_join(users::POSTS)
            .filter(posts::ID.is_null())
            .delete(&db.pool)
            .await
    })
    .await;
    assert!(
        matches!(&result, Err(OrmkitError::Query { message, .. }) if message.contains("left join")),
        "{result:?}"
    );
    assert_eq!(sent, 0);
    // Without a filter, a single-table write is still refused.
    let err = User::query()
        .update([users::KARMA.set(Some(1))], &db.pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Expr::all()"), "{err}");
    assert_eq!(
        User::query()
            .filter(Expr::all())
            .update([users::KARMA.set(Some(1))], &db.pool)
            .await?,
        4
    );
    Ok(())
}
