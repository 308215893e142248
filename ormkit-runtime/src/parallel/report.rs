//! [`BulkError`]: what a bulk write that failed in part did and did not write.

use crate::error::OrmkitError;
use std::fmt;
use std::ops::Range;

/// A bulk write that failed: the rows of the failing statement (and the one row PostgreSQL
/// blamed, when it named one), the database's own error, and exactly which input rows were
/// committed anyway and which were never sent.
///
/// Row numbers are indexes into the `Vec` the caller passed. In the default mode each chunk
/// commits on its own, so `committed` may be non-empty; in
/// [`atomic`](super::ParallelExecutor::atomic) mode it is always empty.
///
/// `Debug` prints the message and its causes (see [`OrmkitError`](crate::OrmkitError)).
pub struct BulkError {
    pub(crate) table: String,
    pub(crate) failed: Range<usize>,
    pub(crate) row: Option<usize>,
    pub(crate) also_failed: Vec<Range<usize>>,
    pub(crate) committed: Vec<Range<usize>>,
    pub(crate) not_attempted: Vec<Range<usize>>,
    pub(crate) source: OrmkitError,
}

impl BulkError {
    /// `schema.table`.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The input rows of the statement that failed; none of them was written.
    pub fn failed(&self) -> Range<usize> {
        self.failed.clone()
    }

    /// The input row the database reported as the cause (COPY names the line it rejected),
    /// when it named one.
    pub fn row(&self) -> Option<usize> {
        self.row
    }

    /// The input rows of other statements that failed too (they were running when the first
    /// failure happened); none of them was written.
    pub fn also_failed(&self) -> &[Range<usize>] {
        &self.also_failed
    }

    /// The input rows that were written and committed, in order.
    pub fn committed(&self) -> &[Range<usize>] {
        &self.committed
    }

    /// The input rows that were never sent, because an earlier chunk had failed.
    pub fn not_attempted(&self) -> &[Range<usize>] {
        &self.not_attempted
    }

    /// The error of the failing statement, with its SQLSTATE, category and constraint.
    pub fn source(&self) -> &OrmkitError {
        &self.source
    }
}

/// `rows 0..=9, 20..=29`, or `no rows`.
struct Rows<'a>(&'a [Range<usize>]);

impl fmt::Display for Rows<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no rows");
        }
        f.write_str("rows ")?;
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}..={}", r.start, r.end.saturating_sub(1))?;
        }
        Ok(())
    }
}

impl fmt::Display for BulkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: the chunk of {} failed (nothing of it was written)",
            self.table,
            Rows(std::slice::from_ref(&self.failed))
        )?;
        if let Some(row) = self.row {
            write!(f, " at row {row}")?;
        }
        write!(f, ": {}", self.source)?;
        if !self.also_failed.is_empty() {
            write!(f, "; also failed: {}", Rows(&self.also_failed))?;
        }
        write!(f, "; committed: {}", Rows(&self.committed))?;
        if !self.not_attempted.is_empty() {
            write!(f, "; not attempted: {}", Rows(&self.not_attempted))?;
        }
        Ok(())
    }
}

impl std::error::Error for BulkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Sorted, adjacent ranges merged.
pub(crate) fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => out.push(r),
        }
    }
    out
}

/// The 1-based row of a binary COPY that PostgreSQL's error context names (`COPY t, line 3,
/// column c: …`).
pub(crate) fn copy_line(err: &OrmkitError) -> Option<usize> {
    let OrmkitError::Database(sqlx::Error::Database(db)) = err else {
        return None;
    };
    let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
    let context = pg.r#where()?;
    let after = &context[context.find(", line ")? + ", line ".len()..];
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_print_inclusively() {
        let merged = merge(vec![10..20, 0..10, 30..31]);
        assert_eq!(merged, vec![0..20, 30..31]);
        assert_eq!(Rows(&merged).to_string(), "rows 0..=19, 30..=30");
        assert_eq!(Rows(&[]).to_string(), "no rows");
    }
}
