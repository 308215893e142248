use ormkit_tests::entities::*;
async fn run(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    // A post's key cannot go into a text column.
    Post::query()
        .select(posts::ID)
        .insert_into(post_archive::TITLE, pool)
        .await?;
    Ok(())
}
fn main() {
    let _ = run;
}
