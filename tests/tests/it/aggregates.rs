//! Selections and aggregates against real PostgreSQL: `count`, `sum`, `avg`, `min`, `max`
//! in PostgreSQL's result types, over groups, over empty groups and over no rows; `having`,
//! `distinct`, `distinct_on`; what is neither grouped nor aggregated is refused before
//! anything is sent.

use super::blog::seed;
use ormkit::query::{
    all, avg, count, count_distinct, count_of, date_trunc, max, min, sum, DateUnit,
};
use ormkit::rust_decimal::Decimal;
use ormkit::sqlx::postgres::types::{PgInterval, PgMoney};
use ormkit::{Expr, OrmkitError, Repository};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

#[tokio::test]
async fn posts_per_user_counts_zero_for_empty_groups() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    let rows: Vec<(String, i64, Option<String>, i64)> = User::query()
        .left_join(users::POSTS)
        .group_by(users::ID)
        .order_by(users::ID.asc())
        .select((
            users::EMAIL,
            count_of(posts::ID),
            max(posts::TITLE),
            count(),
        ))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(
        rows,
        [
            ("ada@example.com".into(), 2, Some("Second".into()), 2),
            ("bob@example.com".into(), 0, None, 1),
            ("cy@example.org".into(), 1, Some("Cy's post".into()), 1),
            ("dee@example.org".into(), 0, None, 1),
        ]
    );
    // Whole rows with their aggregate: grouping by the key covers every column.
    let with_counts: Vec<(User, i64)> = User::query()
        .left_join(users::POSTS)
        .group_by(users::ID)
        .having(count_of(posts::ID).gt(1))
        .select((all::<User>(), count_of(posts::ID)))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(with_counts.len(), 1);
    assert_eq!(
        (with_counts[0].0.email.as_str(), with_counts[0].1),
        ("ada@example.com", 2)
    );
    Ok(())
}

#[tokio::test]
async fn aggregates_have_postgresql_result_types_and_none_over_no_rows() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    type Row = (
        i64,
        Option<i64>,
        Option<i64>,
        Option<Decimal>,
        Option<f32>,
        Option<Decimal>,
        Option<Decimal>,
        Option<f64>,
        Option<PgInterval>,
        Option<PgMoney>,
        Option<String>,
        i64,
    );
    let report = || {
        AllType::query().select((
            count(),
            sum(all_types::C_INT2),
            sum(all_types::C_INT4),
            sum(all_types::C_INT8),
            sum(all_types::C_FLOAT4),
            sum(all_types::C_NUMERIC),
            avg(all_types::C_INT4),
            avg(all_types::C_FLOAT8),
            sum(all_types::C_INTERVAL),
            sum(all_types::C_MONEY),
            min(all_types::C_TEXT),
            count_distinct(all_types::C_INT4),
        ))
    };
    // No rows: one row of NULLs (and zero counts), as PostgreSQL gives it.
    let empty: Row = report().fetch_one(&db.pool).await?;
    assert_eq!(
        empty,
        (0, None, None, None, None, None, None, None, None, None, None, 0)
    );

    let repo = Repository::<AllType>::new(&db.pool);
    for (i, text) in [(1_i32, "b"), (2, "a"), (2, "c")] {
        let mut new = NewAllType::new(format!("{text}@example.com"));
        new.c_int2 = Some(i as i16);
        new.c_int4 = Some(i);
        new.c_int8 = Some(i64::MAX / 2);
        new.c_float4 = Some(0.5);
        new.c_float8 = Some(f64::from(i));
        new.c_numeric = Some(Decimal::new(150, 2));
        new.c_interval = Some(PgInterval {
            months: 0,
            days: 1,
            microseconds: 0,
        });
        new.c_money = Some(PgMoney(100));
        new.c_text = Some(text.into());
        repo.insert(new).await?;
    }
    let full: Row = report().fetch_one(&db.pool).await?;
    // sum(int8) is numeric: it does not overflow where i64 would.
    let big = Decimal::from(i64::MAX / 2) * Decimal::from(3);
    assert_eq!(full.0, 3);
    assert_eq!((full.1, full.2), (Some(5), Some(5)));
    assert_eq!(full.3, Some(big));
    assert_eq!(full.4, Some(1.5));
    assert_eq!(full.5, Some(Decimal::new(450, 2)));
    assert_eq!(full.6.map(|d| d.round_dp(4)), Some(Decimal::new(16667, 4)));
    assert_eq!(full.7, Some(5.0 / 3.0));
    assert_eq!(
        full.8,
        Some(PgInterval {
            months: 0,
            days: 3,
            microseconds: 0
        })
    );
    assert_eq!(full.9, Some(PgMoney(300)));
    assert_eq!(full.10.as_deref(), Some("a"));
    assert_eq!(full.11, 2);
    Ok(())
}

