use ormkit_tests::entities::*;
fn main() {
    let _ = users::SETTINGS.gt(ormkit::serde_json::json!({}));
}
