//! Eager loading: one query per relation level, whatever the number of rows.

use ormkit::count_statements;
use ormkit::sqlx::PgPool;
use ormkit::Repository;
use ormkit_tests::entities::*;

#[ormkit::test]
async fn a_thousand_users_with_their_posts_in_two_queries(pool: PgPool) -> anyhow::Result<()> {
    let created = Repository::<User>::new(&pool)
        .insert_many((0..1000).map(|i| NewUser::new(format!("u{i}@x.io"))))
        .await?;
    let posts = created
        .iter()
        .enumerate()
        .flat_map(|(i, u)| (0..i % 3).map(move |j| NewPost::new(u.id, format!("post {j}"))));
    Repository::<Post>::new(&pool).insert_many(posts).await?;

    let (loaded, n) = count_statements(async {
        let users = User::query()
            .order_by(users::ID.asc())
            .fetch_all(&pool)
            .await?;
        let posts = users::POSTS.load(&users, &pool).await?;
        Ok::<_, ormkit::OrmkitError>((users, posts))
    })
    .await;
    let (users, their_posts) = loaded?;
    assert_eq!(n, 2, "one query for users, one for all their posts");
    assert_eq!(users.len(), 1000);
    for (i, (user, posts)) in users.iter().zip(&their_posts).enumerate() {
        assert_eq!(posts.len(), i % 3, "{}", user.email);
        assert!(posts.iter().all(|p| p.author_id == user.id));
    }

    // Belongs-to, in the children's order, one query.
    let all_posts: Vec<Post> = their_posts.into_iter().flatten().collect();
    let (authors, n) = count_statements(posts::AUTHOR.load(&all_posts, &pool)).await;
    let authors = authors?;
    assert_eq!(n, 1);
    for (post, author) in all_posts.iter().zip(&authors) {
        assert_eq!(author.as_ref().map(|a| a.id), Some(post.author_id));
    }
    Ok(())
}

#[ormkit::test]
async fn nullable_self_references_and_composite_keys(pool: PgPool) -> anyhow::Result<()> {
    let user = Repository::<User>::new(&pool)
        .insert(NewUser::new("p@x.io".into()))
        .await?;
    let posts_repo = Repository::<Post>::new(&pool);
    let root = posts_repo
        .insert(NewPost::new(user.id, "root".into()))
        .await?;
    let mut reply = NewPost::new(user.id, "reply".into());
    reply.parent_id = Some(root.id);
    let reply = posts_repo.insert(reply).await?;

    let parents = posts::PARENT
        .load(&[root.clone(), reply.clone()], &pool)
        .await?;
    assert_eq!(parents[0], None, "a NULL foreign key has no parent");
    assert_eq!(parents[1].as_ref().map(|p| p.id), Some(root.id));
    let children = posts::POSTS.load(&[root.clone(), reply], &pool).await?;
    assert_eq!(children[0].len(), 1);
    assert!(children[1].is_empty());

    // A composite foreign key: membership_events → memberships (org_id, user_id).
    let memberships = Repository::<Membership>::new(&pool);
    let m1 = memberships.insert(NewMembership::new(1, user.id)).await?;
    let m2 = memberships.insert(NewMembership::new(2, user.id)).await?;
    let events = Repository::<MembershipEvent>::new(&pool);
    events
        .insert(NewMembershipEvent::new(
            1,
            user.id.into_inner(),
            "joined".into(),
        ))
        .await?;
    events
        .insert(NewMembershipEvent::new(
            1,
            user.id.into_inner(),
            "promoted".into(),
        ))
        .await?;
    let loaded = memberships::MEMBERSHIP_EVENTS
        .load(&[m1.clone(), m2], &pool)
        .await?;
    assert_eq!(loaded[0].len(), 2);
    assert!(loaded[1].is_empty());
    let back = membership_events::MEMBERSHIP
        .load(&loaded[0], &pool)
        .await?;
    assert!(back.iter().all(|m| m.as_ref() == Some(&m1)));
    Ok(())
}
