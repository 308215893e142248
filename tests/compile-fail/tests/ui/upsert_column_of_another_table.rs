use ormkit::OnConflict;
use ormkit_tests::entities::*;
fn main() {
    // An upsert on users that would update a posts column.
    let _ = OnConflict::on(users::EMAIL).do_update(posts::TITLE);
}
