//! Pagination: by page number ([`Select::paginate`]) and by opaque cursor over a unique
//! ordering ([`Select::fetch_page`]), which stays stable while rows are inserted. A cursor
//! belongs to its table and ordering: one made for another is refused.

use super::node::{Node, Writer};
use super::render::Item;
use super::select::{render_err, table_of, Select};
use super::source::QueryTable;
use crate::db::Db;
use crate::entity::{Entity, Position};
use crate::error::{OrmkitError, Result};
use crate::meta::ColumnMeta;
use crate::statement::exec::Decoded;
use crate::statement::{One, Op, Statement};
use base64::Engine as _;
use sqlx::postgres::{PgArguments, PgRow};

/// One page of a numbered listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<E> {
    /// The rows on this page.
    pub items: Vec<E>,
    /// Rows matching the filters, on all pages.
    pub total: i64,
    /// This page's number, from 1.
    pub page: i64,
    /// The page size.
    pub per_page: i64,
}

impl<E> Page<E> {
    /// How many pages there are.
    pub fn pages(&self) -> i64 {
        if self.per_page <= 0 {
            0
        } else {
            (self.total + self.per_page - 1) / self.per_page
        }
    }
}

/// One page of a cursor listing.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorPage<E> {
    /// The rows on this page.
    pub items: Vec<E>,
    /// Pass to [`Select::after`] for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

fn invalid_cursor(table: String, why: &str) -> OrmkitError {
    OrmkitError::Query {
        table,
        message: format!("invalid cursor: {why}"),
    }
}

