//! `validate_entity` and `validate_all`: entities' metadata against the live tables.

use ormkit::sqlx::postgres::PgRow;
use ormkit::validate::{Finding, SchemaValidator};
use ormkit::{ColumnMeta, Entity, EntityMeta, EnumMeta, RelationKind};

/// A column's metadata, as generated code writes it.
const fn column(
    name: &'static str,
    sql_type: &'static str,
    nullable: bool,
    key: bool,
) -> ColumnMeta {
    let column = ColumnMeta::new(name, name, sql_type);
    match (nullable, key) {
        (true, true) => column.nullable().key(),
        (true, false) => column.nullable(),
        (false, true) => column.key(),
        (false, false) => column,
    }
}

/// `public.users` as the generated `User` describes it.
struct User;

impl<'r> ormkit::sqlx::FromRow<'r, PgRow> for User {
    fn from_row(_row: &'r PgRow) -> Result<Self, ormkit::sqlx::Error> {
        Ok(User)
    }
}

impl Entity for User {
    fn read_at(
        _row: &PgRow,
        _at: &mut ormkit::__private::Position,
    ) -> Result<Self, ormkit::sqlx::Error> {
        Ok(User)
    }

    const META: &'static EntityMeta = &EntityMeta {
        schema: "public",
        name: "users",
        kind: RelationKind::Table,
        columns: &[
            column("id", "int8", false, true),
            column("email", "public.email_address", false, false),
            column("display_name", "text", true, false),
            column("mood", "public.mood", false, false),
            column("past_moods", "public.mood[]", true, false),
            column("home", "public.address", true, false),
            column("karma", "public.positive_int", true, false),
            column("created_at", "timestamptz", false, false),
            column("settings", "jsonb", false, false),
        ],
        primary_key: &["id"],
        foreign_keys: &[],
        comment: None,
        enums: &[&EnumMeta {
            schema: "public",
            name: "mood",
            labels: &["happy", "sad", "so-so", "Very Happy"],
        }],
    };
}

/// An entity whose table was never created.
const GHOST: EntityMeta = EntityMeta {
    schema: "analytics",
    name: "ghosts",
    kind: RelationKind::Table,
    columns: &[],
    primary_key: &[],
    foreign_keys: &[],
    comment: None,
    enums: &[],
};

#[tokio::test]
async fn an_entity_matching_its_table_has_no_findings() {
    let db = crate::migrated().await;
    let report = SchemaValidator::new(&db.pool)
        .validate_entity::<User>()
        .await
        .unwrap();
    assert!(report.findings.is_empty(), "{report}");
}

#[tokio::test]
async fn entity_drift_is_reported_column_by_column() {
    let db = crate::migrated().await;
    db.exec(
        "ALTER TABLE users DROP COLUMN display_name;
         ALTER TABLE users ALTER COLUMN settings TYPE json;
         ALTER TABLE users ALTER COLUMN created_at DROP NOT NULL;
         ALTER TABLE users ADD COLUMN nickname text;
         ALTER TABLE users DROP CONSTRAINT users_pkey CASCADE;
         ALTER TYPE mood ADD VALUE 'angry' BEFORE 'sad';",
    )
    .await;
    let validator = SchemaValidator::new(&db.pool);
    let report = validator.validate_all(&[User::META, &GHOST]).await.unwrap();
    let lines: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "public.users: column \"display_name\" not found",
            "public.users: column \"created_at\" is nullable, expected NOT NULL",
            "public.users: column \"settings\" has type json, expected jsonb",
            "public.users: primary key is absent, expected (id)",
            "analytics.ghosts: table not found",
            "enum public.mood: labels are ['happy', 'angry', 'sad', 'so-so', 'Very Happy'], \
             expected ['happy', 'sad', 'so-so', 'Very Happy']",
            "public.users: column \"nickname\" (text) is not known to the code",
        ]
    );
    assert!(matches!(report.findings[4], Finding::TableNotFound { .. }));
    assert!(matches!(
        report.findings[5],
        Finding::EnumLabelsMismatch { .. }
    ));
    assert_eq!(report.errors().count(), 6);
    assert!(!report.is_ok());
}
