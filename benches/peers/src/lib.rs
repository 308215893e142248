//! The peers' view of the reference schema's `posts` and `audit_log` tables: a sea-orm entity
//! and a diesel schema for each, and the rows every peer reads (all columns fully decoded).
//!
//! `posts` has only types that every peer maps out of the box (int8, varchar, text, text[],
//! int4[], timestamptz); `audit_log` is a timestamptz and a text.

use chrono::{DateTime, Utc};

pub mod copy;

/// A tokio-postgres client on `url`, its connection task spawned on the current runtime.
pub async fn tokio_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// The median, the least and the greatest of `values` (not empty).
pub fn median(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

/// A row of `posts` as the hand-written peers (tokio-postgres, sqlx, diesel) read it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, diesel::Queryable)]
pub struct PostRow {
    /// `id`
    pub id: i64,
    /// `author_id`
    pub author_id: i64,
    /// `parent_id`
    pub parent_id: Option<i64>,
    /// `title`
    pub title: String,
    /// `body`
    pub body: String,
    /// `tags`
    pub tags: Vec<String>,
    /// `scores`
    pub scores: Option<Vec<i32>>,
    /// `slug`
    pub slug: Option<String>,
    /// `published_at`
    pub published_at: Option<DateTime<Utc>>,
}

impl PostRow {
    /// The row from a tokio-postgres row of [`POST_COLUMNS`].
    pub fn from_tokio_postgres(row: &tokio_postgres::Row) -> PostRow {
        PostRow {
            id: row.get(0),
            author_id: row.get(1),
            parent_id: row.get(2),
            title: row.get(3),
            body: row.get(4),
            tags: row.get(5),
            scores: row.get(6),
            slug: row.get(7),
            published_at: row.get(8),
        }
    }
}

/// The columns of `posts`, in [`PostRow`]'s order.
pub const POST_COLUMNS: &str = "\"id\", \"author_id\", \"parent_id\", \"title\", \"body\", \"tags\", \"scores\", \"slug\", \"published_at\"";

/// diesel's schema of the two tables.
pub mod schema {
    diesel::table! {
        /// `public.posts`
        posts (id) {
            /// `id`
            id -> Int8,
            /// `author_id`
            author_id -> Int8,
            /// `parent_id`
            parent_id -> Nullable<Int8>,
            /// `title`
            title -> Varchar,
            /// `body`
            body -> Text,
            /// `tags`
            tags -> Array<Text>,
            /// `scores`
            scores -> Nullable<Array<Int4>>,
            /// `slug`
            slug -> Nullable<Text>,
            /// `published_at`
            published_at -> Nullable<Timestamptz>,
        }
    }

    diesel::table! {
        /// `public.audit_log` (it has no key; diesel's `table!` needs one, and only inserts use it)
        audit_log (at) {
            /// `at`
            at -> Timestamptz,
            /// `message`
            message -> Text,
        }
    }
}

/// A new `audit_log` row for diesel.
#[derive(Debug, diesel::Insertable)]
#[diesel(table_name = schema::audit_log)]
pub struct DieselAudit<'a> {
    /// `at`
    pub at: DateTime<Utc>,
    /// `message`
    pub message: &'a str,
}

/// sea-orm's entity for `posts`.
pub mod sea_post {
    use sea_orm::entity::prelude::*;

    /// A row of `posts`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "posts")]
    pub struct Model {
        /// `id`
        #[sea_orm(primary_key)]
        pub id: i64,
        /// `author_id`
        pub author_id: i64,
        /// `parent_id`
        pub parent_id: Option<i64>,
        /// `title`
        pub title: String,
        /// `body`
        pub body: String,
        /// `tags`
        pub tags: Vec<String>,
        /// `scores`
        pub scores: Option<Vec<i32>>,
        /// `slug`
        pub slug: Option<String>,
        /// `published_at`
        pub published_at: Option<DateTimeUtc>,
    }

    /// No relations are used.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// sea-orm's entity for `audit_log` (no key in the table; `at` stands in, inserts only).
pub mod sea_audit {
    use sea_orm::entity::prelude::*;

    /// A row of `audit_log`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        /// `at`
        #[sea_orm(primary_key, auto_increment = false)]
        pub at: DateTimeUtc,
        /// `message`
        pub message: String,
    }

    /// No relations are used.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
