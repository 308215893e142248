//! The bulk executor: fetch by id in order with missing ids, COPY inserts of every kind of
//! value, failing chunks, bulk update and delete.

use ormkit::sqlx::PgPool;
use ormkit::{ParallelExecutor, Repository};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

#[ormkit::test]
async fn bulk_fetch_returns_rows_in_the_callers_order(pool: PgPool) -> anyhow::Result<()> {
    let exec = ParallelExecutor::new(&pool, 4).chunk_size(7);
    let news: Vec<NewUser> = (0..50)
        .map(|i| NewUser::new(format!("u{i}@x.io")))
        .collect();
    let users = exec.bulk_insert_returning::<User>(news).await?;
    assert_eq!(users.len(), 50);
    assert!(users
        .iter()
        .enumerate()
        .all(|(i, u)| u.email == format!("u{i}@x.io")));

    let missing_id = UserId::new(-1);
    let mut ids: Vec<UserId> = users.iter().rev().map(|u| u.id).collect();
    ids.insert(10, missing_id);
    ids.push(users[3].id); // asked twice
    let found = exec.bulk_fetch_by_id::<User>(ids.clone()).await?;
    assert_eq!(found.rows.len(), ids.len());
    for (id, row) in ids.iter().zip(&found.rows) {
        match row {
            Some(user) => assert_eq!(user.id, *id),
            None => assert_eq!(*id, missing_id),
        }
    }
    assert_eq!(found.missing, vec![missing_id]);
    Ok(())
}

fn rich_row(i: usize) -> NewAllType {
    let mut row = NewAllType::new(format!("row{i}@x.io"));
    if i.is_multiple_of(2) {
        row.c_text = Some(format!("text {i} with 'quotes' and \\ backslashes"));
        row.c_int4_array = Some(vec![Some(i as i32), None]);
        row.c_text_array = Some(vec![None, Some("a,b".into())]);
        row.c_mood = Some(Mood::SoSo);
        row.c_mood_array = Some(vec![Some(Mood::VeryHappy), None]);
        row.c_jsonb = Some(ormkit::serde_json::json!({"i": i, "nested": [1, null]}));
        row.c_address = Some(Address {
            street: Some(format!("{i} Main St")),
            city: None,
            zip: Some("1".into()),
        });
        row.c_address_array = Some(vec![
            None,
            Some(Address {
                street: None,
                city: Some("X".into()),
                zip: None,
            }),
        ]);
        row.c_numeric = Some(ormkit::rust_decimal::Decimal::new(i as i64, 2));
        row.c_positive = Some(i as i32 + 1);
    }
    row
}

#[ormkit::test]
async fn copy_inserts_nulls_arrays_enums_jsonb_and_composites(pool: PgPool) -> anyhow::Result<()> {
    let exec = ParallelExecutor::new(&pool, 3).chunk_size(5);
    let rows: Vec<NewAllType> = (0..120).map(rich_row).collect();
    let written = exec.bulk_insert::<AllType>(rows.clone()).await?;
    assert_eq!(written, 120);

    let stored = AllType::query()
        .order_by(all_types::C_EMAIL.asc())
        .fetch_all(&pool)
        .await?;
    assert_eq!(stored.len(), 120);
    for row in &rows {
        let got = stored
            .iter()
            .find(|s| s.c_email == row.c_email)
            .expect("row stored");
        assert_eq!(got.c_text, row.c_text);
        assert_eq!(got.c_int4_array, row.c_int4_array);
        assert_eq!(got.c_text_array, row.c_text_array);
        assert_eq!(got.c_mood, row.c_mood);
        assert_eq!(got.c_mood_array, row.c_mood_array);
        assert_eq!(got.c_jsonb, row.c_jsonb);
        assert_eq!(got.c_address, row.c_address);
        assert_eq!(got.c_address_array, row.c_address_array);
        assert_eq!(got.c_numeric, row.c_numeric);
        assert_eq!(got.c_positive, row.c_positive);
    }
    Ok(())
}

