//! Running migration scripts against PostgreSQL, with errors mapped back to file lines.

use futures::StreamExt as _;
use sqlx::postgres::{PgConnection, PgDatabaseError, PgErrorPosition};
use sqlx::{Connection, Either, Executor as _};

use super::error::{ApplyError, MigrationError};
use super::migration::{Migration, MigrationScript, NO_TRANSACTION_MARKERS};
use super::split::{split_statements, Statement};

/// Applies one script of `migration` (its up or its down script).
///
/// A normal script runs as a whole in its own transaction, which is rolled back if any
/// statement fails, so a failed script leaves no trace. A
/// [`no_transaction`](MigrationScript::no_transaction) script runs statement by statement
/// outside any transaction (see [`execute_script`]); statements before a failing one stay
/// applied.
///
/// # Errors
///
/// [`MigrationError::Apply`] ([`ApplyError`]) when PostgreSQL rejects a statement, with the
/// line of `script` it pointed at; [`MigrationError::Execute`] for other driver errors (lost
/// connection...).
pub async fn apply_script(
    conn: &mut PgConnection,
    migration: &Migration,
    script: &MigrationScript,
) -> Result<(), MigrationError> {
    if script.no_transaction {
        return execute_script(conn, migration, script).await;
    }
    let whole = Statement {
        sql: &script.sql,
        offset: 0,
    };
    let mut tx = conn
        .begin()
        .await
        .map_err(|err| map_error(migration, script, whole, err))?;
    if let Err(err) = execute_script(&mut tx, migration, script).await {
        // The original error matters more than a failed rollback: if the rollback fails
        // the connection is broken and the server discards the transaction anyway.
        let _rollback = tx.rollback().await;
        return Err(err);
    }
    tx.commit()
        .await
        .map_err(|err| map_error(migration, script, whole, err))
}

/// Executes one script of `migration` on `conn` without managing transactions.
///
/// This is the building block for callers that need more statements in the same transaction
/// (e.g. a migrator recording the applied version): begin a transaction, call this with it,
/// run the extra statements, commit. A normal script is sent as one multi-statement query. A
/// [`no_transaction`](MigrationScript::no_transaction) script is split with
/// [`split_statements`](super::split_statements) and each statement is sent on its own, so
/// that statements like `CREATE INDEX CONCURRENTLY` work — provided `conn` is not inside a
/// transaction.
///
/// # Errors
///
/// As [`apply_script`]. When PostgreSQL gives no error position (a unique violation, an
/// object that does not exist, 25001 …), the reported line is the first line of the failing
/// statement: for a script sent whole, the statement after those PostgreSQL reported
/// complete.
pub async fn execute_script(
    conn: &mut PgConnection,
    migration: &Migration,
    script: &MigrationScript,
) -> Result<(), MigrationError> {
    if script.no_transaction {
        return execute_statements(conn, migration, script, 0).await;
    }
    let mut results = (&mut *conn).fetch_many(sqlx::raw_sql(&script.sql));
    let mut completed = 0;
    while let Some(result) = results.next().await {
        match result {
            Ok(Either::Left(_)) => completed += 1,
            Ok(Either::Right(_)) => {}
            Err(err) => {
                let whole = Statement {
                    sql: &script.sql,
                    offset: 0,
                };
                let mut error = map_error(migration, script, whole, err);
                if let MigrationError::Apply(failure) = &mut error {
                    // The statement after the completed ones failed; the splitter finds it,
                    // unless it disagrees with the server about the statements.
                    if let Some(failed) = split_statements(&script.sql).get(completed) {
                        failure.statement = Some(completed + 1);
                        failure.line = failure
                            .line
                            .or(Some(line_column(&script.sql, failed.offset).0));
                    }
                }
                return Err(error);
            }
        }
    }
    Ok(())
}

