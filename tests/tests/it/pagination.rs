//! Offset and cursor pagination, including cursors while rows are being inserted.

use ormkit::Repository;
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use std::collections::HashSet;

async fn users(db: &TestDb, n: usize, prefix: &str) -> anyhow::Result<()> {
    let news = (0..n).map(|i| {
        let mut u = NewUser::new(format!("{prefix}{i:03}@x.io"));
        u.mood = Some(if i % 2 == 0 { Mood::Happy } else { Mood::Sad });
        u
    });
    Repository::<User>::new(&db.pool).insert_many(news).await?;
    Ok(())
}

#[tokio::test]
async fn offset_pages_with_totals() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    users(&db, 25, "u").await?;
    let page = User::query()
        .filter(users::MOOD.eq(Mood::Happy))
        .order_by(users::EMAIL.asc())
        .paginate(2, 5, &db.pool)
        .await?;
    assert_eq!(page.total, 13);
    assert_eq!(page.pages(), 3);
    assert_eq!(page.page, 2);
    let emails: Vec<&str> = page.items.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(
        emails,
        [
            "u010@x.io",
            "u012@x.io",
            "u014@x.io",
            "u016@x.io",
            "u018@x.io"
        ]
    );
    let last = User::query()
        .order_by(users::EMAIL.asc())
        .paginate(5, 5, &db.pool)
        .await?;
    assert_eq!(last.items.len(), 5);
    let beyond = User::query()
        .order_by(users::EMAIL.asc())
        .paginate(9, 5, &db.pool)
        .await?;
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 25);
    Ok(())
}

#[tokio::test]
async fn cursor_pages_are_stable_under_concurrent_inserts() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    users(&db, 30, "a").await?;
    // Newest first by mood then id (mixed directions; the primary key makes it unique).
    let query = || {
        User::query()
            .order_by(users::MOOD.desc())
            .order_by(users::ID.desc())
    };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut inserted = 0;
    loop {
        let page = query()
            .after(cursor.as_deref())?
            .fetch_page(7, &db.pool)
            .await?;
        seen.extend(page.items.iter().map(|u| u.id));
        // Insert while paging: rows that sort before the cursor (Very Happy comes first in
        // this descending order) must not shift the pages still to come.
        let news = (0..3).map(|i| {
            let mut u = NewUser::new(format!("b{inserted}_{i}@x.io"));
            u.mood = Some(Mood::VeryHappy);
            u
        });
        Repository::<User>::new(&db.pool).insert_many(news).await?;
        inserted += 1;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 30, "every original row once, no row twice");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 30);
    // The order is the query's order.
    let expected: Vec<UserId> = query()
        .filter(users::EMAIL.like("a%"))
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(seen, expected);

    let err = query().after(Some("not a cursor!")).unwrap_err();
    assert!(err.to_string().contains("invalid cursor"), "{err}");
    let err = User::query()
        .order_by(users::KARMA.asc())
        .fetch_page(5, &db.pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nullable"), "{err}");
    Ok(())
}