#[tokio::test]
async fn having_distinct_and_distinct_on() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let blog = seed(&db).await?;
    let authors: Vec<UserId> = Post::query()
        .group_by(posts::AUTHOR_ID)
        .having(count().gte(2))
        .select(posts::AUTHOR_ID)
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(authors, [blog.ada.id]);

    let mut authors: Vec<UserId> = Post::query()
        .distinct()
        .select(posts::AUTHOR_ID)
        .fetch_all(&db.pool)
        .await?;
    authors.sort();
    assert_eq!(authors, [blog.ada.id, blog.cy.id]);

    // Each author's latest post: DISTINCT ON the author, newest first.
    let latest: Vec<(UserId, String)> = Post::query()
        .distinct_on(posts::AUTHOR_ID)
        .order_by(posts::AUTHOR_ID.asc())
        .order_by(posts::ID.desc())
        .select((posts::AUTHOR_ID, posts::TITLE))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(
        latest,
        [
            (blog.ada.id, "Second".to_owned()),
            (blog.cy.id, "Cy's post".to_owned())
        ]
    );

    // Grouped by an expression selected as the same expression.
    let days: Vec<(Option<ormkit::chrono::DateTime<ormkit::chrono::Utc>>, i64)> = Post::query()
        .filter(posts::PUBLISHED_AT.is_not_null())
        .group_by(date_trunc(DateUnit::Day, posts::PUBLISHED_AT))
        .order_by(date_trunc(DateUnit::Day, posts::PUBLISHED_AT).asc())
        .select((date_trunc(DateUnit::Day, posts::PUBLISHED_AT), count()))
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(days.len(), 2);
    assert_eq!(days[0].0, Some("2024-03-01T00:00:00Z".parse()?));
    Ok(())
}

#[tokio::test]
async fn what_is_neither_grouped_nor_aggregated_is_refused_before_sending() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    seed(&db).await?;
    let query = || {
        User::query()
            .group_by(users::MOOD)
            .select((users::EMAIL, count()))
    };
    let message = query().to_sql().unwrap_err().to_string();
    assert!(
        message.contains("users.email is neither grouped nor aggregated"),
        "{message}"
    );
    let (result, statements) =
        ormkit::count_statements(async { query().fetch_all(&db.pool).await }).await;
    assert!(
        matches!(result, Err(OrmkitError::Query { .. })),
        "{result:?}"
    );
    assert_eq!(statements, 0, "nothing reaches the database");

    // An aggregate beside a plain column, without any GROUP BY.
    let err = User::query()
        .select((users::EMAIL, count()))
        .to_sql()
        .unwrap_err();
    assert!(err.to_string().contains("users.email"), "{err}");
    // Whole rows of a table grouped by something else.
    let err = User::query()
        .group_by(users::MOOD)
        .select((all::<User>(), count()))
        .to_sql()
        .unwrap_err();
    assert!(err.to_string().contains("whole rows of users"), "{err}");
    // An aggregate in a filter.
    let err = User::query().filter(count().gt(1)).to_sql().unwrap_err();
    assert!(err.to_string().contains("put it in `having`"), "{err}");
    // Grouping by the key allows the table's other columns, as in PostgreSQL.
    let ok = User::query()
        .group_by(users::ID)
        .select((users::EMAIL, count()))
        .filter(Expr::all())
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(ok.len(), 4);
    Ok(())
}
