//! ormkit's integration tests: the entities generated from `../migrations` by `build.rs`,
//! and a helper that gives each test its own migrated database.
//!
//! # Walkthrough
//!
//! The README's tour, run as a doctest against real PostgreSQL on the entities this crate's
//! `build.rs` generated (a user's crate has `ormkit::include_entities!()` where this one
//! has `use ormkit_tests::entities`):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! # let db = ormkit_tests::support::TestDb::new().await?;
//! # let pool = db.pool.clone();
//! use ormkit::{transaction, Repository};
//! use ormkit_tests::entities::{posts, users, Mood, NewPost, NewUser, Post, User, UserPatch};
//!
//! // Writes return the stored row: defaults and identities filled in.
//! let users_repo = Repository::<User>::new(&pool);
//! let ada = users_repo.insert(NewUser::new("ada@example.com".into())).await?;
//! assert_eq!(ada.mood, Mood::Happy); // the column's default
//! let post = Repository::<Post>::new(&pool)
//!     .insert(NewPost::new(ada.id, "Hello".into())) // author_id: UserId, not a bare i64
//!     .await?;
//!
//! // Patches write only the fields that were set.
//! let mut patch = UserPatch::new(ada.id);
//! patch.display_name = Some(Some("Ada".into()));
//! let ada = users_repo.update(patch).await?.expect("the row exists");
//! assert_eq!(ada.display_name.as_deref(), Some("Ada"));
//!
//! // Typed queries: every value a bound parameter, every identifier from the metadata.
//! let found = User::query()
//!     .filter(users::EMAIL.like("%@example.com"))
//!     .filter(users::MOOD.is_in([Mood::Happy, Mood::VeryHappy]))
//!     .order_by(users::CREATED_AT.desc())
//!     .limit(20)
//!     .fetch_all(&pool)
//!     .await?;
//! assert_eq!(found, vec![ada.clone()]);
//!
//! // Relations: one query per level, however many rows.
//! let (posts_by_user, statements) =
//!     ormkit::count_statements(users::POSTS.load(&found, &pool)).await;
//! assert_eq!((posts_by_user?, statements), (vec![vec![post.clone()]], 1));
//!
//! // Pagination by cursor.
//! let page = Post::query().order_by(posts::ID.asc()).fetch_page(10, &pool).await?;
//! assert_eq!(page.items, vec![post]);
//!
//! // Transactions: commit on Ok, roll back on Err (or panic).
//! let failed = transaction(&pool, |tx| async move {
//!     let repo = Repository::<User>::new(&tx);
//!     repo.insert(NewUser::new("grace@example.com".into())).await?;
//!     repo.insert(NewUser::new("ada@example.com".into())).await // a unique violation
//! })
//! .await;
//! assert_eq!(failed.unwrap_err().sqlstate().as_deref(), Some("23505"));
//! assert_eq!(User::query().count(&pool).await?, 1); // grace was rolled back too
//! # Ok(())
//! # }
//! ```

ormkit::include_entities!();
ormkit::include_entities!("ormkit_entities_time.rs");

pub mod fault;
pub mod scaleout;
pub mod support;