#[ormkit::test]
async fn a_failing_chunk_names_its_rows_and_writes_nothing_of_them(
    pool: PgPool,
) -> anyhow::Result<()> {
    let exec = ParallelExecutor::new(&pool, 1).copy_chunk_size(4);
    // Row 13 violates the domain's CHECK (no '@'): its chunk fails.
    let rows: Vec<NewUser> = (0..20)
        .map(|i| {
            NewUser::new(if i == 13 {
                "broken".into()
            } else {
                format!("u{i}@x.io")
            })
        })
        .collect();
    let err = exec.bulk_insert::<User>(rows).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("rows 12..=15"), "{text}");
    assert!(text.contains("email_address_check"), "{text}");
    // Chunks before it are committed, the failing one wrote nothing, later ones did not run.
    assert_eq!(User::query().count(&pool).await?, 12);
    assert_eq!(
        User::query()
            .filter(users::EMAIL.eq("u12@x.io"))
            .count(&pool)
            .await?,
        0
    );
    Ok(())
}

#[ormkit::test]
async fn bulk_update_and_delete(pool: PgPool) -> anyhow::Result<()> {
    let exec = ParallelExecutor::new(&pool, 2).chunk_size(10);
    let users = exec
        .bulk_insert_returning::<User>(
            (0..30)
                .map(|i| NewUser::new(format!("u{i}@x.io")))
                .collect(),
        )
        .await?;
    let patches = users
        .iter()
        .map(|u| {
            let mut p = UserPatch::new(u.id);
            p.karma = Some(Some(5));
            p
        })
        .collect();
    assert_eq!(exec.bulk_update::<User>(patches).await?, 30);
    assert_eq!(
        User::query()
            .filter(users::KARMA.eq(Some(5)))
            .count(&pool)
            .await?,
        30
    );
    let ids = users.iter().take(25).map(|u| u.id).collect();
    assert_eq!(exec.bulk_delete::<User>(ids).await?, 25);
    assert_eq!(Repository::<User>::new(&pool).count().await?, 5);
    Ok(())
}

#[tokio::test]
async fn the_smart_pool_times_out_instead_of_hanging() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let config = ormkit::PoolConfig {
        max_connections: 2,
        min_connections: 1,
        acquire_timeout: std::time::Duration::from_millis(300),
        ..ormkit::PoolConfig::default()
    };
    let pool = ormkit::create_smart_pool_with(db.url(), &config).await?;
    let a = pool.acquire().await?;
    let b = pool.acquire().await?;
    let err = Repository::<User>::new(&pool).count().await.unwrap_err();
    assert_eq!(err.category(), ormkit::ErrorCategory::PoolTimeout, "{err}");
    assert!(err.is_retryable());
    drop((a, b));
    assert_eq!(
        Repository::<User>::new(&pool).count().await?,
        0,
        "usable again"
    );
    Ok(())
}

fn varied_user(i: usize) -> NewUser {
    let mut user = NewUser::new(format!("v{i}@x.io"));
    user.display_name = Some(format!("'; DROP TABLE users; -- {i} \"quoted\""));
    user.mood = Some(if i.is_multiple_of(2) {
        Mood::SoSo
    } else {
        Mood::VeryHappy
    });
    user.home = Some(Address {
        street: Some(format!("{i} Main St")),
        city: None,
        zip: Some("12345".into()),
    });
    user.karma = if i.is_multiple_of(3) {
        None
    } else {
        Some(i as i32)
    };
    user.settings = Some(ormkit::serde_json::json!({"i": i, "tags": ["a", null]}));
    user
}

