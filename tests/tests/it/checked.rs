//! Checked SQL (`../queries/*.sql`): typed at build time against the schema, run against
//! real PostgreSQL here, values checked.

use ormkit::sqlx::PgPool;
use ormkit::{count_statements, OrmkitError, Repository};
use ormkit_tests::entities::queries::{hostile, reports, trees, users as user_queries};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

async fn seed(db: &TestDb) -> anyhow::Result<(User, User, Post, Post)> {
    let users = Repository::<User>::new(&db.pool);
    let ada = users.insert(NewUser::new("ada@x.io".into())).await?;
    let mut grace = NewUser::new("grace@x.io".into());
    grace.karma = Some(5);
    let grace = users.insert(grace).await?;
    let posts = Repository::<Post>::new(&db.pool);
    let mut root = NewPost::new(ada.id, "root".into());
    root.published_at = Some(ormkit::chrono::Utc::now());
    let root = posts.insert(root).await?;
    let mut reply = NewPost::new(ada.id, "reply".into());
    reply.parent_id = Some(root.id);
    let reply = posts.insert(reply).await?;
    Ok((ada, grace, root, reply))
}

#[tokio::test]
async fn every_kind_runs_with_typed_parameters_and_rows() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let (ada, grace, root, _reply) = seed(&db).await?;

    // :one, returning an entity, with a typed-ID parameter.
    let found: User = user_queries::user_by_id(&db.pool, ada.id).await?;
    assert_eq!(found, ada);
    let missing = user_queries::user_by_id(&db.pool, UserId::new(ada.id.into_inner() + 99))
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, OrmkitError::EntityNotFound { table, .. } if table.contains("user_by_id")),
        "{missing}"
    );
    // :opt (and citext: the address compares case-insensitively).
    assert_eq!(
        user_queries::user_by_email(&db.pool, "GRACE@X.IO".into()).await?,
        Some(grace.clone())
    );
    assert_eq!(
        user_queries::user_by_email(&db.pool, "nobody@x.io".into()).await?,
        None
    );
    // :exec, with one parameter used twice.
    assert_eq!(
        user_queries::rename_user(&db.pool, "Ada".into(), ada.id).await?,
        1
    );
    assert_eq!(
        user_queries::rename_user(&db.pool, "Ada".into(), ada.id).await?,
        0,
        "already that name: the second use of :name matches"
    );
    // :many, and its stream.
    let since = ormkit::chrono::Utc::now() - ormkit::chrono::Duration::hours(1);
    let authors = reports::active_authors(&db.pool, since).await?;
    assert_eq!(authors.len(), 1);
    assert_eq!(
        (authors[0].id, authors[0].email.as_str(), authors[0].posts),
        (ada.id, "ada@x.io", 1)
    );
    use futures::StreamExt as _;
    let streamed: Vec<_> = reports::active_authors_stream(&db.pool, since)
        .collect()
        .await;
    assert_eq!(
        streamed.into_iter().collect::<Result<Vec<_>, _>>()?,
        authors
    );
    // A locking read (a write for routing) in a transaction.
    let locked = ormkit::transaction(&db.pool, |tx| async move {
        user_queries::lock_next_post(&tx).await
    })
    .await?;
    assert_eq!(locked.map(|r| r.title), Some("reply".to_owned()));
    assert!(!user_queries::LOCK_NEXT_POST.reads_only);
    assert!(reports::ACTIVE_AUTHORS.reads_only);
    assert!(!user_queries::RENAME_USER.reads_only);
    let _ = root;
    Ok(())
}

