//! The template database: the migrations applied once per set of migrations and server,
//! race-free across threads, test binaries and runs.

use std::collections::BTreeSet;
use std::sync::Mutex;

use sqlx::{Connection as _, Executor as _, PgConnection};

use super::server::{close, drop_database, Server};
use crate::Migration;
use ormkit_schema::migrations::{apply_script, digest};
use ormkit_schema::quote_ident;

/// The template's name for `migrations`: `ormkit_tpl_` and the first 20 hex digits of the
/// digest of their versions and up checksums (another migration, or an edited one, is
/// another template).
pub fn template_name(migrations: &[Migration]) -> String {
    let digest = digest(
        migrations
            .iter()
            .map(|m| (m.version.as_ref(), m.up.checksum.as_ref())),
    );
    format!("ormkit_tpl_{}", &digest[..20])
}

/// The advisory lock key under which templates are built (one key for every template: they
/// are built rarely and quickly).
const BUILD_LOCK: i64 = 0x6f72_6d6b_6974_7470; // "ormkittp"

/// Makes sure the template for `migrations` exists on `server` (asked once per process and
/// template: a template is never dropped while tests run); its name.
pub(crate) async fn ensure(server: &Server, migrations: &[Migration]) -> Result<String, String> {
    static READY: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let name = template_name(migrations);
    if READY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&name)
    {
        return Ok(name);
    }
    let mut admin = server.admin().await?;
    let result = ensure_on(&mut admin, server, migrations, &name).await;
    close(admin).await;
    result?;
    READY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(name.clone());
    Ok(name)
}

async fn ensure_on(
    admin: &mut PgConnection,
    server: &Server,
    migrations: &[Migration],
    name: &str,
) -> Result<(), String> {
    if exists(admin, name).await? {
        return Ok(());
    }
    let sql =
        |err: sqlx::Error| format!("building template {name} on {}: {err}", server.description);
    // Whoever holds the lock builds; the others wait, then find it built.
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(BUILD_LOCK)
        .execute(&mut *admin)
        .await
        .map_err(sql)?;
    let built = build(admin, server, migrations, name).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(BUILD_LOCK)
        .execute(&mut *admin)
        .await
        .map_err(sql);
    built?;
    unlocked.map(drop)
}

async fn exists(admin: &mut PgConnection, name: &str) -> Result<bool, String> {
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)",
    )
    .bind(name)
    .fetch_one(&mut *admin)
    .await
    .map_err(|err| format!("looking for template {name}: {err}"))
}

/// Under the lock: unless another process built it meanwhile, applies the migrations to
/// `<name>_build` and renames it into place, so no one ever clones a half-built template.
async fn build(
    admin: &mut PgConnection,
    server: &Server,
    migrations: &[Migration],
    name: &str,
) -> Result<(), String> {
    if exists(admin, name).await? {
        return Ok(());
    }
    let staging = format!("{name}_build");
    let sql =
        |err: sqlx::Error| format!("building template {name} on {}: {err}", server.description);
    // A build that died halfway left its staging database: start over.
    drop_database(admin, &staging)
        .await
        .map_err(|err| format!("building template {name} on {}: {err}", server.description))?;
    admin
        .execute(&*format!(
            "CREATE DATABASE {} TEMPLATE template0",
            quote_ident(&staging)
        ))
        .await
        .map_err(sql)?;
    let mut conn = PgConnection::connect_with(&server.database(&staging))
        .await
        .map_err(sql)?;
    for migration in migrations {
        if let Err(err) = apply_script(&mut conn, migration, &migration.up).await {
            close(conn).await;
            return Err(format!(
                "the migrations do not apply, so there is no template to test on: {err}"
            ));
        }
    }
    close(conn).await;
    for statement in [
        format!(
            "ALTER DATABASE {} RENAME TO {}",
            quote_ident(&staging),
            quote_ident(name)
        ),
        format!("ALTER DATABASE {} IS_TEMPLATE true", quote_ident(name)),
    ] {
        admin.execute(&*statement).await.map_err(sql)?;
    }
    Ok(())
}
