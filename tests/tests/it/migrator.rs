//! The Migrator on the embedded migrations, from a spawned task (its futures are `Send`).

use ormkit::Migrator;
use ormkit_build_support::{ScratchDatabase, ScratchPlan};
use ormkit_tests::entities;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_migrations_apply_from_a_spawned_task() -> anyhow::Result<()> {
    let scratch = ScratchDatabase::start(&ScratchPlan::from_env())?
        .ok_or_else(|| anyhow::anyhow!("tests need PostgreSQL"))?;
    let pool = ormkit::sqlx::PgPool::connect(scratch.url()).await?;
    let migrator = Migrator::new(&pool, entities::MIGRATIONS);
    let report = tokio::spawn(async move { migrator.migrate_up().await }).await??;
    assert_eq!(report.steps.len(), entities::MIGRATIONS.len());
    let status = Migrator::new(&pool, entities::MIGRATIONS).status().await?;
    assert!(status.is_up_to_date(), "{status}");
    let report = ormkit::SchemaValidator::new(&pool)
        .validate_lock(entities::SCHEMA_LOCK)
        .await?;
    assert!(report.is_ok(), "{report}");

    // The generated entities' metadata, enum labels included, matches the database…
    let validator = ormkit::SchemaValidator::new(&pool);
    let report = validator.validate_all(entities::ENTITIES).await?;
    assert!(report.findings.is_empty(), "{report}");
    // …until a label is added behind the code's back.
    ormkit::sqlx::query("ALTER TYPE analytics.event_kind ADD VALUE 'refund'")
        .execute(&pool)
        .await?;
    let report = validator
        .validate_entity::<entities::analytics::Event>()
        .await?;
    let lines: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "enum analytics.event_kind: labels are ['view', 'click', 'purchase', 'refund'], \
          expected ['view', 'click', 'purchase']"
        ]
    );
    pool.close().await;
    Ok(())
}
