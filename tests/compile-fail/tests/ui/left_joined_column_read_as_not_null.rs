use ormkit_tests::entities::*;
async fn run(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    // posts is left-joined: its title may be missing, so it is an Option here.
    let _rows: Vec<(String, String)> = User::query()
        .left_join(users::POSTS)
        .select((users::EMAIL, posts::TITLE))
        .fetch_all(pool)
        .await?;
    Ok(())
}
fn main() {
    let _ = run;
}
