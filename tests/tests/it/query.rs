//! The typed query builder against real PostgreSQL: every operator, streaming, selected
//! columns, update and delete by filter, hostile values.

use futures::TryStreamExt as _;
use ormkit::{Expr, OrmkitError, Repository};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

async fn seed(db: &TestDb) -> anyhow::Result<Vec<User>> {
    let users = Repository::<User>::new(&db.pool);
    let mut out = Vec::new();
    for (i, (email, name, mood)) in [
        ("ada@example.com", Some("Ada"), Mood::Happy),
        ("bob@example.com", None, Mood::Sad),
        ("cy@example.org", Some("Cy"), Mood::SoSo),
        (
            "dee@example.org",
            Some("O'Dee; DROP TABLE users; --"),
            Mood::VeryHappy,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut new = NewUser::new(email.into());
        new.display_name = name.map(str::to_owned);
        new.mood = Some(mood);
        new.karma = Some(i as i32 + 1);
        out.push(users.insert(new).await?);
    }
    Ok(out)
}

fn emails(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.email.as_str()).collect()
}

#[tokio::test]
async fn every_operator() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let all = seed(&db).await?;
    let q = || User::query().order_by(users::ID.asc());

    let found = q()
        .filter(users::EMAIL.eq("bob@example.com"))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(emails(&found), ["bob@example.com"]);
    let found = q()
        .filter(users::EMAIL.ne("bob@example.com"))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(found.len(), 3);
    let found = q()
        .filter(users::ID.gt(all[1].id))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(emails(&found), ["cy@example.org", "dee@example.org"]);
    let found = q()
        .filter(users::ID.gte(all[1].id))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(found.len(), 3);
    let found = q()
        .filter(users::ID.lt(all[1].id))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(emails(&found), ["ada@example.com"]);
    let found = q()
        .filter(users::ID.lte(all[1].id))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(found.len(), 2);
    let found = q()
        .filter(users::EMAIL.like("%.org"))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(emails(&found), ["cy@example.org", "dee@example.org"]);
    let found = q()
        .filter(users::DISPLAY_NAME.ilike(Some("a%")))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(emails(&found), ["ada@example.com"]);
    let found = q()
        .filter(users::DISPLAY_NAME.is_null())
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(emails(&found), ["bob@example.com"]);
    let found = q()
        .filter(users::DISPLAY_NAME.is_not_null())
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(found.len(), 3);
    let found = q()
        .filter(users::MOOD.is_in([Mood::Sad, Mood::SoSo]))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(emails(&found), ["bob@example.com", "cy@example.org"]);
    let found = q()
        .filter(users::ID.not_in([all[0].id, all[3].id]))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(emails(&found), ["bob@example.com", "cy@example.org"]);
    let found = q()
        .filter(users::KARMA.between(Some(2), Some(3)))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(emails(&found), ["bob@example.com", "cy@example.org"]);
    let found = q()
        .filter(
            users::MOOD
                .eq(Mood::Happy)
                .or(users::MOOD.eq(Mood::VeryHappy))
                .and(users::EMAIL.like("%.org").not()),
        )
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(emails(&found), ["ada@example.com"]);
    // Several filters are ANDed; an empty IN list matches nothing.
    let found = q()
        .filter(users::EMAIL.like("%example%"))
        .filter(users::ID.is_in(Vec::<UserId>::new()))
        .fetch_all(&db.pool)
        .await?;
    assert!(found.is_empty());

    // Order, limit, offset, one/optional, count.
    let page = User::query()
        .order_by(users::EMAIL.desc())
        .limit(2)
        .offset(1)
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(emails(&page), ["cy@example.org", "bob@example.com"]);
    let one = q()
        .filter(users::EMAIL.eq("ada@example.com"))
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(one.id, all[0].id);
    let none = q()
        .filter(users::EMAIL.eq("nobody"))
        .fetch_optional(&db.pool)
        .await?;
    assert!(none.is_none());
    let err = q()
        .filter(users::EMAIL.eq("nobody"))
        .fetch_one(&db.pool)
        .await
        .unwrap_err();
    assert!(matches!(err, OrmkitError::EntityNotFound { .. }), "{err}");
    assert_eq!(
        User::query()
            .filter(users::EMAIL.like("%.org"))
            .count(&db.pool)
            .await?,
        2
    );

    // Streaming and selected columns.
    let streamed: Vec<User> = q().fetch(&db.pool).try_collect().await?;
    assert_eq!(streamed, all);
    let pairs = q()
        .filter(users::MOOD.eq(Mood::Sad))
        .select((users::ID, users::EMAIL))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(pairs, vec![(all[1].id, "bob@example.com".to_owned())]);
    Ok(())
}

#[tokio::test]
async fn hostile_values_are_parameters() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    let evil = "O'Dee; DROP TABLE users; --";
    let found = User::query()
        .filter(users::DISPLAY_NAME.eq(Some(evil)))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(found.len(), 1);
    let found = User::query()
        .filter(users::EMAIL.eq("' OR '1'='1"))
        .fetch_all(&db.pool)
        .await?;
    assert!(found.is_empty());
    assert_eq!(
        User::query().count(&db.pool).await?,
        4,
        "the table survived"
    );
    // A NUL byte cannot be stored in text: a clear error, not a truncated value.
    let err = User::query()
        .filter(users::EMAIL.eq("a\0b"))
        .fetch_all(&db.pool)
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate().as_deref(), Some("22021"), "{err}");
    Ok(())
}

#[tokio::test]
async fn update_and_delete_by_filter() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    let changed = User::query()
        .filter(users::EMAIL.like("%.org"))
        .update(
            [
                users::MOOD.set(Mood::Sad),
                users::DISPLAY_NAME.set(None::<String>),
            ],
            &db.pool,
        )
        .await?;
    assert_eq!(changed, 2);
    assert_eq!(
        User::query()
            .filter(users::MOOD.eq(Mood::Sad))
            .count(&db.pool)
            .await?,
        3
    );

    let err = User::query().delete(&db.pool).await.unwrap_err();
    assert!(err.to_string().contains("without a filter"), "{err}");
    let deleted = User::query()
        .filter(users::DISPLAY_NAME.is_null())
        .delete(&db.pool)
        .await?;
    assert_eq!(deleted, 3);
    assert_eq!(User::query().filter(Expr::all()).delete(&db.pool).await?, 1);
    Ok(())
}

#[tokio::test]
async fn the_same_api_on_a_connection_and_a_transaction() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    let mut conn = db.pool.acquire().await?;
    let n = User::query().count(&mut *conn).await?;
    assert_eq!(n, 4);
    let repo = Repository::<User>::new(&mut *conn);
    assert_eq!(repo.count().await?, 4);

    let mut tx = db.pool.begin().await?;
    Repository::<User>::new(&mut tx)
        .insert(NewUser::new("tx@example.com".into()))
        .await?;
    assert_eq!(User::query().count(&mut tx).await?, 5);
    tx.rollback().await?;
    assert_eq!(User::query().count(&db.pool).await?, 4);
    Ok(())
}
