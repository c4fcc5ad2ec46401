//! Who may read the database file.
//!
//! The file holds every organization's data and, unless the operator gives the server its own
//! signing keys, the key that signs access tokens: it is created readable and writable by its
//! owner only (0600). SQLite gives the `-wal` and `-shm` files it makes beside it the mode of
//! the database file, whatever the umask, so they follow. A file that exists already keeps the
//! mode its operator gave it; the log says so when others may read it.

use std::path::Path;

/// Creates the database file 0600 when it is missing (and `create`), or warns when an
/// existing one may be read by other users. In-memory and temporary databases have no file.
pub(super) fn prepare(url: &str, file: &Path, create: bool) {
    let name = file.to_string_lossy();
    if name.is_empty() || name.starts_with("file:") || url.contains("mode=memory") {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if create {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(file)
            {
                Ok(_) => return,
                // Another process made it first, or it was there: it keeps its mode.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                // No directory, no permission: SQLite's own open says so in its words.
                Err(_) => return,
            }
        }
        if let Ok(meta) = std::fs::metadata(file) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    file = %file.display(),
                    mode = format!("{mode:04o}"),
                    "other users may read the database file (and its -wal and -shm files, which SQLite makes with its mode); chmod 600 it unless that is meant"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = create;
}
