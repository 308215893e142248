//! `validate_lock`: the live catalog against the committed schema.lock.

use ormkit::validate::{Finding, SchemaValidator, Severity, ValidationError};

use crate::support::*;

#[tokio::test]
async fn a_freshly_migrated_database_matches_the_lock() {
    let db = crate::migrated().await;
    let report = SchemaValidator::new(&db.pool)
        .validate_lock(&reference_lock_text())
        .await
        .unwrap();
    assert!(report.findings.is_empty(), "{report}");
    assert_eq!(
        report.to_string(),
        "the database matches the expected schema"
    );
    assert!(report.into_result().is_ok());
}

#[tokio::test]
async fn every_difference_is_reported_with_its_kind_and_severity() {
    let db = crate::migrated().await;
    db.exec(
        r#"
        DROP TABLE audit_log;
        DROP MATERIALIZED VIEW analytics.daily_events;
        ALTER TABLE posts DROP COLUMN published_at;
        ALTER TABLE posts ALTER COLUMN body DROP NOT NULL;
        ALTER TABLE memberships ALTER COLUMN role TYPE varchar(20);
        ALTER TABLE membership_events DROP CONSTRAINT membership_events_pkey,
            ADD PRIMARY KEY (id, org_id);
        ALTER TYPE "Odd Enum" RENAME TO "Even Enum";
        ALTER TYPE address ADD ATTRIBUTE country text;
        ALTER DOMAIN positive_int SET NOT NULL;
        ALTER TABLE users ADD COLUMN nickname text;
        ALTER TABLE users ADD COLUMN tenant int4 NOT NULL DEFAULT 1;
        ALTER TABLE "type" ADD COLUMN required int4 NOT NULL;
        "#,
    )
    .await;
    db.exec("ALTER TYPE mood ADD VALUE 'angry' BEFORE 'sad'")
        .await;

    let report = SchemaValidator::new(&db.pool)
        .validate_lock(&reference_lock_text())
        .await
        .unwrap();
    let expected = r#"error: enum public."Odd Enum" not found
error: enum public.mood: labels are ['happy', 'angry', 'sad', 'so-so', 'Very Happy'], expected ['happy', 'sad', 'so-so', 'Very Happy']
error: type public.positive_int is int4 NOT NULL, expected int4
error: type public.address is (street text, city text, zip varchar, country text), expected (street text, city text, zip varchar)
error: analytics.daily_events: table not found
error: public.all_types: column "c_positive" is NOT NULL, expected nullable
error: public.audit_log: table not found
error: public.membership_events: primary key is (id, org_id), expected (id)
error: public.memberships: column "role" has type varchar, expected text
error: public.posts: column "body" is nullable, expected NOT NULL
error: public.posts: column "published_at" not found
error: public.type: column "fn" has type public."Even Enum", expected public."Odd Enum"
error: public.type: column "required" (int4) is not known to the code; it is NOT NULL without a default, so inserts fail
error: public.users: column "karma" is NOT NULL, expected nullable
warning: public.users: column "nickname" (text) is not known to the code
warning: public.users: column "tenant" (int4) is not known to the code
14 error(s), 2 warning(s)"#;
    assert_eq!(report.to_string(), expected);

    // Each kind the documentation names is there, with its data.
    let has = |pred: &dyn Fn(&Finding) -> bool| report.findings.iter().any(pred);
    assert!(has(
        &|f| matches!(f, Finding::TableNotFound { table } if table.name == "audit_log")
    ));
    assert!(has(
        &|f| matches!(f, Finding::ColumnNotFound { column, .. } if column == "published_at")
    ));
    assert!(has(
        &|f| matches!(f, Finding::TypeMismatch { expected, actual, .. }
        if expected == "text" && actual == "varchar")
    ));
    assert!(has(&|f| matches!(
        f,
        Finding::NullabilityMismatch {
            expected_nullable: false,
            actual_nullable: true,
            ..
        }
    )));
    assert!(has(
        &|f| matches!(f, Finding::PrimaryKeyMismatch { actual, .. } if actual.len() == 2)
    ));
    assert!(has(
        &|f| matches!(f, Finding::EnumLabelsMismatch { actual, .. } if actual.len() == 5)
    ));
    assert!(has(
        &|f| matches!(f, Finding::MissingColumnInEntity { column, .. } if column == "nickname")
            && f.severity() == Severity::Warning
    ));

    let err = report.into_result().unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("the database does not match the schema the code was built for: enum public.\"Odd Enum\" not found; "), "{text}");
    assert!(text.ends_with(" (and 2 warning(s))"), "{text}");
    assert!(!text.contains('\n'), "one paragraph: {text}");
    assert!(matches!(err, ValidationError::Drift(report) if report.errors().count() == 14));
}

#[tokio::test]
async fn warnings_alone_pass_and_an_invalid_lock_is_an_error() {
    let db = crate::migrated().await;
    db.exec("ALTER TABLE posts ADD COLUMN subtitle text; ALTER TABLE users ADD COLUMN n serial")
        .await;
    let validator = SchemaValidator::new(&db.pool);
    let report = validator
        .validate_lock(&reference_lock_text())
        .await
        .unwrap();
    assert_eq!(report.warnings().count(), 2, "{report}");
    assert!(report.is_ok());
    assert!(report.into_result().is_ok());

    let edited = reference_lock_text().replace("\"int8\"", "\"int4\"");
    let err = validator.validate_lock(&edited).await.unwrap_err();
    assert!(matches!(err, ValidationError::Lock(_)), "{err:?}");
    assert!(
        err.to_string().contains("does not match its fingerprint"),
        "{err}"
    );
}
