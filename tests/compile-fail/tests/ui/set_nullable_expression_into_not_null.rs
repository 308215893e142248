use ormkit_tests::entities::*;
async fn run(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    // display_name may be NULL; a post's title may not.
    Post::query()
        .inner_join(posts::AUTHOR)
        .update([posts::TITLE.set_to(users::DISPLAY_NAME)], pool)
        .await?;
    Ok(())
}
fn main() {
    let _ = run;
}
