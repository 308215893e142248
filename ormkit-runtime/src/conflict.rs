//! [`OnConflict`]: an `INSERT`'s `ON CONFLICT` clause, typed.

use crate::entity::Entity;
use crate::statement;
use std::marker::PhantomData;

/// What to do when a row conflicts with a unique constraint, for
/// [`Repository::upsert`](crate::Repository::upsert) and `ParallelExecutor::bulk_upsert`.
/// Built from the
/// entity's typed columns, so a target or an updated column of another table does not
/// compile.
///
/// ```ignore
/// // INSERT … ON CONFLICT ("email") DO UPDATE SET "display_name" = EXCLUDED."display_name"
/// let conflict = OnConflict::on(users::EMAIL).do_update(users::DISPLAY_NAME);
/// // INSERT … ON CONFLICT ("email") DO NOTHING
/// let conflict = OnConflict::on(users::EMAIL).do_nothing();
/// ```
#[derive(Debug, Clone)]
pub struct OnConflict<E> {
    target: Vec<&'static str>,
    update: Vec<&'static str>,
    _entity: PhantomData<fn() -> E>,
}

impl<E: Entity> OnConflict<E> {
    /// Conflicts on the unique constraint or index over `column` (add more with
    /// [`and`](Self::and)).
    pub fn on<T, A>(column: crate::Column<E, T, A>) -> Self {
        OnConflict {
            target: vec![column.name()],
            update: Vec::new(),
            _entity: PhantomData,
        }
    }

    /// Another column of the conflict target.
    pub fn and<T, A>(mut self, column: crate::Column<E, T, A>) -> Self {
        self.target.push(column.name());
        self
    }

    /// Skips conflicting rows: they are neither written nor returned.
    pub fn do_nothing(mut self) -> Self {
        self.update.clear();
        self
    }

    /// On conflict, sets `column` to the proposed row's value (`EXCLUDED`); call once per
    /// column. Only writable columns can be named.
    pub fn do_update<T>(mut self, column: crate::Column<E, T, crate::Writable>) -> Self {
        self.update.push(column.name());
        self
    }

    /// The clause, quoted: ` ON CONFLICT ("a", "b") DO NOTHING | DO UPDATE SET …`.
    pub(crate) fn clause(&self) -> String {
        statement::on_conflict(&self.target, &self.update)
    }
}
