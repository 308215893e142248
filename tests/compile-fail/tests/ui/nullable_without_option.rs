use ormkit_tests::entities::*;
fn main() {
    // display_name is nullable: compare with Option<&str>, not &str.
    let _ = users::DISPLAY_NAME.eq("Ada");
}
