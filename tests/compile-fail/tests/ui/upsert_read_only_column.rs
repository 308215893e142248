use ormkit::OnConflict;
use ormkit_tests::entities::*;
fn main() {
    // An upsert that would overwrite an identity ALWAYS column.
    let _ = OnConflict::on(users::EMAIL).do_update(users::ID);
}
