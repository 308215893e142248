//! The Migrator (issue 4, in progress).
