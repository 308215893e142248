//! The SQL text of statements built per call: inserts, updates, key lists, COPY, unnest.

use super::fixed::{select_expr, sql, EntitySql};
use crate::ident::quote_ident;
use crate::meta::{ColumnMeta, EntityMeta, ForeignKeyMeta};
use std::borrow::Cow;
use std::fmt::Write as _;

/// Parameter `$n` for a value of `column`, cast to the column's type where binding the Rust
/// value alone would not give it (`$1::public.citext`).
pub(crate) fn value(column: &ColumnMeta, n: usize) -> String {
    match column.cast {
        Some(ty) => format!("${n}::{ty}"),
        None => format!("${n}"),
    }
}

/// Parameter `$n` for an array of values of the column `name` of `meta` (a key list for
/// `= ANY` or `unnest`), cast to an array of the column's type where [`value`] casts one
/// (`$1::macaddr[]`: a text array compared with a macaddr column finds no operator, and
/// compared with a citext column compares case-sensitively).
fn array_value(meta: &EntityMeta, name: &str, n: usize) -> String {
    match meta.column(name).and_then(|c| c.cast) {
        Some(ty) => format!("${n}::{ty}[]"),
        None => format!("${n}"),
    }
}

/// `"a" = $first AND "b" = $first+1 …` for the key columns of `meta`.
pub(super) fn key_filter(meta: &EntityMeta, first: usize) -> String {
    let mut sql = String::new();
    for (i, name) in meta.primary_key.iter().enumerate() {
        if i > 0 {
            sql.push_str(" AND ");
        }
        let n = first + i;
        let placeholder = match meta.column(name) {
            Some(column) => value(column, n),
            None => format!("${n}"),
        };
        let _ = write!(sql, "{} = {placeholder}", quote_ident(name));
    }
    sql
}

/// `$first, $first+1, …`, one per column of `columns`, each cast as [`value`] says.
fn placeholders(sql: &mut String, meta: &EntityMeta, columns: &[u16], first: usize) {
    for (i, &c) in columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&value(&meta.columns[usize::from(c)], first + i));
    }
}

/// ` RETURNING <all columns>[, <extra>]`, or ` RETURNING <extra>` without the row.
fn returning(sql: &mut String, e: &EntitySql, row: bool, extra: Option<&str>) {
    match (row, extra) {
        (true, Some(extra)) => {
            let _ = write!(sql, " RETURNING {}, {extra}", e.select_list);
        }
        (true, None) => {
            let _ = write!(sql, " RETURNING {}", e.select_list);
        }
        (false, Some(extra)) => {
            let _ = write!(sql, " RETURNING {extra}");
        }
        (false, None) => {}
    }
}

/// `INSERT INTO t (cols) VALUES ($1, …), (…)<conflict> RETURNING <all>[, <extra>]`, for
/// `rows` rows that all set `columns`; `DEFAULT VALUES` when no column is set (one row).
pub(crate) fn insert(
    meta: &'static EntityMeta,
    columns: &[u16],
    rows: usize,
    conflict: &str,
    extra: Option<&str>,
) -> String {
    let e = sql(meta);
    let mut sql = format!("INSERT INTO {}", e.table);
    if columns.is_empty() {
        sql.push_str(" DEFAULT VALUES");
    } else {
        sql.push_str(" (");
        column_list(&mut sql, e, columns);
        sql.push_str(") VALUES ");
        for row in 0..rows {
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            placeholders(&mut sql, meta, columns, row * columns.len() + 1);
            sql.push(')');
        }
    }
    sql.push_str(conflict);
    returning(&mut sql, e, true, extra);
    sql
}

fn column_list(sql: &mut String, e: &EntitySql, columns: &[u16]) {
    for (i, &c) in columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(e.column(c));
    }
}

/// `UPDATE t SET a = $1, … WHERE <key> = $n… RETURNING <all>[, <extra>]`: the set columns'
/// values first, then the key.
pub(crate) fn update_by_key(
    meta: &'static EntityMeta,
    columns: &[u16],
    extra: Option<&str>,
) -> String {
    let e = sql(meta);
    let mut sql = format!("UPDATE {} SET ", e.table);
    for (i, &c) in columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let column = &meta.columns[usize::from(c)];
        let _ = write!(sql, "{} = {}", e.column(c), value(column, i + 1));
    }
    let _ = write!(sql, " WHERE {}", key_filter(meta, columns.len() + 1));
    returning(&mut sql, e, true, extra);
    sql
}

