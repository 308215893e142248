use ormkit_tests::entities::queries::users;
use ormkit_tests::entities::*;

async fn run(pool: &ormkit::sqlx::PgPool) {
    // The checked query compares :id with users.id, so it takes a UserId.
    let _ = users::user_by_id(pool, PostId::new(1)).await;
}

fn main() {
    let _ = run;
}
