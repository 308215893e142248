//! Joins: along a generated relation (`inner_join(posts::AUTHOR)`, `left_join(users::POSTS)`),
//! or on any typed condition (`inner_join_on::<Post>(posts::AUTHOR_ID.eq(users::ID))`). The
//! joined table is appended to the query's source type: as itself for an inner join, as an
//! `Option` for a left join, whose columns then read as `Option`s.

use super::condition::Expr;
use super::node::{ColumnRef, Node};
use super::render::{FromItem, Join};
use super::select::Select;
use super::source::{read_row, HasTable, Member, Push, QueryTable, Source};
use crate::entity::Entity;
use crate::meta::{ColumnMeta, EntityMeta};
use crate::relation::{BelongsTo, HasMany};

/// A relation a query over `S` can join along: its starting table is in `S` (at position
/// `P`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not start from a table of this query",
    note = "a relation joins from a table the query reads already: join that table first"
)]
pub trait JoinRelation<S, P> {
    /// The table the relation leads to.
    type Target: QueryTable;
    /// The join condition, the target being table `target` of the query.
    #[doc(hidden)]
    fn condition(&self, target: u8) -> super::scalar::RawNode;
}

/// `from.columns[i] = to.columns[i]` for each pair, the target at position `target`.
fn key_match(
    from: (u8, u8, &'static EntityMeta, &'static [&'static str]),
    to: (u8, &'static EntityMeta, &'static [&'static str]),
) -> Node {
    let column = |meta: &'static EntityMeta, name: &str| -> &'static ColumnMeta {
        meta.column(name)
            .expect("a foreign key's columns are columns of its tables")
    };
    let (up, pos, from_meta, from_columns) = from;
    let (target, to_meta, to_columns) = to;
    let pairs: Vec<Node> = from_columns
        .iter()
        .zip(to_columns)
        .map(|(f, t)| {
            Node::binary(
                Node::Column(ColumnRef {
                    up: 0,
                    pos: target,
                    meta: column(to_meta, t),
                }),
                "=",
                Node::Column(ColumnRef {
                    up,
                    pos,
                    meta: column(from_meta, f),
                }),
            )
        })
        .collect();
    match <[Node; 1]>::try_from(pairs) {
        Ok([one]) => one,
        Err(pairs) => Node::And(pairs),
    }
}

impl<S, P, From, To, K> JoinRelation<S, P> for BelongsTo<From, To, K>
where
    S: HasTable<From, P>,
    From: Entity,
    To: Entity,
{
    type Target = To;

    fn condition(&self, target: u8) -> super::scalar::RawNode {
        let fk = self.foreign_key();
        super::scalar::RawNode(key_match(
            (S::UP, S::POS, From::META, fk.columns),
            (target, To::META, fk.referenced_columns),
        ))
    }
}

impl<S, P, From, To, K> JoinRelation<S, P> for HasMany<From, To, K>
where
    S: HasTable<From, P>,
    From: Entity,
    To: Entity,
{
    type Target = To;

    fn condition(&self, target: u8) -> super::scalar::RawNode {
        let fk = self.foreign_key();
        super::scalar::RawNode(key_match(
            (S::UP, S::POS, From::META, fk.referenced_columns),
            (target, To::META, fk.columns),
        ))
    }
}

impl<S: Source> Select<S> {
    fn join<X: Member>(mut self, join: impl FnOnce(Node) -> Join, on: Node) -> Select<S::Output>
    where
        S: Push<X>,
    {
        self.query.tables.push(FromItem {
            meta: <<X::Table as QueryTable>::Entity as Entity>::META,
            join: join(on),
        });
        self.retyped(read_row::<S::Output>)
    }

    /// The next position in the query's tables.
    fn next_position(&self) -> u8 {
        self.query.tables.len() as u8
    }

    /// `INNER JOIN` along a relation from one of the query's tables: `User::query()
    /// .inner_join(users::POSTS)` reads `(User, Post)` rows, one per post.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let rows: Vec<(User, Post)> = User::query().inner_join(users::POSTS).fetch_all(pool).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn inner_join<J, P>(self, relation: J) -> Select<<S as Push<J::Target>>::Output>
    where
        J: JoinRelation<S, P>,
        S: Push<J::Target>,
    {
        let on = relation.condition(self.next_position()).0;
        self.join::<J::Target>(Join::Inner, on)
    }

    /// `LEFT JOIN` along a relation: `User::query().left_join(users::POSTS)` reads
    /// `(User, Option<Post>)` rows, `None` for a user without posts.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let rows: Vec<(User, Option<Post>)> = User::query().left_join(users::POSTS).fetch_all(pool).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn left_join<J, P>(self, relation: J) -> Select<<S as Push<Option<J::Target>>>::Output>
    where
        J: JoinRelation<S, P>,
        S: Push<Option<J::Target>>,
    {
        let on = relation.condition(self.next_position()).0;
        self.join::<Option<J::Target>>(Join::Left, on)
    }

    /// `INNER JOIN T ON condition`, the condition over the joined query:
    /// `Post::query().inner_join_on::<User>(users::ID.eq(posts::AUTHOR_ID))`. Join a table
    /// a second time under an [`Alias`](super::Alias).
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// let rows: Vec<(Post, User)> = Post::query()
    ///     .inner_join_on::<User>(users::ID.eq(posts::AUTHOR_ID))
    ///     .fetch_all(pool)
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn inner_join_on<T>(
        self,
        condition: Expr<<S as Push<T>>::Output>,
    ) -> Select<<S as Push<T>>::Output>
    where
        T: QueryTable,
        S: Push<T>,
    {
        self.join::<T>(Join::Inner, condition.node)
    }

    /// `LEFT JOIN T ON condition`: `T`'s side is an `Option` in the rows.
    ///
    /// ```no_run
    /// # use ormkit_tests::entities::*;
    /// # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    /// use ormkit::query::Alias;
    /// type Parent = Alias<Post, 1>;
    /// let threads: Vec<(Post, Option<Post>)> = Post::query()
    ///     .left_join_on::<Parent>(posts::PARENT_ID.eq(Parent::col(posts::ID)))
    ///     .fetch_all(pool)
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn left_join_on<T>(
        self,
        condition: Expr<<S as Push<Option<T>>>::Output>,
    ) -> Select<<S as Push<Option<T>>>::Output>
    where
        T: QueryTable,
        S: Push<Option<T>>,
    {
        self.join::<Option<T>>(Join::Left, condition.node)
    }
}