/// `DELETE FROM t WHERE <key> = $1 …[ RETURNING <extra>]`.
pub(crate) fn delete_by_key(meta: &'static EntityMeta, extra: Option<&str>) -> Cow<'static, str> {
    let e = sql(meta);
    match extra {
        None => Cow::Borrowed(e.delete_by_key.as_str()),
        Some(_) => {
            let mut sql = e.delete_by_key.clone();
            returning(&mut sql, e, false, extra);
            Cow::Owned(sql)
        }
    }
}

/// `SELECT <all> FROM t WHERE "column" = ANY($1)`.
pub(crate) fn select_any(meta: &'static EntityMeta, column: &str) -> String {
    let e = sql(meta);
    format!(
        "{} WHERE {} = ANY({})",
        e.select_all,
        quote_ident(column),
        array_value(meta, column, 1)
    )
}

/// Rows of `to` linked through `link` to the keys bound as arrays, each with its link row:
/// `SELECT t0.<link columns>, t1.<to columns> FROM link AS t0 JOIN to AS t1 ON t1.<key> =
/// t0.<to_fk> WHERE t0.<from_fk> = ANY($1)` (`IN (SELECT * FROM unnest($1, …))` for a
/// composite key).
pub(crate) fn select_through(
    link: &'static EntityMeta,
    from_fk: &ForeignKeyMeta,
    to_fk: &ForeignKeyMeta,
    to: &'static EntityMeta,
) -> String {
    let columns = |meta: &EntityMeta, alias: &str| -> String {
        meta.columns
            .iter()
            .map(|c| format!("\"{alias}\".{}", select_expr(c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut sql = format!(
        "SELECT {}, {} FROM {} AS \"t0\" INNER JOIN {} AS \"t1\" ON ",
        columns(link, "t0"),
        columns(to, "t1"),
        sql(link).table,
        sql(to).table,
    );
    for (i, (fk, key)) in to_fk
        .columns
        .iter()
        .zip(to_fk.referenced_columns)
        .enumerate()
    {
        if i > 0 {
            sql.push_str(" AND ");
        }
        let _ = write!(
            sql,
            "\"t1\".{} = \"t0\".{}",
            quote_ident(key),
            quote_ident(fk)
        );
    }
    let keys: Vec<String> = from_fk
        .columns
        .iter()
        .map(|c| format!("\"t0\".{}", quote_ident(c)))
        .collect();
    if let [one] = keys.as_slice() {
        let _ = write!(
            sql,
            " WHERE {one} = ANY({})",
            array_value(link, from_fk.columns[0], 1)
        );
        return sql;
    }
    let _ = write!(
        sql,
        " WHERE ({}) IN (SELECT * FROM unnest(",
        keys.join(", ")
    );
    for (i, column) in from_fk.columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&array_value(link, column, i + 1));
    }
    sql.push_str("))");
    sql
}

/// `DELETE FROM t WHERE "column" = ANY($1)`.
#[cfg(feature = "parallel")]
pub(crate) fn delete_any(meta: &'static EntityMeta, column: &str) -> String {
    let e = sql(meta);
    format!(
        "DELETE FROM {} WHERE {} = ANY({})",
        e.table,
        quote_ident(column),
        array_value(meta, column, 1)
    )
}

/// The rows whose `columns` match any of the keys bound as one array per column: `= ANY($1)`
/// for one column, `(a, b) IN (SELECT * FROM unnest($1, $2))` for several.
pub(crate) fn select_matching(meta: &'static EntityMeta, columns: &[&str]) -> String {
    if let [column] = columns {
        return select_any(meta, column);
    }
    let e = sql(meta);
    let list: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
    let mut sql = format!(
        "{} WHERE ({}) IN (SELECT * FROM unnest(",
        e.select_all,
        list.join(", ")
    );
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&array_value(meta, column, i + 1));
    }
    sql.push_str("))");
    sql
}

/// `COPY t (cols) FROM STDIN WITH (FORMAT binary)`.
#[cfg(feature = "parallel")]
pub(crate) fn copy_from_stdin(meta: &'static EntityMeta, columns: &[u16]) -> String {
    let e = sql(meta);
    let mut sql = format!("COPY {} (", e.table);
    column_list(&mut sql, e, columns);
    sql.push_str(") FROM STDIN WITH (FORMAT binary)");
    sql
}

/// `INSERT INTO t (cols) SELECT * FROM unnest($1::t1[], …)<conflict>[ RETURNING <all>]`:
/// one array parameter per column, each cast to its element type (`casts`: qualified,
/// quoted type names). Text-form columns travel as `text[]` and are cast to their type in
/// the `SELECT` list.
#[cfg(feature = "parallel")]
pub(crate) fn insert_unnest(
    meta: &'static EntityMeta,
    columns: &[u16],
    casts: &[&str],
    conflict: &str,
    returning_rows: bool,
) -> String {
    let e = sql(meta);
    let mut sql = format!("INSERT INTO {} (", e.table);
    column_list(&mut sql, e, columns);
    let column = |c: u16| &meta.columns[usize::from(c)];
    let text_form = columns.iter().any(|&c| column(c).text_form);
    if text_form {
        sql.push_str(") SELECT ");
        for (i, &c) in columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "u.c{i}");
            if let (true, Some(ty)) = (column(c).text_form, column(c).cast) {
                let _ = write!(sql, "::{ty}");
            }
        }
        sql.push_str(" FROM unnest(");
    } else {
        sql.push_str(") SELECT * FROM unnest(");
    }
    for (i, cast) in casts.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "${}::{cast}[]", i + 1);
    }
    sql.push(')');
    if text_form {
        let aliases: Vec<String> = (0..columns.len()).map(|i| format!("c{i}")).collect();
        let _ = write!(sql, " AS u({})", aliases.join(", "));
    }
    sql.push_str(conflict);
    returning(&mut sql, e, returning_rows, None);
    sql
}

