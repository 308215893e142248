use ormkit::query::min;
use ormkit_tests::entities::*;
fn main() {
    // PostgreSQL has no min(boolean).
    let _ = AllType::query().select(min(all_types::C_BOOL));
}
