//! Attachment streams: sealed chunks under one random blob id, written before the
//! report that names them is committed, and read back in order.

use std::io::{self, Read};

use crate::crypto::{ChunkSink, SealedChunk};

use super::keys::{self, BlobId};

/// Writes the sealed chunks of one attachment. Until the report naming it commits,
/// the blob is pending: dropping the writer (a failed or abandoned upload) deletes
/// every chunk written so far.
pub struct PendingBlob {
    tree: sled::Tree,
    id: BlobId,
    next: u32,
    bytes: u64,
    committed: bool,
}

impl PendingBlob {
    pub(super) fn new(tree: sled::Tree, id: BlobId) -> Self {
        PendingBlob {
            tree,
            id,
            next: 0,
            bytes: 0,
            committed: false,
        }
    }

    /// The blob's id.
    pub fn id(&self) -> BlobId {
        self.id
    }

    /// Ciphertext bytes written so far.
    pub fn stored_bytes(&self) -> u64 {
        self.bytes
    }

    pub(super) fn mark_committed(&mut self) {
        self.committed = true;
    }
}

impl ChunkSink for PendingBlob {
    fn put(&mut self, chunk: SealedChunk) -> io::Result<()> {
        let key = keys::blob_chunk(self.id, self.next);
        self.tree
            .insert(key, chunk.as_bytes())
            .map_err(io::Error::other)?;
        self.next = self
            .next
            .checked_add(1)
            .ok_or_else(|| io::Error::other("attachment has too many chunks"))?;
        self.bytes += chunk.as_bytes().len() as u64;
        Ok(())
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if !self.committed {
            delete_blob(&self.tree, self.id);
        }
    }
}

/// Removes every chunk of a blob; failures are left for the start-up sweep.
pub(super) fn delete_blob(tree: &sled::Tree, id: BlobId) {
    for key in tree.scan_prefix(keys::blob_prefix(id)).keys().flatten() {
        if tree.remove(key).is_err() {
            return;
        }
    }
}

/// Reads a stored blob's ciphertext in order, one chunk at a time.
pub struct BlobReader {
    chunks: sled::Iter,
    current: sled::IVec,
    offset: usize,
}

impl BlobReader {
    pub(super) fn new(tree: &sled::Tree, id: BlobId) -> Self {
        BlobReader {
            chunks: tree.scan_prefix(keys::blob_prefix(id)),
            current: sled::IVec::default(),
            offset: 0,
        }
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.offset == self.current.len() {
            match self.chunks.next() {
                None => return Ok(0),
                Some(Err(e)) => return Err(io::Error::other(e)),
                Some(Ok((_, value))) => {
                    self.current = value;
                    self.offset = 0;
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.offset);
        buf[..n].copy_from_slice(&self.current[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}
