use ormkit::Repository;
use ormkit_tests::entities::*;
async fn f(pool: ormkit::sqlx::PgPool, post: Post) {
    // A PostId is not a UserId.
    let _ = Repository::<User>::new(&pool).find_by_id(post.id).await;
}
fn main() {
    let _ = f;
}
