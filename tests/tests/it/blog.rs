//! A small blog for the join, aggregate and relation tests: four users (two without posts),
//! three posts, three comments, labels on posts.

use ormkit::Repository;
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

/// What [`seed`] wrote, by name.
pub(crate) struct Blog {
    pub(crate) ada: User,
    pub(crate) bob: User,
    pub(crate) cy: User,
    pub(crate) dee: User,
    /// Ada's, published.
    pub(crate) hello: Post,
    /// Ada's, not published, tagged rust and sql.
    pub(crate) second: Post,
    /// Cy's, tagged sql, scores 1, 2, 3.
    pub(crate) cys: Post,
    pub(crate) rust: Label,
    pub(crate) sql: Label,
    pub(crate) news: Label,
}

pub(crate) async fn seed(db: &TestDb) -> anyhow::Result<Blog> {
    let users = Repository::<User>::new(&db.pool);
    let user = |email: &str, name: Option<&str>, mood, karma: Option<i32>| {
        let mut new = NewUser::new(email.into());
        new.display_name = name.map(str::to_owned);
        new.mood = Some(mood);
        new.karma = karma;
        new.settings = Some(
            ormkit::serde_json::json!({ "theme": if karma.is_some() { "dark" } else { "light" } }),
        );
        new
    };
    let ada = users
        .insert(user("ada@example.com", Some("Ada"), Mood::Happy, Some(3)))
        .await?;
    let bob = users
        .insert(user("bob@example.com", None, Mood::Sad, None))
        .await?;
    let cy = users
        .insert(user("cy@example.org", Some("Cy"), Mood::SoSo, Some(5)))
        .await?;
    let dee = users
        .insert(user(
            "dee@example.org",
            Some("Dee"),
            Mood::VeryHappy,
            Some(1),
        ))
        .await?;

    let posts = Repository::<Post>::new(&db.pool);
    let mut hello = NewPost::new(ada.id, "Hello".into());
    hello.published_at = Some("2024-03-01T10:00:00Z".parse()?);
    let hello = posts.insert(hello).await?;
    let mut second = NewPost::new(ada.id, "Second".into());
    second.tags = Some(vec!["rust".into(), "sql".into()]);
    let second = posts.insert(second).await?;
    let mut cys = NewPost::new(cy.id, "Cy's post".into());
    cys.tags = Some(vec!["sql".into()]);
    cys.scores = Some(vec![Some(1), Some(2), Some(3)]);
    cys.published_at = Some("2024-03-02T09:00:00Z".parse()?);
    let cys = posts.insert(cys).await?;

    let comments = Repository::<Comment>::new(&db.pool);
    for (post, author, body) in [
        (hello.id, Some(bob.id), "nice"),
        (hello.id, Some(cy.id), "+1"),
        (cys.id, Some(ada.id), "great"),
    ] {
        let mut new = NewComment::new(post, body.into());
        new.author_id = author;
        comments.insert(new).await?;
    }

    let labels = Repository::<Label>::new(&db.pool);
    let rust = labels.insert(NewLabel::new("rust".into())).await?;
    let sql = labels.insert(NewLabel::new("SQL".into())).await?;
    let news = labels.insert(NewLabel::new("news".into())).await?;
    let links = Repository::<PostLabel>::new(&db.pool);
    for (post, label) in [
        (hello.id, rust.id),
        (second.id, rust.id),
        (second.id, sql.id),
        (cys.id, sql.id),
    ] {
        links.insert(NewPostLabel::new(post, label)).await?;
    }
    Ok(Blog {
        ada,
        bob,
        cy,
        dee,
        hello,
        second,
        cys,
        rust,
        sql,
        news,
    })
}
