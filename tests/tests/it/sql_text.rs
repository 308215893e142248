//! The typed query builder's exact SQL, one construct per test, with no database: what
//! `Select::to_sql` gives is the statement sending the query would prepare (sea-query's
//! `tests/postgres/*.rs` style). Values are bound, never written into the text.

use ormkit::query::{count, Select, SelectSql, Source};
use ormkit::Expr;
use ormkit_tests::entities::*;

/// `posts`' columns, in the order a whole row is read.
const POST_COLUMNS: &str =
    r#""id", "author_id", "parent_id", "title", "body", "tags", "scores", "slug", "published_at""#;

/// The statement text and how many values it binds.
fn sql<S: Source, R>(query: Select<S, R>) -> (String, usize) {
    let text: SelectSql = query.to_sql().expect("the query is accepted");
    (text.sql, text.params)
}

/// The statement text of a query that binds no value.
fn unbound<S: Source, R>(query: Select<S, R>) -> String {
    let (text, params) = sql(query);
    assert_eq!(params, 0, "{text}");
    text
}

/// Whole rows of `posts`, then `rest`.
fn posts(rest: &str) -> String {
    format!(r#"SELECT {POST_COLUMNS} FROM "public"."posts"{rest}"#)
}

#[test]
fn a_whole_table() {
    assert_eq!(sql(Post::query()), (posts(""), 0));
}

#[test]
fn an_equality_filter_binds_its_value_cast_to_the_columns_type() {
    assert_eq!(
        sql(User::query().filter(users::EMAIL.eq("a@b.c"))),
        (
            r#"SELECT "id", "email", "display_name", "mood", "past_moods", "home", "karma", "created_at", "settings" FROM "public"."users" WHERE "email" = $1::public.citext"#
                .into(),
            1
        )
    );
}

#[test]
fn is_null() {
    assert_eq!(
        sql(Post::query().filter(posts::PARENT_ID.is_null())),
        (posts(r#" WHERE "parent_id" IS NULL"#), 0)
    );
}

#[test]
fn is_in_binds_one_array() {
    assert_eq!(
        sql(Post::query().filter(posts::ID.is_in([PostId::new(1), PostId::new(2)]))),
        (posts(r#" WHERE "id" = ANY($1)"#), 1)
    );
}

#[test]
fn like() {
    assert_eq!(
        sql(Post::query().filter(posts::TITLE.like("a%"))),
        (posts(r#" WHERE "title" LIKE $1"#), 1)
    );
}

#[test]
fn and_or_not_nest_in_parentheses() {
    let condition = posts::ID.gt(PostId::new(1)).and(
        posts::ID
            .lt(PostId::new(9))
            .or(posts::PARENT_ID.is_null().not()),
    );
    assert_eq!(
        sql(Post::query().filter(condition)),
        (
            posts(r#" WHERE ("id" > $1) AND (("id" < $2) OR (NOT ("parent_id" IS NULL)))"#),
            2
        )
    );
}

#[test]
fn a_filter_that_keeps_every_row() {
    assert_eq!(
        sql(Post::query().filter(Expr::all())),
        (posts(" WHERE TRUE"), 0)
    );
}

#[test]
fn order_by_then_limit_and_offset_as_literals() {
    let query = Post::query()
        .order_by(posts::TITLE.desc())
        .order_by(posts::ID.asc())
        .limit(10)
        .offset(20);
    assert_eq!(
        sql(query),
        (
            posts(r#" ORDER BY "title" DESC, "id" LIMIT 10 OFFSET 20"#),
            0
        )
    );
}

#[test]
fn distinct() {
    assert_eq!(
        sql(Post::query().distinct().select(posts::AUTHOR_ID)),
        (
            r#"SELECT DISTINCT "author_id" FROM "public"."posts""#.into(),
            0
        )
    );
}

#[test]
fn one_column() {
    assert_eq!(
        sql(Post::query().select(posts::TITLE)),
        (r#"SELECT "title" FROM "public"."posts""#.into(), 0)
    );
}

#[test]
fn group_by_and_having() {
    let query = Post::query()
        .group_by(posts::AUTHOR_ID)
        .having(count().gt(1))
        .select((posts::AUTHOR_ID, count()));
    assert_eq!(
        sql(query),
        (
            r#"SELECT "author_id", count(*) FROM "public"."posts" GROUP BY "author_id" HAVING count(*) > $1"#
                .into(),
            1
        )
    );
}

#[test]
fn an_inner_join_along_a_foreign_key_aliases_both_tables() {
    assert_eq!(
        unbound(Post::query().inner_join(posts::AUTHOR)),
        r#"SELECT "t0"."id", "t0"."author_id", "t0"."parent_id", "t0"."title", "t0"."body", "t0"."tags", "t0"."scores", "t0"."slug", "t0"."published_at", "t1"."id", "t1"."email", "t1"."display_name", "t1"."mood", "t1"."past_moods", "t1"."home", "t1"."karma", "t1"."created_at", "t1"."settings" FROM "public"."posts" AS "t0" INNER JOIN "public"."users" AS "t1" ON "t1"."id" = "t0"."author_id""#
    );
}

#[test]
fn a_left_join_along_a_has_many_relation() {
    assert_eq!(
        unbound(User::query().left_join(users::POSTS)),
        r#"SELECT "t0"."id", "t0"."email", "t0"."display_name", "t0"."mood", "t0"."past_moods", "t0"."home", "t0"."karma", "t0"."created_at", "t0"."settings", "t1"."id", "t1"."author_id", "t1"."parent_id", "t1"."title", "t1"."body", "t1"."tags", "t1"."scores", "t1"."slug", "t1"."published_at" FROM "public"."users" AS "t0" LEFT JOIN "public"."posts" AS "t1" ON "t1"."author_id" = "t0"."id""#
    );
}

#[test]
fn for_update_skip_locked() {
    assert_eq!(
        sql(Post::query().for_update().skip_locked()),
        (posts(" FOR UPDATE SKIP LOCKED"), 0)
    );
}
