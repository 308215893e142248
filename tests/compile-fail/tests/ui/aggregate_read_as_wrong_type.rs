use ormkit::query::count;
use ormkit_tests::entities::*;
async fn run(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    // count() is an int8: an i64, not an i32.
    let _rows: Vec<(UserId, i32)> = Post::query()
        .group_by(posts::AUTHOR_ID)
        .select((posts::AUTHOR_ID, count()))
        .fetch_all(pool)
        .await?;
    Ok(())
}
fn main() {
    let _ = run;
}