#[tokio::test]
async fn nullability_follows_joins_aggregates_and_overrides() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    // Aggregates over an empty table: count is 0, max is NULL, the `!` override holds.
    let empty = reports::post_stats(&db.pool).await?;
    assert_eq!(
        (
            empty.posts,
            empty.latest,
            empty.first_title.as_str(),
            empty.first_author
        ),
        (0, None, "", None)
    );

    let (ada, grace, root, reply) = seed(&db).await?;
    let stats = reports::post_stats(&db.pool).await?;
    assert_eq!(stats.posts, 2);
    assert_eq!(stats.first_title, "reply");
    assert_eq!(stats.first_author, Some(ada.id.into_inner()));

    // A left join: the user without posts comes back once, with `None` for the post's side
    // (typed `Option<PostId>`, `Option<String>` though NOT NULL in posts).
    let rows = reports::users_and_posts(&db.pool).await?;
    let summary: Vec<(UserId, Option<PostId>, Option<&str>)> = rows
        .iter()
        .map(|r| (r.id, r.post_id, r.title.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (ada.id, Some(root.id), Some("root")),
            (ada.id, Some(reply.id), Some("reply")),
            (grace.id, None, None),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn recursive_ctes_window_functions_and_hostile_names() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let (ada, grace, root, reply) = seed(&db).await?;
    let thread = trees::thread(&db.pool, root.id).await?;
    let ids: Vec<(Option<i64>, i32)> = thread.iter().map(|r| (r.id, r.depth)).collect();
    assert_eq!(
        ids,
        [
            (Some(root.id.into_inner()), 0),
            (Some(reply.id.into_inner()), 1)
        ]
    );
    let ranks = trees::karma_ranks(&db.pool).await?;
    // NULL karma sorts last: grace (5) ranks 1, ada (NULL) 2.
    let ranked: Vec<(i64, i64)> = ranks.iter().map(|r| (r.id.into_inner(), r.rank)).collect();
    assert_eq!(
        ranked,
        [(grace.id.into_inner(), 1), (ada.id.into_inner(), 2)]
    );
    // Pairs of users with the same karma: none yet, then one.
    assert!(user_queries::same_karma(&db.pool, 0).await?.is_empty());
    let mut third = NewUser::new("third@x.io".into());
    third.karma = Some(5);
    let third = Repository::<User>::new(&db.pool).insert(third).await?;
    let pairs = user_queries::same_karma(&db.pool, 1).await?;
    assert_eq!(pairs.len(), 1);
    assert_eq!(
        (pairs[0].first, pairs[0].second, pairs[0].karma),
        (grace.id, third.id, 5)
    );

    Repository::<WeirdName>::new(&db.pool)
        .insert_many([1, 2].map(|i| {
            let mut w = NewWeirdName::new(WeirdNameId::new(i));
            w.r#type = Some(format!("t{i}"));
            w
        }))
        .await?;
    let (weird, statements) = count_statements(hostile::weird_names(&db.pool, 1)).await;
    let weird = weird?;
    assert_eq!(statements, 1);
    assert_eq!(weird.len(), 1);
    assert_eq!(weird[0].id, WeirdNameId::new(2));
    assert_eq!(weird[0].r#type.as_deref(), Some("t2"));
    assert_eq!(weird[0].dollars.as_deref(), Some(" :not_a_param "));
    assert_eq!(weird[0].quoted.as_deref(), Some(":nor_this"));
    Ok(())
}

#[ormkit::test]
async fn checked_queries_get_the_statement_span_and_metrics(pool: PgPool) -> anyhow::Result<()> {
    let (_, statements) = count_statements(reports::post_stats(&pool)).await;
    assert_eq!(statements, 1);
    let before = ormkit::metrics::snapshot().queries;
    reports::users_and_posts(&pool).await?;
    assert!(ormkit::metrics::snapshot().queries > before);
    Ok(())
}

#[tokio::test]
async fn validation_reprepares_every_query_against_the_live_schema() -> anyhow::Result<()> {
    use ormkit::validate::{Finding, SchemaValidator};
    use ormkit_tests::entities::queries::QUERIES;
    let db = TestDb::new().await?;
    let validator = SchemaValidator::new(&db.pool);
    let report = validator.validate_queries(QUERIES).await?;
    assert!(report.findings.is_empty(), "{report}");

    // Behind the lock's back: a column renamed, a type changed, a NOT NULL dropped.
    sqlx::raw_sql(
        "ALTER TABLE users RENAME COLUMN display_name TO shown_name;
         ALTER TABLE users ALTER COLUMN karma TYPE int8;
         ALTER TABLE posts ALTER COLUMN title DROP NOT NULL;",
    )
    .execute(&db.pool)
    .await?;
    let report = validator.validate_queries(QUERIES).await?;
    let text = report.to_string();
    assert!(!report.is_ok());
    assert!(
        report.findings.iter().any(|f| matches!(f,
            Finding::QueryFails { query, sqlstate, message }
                if query == "users.sql: rename_user" && sqlstate == "42703"
                    && message.contains("display_name"))),
        "{text}"
    );
    assert!(
        report.findings.iter().any(|f| matches!(f,
            Finding::QueryColumnMismatch { query, expected, actual, .. }
                if query == "users.sql: user_by_id" && expected.starts_with("display_name ")
                    && actual.starts_with("shown_name "))),
        "{text}"
    );
    assert!(
        report.findings.iter().any(|f| matches!(f,
            Finding::QueryParamMismatch { query, param: 1, actual, .. }
                if query == "users.sql: same_karma" && actual == "int8")),
        "{text}"
    );
    assert!(
        report.findings.iter().any(|f| matches!(f,
            Finding::QueryColumnNullable { query, column, origin }
                if query == "users.sql: lock_next_post" && column == "title"
                    && origin == "public.posts.title")),
        "{text}"
    );
    // `karma!` overrides nullability, so only its type is reported.
    assert!(
        !report.findings.iter().any(|f| matches!(f,
            Finding::QueryColumnNullable { column, .. } if column == "karma")),
        "{text}"
    );
    Ok(())
}