#[ormkit::test]
async fn returning_inserts_go_through_unnest_one_statement_per_chunk(
    pool: PgPool,
) -> anyhow::Result<()> {
    // 6000 rows × 7 columns = 42 000 values: more than one statement's parameter limit, but
    // one `unnest` statement per chunk (seven array parameters).
    let exec = ParallelExecutor::new(&pool, 2).chunk_size(4000);
    let news: Vec<NewUser> = (0..6000).map(varied_user).collect();
    let (stored, statements) =
        ormkit::count_statements(exec.bulk_insert_returning::<User>(news.clone())).await;
    let stored = stored?;
    assert_eq!(
        statements, 2,
        "chunks of 4000 and 2000: one INSERT … unnest each"
    );
    assert_eq!(stored.len(), 6000);
    for (new, row) in news.iter().zip(&stored) {
        assert_eq!(row.email, new.email, "input order is kept");
        assert_eq!(row.display_name, new.display_name);
        assert_eq!(Some(row.mood), new.mood);
        assert_eq!(row.home, new.home);
        assert_eq!(row.karma, new.karma);
        assert_eq!(Some(&row.settings), new.settings.as_ref());
    }
    // What came back is what is stored (identities and defaults filled in).
    let ids: Vec<UserId> = stored.iter().map(|u| u.id).collect();
    let found = exec.bulk_fetch_by_id::<User>(ids).await?;
    let found: Vec<User> = found.rows.into_iter().flatten().collect();
    assert_eq!(found, stored);

    // Rows that set an array column use multi-row VALUES, in the same order.
    let mut mixed: Vec<NewUser> = (6000..6010).map(varied_user).collect();
    mixed[4].past_moods = Some(vec![Some(Mood::Sad), None]);
    let stored = exec.bulk_insert_returning::<User>(mixed.clone()).await?;
    let emails: Vec<&str> = stored.iter().map(|u| u.email.as_str()).collect();
    let expected: Vec<&str> = mixed.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, expected);
    assert_eq!(stored[4].past_moods, Some(vec![Some(Mood::Sad), None]));
    Ok(())
}

#[tokio::test]
async fn upserts_skip_or_update_conflicting_rows() -> anyhow::Result<()> {
    use ormkit::OnConflict;
    let db = TestDb::new().await?;
    let exec = ParallelExecutor::new(&db.pool, 2).chunk_size(7);
    let first = exec
        .bulk_insert_returning::<User>((0..20).map(varied_user).collect())
        .await?;

    // Rows 10..30: the first ten conflict on the unique email.
    let mut news: Vec<NewUser> = (10..30).map(varied_user).collect();
    for user in &mut news {
        user.display_name = Some("second".into());
    }
    let skipped = exec
        .bulk_upsert::<User>(news.clone(), &OnConflict::on(users::EMAIL).do_nothing())
        .await?;
    let emails: Vec<String> = skipped.iter().map(|u| u.email.clone()).collect();
    let expected: Vec<String> = (20..30).map(|i| format!("v{i}@x.io")).collect();
    assert_eq!(
        emails, expected,
        "only the new rows are written and returned"
    );
    assert_eq!(User::query().count(&db.pool).await?, 30);
    let untouched = Repository::<User>::new(&db.pool).get(first[10].id).await?;
    assert_eq!(untouched, first[10]);

    // Now every row conflicts: each is updated from the proposed row and returned.
    for user in &mut news {
        user.display_name = Some("third".into());
        user.karma = Some(1000);
    }
    let conflict = OnConflict::on(users::EMAIL)
        .do_update(users::DISPLAY_NAME)
        .do_update(users::KARMA);
    let updated = exec.bulk_upsert::<User>(news, &conflict).await?;
    assert_eq!(updated.len(), 20);
    assert!(updated
        .iter()
        .all(|u| u.display_name.as_deref() == Some("third") && u.karma == Some(1000)));
    assert_eq!(updated[0].id, first[10].id, "updated in place, same key");
    assert_eq!(User::query().count(&db.pool).await?, 30);
    assert_eq!(
        User::query()
            .filter(users::DISPLAY_NAME.eq(Some("third")))
            .count(&db.pool)
            .await?,
        20
    );
    Ok(())
}
