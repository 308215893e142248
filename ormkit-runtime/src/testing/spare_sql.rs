//! The statements behind spare databases (see [`super::spares`]): claiming one by renaming
//! it, discarding a passed test's database, making one more spare, dropping trash and stale
//! spares. Each runs on the background thread's own connections.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Connection as _, Executor as _, PgConnection};

use super::server::{close, drop_database, Server};
use ormkit_schema::quote_ident;

/// Spares of other templates older than this are dropped.
const STALE_AFTER: Duration = Duration::from_secs(3600);

const SPARE: &str = "ormkit_spare_";
const TRASH: &str = "ormkit_trash_";

/// `ormkit_spare_<digest>_` for `template` (`ormkit_tpl_<digest>`).
fn prefix(template: &str) -> String {
    let digest = template.strip_prefix("ormkit_tpl_").unwrap_or(template);
    format!("{SPARE}{digest}_")
}

/// `text` as a SQL string literal.
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Renames a spare of `template` to `name` (with `comment` on it); whether there was one.
pub(crate) async fn claim(
    admin: &mut PgConnection,
    template: &str,
    name: &str,
    comment: &str,
) -> Result<bool, String> {
    let spares: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database
         WHERE starts_with(datname, $1) AND NOT datistemplate ORDER BY datname LIMIT 8",
    )
    .bind(prefix(template))
    .fetch_all(&mut *admin)
    .await
    .map_err(|err| format!("looking for spare databases: {err}"))?;
    for spare in spares {
        // One implicit transaction: the rename and the comment commit together.
        let sql = format!(
            "ALTER DATABASE {spare} RENAME TO {name}; COMMENT ON DATABASE {name} IS {comment}",
            spare = quote_ident(&spare),
            name = quote_ident(name),
            comment = literal(comment),
        );
        match admin.execute(&*sql).await {
            Ok(_) => return Ok(true),
            // Claimed by another process meanwhile (gone, or being renamed).
            Err(sqlx::Error::Database(db))
                if matches!(db.code().as_deref(), Some("3D000" | "55006" | "40001")) => {}
            Err(err) => return Err(format!("claiming spare database {spare}: {err}")),
        }
    }
    Ok(false)
}

/// Renames a passed test's database `name` to trash, to be dropped later; drops it at once
/// when it cannot be renamed (a session still on it).
pub(crate) async fn discard(admin: &mut PgConnection, name: &str) -> Result<(), String> {
    let suffix = name.strip_prefix("ormkit_test_").unwrap_or(name);
    let trash = format!("{TRASH}{suffix}");
    // The test's pool has closed its connections, but their backends may still be exiting:
    // a rename would wait for them in steps of 100 ms. Wait here in steps of 1 ms (20 at most).
    for _ in 0..20 {
        let busy: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = $1)")
                .bind(name)
                .fetch_one(&mut *admin)
                .await
                .map_err(|err| format!("discarding {name}: {err}"))?;
        if !busy {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let renamed = admin
        .execute(&*format!(
            "ALTER DATABASE {} RENAME TO {}",
            quote_ident(name),
            quote_ident(&trash)
        ))
        .await;
    match renamed {
        Ok(_) => Ok(()),
        Err(_) => drop_database(admin, name).await,
    }
}

/// Creates one missing spare of the first template in `templates` that has fewer than
/// `spares`, else drops one trash database; whether it did anything.
pub(crate) async fn step(
    admin: &mut PgConnection,
    server: &Server,
    templates: &[String],
    spares: usize,
) -> Result<bool, String> {
    let sql = |err: sqlx::Error| err.to_string();
    for template in templates {
        let prefix = prefix(template);
        let have: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)")
                .bind(&prefix)
                .fetch_one(&mut *admin)
                .await
                .map_err(sql)?;
        if usize::try_from(have).unwrap_or(0) < spares {
            let name = spare_name(&prefix);
            admin
                .execute(&*format!(
                    "CREATE DATABASE {} TEMPLATE {}",
                    quote_ident(&name),
                    quote_ident(template)
                ))
                .await
                .map_err(|err| format!("creating spare {name} from {template}: {err}"))?;
            // The first session of a new database builds its relation cache file (≈4 ms):
            // done here, not by the test that claims it.
            let warm = server.database(&name);
            if let Ok(conn) = PgConnection::connect_with(&warm).await {
                close(conn).await;
            }
            return Ok(true);
        }
    }
    let trash: Option<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1) LIMIT 1",
    )
    .bind(TRASH)
    .fetch_optional(&mut *admin)
    .await
    .map_err(sql)?;
    match trash {
        Some(name) => drop_database(admin, &name).await.map(|()| true),
        None => Ok(false),
    }
}

/// `<prefix><unix secs>_<pid>_<n>`: unique, and dated for [`sweep_stale`].
fn spare_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}{}_{}_{}",
        unix_secs(SystemTime::now()),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn unix_secs(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Drops the spares of templates other than `templates` made more than an hour ago.
pub(crate) async fn sweep_stale(
    admin: &mut PgConnection,
    templates: &[String],
) -> Result<(), String> {
    let keep: Vec<String> = templates.iter().map(|t| prefix(t)).collect();
    let spares: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)")
            .bind(SPARE)
            .fetch_all(&mut *admin)
            .await
            .map_err(|err| err.to_string())?;
    let cutoff = unix_secs(SystemTime::now()).saturating_sub(STALE_AFTER.as_secs());
    for spare in spares {
        if keep.iter().any(|k| spare.starts_with(k.as_str())) {
            continue;
        }
        // `ormkit_spare_<digest>_<secs>_<pid>_<n>`
        let made = spare[SPARE.len()..]
            .split('_')
            .nth(1)
            .and_then(|secs| secs.parse::<u64>().ok());
        if made.is_some_and(|made| made < cutoff) {
            drop_database(admin, &spare).await?;
        }
    }
    Ok(())
}
