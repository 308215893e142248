//! Marks the PgBouncer tests ignored when `pgbouncer` is not installed (a `cargo:warning`
//! says how to install it), or fails the build under `ORMKIT_REQUIRE_TOOLS=1`.

#[path = "src/optional_tools.rs"]
#[allow(dead_code, unreachable_pub)]
mod optional_tools;

fn main() {
    optional_tools::build_script(&[optional_tools::PGBOUNCER]);
}
