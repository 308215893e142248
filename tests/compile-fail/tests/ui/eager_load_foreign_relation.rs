use ormkit_tests::entities::*;
async fn f(pool: ormkit::sqlx::PgPool, users: Vec<User>) {
    // AUTHOR is a relation of posts, not of users.
    let _ = posts::AUTHOR.load(&users, &pool).await;
}
fn main() {
    let _ = f;
}
