use ormkit_tests::entities::*;
async fn run(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    // A user without posts has no post: the row is (User, Option<Post>).
    let _rows: Vec<(User, Post)> = User::query()
        .left_join(users::POSTS)
        .fetch_all(pool)
        .await?;
    Ok(())
}
fn main() {
    let _ = run;
}