/// ` ON CONFLICT ("a", …) DO NOTHING` or ` … DO UPDATE SET "c" = EXCLUDED."c", …`.
pub(crate) fn on_conflict(target: &[&str], update: &[&str]) -> String {
    let target: Vec<String> = target.iter().map(|c| quote_ident(c)).collect();
    let mut sql = format!(" ON CONFLICT ({})", target.join(", "));
    if update.is_empty() {
        sql.push_str(" DO NOTHING");
    } else {
        sql.push_str(" DO UPDATE SET ");
        for (i, column) in update.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let c = quote_ident(column);
            let _ = write!(sql, "{c} = EXCLUDED.{c}");
        }
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{ColumnMeta, RelationKind};
    use crate::statement::sql;

    static META: EntityMeta = EntityMeta {
        schema: "public",
        name: "we\"ird",
        kind: RelationKind::Table,
        columns: &[
            ColumnMeta::new("id", "id", "int8").key(),
            ColumnMeta::new("org", "org", "int4").key(),
            ColumnMeta::new("na\"me", "name", "text"),
        ],
        primary_key: &["id", "org"],
        foreign_keys: &[],
        comment: None,
        enums: &[],
    };

    #[test]
    fn statements_quote_every_identifier() {
        let e = sql(&META);
        assert_eq!(e.table, r#""public"."we""ird""#);
        assert_eq!(
            e.select_by_key,
            r#"SELECT "id", "org", "na""me" FROM "public"."we""ird" WHERE "id" = $1 AND "org" = $2"#
        );
        assert_eq!(
            update_by_key(&META, &[2], Some("x")),
            r#"UPDATE "public"."we""ird" SET "na""me" = $1 WHERE "id" = $2 AND "org" = $3 RETURNING "id", "org", "na""me", x"#
        );
        assert_eq!(
            insert(&META, &[0, 2], 2, "", None),
            r#"INSERT INTO "public"."we""ird" ("id", "na""me") VALUES ($1, $2), ($3, $4) RETURNING "id", "org", "na""me""#
        );
        assert_eq!(
            insert(&META, &[], 1, "", None),
            r#"INSERT INTO "public"."we""ird" DEFAULT VALUES RETURNING "id", "org", "na""me""#
        );
        assert_eq!(
            select_matching(&META, &["id", "org"]),
            r#"SELECT "id", "org", "na""me" FROM "public"."we""ird" WHERE ("id", "org") IN (SELECT * FROM unnest($1, $2))"#
        );
        assert_eq!(
            delete_by_key(&META, Some("pg_notify($3, $4)")),
            r#"DELETE FROM "public"."we""ird" WHERE "id" = $1 AND "org" = $2 RETURNING pg_notify($3, $4)"#
        );
        assert_eq!(
            on_conflict(&["na\"me"], &["org"]),
            r#" ON CONFLICT ("na""me") DO UPDATE SET "org" = EXCLUDED."org""#
        );
        assert!(std::ptr::eq(sql(&META), e), "built once");
    }
}
