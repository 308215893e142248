//! Checked SQL: the crate's query files, parsed (`parse.rs`, with the hints `infer.rs` reads
//! from the SQL), typed on the scratch database (`typing.rs`) into the lock, and
//! compared with the lock offline.

mod infer;
pub(crate) mod parse;
mod typing;

use crate::error::{io_err, CodegenError, Result};
use ormkit_schema::LockedQuery;
use parse::QueryDef;
use std::path::{Path, PathBuf};

/// One query file: where it is, its text, its queries.
#[derive(Debug)]
pub(crate) struct QueryFile {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
    pub(crate) queries: Vec<QueryDef>,
}

/// Every query file below `dir` (none when it does not exist), parsed.
pub(crate) fn load(dir: &Path) -> Result<Vec<QueryFile>> {
    let mut out = Vec::new();
    for (path, relative) in parse::discover(dir)? {
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        let queries = parse::parse_file(&path, &relative, &text)?;
        out.push(QueryFile {
            path,
            text,
            queries,
        });
    }
    Ok(out)
}

/// Describes every query of `files` on `conn`, in file and query order.
pub(crate) async fn describe_all(
    conn: &mut sqlx::PgConnection,
    files: &[QueryFile],
) -> Result<Vec<LockedQuery>> {
    let mut out = Vec::new();
    for file in files {
        for query in &file.queries {
            out.push(typing::describe(conn, query, &file.path, &file.text).await?);
        }
    }
    Ok(out)
}

/// Offline: the queries on disk must be the ones the lock recorded, unchanged.
pub(crate) fn check_offline(
    lock_path: &Path,
    locked: &[LockedQuery],
    files: &[QueryFile],
) -> Result<()> {
    let mut changes = Vec::new();
    let on_disk: Vec<&QueryDef> = files.iter().flat_map(|f| &f.queries).collect();
    for q in &on_disk {
        let label = format!("{}:{}", q.file, q.name);
        match locked.iter().find(|l| l.file == q.file && l.name == q.name) {
            None => changes.push(format!("added {label}")),
            Some(l) if l.checksum != ormkit_schema::migrations::checksum(&q.block) => {
                changes.push(format!("changed {label}"));
            }
            Some(_) => {}
        }
    }
    for l in locked {
        if !on_disk.iter().any(|q| q.file == l.file && q.name == l.name) {
            changes.push(format!("removed {}:{}", l.file, l.name));
        }
    }
    if changes.is_empty() {
        Ok(())
    } else {
        Err(CodegenError::StaleQueries {
            path: lock_path.to_owned(),
            changes: changes.join(", "),
        })
    }
}
