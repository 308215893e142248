//! The single-stream insert workloads, shared by the criterion bench and the `copy_pairs`
//! example: 100 000 `audit_log` rows and 100 000 `users` rows, through tokio-postgres's
//! binary COPY writer (rows borrowed, as its API takes them) and as ormkit insert models.

use chrono::{DateTime, Utc};
use futures::pin_mut;
use ormkit_tests::entities::{Address, Mood, NewAuditLog, NewUser};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

/// `mood` for tokio-postgres.
#[derive(Debug, Clone, Copy, postgres_types::ToSql)]
#[postgres(name = "mood")]
enum PgMood {
    #[postgres(name = "happy")]
    Happy,
    #[postgres(name = "sad")]
    Sad,
    // tokio-postgres accepts an enum only with all its labels.
    #[postgres(name = "so-so")]
    #[allow(dead_code)]
    SoSo,
    #[postgres(name = "Very Happy")]
    #[allow(dead_code)]
    VeryHappy,
}

/// `address` for tokio-postgres.
#[derive(Debug, Clone, postgres_types::ToSql)]
#[postgres(name = "address")]
struct PgAddress {
    street: Option<String>,
    city: Option<String>,
    zip: Option<String>,
}

/// What every row of a workload is made of.
#[derive(Debug, Clone)]
pub struct Workload {
    /// `audit_log.message` / `users.email`, one per row.
    pub texts: Vec<String>,
    /// Every row's timestamp.
    pub at: DateTime<Utc>,
    /// Every user's `settings`.
    pub settings: serde_json::Value,
}

impl Workload {
    /// `rows` audit messages (`event number {i} happened`).
    pub fn audit(rows: usize) -> Self {
        Self::new((0..rows).map(|i| format!("event number {i} happened")))
    }

    /// `rows` user emails (`user{i}@example.com`).
    pub fn users(rows: usize) -> Self {
        Self::new((0..rows).map(|i| format!("user{i}@example.com")))
    }

    fn new(texts: impl Iterator<Item = String>) -> Self {
        Workload {
            texts: texts.collect(),
            at: Utc::now(),
            settings: serde_json::json!({"theme": "dark", "n": 1}),
        }
    }

    /// The audit rows as ormkit insert models.
    pub fn new_audit_logs(&self) -> Vec<NewAuditLog> {
        self.texts
            .iter()
            .map(|m| NewAuditLog {
                at: Some(self.at),
                message: m.clone(),
            })
            .collect()
    }

    /// The users as ormkit insert models (every column the tokio-postgres COPY writes).
    pub fn new_users(&self) -> Vec<NewUser> {
        self.texts
            .iter()
            .enumerate()
            .map(|(i, email)| {
                let mut u = NewUser::new(email.clone());
                u.display_name = Some("A user".into());
                u.mood = Some(if i % 2 == 0 { Mood::Happy } else { Mood::Sad });
                u.past_moods = Some(vec![Some(Mood::Happy), Some(Mood::Sad)]);
                u.home = Some(Address {
                    street: Some("1 Main St".into()),
                    city: Some("Springfield".into()),
                    zip: None,
                });
                u.karma = Some((i % 10 + 1) as i32);
                u.created_at = Some(self.at);
                u.settings = Some(self.settings.clone());
                u
            })
            .collect()
    }

    /// The audit rows through tokio-postgres's binary COPY writer; the rows written.
    pub async fn copy_audit(&self, client: &tokio_postgres::Client) -> u64 {
        let sink = client
            .copy_in("COPY audit_log (at, message) FROM STDIN (FORMAT binary)")
            .await
            .unwrap();
        let writer = BinaryCopyInWriter::new(sink, &[Type::TIMESTAMPTZ, Type::TEXT]);
        pin_mut!(writer);
        for message in &self.texts {
            writer.as_mut().write(&[&self.at, message]).await.unwrap();
        }
        writer.finish().await.unwrap()
    }

    /// The users through tokio-postgres's binary COPY writer (`types` from [`user_types`]);
    /// the rows written.
    pub async fn copy_users(&self, client: &tokio_postgres::Client, types: &[Type]) -> u64 {
        let sink = client
            .copy_in(
                "COPY users (email, display_name, mood, past_moods, home, karma, created_at, settings) \
                 FROM STDIN (FORMAT binary)",
            )
            .await
            .unwrap();
        let writer = BinaryCopyInWriter::new(sink, types);
        pin_mut!(writer);
        let moods = vec![PgMood::Happy, PgMood::Sad];
        for (i, email) in self.texts.iter().enumerate() {
            let home = PgAddress {
                street: Some("1 Main St".into()),
                city: Some("Springfield".into()),
                zip: None,
            };
            let mood = if i % 2 == 0 {
                PgMood::Happy
            } else {
                PgMood::Sad
            };
            let name = "A user";
            let karma = (i % 10 + 1) as i32;
            writer
                .as_mut()
                .write(&[
                    email,
                    &name,
                    &mood,
                    &moods,
                    &home,
                    &karma,
                    &self.at,
                    &self.settings,
                ])
                .await
                .unwrap();
        }
        writer.finish().await.unwrap()
    }
}

/// The types of the users COPY's columns for tokio-postgres: the enum, enum array and
/// composite with their OIDs; the domains travel as their base types.
pub async fn user_types(client: &tokio_postgres::Client) -> Vec<Type> {
    let probe = client
        .prepare("SELECT $1::mood, $2::mood[], $3::address")
        .await
        .unwrap();
    let p = probe.params();
    vec![
        Type::TEXT,
        Type::TEXT,
        p[0].clone(),
        p[1].clone(),
        p[2].clone(),
        Type::INT4,
        Type::TIMESTAMPTZ,
        Type::JSONB,
    ]
}
