//! Disk space: what the data folder uses, what is free, and the reserve file that lets
//! the database start again after the disk filled up.

use std::path::Path;

use super::{Store, StoreError};

/// The reserve file's name in the data folder.
pub(super) const RESERVE_FILE: &str = "reserve";

impl Store {
    /// Bytes the data folder occupies (walks its files: not free).
    pub fn used_bytes(&self) -> Result<u64, StoreError> {
        let mut used = self.db.size_on_disk()?;
        for entry in std::fs::read_dir(&self.attachments)? {
            // A file removed while this walk runs (an aborted upload) simply no longer counts.
            match entry.and_then(|e| e.metadata()) {
                Ok(meta) => used += meta.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(used)
    }

    /// Bytes free on the data folder's file system (one `statvfs`).
    pub fn available_bytes(&self) -> Result<u64, StoreError> {
        Ok(fs2::available_space(&self.dir)?)
    }

    /// Deletes the reserve file, giving its space back so that sled can start again
    /// after the disk filled up. Called once storage has failed.
    pub fn release_reserve(&self) {
        let _ = std::fs::remove_file(self.dir.join(RESERVE_FILE));
    }
}

/// Creates the reserve file if it is missing and the disk has room for it twice over.
pub(super) fn ensure_reserve(path: &Path, bytes: u64) {
    use std::io::Write;
    if bytes == 0 || path.exists() {
        return;
    }
    let room = path
        .parent()
        .and_then(|d| fs2::available_space(d).ok())
        .unwrap_or(0);
    if room < bytes.saturating_mul(2) {
        tracing::warn!(
            "not enough free disk space for the reserve file (limits.storage_reserve_mib)"
        );
        return;
    }
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(path)?;
        // Real zeros, not a sparse file: the blocks must be allocated to be given back.
        let zeros = vec![0u8; 1024 * 1024];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            file.write_all(&zeros[..n])?;
            left -= n as u64;
        }
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(path);
        tracing::warn!("could not create the reserve file: {e}");
    }
}
