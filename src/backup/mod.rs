//! Backups: one tar file of a consistent store snapshot (ciphertext and the few
//! clear-text values the store keeps, nothing else), taken while the server runs
//! through its local socket, and a fresh data folder restored from one. The same
//! socket gives `agedrop status` the running server's status.
//!
//! An archive holds exactly: `manifest.json` (format and counts), `records` (every
//! record of the store, framed), then `attachments/<blob id>` for each attachment file
//! the records name. Reading accepts nothing else: no other names, no links, no
//! absolute paths or `..`.

mod archive;
mod channel;

use std::path::{Path, PathBuf};

pub use archive::Summary;
pub use channel::{Host, ask_status, listen, socket_path, take};

use crate::store::{Restoring, StoreError};

/// A backup could not be written or restored; each message says what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The store failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The file is not a backup, or holds something a backup never does.
    #[error("{path} is not a usable agedrop backup: {detail}; nothing was restored")]
    Invalid {
        /// The archive.
        path: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The target of a restore already holds files.
    #[error(
        "{0} is not empty; restore into a new or empty folder (nothing was written), then \
         point server.data at it"
    )]
    NotEmpty(String),
    /// The running server refused or failed the backup.
    #[error("the running server could not take the backup: {0}")]
    Server(String),
    /// The running server did not answer `agedrop status`.
    #[error("the running server did not give its status: {0}")]
    Status(String),
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> BackupError {
    BackupError::Io(format!("{what} {}: {e}", path.display()))
}

/// Restores the backup `file` into `dir` (absent or empty): checks the whole archive
/// first, so a rejected one writes nothing, then fills a new store and makes it durable.
pub fn restore(file: &Path, dir: &Path) -> Result<Summary, BackupError> {
    let created = match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty(dir.display().to_string()));
            }
            false
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(io_error(dir, "cannot read", e)),
    };
    let open = || std::fs::File::open(file).map_err(|e| io_error(file, "cannot open", e));
    let summary = archive::read(open()?, file, None)?;
    let result = (|| {
        let mut restoring = Restoring::create(dir, 32 * 1024 * 1024)?;
        archive::read(open()?, file, Some(&mut restoring))?;
        restoring.finish()?;
        Ok(())
    })();
    if let Err(e) = result {
        // The folder was empty (or absent): what is in it now is this restore's.
        let _ = clear(dir, created);
        return Err(e);
    }
    Ok(summary)
}

/// Removes what a failed restore wrote.
fn clear(dir: &Path, remove_dir: bool) -> std::io::Result<()> {
    if remove_dir {
        return std::fs::remove_dir_all(dir);
    }
    for entry in std::fs::read_dir(dir)? {
        let path: PathBuf = entry?.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}
