//! A row of every mapped type goes into PostgreSQL and comes back equal.

use ormkit::chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use ormkit::rust_decimal::Decimal;
use ormkit::sqlx::postgres::types::{PgInterval, PgMoney, PgPoint, PgRange, PgTimeTz};
use ormkit::sqlx::PgPool;
use ormkit::Repository;
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use std::ops::Bound;

fn full_row() -> NewAllType {
    let ts = Utc.with_ymd_and_hms(2024, 2, 29, 12, 30, 45).unwrap();
    let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let mut row = NewAllType::new("Someone@Example.com".into());
    row.c_bool = Some(true);
    row.c_int2 = Some(-2);
    row.c_int4 = Some(i32::MAX);
    row.c_int8 = Some(i64::MIN);
    row.c_float4 = Some(1.5);
    row.c_float8 = Some(-0.25);
    row.c_numeric = Some(Decimal::new(12345, 2));
    row.c_text = Some("text with 'quotes', \"double\" and '; DROP TABLE users; --".into());
    row.c_varchar = Some("varchar ✓".into());
    row.c_bpchar = Some("abc".into());
    row.c_char = Some(b'x' as i8);
    row.c_name = Some("a_name".into());
    row.c_citext = Some("MiXeD".into());
    row.c_bytea = Some(vec![0, 1, 2, 255]);
    row.c_uuid = Some(ormkit::uuid::Uuid::new_v4());
    row.c_timestamptz = Some(ts);
    row.c_timestamp = Some(ts.naive_utc());
    row.c_date = Some(day);
    row.c_time = Some(NaiveTime::from_hms_opt(23, 59, 58).unwrap());
    row.c_timetz = Some(PgTimeTz {
        time: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        offset: ormkit::chrono::FixedOffset::east_opt(3600).unwrap(),
    });
    row.c_interval = Some(PgInterval {
        months: 1,
        days: 2,
        microseconds: 3_000_000,
    });
    row.c_json = Some(ormkit::serde_json::json!({"a": [1, 2, null]}));
    row.c_jsonb = Some(ormkit::serde_json::json!({"nested": {"k": "v"}}));
    row.c_inet = Some("192.168.0.1".parse().unwrap());
    row.c_cidr = Some("10.0.0.0/8".parse().unwrap());
    row.c_money = Some(PgMoney(12_34));
    row.c_oid = Some(ormkit::sqlx::postgres::types::Oid(42));
    row.c_point = Some(PgPoint { x: 1.0, y: -2.5 });
    row.c_int4range = Some(PgRange {
        start: Bound::Included(1),
        end: Bound::Excluded(10),
    });
    row.c_int8range = Some(PgRange {
        start: Bound::Included(-5),
        end: Bound::Unbounded,
    });
    row.c_numrange = Some(PgRange {
        start: Bound::Included(Decimal::new(15, 1)),
        end: Bound::Excluded(Decimal::new(25, 1)),
    });
    row.c_tsrange = Some(PgRange {
        start: Bound::Included(ts.naive_utc()),
        end: Bound::Unbounded,
    });
    row.c_tstzrange = Some(PgRange {
        start: Bound::Included(ts),
        end: Bound::Excluded(ts + ormkit::chrono::Duration::hours(1)),
    });
    row.c_daterange = Some(PgRange {
        start: Bound::Included(day),
        end: Bound::Excluded(day.succ_opt().unwrap()),
    });
    row.c_int4_array = Some(vec![Some(1), None, Some(3)]);
    row.c_text_array = Some(vec![Some("a".into()), None, Some("".into())]);
    row.c_uuid_array = Some(vec![Some(ormkit::uuid::Uuid::nil())]);
    row.c_mood = Some(Mood::VeryHappy);
    row.c_mood_array = Some(vec![Some(Mood::SoSo), None, Some(Mood::Happy)]);
    row.c_address = Some(Address {
        street: Some("1 Main St".into()),
        city: None,
        zip: Some("12345".into()),
    });
    row.c_address_array = Some(vec![
        Some(Address {
            street: None,
            city: Some("Paris".into()),
            zip: None,
        }),
        None,
    ]);
    row.c_positive = Some(7);
    row
}

