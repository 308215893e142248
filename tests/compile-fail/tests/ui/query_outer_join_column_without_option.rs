use ormkit_tests::entities::queries::reports;

async fn run(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
    // posts.title is NOT NULL, but the LEFT JOIN makes it nullable in this query.
    for row in reports::users_and_posts(pool).await? {
        let title: String = row.title;
        let _ = title;
    }
    Ok(())
}

fn main() {
    let _ = run;
}
