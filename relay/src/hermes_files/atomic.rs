//! Atomic file replacement: write a temp file in the same folder, fsync it, rename it over the
//! target, fsync the folder. Readers see the old or the new file, never a partial one.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes`. A symlinked target is followed (its real file is replaced), the
/// existing permissions are kept, and a new file is created owner-only (it may hold secrets).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let target = match fs::canonicalize(path) {
        Ok(real) => real,
        Err(e) if e.kind() == io::ErrorKind::NotFound => path.to_path_buf(),
        Err(e) => return Err(e),
    };
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = temp_name(&target, dir);
    let result = write_then_rename(&target, &tmp, dir, bytes);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn temp_name(target: &Path, dir: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    dir.join(format!(
        ".{name}.tmp-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ))
}

fn write_then_rename(target: &Path, tmp: &Path, dir: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(tmp)?;
    if let Ok(meta) = fs::metadata(target) {
        f.set_permissions(meta.permissions())?;
    }
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(tmp, target)?;
    // Makes the rename itself durable; not every platform allows opening a folder.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_files() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("config.yaml");
        write_atomic(&p, b"a: 1\n").unwrap();
        write_atomic(&p, b"a: 2\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "a: 2\n");
        let names: Vec<_> = fs::read_dir(t.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn keeps_permissions_and_follows_symlinks() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("real.yaml");
        fs::write(&real, "x: 0\n").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = t.path().join("config.yaml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"x: 1\n").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "x: 1\n");
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );

        let fresh = t.path().join("new.yaml");
        write_atomic(&fresh, b"y: 1\n").unwrap();
        assert_eq!(
            fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn failed_write_keeps_the_old_file() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("config.yaml");
        fs::write(&p, "old: 1\n").unwrap();
        // A directory where the target should be: rename fails, the temp file is cleaned up.
        let dir_target = t.path().join("sub");
        fs::create_dir(&dir_target).unwrap();
        fs::write(dir_target.join("keep"), "k").unwrap();
        assert!(write_atomic(&dir_target, b"new").is_err());
        assert_eq!(fs::read_to_string(&p).unwrap(), "old: 1\n");
        let temps = fs::read_dir(t.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .count();
        assert_eq!(temps, 0);
    }
}