/// What the database is expected to give back for `new` (the id is generated).
fn expected(new: &NewAllType, stored: &AllType) -> AllType {
    AllType {
        id: stored.id,
        c_bool: new.c_bool,
        c_int2: new.c_int2,
        c_int4: new.c_int4,
        c_int8: new.c_int8,
        c_float4: new.c_float4,
        c_float8: new.c_float8,
        c_numeric: new.c_numeric,
        c_text: new.c_text.clone(),
        c_varchar: new.c_varchar.clone(),
        c_bpchar: new.c_bpchar.clone(),
        c_char: new.c_char,
        c_name: new.c_name.clone(),
        c_citext: new.c_citext.clone(),
        c_bytea: new.c_bytea.clone(),
        c_uuid: new.c_uuid,
        c_timestamptz: new.c_timestamptz,
        c_timestamp: new.c_timestamp,
        c_date: new.c_date,
        c_time: new.c_time,
        c_timetz: new.c_timetz,
        c_interval: new.c_interval,
        c_json: new.c_json.clone(),
        c_jsonb: new.c_jsonb.clone(),
        c_inet: new.c_inet,
        c_cidr: new.c_cidr,
        c_money: new.c_money,
        c_oid: new.c_oid,
        c_point: new.c_point.clone(),
        c_int4range: new.c_int4range,
        c_int8range: new.c_int8range,
        c_numrange: new.c_numrange,
        c_tsrange: new.c_tsrange,
        c_tstzrange: new.c_tstzrange,
        c_daterange: new.c_daterange,
        c_int4_array: new.c_int4_array.clone(),
        c_text_array: new.c_text_array.clone(),
        c_uuid_array: new.c_uuid_array.clone(),
        c_mood: new.c_mood,
        c_mood_array: new.c_mood_array.clone(),
        c_address: new.c_address.clone(),
        c_address_array: new.c_address_array.clone(),
        c_email: new.c_email.clone(),
        c_positive: new.c_positive,
    }
}

#[ormkit::test]
async fn every_type_round_trips(pool: PgPool) -> anyhow::Result<()> {
    let repo = Repository::<AllType>::new(&pool);

    let full = full_row();
    let stored = repo.insert(full.clone()).await?;
    assert_eq!(stored, expected(&full, &stored));
    let read = repo
        .find_by_id(stored.id)
        .await?
        .expect("the row just inserted");
    assert_eq!(read, stored);

    // Every nullable column NULL; the NOT NULL domain still needs its value.
    let empty = NewAllType::new("nobody@example.com".into());
    let stored = repo.insert(empty.clone()).await?;
    assert_eq!(stored, expected(&empty, &stored));
    assert_eq!(repo.find_by_id(stored.id).await?, Some(stored));
    Ok(())
}

#[ormkit::test]
async fn domain_constraints_and_enums_are_enforced_by_the_database(
    pool: PgPool,
) -> anyhow::Result<()> {
    let repo = Repository::<AllType>::new(&pool);
    let mut bad = NewAllType::new("no-at-sign".into());
    let err = repo.insert(bad.clone()).await.unwrap_err();
    assert_eq!(err.sqlstate().as_deref(), Some("23514"), "{err}");
    bad.c_email = "ok@example.com".into();
    bad.c_positive = Some(-1);
    let err = repo.insert(bad).await.unwrap_err();
    assert_eq!(err.sqlstate().as_deref(), Some("23514"), "{err}");

    // Enum labels are kept exactly, including ones that are not identifiers.
    let labels: Vec<String> =
        ormkit::sqlx::query_scalar("SELECT unnest(enum_range(NULL::\"Odd Enum\"))::text")
            .fetch_all(&pool)
            .await?;
    let ours: Vec<&str> = OddEnum::ALL.iter().map(OddEnum::as_str).collect();
    assert_eq!(labels, ours);
    for variant in OddEnum::ALL {
        let back: OddEnum = ormkit::sqlx::query_scalar("SELECT $1")
            .bind(*variant)
            .fetch_one(&pool)
            .await?;
        assert_eq!(back, *variant);
    }
    Ok(())
}

