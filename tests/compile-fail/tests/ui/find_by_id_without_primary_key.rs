use ormkit::Repository;
use ormkit_tests::entities::*;
async fn f(pool: ormkit::sqlx::PgPool) {
    // audit_log has no primary key.
    let _ = Repository::<AuditLog>::new(&pool).find_by_id(1).await;
}
fn main() {
    let _ = f;
}
