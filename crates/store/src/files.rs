//! Every file and directory taizhang creates is its owner's alone — files 0600, directories
//! 0700 — set explicitly after creation, so the process's umask does not widen them: the SQLite
//! database (its `-wal` and `-shm` files take the database file's mode), the data directory, the
//! key files, the attachments, the audit checkpoint and the backup files.

use std::io::Write;
use std::path::Path;

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// Creates `dir` and any missing parents; each directory this call creates is 0700.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => set_mode(dir, 0o700),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates a new file (never replacing one), 0600, holding `bytes`.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path)?;
    set_mode(path, 0o600)?;
    f.write_all(bytes)
}

/// The same, off the async runtime's threads.
pub(crate) async fn write_private_async(path: &Path, bytes: Vec<u8>) -> std::io::Result<()> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || write_private(&path, &bytes))
        .await
        .map_err(std::io::Error::other)?
}

/// The same for a directory.
pub(crate) async fn create_private_dir_async(dir: &Path) -> std::io::Result<()> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || create_private_dir(&dir))
        .await
        .map_err(std::io::Error::other)?
}

/// Creates an empty file 0600 where none is (a SQLite database before it is opened, so that the
/// database and the `-wal` and `-shm` files SQLite creates beside it are the owner's alone).
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<()> {
    match write_private(path, &[]) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}
