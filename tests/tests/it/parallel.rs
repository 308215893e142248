//! The bulk executor: fetch by id in order with missing ids, COPY inserts of every kind of
//! value, failing chunks, bulk update and delete.

use ormkit::{ParallelExecutor, Repository};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

#[tokio::test]
async fn bulk_fetch_returns_rows_in_the_callers_order() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let exec = ParallelExecutor::new(&db.pool, 4).chunk_size(7);
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
    if i % 2 == 0 {
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

#[tokio::test]
async fn copy_inserts_nulls_arrays_enums_jsonb_and_composites() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let exec = ParallelExecutor::new(&db.pool, 3).chunk_size(5);
    let rows: Vec<NewAllType> = (0..120).map(rich_row).collect();
    let written = exec.bulk_insert::<AllType>(rows.clone()).await?;
    assert_eq!(written, 120);

    let stored = AllType::query()
        .order_by(all_types::C_EMAIL.asc())
        .fetch_all(&db.pool)
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

#[tokio::test]
async fn a_failing_chunk_names_its_rows_and_writes_nothing_of_them() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let exec = ParallelExecutor::new(&db.pool, 1).copy_chunk_size(4);
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
    assert_eq!(User::query().count(&db.pool).await?, 12);
    assert_eq!(
        User::query()
            .filter(users::EMAIL.eq("u12@x.io"))
            .count(&db.pool)
            .await?,
        0
    );
    Ok(())
}

#[tokio::test]
async fn bulk_update_and_delete() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let exec = ParallelExecutor::new(&db.pool, 2).chunk_size(10);
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
            .count(&db.pool)
            .await?,
        30
    );
    let ids = users.iter().take(25).map(|u| u.id).collect();
    assert_eq!(exec.bulk_delete::<User>(ids).await?, 25);
    assert_eq!(Repository::<User>::new(&db.pool).count().await?, 5);
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