#[tokio::test]
async fn the_time_crate_mapping_round_trips() -> anyhow::Result<()> {
    use ormkit::time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};
    use ormkit_tests::entities_time::{AllType as TimeRow, NewAllType as NewTimeRow};
    let db = TestDb::new().await?;
    let repo = Repository::<TimeRow>::new(&db.pool);
    let day = Date::from_calendar_date(2024, Month::February, 29)?;
    let ts = PrimitiveDateTime::new(day, Time::from_hms(12, 30, 45)?).assume_utc();
    let mut row = NewTimeRow::new("t@example.com".into());
    row.c_timestamptz = Some(ts);
    row.c_timestamp = Some(PrimitiveDateTime::new(day, Time::MIDNIGHT));
    row.c_date = Some(day);
    row.c_time = Some(Time::from_hms(23, 59, 58)?);
    row.c_timetz = Some(PgTimeTz {
        time: Time::from_hms(8, 0, 0)?,
        offset: UtcOffset::from_hms(1, 0, 0)?,
    });
    row.c_tstzrange = Some(PgRange {
        start: Bound::Included(ts),
        end: Bound::Unbounded,
    });
    row.c_daterange = Some(PgRange {
        start: Bound::Included(day),
        end: Bound::Excluded(day.next_day().unwrap()),
    });
    let stored = repo.insert(row.clone()).await?;
    assert_eq!(stored.c_timestamptz, row.c_timestamptz);
    assert_eq!(stored.c_timestamp, row.c_timestamp);
    assert_eq!(stored.c_date, row.c_date);
    assert_eq!(stored.c_time, row.c_time);
    assert_eq!(stored.c_timetz, row.c_timetz);
    assert_eq!(stored.c_tstzrange, row.c_tstzrange);
    assert_eq!(stored.c_daterange, row.c_daterange);
    assert_eq!(repo.find_by_id(stored.id).await?, Some(stored));
    Ok(())
}

#[tokio::test]
async fn serde_derives_serialize_rows_that_came_from_the_database() -> anyhow::Result<()> {
    use ormkit_tests::entities_time::{Mood as TimeMood, NewUser as NewTimeUser, User as TimeUser};
    let db = TestDb::new().await?;
    let mut new = NewTimeUser::new("serde@example.com".into());
    new.mood = Some(TimeMood::SoSo);
    let user = Repository::<TimeUser>::new(&db.pool).insert(new).await?;
    let json = ormkit::serde_json::to_value(&user)?;
    assert_eq!(json["mood"], "so-so", "enum labels serialize exactly");
    assert_eq!(json["email"], "serde@example.com");
    assert_eq!(
        json["id"],
        user.id.into_inner(),
        "typed ids serialize as their value"
    );
    let back: TimeUser = ormkit::serde_json::from_value(json)?;
    assert_eq!(back, user);
    Ok(())
}

/// The bulk `INSERT … SELECT * FROM unnest(…)` path carries every scalar type (each column
/// becomes a typed array parameter) and loses nothing: not the `char(3)` padding, not a
/// domain's type, not an enum or a composite.
#[ormkit::test]
async fn every_scalar_type_round_trips_through_unnest(pool: PgPool) -> anyhow::Result<()> {
    let mut full = full_row();
    // Array columns take the multi-row VALUES path; this test is about unnest.
    full.c_int4_array = None;
    full.c_text_array = None;
    full.c_uuid_array = None;
    full.c_mood_array = None;
    full.c_address_array = None;
    let mut short = full.clone();
    short.c_email = "other@example.com".into();
    short.c_bpchar = Some("a".into());
    let exec = ormkit::ParallelExecutor::new(&pool, 1);
    let (stored, statements) = ormkit::count_statements(
        exec.bulk_insert_returning::<AllType>(vec![full.clone(), short.clone()]),
    )
    .await;
    let stored = stored?;
    assert_eq!(statements, 1, "one unnest statement");
    assert_eq!(stored[0], expected(&full, &stored[0]));
    assert_eq!(
        stored[1].c_bpchar.as_deref(),
        Some("a  "),
        "char(3) pads, never truncates"
    );
    let read = Repository::<AllType>::new(&pool)
        .find_by_id(stored[0].id)
        .await?;
    assert_eq!(read.as_ref(), Some(&stored[0]));
    Ok(())
}
