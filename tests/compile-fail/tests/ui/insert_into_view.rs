use ormkit::Repository;
use ormkit_tests::entities::*;
async fn f(pool: ormkit::sqlx::PgPool) {
    // A view is read-only: no insert model, no insert.
    let _ = Repository::<UserPostCount>::new(&pool).insert(todo_value()).await;
}
fn todo_value<T>() -> T {
    unreachable!()
}
fn main() {
    let _ = f;
}
