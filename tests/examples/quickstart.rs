//! The main job end to end: `build.rs` generated typed entities from `../migrations` at build
//! time; here they run against a database — `DATABASE_URL`'s server when set, otherwise a
//! throwaway PostgreSQL cluster this program starts and removes itself.
//!
//! ```text
//! cargo run -p ormkit-tests --example quickstart
//! ```

use ormkit::Repository;
use ormkit_tests::entities::{
    analytics, posts, users, Mood, NewPost, NewUser, Post, User, UserPatch,
};
use ormkit_tests::support::TestDb;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    println!("using {}", db.description());
    println!(
        "database ready, {} migrations applied",
        ormkit_tests::entities::MIGRATIONS.len()
    );

    let users_repo = Repository::<User>::new(&db.pool);
    let posts_repo = Repository::<Post>::new(&db.pool);

    let mut new_user = NewUser::new("ada@example.com".into());
    new_user.display_name = Some("Ada".into());
    new_user.mood = Some(Mood::VeryHappy);
    let ada = users_repo.insert(new_user).await?;
    println!(
        "inserted {:?} <{}> ({}), created {}",
        ada.id, ada.email, ada.mood, ada.created_at
    );

    // `author_id` is a `UserId`: a `PostId` would not compile here.
    let post = posts_repo
        .insert(NewPost::new(
            ada.id,
            "Notes on the Analytical Engine".into(),
        ))
        .await?;
    println!(
        "inserted {:?} by {:?}, slug {:?} (a generated column)",
        post.id, post.author_id, post.slug
    );

    let mut patch = UserPatch::new(ada.id);
    patch.karma = Some(Some(42));
    let ada = users_repo.update(patch).await?.expect("ada exists");
    println!("patched karma → {:?}", ada.karma);

    let found = users_repo.find_by_id(ada.id).await?;
    println!("find_by_id → {:?}", found.map(|u| u.email));
    println!(
        "users: {}, posts: {}",
        users_repo.count().await?,
        posts_repo.count().await?
    );
    println!(
        "typed columns: {} / {}; relation {} → {}",
        users::EMAIL.name(),
        posts::AUTHOR_ID.name(),
        posts::AUTHOR.foreign_key().name,
        posts::AUTHOR.foreign_key().references_table
    );
    let event = Repository::<analytics::Event>::new(&db.pool)
        .insert(analytics::NewEvent {
            user_id: Some(ada.id),
            ..analytics::NewEvent::new(analytics::EventKind::Purchase)
        })
        .await?;
    println!(
        "analytics event {:?}: {} by {:?}",
        event.id, event.kind, event.user_id
    );
    Ok(())
}