/// Executes a [`no_transaction`](MigrationScript::no_transaction) script statement by
/// statement, from its `first` statement (0-based, as [`split_statements`] numbers them) on:
/// a caller resuming a script whose statement `first + 1` failed without effect (a lock
/// timeout) runs neither the statements before it again nor anything twice.
///
/// # Errors
///
/// As [`execute_script`]; the error's [`statement`](ApplyError::statement) is the failing
/// statement's 1-based number in the whole script.
pub async fn execute_statements(
    conn: &mut PgConnection,
    migration: &Migration,
    script: &MigrationScript,
    first: usize,
) -> Result<(), MigrationError> {
    let statements = split_statements(&script.sql);
    for (index, statement) in statements.into_iter().enumerate().skip(first) {
        // Through `Executor` on the connection (not `RawSql::execute`), so the future is
        // `Send`.
        let result = (&mut *conn).execute(sqlx::raw_sql(statement.sql)).await;
        if let Err(err) = result {
            let mut error = map_error(migration, script, statement, err);
            if let MigrationError::Apply(failure) = &mut error {
                failure.statement = Some(index + 1);
                failure.line = failure
                    .line
                    .or(Some(line_column(&script.sql, statement.offset).0));
            }
            return Err(error);
        }
    }
    Ok(())
}

/// Turns a driver error raised while running `statement` into a [`MigrationError`].
fn map_error(
    migration: &Migration,
    script: &MigrationScript,
    statement: Statement<'_>,
    err: sqlx::Error,
) -> MigrationError {
    let Some(db_error) = err.as_database_error() else {
        return MigrationError::Execute {
            version: migration.version.to_string(),
            name: migration.name.to_string(),
            file: script.path.as_ref().into(),
            error: err,
        };
    };
    let pg_error = db_error.try_downcast_ref::<PgDatabaseError>();
    let position = pg_error.and_then(|pg| match pg.position() {
        Some(PgErrorPosition::Original(position)) => Some(position),
        _ => None,
    });
    let (line, column) = position
        .map(|position| error_line_column(&script.sql, statement, position))
        .unzip();
    let sqlstate = db_error.code().map(|code| code.into_owned());
    let advice = match sqlstate.as_deref() {
        Some(ACTIVE_SQL_TRANSACTION) if !script.no_transaction => Some(format!(
            "this statement cannot run inside a transaction: make `{}` the first line of {} \
             (Diesel's layout: `run_in_transaction = false` in the migration's metadata.toml) \
             to run the script outside one, statement by statement",
            NO_TRANSACTION_MARKERS[0], script.path
        )),
        _ => None,
    };
    MigrationError::Apply(Box::new(ApplyError {
        version: migration.version.to_string(),
        name: migration.name.to_string(),
        file: script.path.as_ref().into(),
        line,
        column,
        sqlstate,
        message: db_error.message().to_owned(),
        detail: pg_error
            .and_then(PgDatabaseError::detail)
            .map(str::to_owned),
        hint: pg_error.and_then(PgDatabaseError::hint).map(str::to_owned),
        statement: None,
        advice,
    }))
}

/// SQLSTATE 25001: the statement cannot run inside a transaction block.
const ACTIVE_SQL_TRANSACTION: &str = "25001";

/// Maps PostgreSQL's error position — a 1-based *character* offset into the text of
/// `statement` — to a 1-based (line, column) in `script`.
fn error_line_column(script: &str, statement: Statement<'_>, position: usize) -> (u32, u32) {
    let in_statement = statement
        .sql
        .char_indices()
        .nth(position.saturating_sub(1))
        .map_or(statement.sql.len(), |(at, _)| at);
    line_column(script, statement.offset + in_statement)
}

/// The 1-based line and character column of byte `offset` in `script`.
fn line_column(script: &str, offset: usize) -> (u32, u32) {
    // Offsets come from char boundaries of `script`; fall back to the whole text otherwise.
    let before = script.get(..offset).unwrap_or(script);
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (saturate(line), saturate(column))
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_characters_mapped_to_lines() {
        let script = "-- é\nselect 'ü';\nselect nope;\n";
        let offset = script.find("select nope").expect("present");
        let statement = Statement {
            sql: "select nope",
            offset,
        };
        // Character 8 of the statement is the `n` of `nope`.
        assert_eq!(error_line_column(script, statement, 8), (3, 8));
        // Positions into the whole script count characters, not bytes.
        let whole = Statement {
            sql: script,
            offset: 0,
        };
        let nope = script[..offset].chars().count() + 8;
        assert_eq!(error_line_column(script, whole, nope), (3, 8));
        assert_eq!(error_line_column(script, whole, 1), (1, 1));
        // Out-of-range positions point at the end instead of panicking.
        assert_eq!(error_line_column(script, whole, 10_000), (4, 1));
        assert_eq!(line_column(script, usize::MAX), (4, 1));
    }
}
