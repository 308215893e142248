//! The generated models through the repository: defaults, identities, generated columns,
//! typed foreign keys, patches, composite keys, views, hostile names.

use ormkit::sqlx::PgPool;
use ormkit::{HasPrimaryKey, OrmkitError, Repository};
use ormkit_tests::entities::*;

#[ormkit::test]
async fn writes_return_the_stored_row(pool: PgPool) -> anyhow::Result<()> {
    let users = Repository::<User>::new(&pool);
    let posts = Repository::<Post>::new(&pool);

    let alice = users
        .insert(NewUser::new("alice@example.com".into()))
        .await?;
    assert_eq!(alice.mood, Mood::Happy, "column default filled in");
    assert_eq!(alice.settings, ormkit::serde_json::json!({}));
    assert!(alice.id.into_inner() > 0, "identity ALWAYS assigned");

    let mut new_post = NewPost::new(alice.id, "Hello World".into());
    new_post.scores = Some(vec![Some(1), None]);
    new_post.tags = Some(vec!["intro".into()]);
    let post = posts.insert(new_post).await?;
    assert_eq!(post.author_id, alice.id, "the foreign key is a UserId");
    assert_eq!(
        post.slug.as_deref(),
        Some("hello world"),
        "generated column"
    );
    assert_eq!(post.body, "", "default");

    let reply = posts
        .insert(NewPost {
            parent_id: Some(post.id),
            ..NewPost::new(alice.id, "Re".into())
        })
        .await?;
    assert_eq!(reply.parent_id, Some(post.id));

    // Patch: only set fields are written.
    let mut patch = UserPatch::new(alice.id);
    patch.display_name = Some(Some("Alice".into()));
    let updated = users.update(patch).await?.expect("row exists");
    assert_eq!(updated.display_name.as_deref(), Some("Alice"));
    assert_eq!(updated.email, alice.email);
    assert_eq!(updated.mood, alice.mood);

    let err = users.update(UserPatch::new(alice.id)).await.unwrap_err();
    assert!(matches!(err, OrmkitError::EmptyPatch { .. }), "{err}");

    assert_eq!(users.count().await?, 1);
    assert!(users.exists(alice.id).await?);
    assert!(posts.delete(reply.id).await?);
    assert!(!posts.delete(reply.id).await?);
    let missing = UserId::new(i64::MAX);
    assert_eq!(users.find_by_id(missing).await?, None);
    let err = users.get(missing).await.unwrap_err();
    assert!(err.to_string().contains("public.users"), "{err}");
    Ok(())
}

#[ormkit::test]
async fn composite_keys_views_and_tables_without_keys(pool: PgPool) -> anyhow::Result<()> {
    let user = Repository::<User>::new(&pool)
        .insert(NewUser::new("bob@example.com".into()))
        .await?;
    let memberships = Repository::<Membership>::new(&pool);
    let m = memberships.insert(NewMembership::new(7, user.id)).await?;
    assert_eq!(m.role, "member");
    assert_eq!(m.id(), (7, user.id));
    let mut patch = MembershipPatch::new(7, user.id);
    patch.role = Some("owner".into());
    assert_eq!(
        memberships.update(patch).await?.map(|m| m.role).as_deref(),
        Some("owner")
    );
    assert_eq!(
        memberships
            .find_by_id((7, user.id))
            .await?
            .map(|m| m.org_id),
        Some(7)
    );

    Repository::<AuditLog>::new(&pool)
        .insert(NewAuditLog::new("hello".into()))
        .await?;
    let counts = Repository::<UserPostCount>::new(&pool).find_all().await?;
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].user_id, Some(user.id.into_inner()));
    assert_eq!(counts[0].post_count, Some(0));

    let events = Repository::<analytics::Event>::new(&pool);
    let mut e = analytics::NewEvent::new(analytics::EventKind::Click);
    e.user_id = Some(Some(user.id)).flatten();
    let e = events.insert(e).await?;
    assert_eq!(
        e.user_id,
        Some(user.id),
        "cross-schema foreign key reuses UserId"
    );
    Ok(())
}

#[ormkit::test]
async fn hostile_names_are_plain_data(pool: PgPool) -> anyhow::Result<()> {
    let weird = Repository::<WeirdName>::new(&pool);
    let mut row = NewWeirdName::new(WeirdNameId::new(1));
    row.r#type = Some("t".into());
    row.self_ = Some("s".into());
    row.some_value = Some("camel".into());
    row.some_value_2 = Some("snake".into());
    row._9lives = Some(9);
    row.drop_table_users = Some("'; DROP TABLE users; --".into());
    row.include_etc_passwd = Some("include!(\"/etc/passwd\")".into());
    let stored = weird.insert(row.clone()).await?;
    assert_eq!(stored.drop_table_users, row.drop_table_users);
    assert_eq!(stored.some_value.as_deref(), Some("camel"));
    assert_eq!(stored.some_value_2.as_deref(), Some("snake"));
    // The users table survived, and the SQL names are exact.
    let n: i64 = ormkit::sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await?;
    assert_eq!(n, 0);
    let col = <WeirdName as ormkit::Entity>::META
        .column("\"; DROP TABLE users; --")
        .expect("exact SQL name kept");
    assert_eq!(col.field, "drop_table_users");

    let t = Repository::<Type>::new(&pool)
        .insert(NewType::new(OddEnum::Drop))
        .await?;
    assert_eq!(t.r#fn.as_str(), "\"; DROP");
    Ok(())
}
