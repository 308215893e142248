use ormkit_tests::entities::*;

// A transaction closure's error type must take an `OrmkitError` (`From<OrmkitError>`): here
// `String` does not, so BEGIN/COMMIT failures and `?` on ormkit calls could not reach it.
async fn create(pool: ormkit::sqlx::PgPool) {
    let _ = ormkit::transaction(&pool, |tx| async move {
        let repo = ormkit::Repository::<User>::new(&tx);
        repo.find_all().await.map_err(|err| err.to_string())
    })
    .await;
}

fn main() {
    let _ = create;
}
