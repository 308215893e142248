//! The compile-time promises of ormkit on the reference schema's entities: the cases are in
//! `tests/ui/`, run by `tests/compile_fail.rs`. This library is empty; it exists so that
//! trybuild builds the cases against these dependencies only.