/// A cursor's ordering, as a short tag: FNV-1a of the table and each key column with its
/// direction. A cursor carries it, so one made for another table or ordering is refused.
fn ordering_tag(meta: &crate::EntityMeta, keys: &[(&'static ColumnMeta, bool)]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(meta.schema.as_bytes());
    feed(b".");
    feed(meta.name.as_bytes());
    for (column, desc) in keys {
        feed(b"|");
        feed(column.name.as_bytes());
        feed(if *desc { b" desc" } else { b" asc" });
    }
    format!("{hash:016x}")
}

impl<T: QueryTable> Select<T> {
    /// Page `page` (from 1) of `per_page` rows, with the total count. Order the query for
    /// stable pages.
    pub async fn paginate<'a>(
        mut self,
        page: i64,
        per_page: i64,
        db: impl Into<Db<'a>>,
    ) -> Result<Page<T::Entity>> {
        let db: Db<'a> = db.into();
        let page = page.max(1);
        let per_page = per_page.max(1);
        // Count the filtered rows (without the order), then read the page (with it).
        let order = std::mem::take(&mut self.query.order);
        let mut args = PgArguments::default();
        let count_sql = {
            let mut w = Writer::new(&mut args);
            w.sql.push_str("SELECT count(*) FROM (");
            self.query
                .write(&mut w)
                .map_err(|e| render_err(&self.query, e))?;
            w.sql.push_str(") AS q");
            w.sql
        };
        self.query.order = order;
        self.query.limit = Some(per_page);
        self.query.offset = Some((page - 1) * per_page);
        let One((total,)) = db
            .run(Statement::new(T::Entity::META, Op::Count, count_sql, args))
            .await?;
        let items = self.fetch_all(db).await?;
        Ok(Page {
            items,
            total,
            page,
            per_page,
        })
    }

    /// Starts after `cursor` (from [`CursorPage::next_cursor`]); `None` starts at the top.
    /// A cursor made for another table or another ordering is refused.
    pub fn after(mut self, cursor: Option<&str>) -> Result<Self> {
        let Some(cursor) = cursor else {
            return Ok(self);
        };
        let table = || table_of(&self.query);
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| invalid_cursor(table(), "not base64"))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|_| invalid_cursor(table(), "not a cursor ormkit made"))?;
        let (Some(tag), Some(serde_json::Value::Array(values))) =
            (value.get("o").and_then(|t| t.as_str()), value.get("v"))
        else {
            return Err(invalid_cursor(table(), "not a cursor ormkit made"));
        };
        let keys = self.keyset_columns()?;
        if tag != ordering_tag(T::Entity::META, &keys) {
            return Err(invalid_cursor(
                table(),
                "it was made for another table or another ordering",
            ));
        }
        if values.len() != keys.len() {
            return Err(invalid_cursor(table(), "it has the wrong number of values"));
        }
        let values = serde_json::Value::Array(values.clone());
        self.query.filter.push(Node::Keyset {
            columns: keys,
            values,
        });
        Ok(self)
    }

    /// A cursor for this query's ordering that starts after the row with these key values:
    /// the ordering's columns, then the primary key's columns that are not among them, as
    /// JSON (`[name, id]` for a query ordered by name). What [`fetch_page`](Self::fetch_page)
    /// hands out, for resuming from values stored elsewhere.
    pub fn cursor_at(&self, values: impl IntoIterator<Item = serde_json::Value>) -> Result<String> {
        let keys = self.keyset_columns()?;
        let values: Vec<serde_json::Value> = values.into_iter().collect();
        if values.len() != keys.len() {
            return Err(invalid_cursor(
                table_of(&self.query),
                &format!(
                    "the ordering has {} key columns, not {}",
                    keys.len(),
                    values.len()
                ),
            ));
        }
        Ok(encode_cursor(
            &ordering_tag(T::Entity::META, &keys),
            values.into(),
        ))
    }

    /// The ordering made unique: the query's order columns, then the primary key.
    fn keyset_columns(&self) -> Result<Vec<(&'static ColumnMeta, bool)>> {
        let meta = T::Entity::META;
        let refuse = |message: String| OrmkitError::Query {
            table: table_of(&self.query),
            message,
        };
        let mut keys: Vec<(&'static ColumnMeta, bool)> = Vec::new();
        for order in &self.query.order {
            match &order.node {
                Node::Column(c) if c.up == 0 && c.pos == 0 && order.nulls.is_none() => {
                    keys.push((c.meta, order.descending));
                }
                _ => {
                    return Err(refuse(
                        "cursor pagination orders by plain columns of the table (no \
                         expressions, no NULLS FIRST/LAST)"
                            .into(),
                    ))
                }
            }
        }
        if meta.primary_key.is_empty() && keys.is_empty() {
            return Err(refuse(
                "cursor pagination needs an ordering (the table has no primary key)".into(),
            ));
        }
        for pk in meta.primary_key {
            if !keys.iter().any(|(c, _)| c.name == *pk) {
                let column = meta
                    .column(pk)
                    .ok_or_else(|| refuse(format!("unknown key column {pk}")))?;
                keys.push((column, false));
            }
        }
        if let Some((column, _)) = keys.iter().find(|(c, _)| c.nullable) {
            return Err(refuse(format!(
                "cursor pagination cannot order by the nullable column {}",
                column.name
            )));
        }
        Ok(keys)
    }

    /// Up to `limit` rows in the query's order (made unique with the primary key), and the
    /// cursor of the next page.
    pub async fn fetch_page<'a>(
        mut self,
        limit: i64,
        db: impl Into<Db<'a>>,
    ) -> Result<CursorPage<T::Entity>> {
        let keys = self.keyset_columns()?;
        let tag = ordering_tag(T::Entity::META, &keys);
        let limit = limit.max(1);
        // The cursor of each row follows its columns: the key values as a JSON array.
        let cursor_args = keys
            .iter()
            .map(|(meta, _)| {
                Node::Column(super::node::ColumnRef {
                    up: 0,
                    pos: 0,
                    meta,
                })
            })
            .collect();
        let cursor = Node::Cast {
            operand: Box::new(Node::call("json_build_array", cursor_args)),
            ty: "text",
        };
        self.query.items = Some(vec![Item::Table(0), Item::Node(cursor)]);
        self.query.order = keys
            .iter()
            .map(|(meta, desc)| super::render::OrderItem {
                node: Node::Column(super::node::ColumnRef {
                    up: 0,
                    pos: 0,
                    meta,
                }),
                descending: *desc,
                nulls: None,
            })
            .collect();
        self.query.limit = Some(limit + 1);
        let rows: Select<T, (T::Entity, String)> = self.retyped(read_with_cursor::<T::Entity>);
        let Decoded(mut rows) = {
            let statement = rows.statement()?;
            db.into().run_with(statement, rows.decode).await?
        };
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = match rows.last() {
            Some((_, values)) if more => {
                let values: serde_json::Value = serde_json::from_str(values)
                    .map_err(|e| OrmkitError::Database(sqlx::Error::Decode(Box::new(e))))?;
                Some(encode_cursor(&tag, values))
            }
            _ => None,
        };
        Ok(CursorPage {
            items: rows.into_iter().map(|(row, _)| row).collect(),
            next_cursor,
        })
    }
}

/// A cursor: the ordering's tag and the key values, as base64 of JSON.
fn encode_cursor(tag: &str, values: serde_json::Value) -> String {
    let cursor = serde_json::json!({ "o": tag, "v": values }).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(cursor)
}

/// A row and, after its columns, its cursor values.
fn read_with_cursor<E: Entity>(row: &PgRow) -> Result<(E, String), sqlx::Error> {
    let mut at = Position::default();
    let entity = E::read_at(row, &mut at)?;
    Ok((entity, at.next(row)?))
}
