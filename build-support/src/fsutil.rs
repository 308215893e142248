//! Copying a data directory.

use std::fs;
use std::os::unix::fs::lchown;
use std::path::Path;

use crate::error::{Error, Result};

/// Copies the directory tree `src` to the new directory `dst`, preserving
/// permission bits (PostgreSQL insists on 0700/0750 for a data directory) and
/// symlinks, and giving everything to `owner` (uid, gid) when set.
pub(crate) fn copy_tree(src: &Path, dst: &Path, owner: Option<(u32, u32)>) -> Result<()> {
    let context = |what: &str, path: &Path| format!("could not {what} {}", path.display());
    let meta = fs::metadata(src).map_err(|err| Error::io(context("read", src), err))?;
    fs::create_dir(dst).map_err(|err| Error::io(context("create directory", dst), err))?;
    fs::set_permissions(dst, meta.permissions())
        .map_err(|err| Error::io(context("set permissions of", dst), err))?;
    give(dst, owner)?;

    let entries = fs::read_dir(src).map_err(|err| Error::io(context("list", src), err))?;
    for entry in entries {
        let entry = entry.map_err(|err| Error::io(context("list", src), err))?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        let file_type = entry
            .file_type()
            .map_err(|err| Error::io(context("read", &from), err))?;
        if file_type.is_dir() {
            copy_tree(&from, &to, owner)?;
        } else if file_type.is_symlink() {
            let target =
                fs::read_link(&from).map_err(|err| Error::io(context("read link", &from), err))?;
            std::os::unix::fs::symlink(&target, &to)
                .map_err(|err| Error::io(context("create link", &to), err))?;
            give(&to, owner)?;
        } else {
            fs::copy(&from, &to).map_err(|err| {
                Error::io(format!("could not copy {} to {}", from.display(), to.display()), err)
            })?;
            give(&to, owner)?;
        }
    }
    Ok(())
}

fn give(path: &Path, owner: Option<(u32, u32)>) -> Result<()> {
    match owner {
        Some((uid, gid)) => lchown(path, Some(uid), Some(gid))
            .map_err(|err| Error::io(format!("could not change owner of {}", path.display()), err)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn copies_tree_with_modes() {
        let scratch = tempfile::tempdir().unwrap();
        let src = scratch.path().join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::set_permissions(&src, fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(src.join("sub/file"), b"data").unwrap();
        fs::set_permissions(src.join("sub/file"), fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink("sub/file", src.join("link")).unwrap();

        let dst = scratch.path().join("dst");
        copy_tree(&src, &dst, None).unwrap();
        let mode = |path: &Path| fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dst), 0o700);
        assert_eq!(mode(&dst.join("sub/file")), 0o600);
        assert_eq!(fs::read(dst.join("link")).unwrap(), b"data");
    }
}
