//! Relations over every kind of key — uuid, text, an enum, a composite (uuid, int4) — bound
//! as typed arrays and loaded eagerly, one statement per level.

use ormkit::sqlx::PgPool;
use ormkit::{count_statements, HasPrimaryKey as _, Repository};
use ormkit_tests::entities::*;

#[ormkit::test]
async fn uuid_text_and_enum_keys_load_both_ways_in_one_statement(
    pool: PgPool,
) -> anyhow::Result<()> {
    let pool = &pool;

    // uuid: teams ← players (a nullable foreign key).
    let teams = Repository::<Team>::new(pool)
        .insert_many(["Reds", "Blues"].map(|n| NewTeam::new(n.into())))
        .await?;
    let mut news: Vec<NewPlayer> = (0..5).map(|i| NewPlayer::new(format!("p{i}"))).collect();
    for (i, p) in news.iter_mut().enumerate().take(4) {
        p.team_id = Some(teams[i % 2].id);
    }
    let players = Repository::<Player>::new(pool).insert_many(news).await?;
    let (loaded, n) = count_statements(teams::PLAYERS.load(&teams, pool)).await;
    let loaded = loaded?;
    assert_eq!(n, 1);
    assert_eq!(loaded[0].len(), 2);
    assert_eq!(loaded[1].len(), 2);
    assert!(loaded[0].iter().all(|p| p.team_id == Some(teams[0].id)));
    let (back, n) = count_statements(players::TEAM.load(&players, pool)).await;
    let back = back?;
    assert_eq!(n, 1);
    assert_eq!(back[4], None, "a NULL foreign key references nothing");
    assert_eq!(back[1].as_ref(), Some(&teams[1]));

    // text: countries ← cities.
    let countries = Repository::<Country>::new(pool)
        .insert_many(
            [("fr", "France"), ("jp", "Japan"), ("ch", "Switzerland")]
                .map(|(c, n)| NewCountry::new(CountryId::new(c.into()), n.into())),
        )
        .await?;
    let cities = Repository::<City>::new(pool)
        .insert_many(
            [("fr", "Paris"), ("fr", "Lyon"), ("jp", "Kyoto")]
                .map(|(c, n)| NewCity::new(CountryId::new(c.into()), n.into())),
        )
        .await?;
    let (by_country, n) = count_statements(countries::CITIES.load(&countries, pool)).await;
    let by_country = by_country?;
    assert_eq!(n, 1);
    let names: Vec<Vec<&str>> = by_country
        .iter()
        .map(|cs| cs.iter().map(|c| c.name.as_str()).collect())
        .collect();
    assert_eq!(names, vec![vec!["Paris", "Lyon"], vec!["Kyoto"], vec![]]);
    let owners = cities::COUNTRY.load(&cities, pool).await?;
    assert_eq!(owners[2].as_ref().map(|c| c.name.as_str()), Some("Japan"));

    // An enum: mood_notes ← diary_entries, bound as an array of the enum type.
    let notes = Repository::<MoodNote>::new(pool)
        .insert_many(
            [Mood::Happy, Mood::VeryHappy, Mood::Sad]
                .map(|m| NewMoodNote::new(MoodNoteId::new(m), format!("about {m}"))),
        )
        .await?;
    Repository::<DiaryEntry>::new(pool)
        .insert_many(
            [Mood::VeryHappy, Mood::VeryHappy, Mood::Sad]
                .map(|m| NewDiaryEntry::new(MoodNoteId::new(m), "today".into())),
        )
        .await?;
    let (entries, n) = count_statements(mood_notes::DIARY_ENTRIES.load(&notes, pool)).await;
    let entries = entries?;
    assert_eq!(n, 1);
    assert_eq!(entries.iter().map(Vec::len).collect::<Vec<_>>(), [0, 2, 1]);
    let back = diary_entries::MOOD_NOTE.load(&entries[1], pool).await?;
    assert!(back.iter().all(|n| n.as_ref() == Some(&notes[1])));
    Ok(())
}

#[ormkit::test]
async fn a_composite_uuid_and_int_key_loads_both_ways_in_one_statement(
    pool: PgPool,
) -> anyhow::Result<()> {
    let pool = &pool;
    let team = Repository::<Team>::new(pool)
        .insert(NewTeam::new("Greens".into()))
        .await?;
    let seasons = Repository::<Season>::new(pool)
        .insert_many([2023, 2024].map(|y| NewSeason::new(team.id, y)))
        .await?;
    let mut news: Vec<NewMatch> = (0..5)
        .map(|_| NewMatch::new(team.id.into_inner()))
        .collect();
    for (i, m) in news.iter_mut().enumerate().take(4) {
        m.year = Some(2023 + (i as i32 % 2));
        m.score = Some(i as i32);
    }
    let matches = Repository::<Match>::new(pool).insert_many(news).await?;

    // The typed accessor: the referenced key, `None` while a part of it is NULL.
    assert_eq!(matches[0].season_key(), Some((team.id, 2023)));
    assert_eq!(matches[4].season_key(), None);
    assert_eq!(matches[1].season_key(), Some(seasons[1].id()));

    let (by_season, n) = count_statements(seasons::MATCHES.load(&seasons, pool)).await;
    let by_season = by_season?;
    assert_eq!(n, 1, "one statement: (team_id, year) IN unnest($1, $2)");
    let scores: Vec<Vec<Option<i32>>> = by_season
        .iter()
        .map(|ms| ms.iter().map(|m| m.score).collect())
        .collect();
    assert_eq!(scores, vec![vec![Some(0), Some(2)], vec![Some(1), Some(3)]]);
    let (back, n) = count_statements(matches::SEASON.load(&matches, pool)).await;
    let back = back?;
    assert_eq!(n, 1);
    assert_eq!(back[0].as_ref(), Some(&seasons[0]));
    assert_eq!(back[3].as_ref(), Some(&seasons[1]));
    assert_eq!(
        back[4], None,
        "a partly NULL composite key references nothing"
    );
    Ok(())
}
