//! Pagination: by page number ([`Select::paginate`]) and by opaque cursor over a unique
//! ordering ([`Select::fetch_page`]), which stays stable while rows are inserted.

use super::expr::Node;
use super::select::Select;
use crate::db::Db;
use crate::entity::Entity;
use crate::error::{OrmkitError, Result};
use crate::ident::quote_ident;
use crate::repository::table_name;
use crate::statement::{self, One, Op, RawRows, Statement};
use base64::Engine as _;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::Row as _;
use std::fmt::Write as _;

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

const CURSOR_COLUMN: &str = "__ormkit_cursor";

fn invalid_cursor<E: Entity>(why: &str) -> OrmkitError {
    OrmkitError::Query {
        table: table_name::<E>(),
        message: format!("invalid cursor: {why}"),
    }
}

impl<E: Entity> Select<E> {
    /// Page `page` (from 1) of `per_page` rows, with the total count. Order the query for
    /// stable pages.
    pub async fn paginate<'a>(
        self,
        page: i64,
        per_page: i64,
        db: impl Into<Db<'a>>,
    ) -> Result<Page<E>> {
        let db: Db<'a> = db.into();
        let page = page.max(1);
        let per_page = per_page.max(1);
        let mut this = self;
        let mut where_sql = String::new();
        let mut count_args = PgArguments::default();
        this.render_where(&mut where_sql, &mut count_args)?;
        let fixed = statement::sql(E::META);
        let count_sql = format!("{}{where_sql}", fixed.count);
        // The same parameters, $1…$n, serve both statements.
        let args = count_args.clone();
        let mut sql = format!("{}{where_sql}", fixed.select_all);
        this.limit = Some(per_page);
        this.offset = Some((page - 1) * per_page);
        this.render_tail(&mut sql);
        let One((total,)) = db
            .run(Statement::new(E::META, Op::Count, count_sql, count_args))
            .await?;
        let items = db
            .run(Statement::new(E::META, Op::Select, sql, args))
            .await?;
        Ok(Page {
            items,
            total,
            page,
            per_page,
        })
    }

    /// Starts after `cursor` (from [`CursorPage::next_cursor`]); `None` starts at the top.
    pub fn after(mut self, cursor: Option<&str>) -> Result<Self> {
        let Some(cursor) = cursor else {
            return Ok(self);
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| invalid_cursor::<E>("not base64"))?;
        let values: Vec<serde_json::Value> =
            serde_json::from_slice(&bytes).map_err(|_| invalid_cursor::<E>("not a value list"))?;
        let keys = self.keyset_columns()?;
        if values.len() != keys.len() {
            return Err(invalid_cursor::<E>("it was made for another ordering"));
        }
        self.filter.push(Node::Keyset {
            columns: keys,
            values: serde_json::Value::Array(values),
        });
        Ok(self)
    }

    /// The ordering made unique: the query's order columns, then the primary key.
    fn keyset_columns(&self) -> Result<Vec<(&'static str, &'static str, bool)>> {
        let mut keys: Vec<(&'static str, bool)> = self
            .order
            .iter()
            .map(|o| (o.column.name, o.descending))
            .collect();
        if E::META.primary_key.is_empty() && keys.is_empty() {
            return Err(OrmkitError::Query {
                table: table_name::<E>(),
                message: "cursor pagination needs an ordering (the table has no primary key)"
                    .into(),
            });
        }
        for pk in E::META.primary_key {
            if !keys.iter().any(|(c, _)| c == pk) {
                keys.push((pk, false));
            }
        }
        keys.into_iter()
            .map(|(name, desc)| {
                let column = E::META.column(name).ok_or_else(|| OrmkitError::Query {
                    table: table_name::<E>(),
                    message: format!("unknown column {name}"),
                })?;
                if column.nullable {
                    return Err(OrmkitError::Query {
                        table: table_name::<E>(),
                        message: format!(
                            "cursor pagination cannot order by the nullable column {name}"
                        ),
                    });
                }
                Ok((name, column.sql_type, desc))
            })
            .collect()
    }

    /// Up to `limit` rows in the query's order (made unique with the primary key), and the
    /// cursor of the next page.
    pub async fn fetch_page<'a>(
        mut self,
        limit: i64,
        db: impl Into<Db<'a>>,
    ) -> Result<CursorPage<E>> {
        let keys = self.keyset_columns()?;
        let cursor_expr = keys
            .iter()
            .map(|(name, _, _)| quote_ident(name))
            .collect::<Vec<_>>()
            .join(", ");
        let fixed = statement::sql(E::META);
        let mut sql = format!(
            "SELECT {}, json_build_array({cursor_expr})::text AS {CURSOR_COLUMN} FROM {}",
            fixed.select_list, fixed.table
        );
        let mut args = PgArguments::default();
        self.render_where(&mut sql, &mut args)?;
        sql.push_str(" ORDER BY ");
        for (i, (name, _, desc)) in keys.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&quote_ident(name));
            if *desc {
                sql.push_str(" DESC");
            }
        }
        let limit = limit.max(1);
        let _ = write!(sql, " LIMIT {}", limit + 1);
        let RawRows(mut rows) = db
            .into()
            .run(Statement::new(E::META, Op::Select, sql, args))
            .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = match rows.last() {
            Some(row) if more => {
                // The cursor follows the entity's columns.
                let text: String = row.try_get(E::META.columns.len())?;
                Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text))
            }
            _ => None,
        };
        let items = rows
            .iter()
            .map(|row| <E as sqlx::FromRow<'_, PgRow>>::from_row(row))
            .collect::<Result<Vec<E>, sqlx::Error>>()?;
        Ok(CursorPage { items, next_cursor })
    }
}
