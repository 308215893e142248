//! The pipeline against real PostgreSQL (the scratch database the environment selects).

use ormkit_codegen::Config;
use std::path::Path;

#[test]
fn a_schema_list_limits_what_is_generated() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut config = Config::new();
    config
        .manifest_dir(root)
        .schemas(["analytics"])
        .cargo_directives(false);
    let lock = config.fresh_lock().unwrap();
    assert_eq!(lock.schema.schemas, ["analytics"]);
    let names: Vec<String> = lock
        .schema
        .relations
        .iter()
        .map(|r| r.name.to_string())
        .collect();
    assert_eq!(names, ["analytics.daily_events", "analytics.events"]);
    assert!(lock
        .schema
        .enums
        .iter()
        .all(|e| e.name.schema == "analytics"));

    // The foreign key into `public` (not generated) falls back to the plain key type.
    let code = config.render_lock(&lock, &[]).unwrap();
    assert!(
        code.contains("pub user_id: ::std::option::Option<i64>"),
        "{code}"
    );
    assert!(!code.contains("UserId"));
}
