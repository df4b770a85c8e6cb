//! Attachment streams: each one age ciphertext in its own file under `attachments/`,
//! named by its random blob id, written before the report that names it commits.
//!
//! Why files and not sled values: measured here, sled 0.34 wrote 32 KiB values at
//! ~110 MiB/s with three times the bytes on disk (node rewrites) and its memory grew
//! with the amount written; larger values go to sled's own unsynced side files. A
//! ciphertext file written once and fsynced before the commit that names it is as
//! durable, as fast as `rage`, and uses the same memory for 1 GiB as for 1 MiB.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::crypto::{ChunkSink, SealedChunk};

use super::layout::BlobId;

/// The folder of attachment files inside the data folder.
pub(super) const FOLDER: &str = "attachments";

/// The path of a blob's file.
pub(super) fn path(dir: &Path, id: BlobId) -> PathBuf {
    dir.join(id.to_string())
}

/// Writes the sealed chunks of one attachment. Until the report naming it commits,
/// the blob is pending: dropping it (a failed or abandoned upload) deletes the file.
pub struct PendingBlob {
    dir: PathBuf,
    id: BlobId,
    file: Option<File>,
    committed: bool,
}

impl PendingBlob {
    pub(super) fn create(dir: &Path, id: BlobId) -> io::Result<Self> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path(dir, id))?;
        Ok(PendingBlob {
            dir: dir.to_path_buf(),
            id,
            file: Some(file),
            committed: false,
        })
    }

    /// The blob's id.
    pub fn id(&self) -> BlobId {
        self.id
    }

    /// Makes the file's contents durable (before any record names it).
    pub(super) fn sync(&mut self) -> io::Result<()> {
        match self.file.take() {
            Some(file) => file.sync_all(),
            None => Ok(()),
        }
    }

    pub(super) fn mark_committed(&mut self) {
        self.committed = true;
    }
}

impl ChunkSink for PendingBlob {
    fn put(&mut self, chunk: SealedChunk<'_>) -> io::Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("attachment already closed"))?;
        file.write_all(chunk.as_bytes())
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if !self.committed {
            drop(self.file.take());
            delete(&self.dir, self.id);
        }
    }
}

/// Removes a blob's file; a failure is left for the start-up sweep.
pub(super) fn delete(dir: &Path, id: BlobId) {
    let _ = std::fs::remove_file(path(dir, id));
}

/// Reads a stored blob's ciphertext.
pub struct BlobReader(BufReader<File>);

impl BlobReader {
    pub(super) fn open(dir: &Path, id: BlobId) -> io::Result<Self> {
        Ok(BlobReader(BufReader::with_capacity(
            128 * 1024,
            File::open(path(dir, id))?,
        )))
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}
