//! Types without a binary mapping (`tsvector`, `xml`, `bit`, `macaddr`, …, and any type given
//! a `String` override, here an `int4range` column): read as text, written as text cast to
//! their type,
//! through every kind of statement. And `citext`: compared case-insensitively, as in SQL.

use ormkit::sqlx::PgPool;
use ormkit::{EntityCache, InvalidationStrategy, ParallelExecutor, Repository};
use ormkit_tests::entities::*;

fn document(i: usize) -> NewDocument {
    let mut doc = NewDocument::new(format!("'fat':{i} 'cat':2"));
    doc.query = Some("fat & cat".into());
    doc.markup = Some(format!("<p>{i}</p>"));
    doc.flags = Some("1010".into());
    doc.bits = Some("110".into());
    doc.mac = Some("08:00:2b:01:02:03".into());
    doc.span = Some("[1,10)".into());
    doc
}

#[ormkit::test]
async fn text_form_columns_round_trip_through_every_statement(pool: PgPool) -> anyhow::Result<()> {
    let docs = Repository::<Document>::new(&pool);

    // insert … RETURNING, select by key, update, the query builder.
    let stored = docs.insert(document(1)).await?;
    assert_eq!(stored.body, "'cat':2 'fat':1", "PostgreSQL's own text form");
    assert_eq!(stored.query.as_deref(), Some("'fat' & 'cat'"));
    assert_eq!(stored.markup.as_deref(), Some("<p>1</p>"));
    assert_eq!(stored.flags.as_deref(), Some("1010"));
    assert_eq!(stored.bits.as_deref(), Some("110"));
    assert_eq!(stored.mac.as_deref(), Some("08:00:2b:01:02:03"));
    assert_eq!(stored.span.as_deref(), Some("[1,10)"));
    assert_eq!(docs.get(stored.id).await?, stored);
    let mut patch = DocumentPatch::new(stored.id);
    patch.body = Some("'dog':1".into());
    patch.flags = Some(Some("0001".into()));
    let updated = docs.update(patch).await?.expect("exists");
    assert_eq!(
        (updated.body.as_str(), updated.flags.as_deref()),
        ("'dog':1", Some("0001"))
    );
    let found = Document::query()
        .filter(documents::MAC.eq(Some("08:00:2b:01:02:03")))
        .filter(documents::SPAN.eq(Some("[1,10)")))
        .fetch_all(&pool)
        .await?;
    assert_eq!(found, vec![updated.clone()]);
    let bodies = Document::query()
        .select((documents::BODY,))
        .fetch_all(&pool)
        .await?;
    assert_eq!(bodies, vec![("'dog':1".to_owned(),)]);

    // COPY (which cannot take text for these types: the executor sends them through unnest)
    // and unnest … RETURNING.
    let exec = ParallelExecutor::new(&pool, 2);
    assert_eq!(
        exec.bulk_insert::<Document>((2..50).map(document).collect())
            .await?,
        48
    );
    let returned = exec
        .bulk_insert_returning::<Document>((50..60).map(document).collect())
        .await?;
    assert_eq!(returned[3].markup.as_deref(), Some("<p>53</p>"));
    assert_eq!(docs.count().await?, 59);
    let fetched = exec
        .bulk_fetch_by_id::<Document>(returned.iter().map(|d| d.id).collect())
        .await?;
    assert!(fetched.missing.is_empty());
    assert_eq!(fetched.rows[3].as_ref(), Some(&returned[3]));

    // Through the cache.
    let cache = EntityCache::builder()
        .strategy(InvalidationStrategy::strong().heartbeat(None))
        .application_name("ormkit_it_text_form")
        .entity::<Document>()
        .build(&pool)
        .await?;
    let cached = cache.repository::<Document>(&pool);
    assert_eq!(cached.get(returned[0].id).await?, returned[0]);
    assert_eq!(cached.get(returned[0].id).await?, returned[0]);
    Ok(())
}

#[ormkit::test]
async fn citext_compares_case_insensitively_as_in_sql(pool: PgPool) -> anyhow::Result<()> {
    let ada = Repository::<User>::new(&pool)
        .insert(NewUser::new("Ada@Example.com".into()))
        .await?;
    for probe in ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@Example.com"] {
        let found = User::query()
            .filter(users::EMAIL.eq(probe))
            .fetch_all(&pool)
            .await?;
        assert_eq!(found, vec![ada.clone()], "{probe}");
        let listed = User::query()
            .filter(users::EMAIL.is_in([probe]))
            .count(&pool)
            .await?;
        assert_eq!(listed, 1, "{probe}");
    }
    let like = User::query()
        .filter(users::EMAIL.like("ada@%"))
        .count(&pool)
        .await?;
    assert_eq!(like, 1, "LIKE on citext ignores case too");
    let unique = Repository::<User>::new(&pool)
        .insert(NewUser::new("ADA@EXAMPLE.COM".into()))
        .await
        .unwrap_err();
    assert_eq!(unique.sqlstate().as_deref(), Some("23505"), "{unique}");
    Ok(())
}

#[ormkit::test]
async fn eager_loading_matches_on_text_form_keys_and_reads_text_form_rows(
    pool: PgPool,
) -> anyhow::Result<()> {
    let devices = Repository::<Device>::new(&pool);
    // PostgreSQL writes a macaddr in its own form: the key read back is that form.
    let printer = devices
        .insert(NewDevice::new(
            DeviceId::new("08-00-2B-01-02-03".into()),
            "printer".into(),
        ))
        .await?;
    assert_eq!(printer.mac, DeviceId::new("08:00:2b:01:02:03".into()));
    let router = devices
        .insert(NewDevice::new(
            DeviceId::new("0800.2b01.0204".into()),
            "router".into(),
        ))
        .await?;
    let doc = Repository::<Document>::new(&pool)
        .insert(document(7))
        .await?;
    let pings = Repository::<DevicePing>::new(&pool);
    let mut first = NewDevicePing::new(printer.mac.clone());
    first.document_id = Some(doc.id);
    let first = pings.insert(first).await?;
    let second = pings
        .insert(NewDevicePing::new(printer.mac.clone()))
        .await?;
    let all = vec![first.clone(), second.clone()];

    // BelongsTo on the text-form key, and on a key into a table of text-form columns.
    let owners = device_pings::DEVICE.load(&all, &pool).await?;
    assert_eq!(owners, vec![Some(printer.clone()), Some(printer.clone())]);
    let documents = device_pings::DOCUMENT.load(&all, &pool).await?;
    assert_eq!(documents, vec![Some(doc.clone()), None]);
    assert_eq!(
        documents[0].as_ref().map(|d| d.span.as_deref()),
        Some(Some("[1,10)"))
    );

    // HasMany the other way: children matched to parents by the text-form key.
    let children = devices::DEVICE_PINGS
        .load(&[printer.clone(), router.clone()], &pool)
        .await?;
    assert_eq!(children, vec![all, vec![]]);
    // And by key lookup, with the key in another spelling of the same address.
    assert_eq!(
        devices
            .find_by_id(DeviceId::new("08002b010203".into()))
            .await?,
        Some(printer)
    );
    Ok(())
}
