//! Backups at the store's level: a consistent snapshot of every record and the
//! attachment files they name, taken while the server runs; and a fresh data folder
//! filled from one.
//!
//! Consistency: every commit (new report, append, grant, purge) stages and applies its
//! batch under the commit lock, so reading the whole tree under that lock sees each
//! batch wholly or not at all. Attachment files are never rewritten once committed, but
//! a purge deletes them after its batch; so, still under the lock, each file a snapshot
//! names is hard-linked into a private folder, which keeps its bytes however long the
//! backup takes to write. Commits wait only for the scan and the links, not the copy.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{BlobId, ReportRecord, Store, StoreError, StoreOptions, blob, layout};

/// Prefix of the folders that hold a snapshot's links (removed when it is dropped, and
/// at start-up if a crash left one).
pub(super) const STAGING_PREFIX: &str = "snapshot-";

/// A consistent copy of the store: its records in key order, and links to the
/// attachment files they name. Ciphertext and the few clear-text values only.
pub struct Snapshot {
    records: Vec<(sled::IVec, sled::IVec)>,
    blobs: Vec<BlobId>,
    reports: usize,
    staging: PathBuf,
}

impl Snapshot {
    /// Every record, as (key, value), in key order.
    pub fn records(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.records.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }

    /// The attachment files the records name.
    pub fn blobs(&self) -> &[BlobId] {
        &self.blobs
    }

    /// How many reports the snapshot holds.
    pub fn reports(&self) -> usize {
        self.reports
    }

    /// One attachment's ciphertext, as it was when the snapshot was taken.
    pub fn blob_file(&self, blob: BlobId) -> io::Result<File> {
        File::open(blob::path(&self.staging, blob))
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

impl Store {
    /// Takes a consistent snapshot (see the module's doc). Commits wait while the tree
    /// is read and the attachment files are linked; call [`Store::sync`] afterwards to
    /// know that everything in it was durable.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let name = format!(
            "{STAGING_PREFIX}{}",
            hex::encode(crate::crypto::random_bytes::<8>()?)
        );
        let staging = self.dir.join(name);
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new().mode(0o700).create(&staging)?;
        }
        let mut snapshot = Snapshot {
            records: Vec::new(),
            blobs: Vec::new(),
            reports: 0,
            staging,
        };
        let _guard = self.commit_guard()?;
        for item in self.tree.iter() {
            let (k, v) = item?;
            match k.first() {
                Some(&layout::REPORT) => snapshot.reports += 1,
                Some(&layout::ATTACHED) => {
                    let blob =
                        layout::parse_attached_key(&k).ok_or(StoreError::Damaged("blob key"))?;
                    std::fs::hard_link(
                        blob::path(&self.attachments, blob),
                        blob::path(&snapshot.staging, blob),
                    )?;
                    snapshot.blobs.push(blob);
                }
                _ => {}
            }
            snapshot.records.push((k, v));
        }
        Ok(snapshot)
    }

    /// Removes snapshot folders a crash left behind.
    pub(super) fn remove_stale_snapshots(&self) -> Result<(), StoreError> {
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(STAGING_PREFIX))
            {
                std::fs::remove_dir_all(entry.path())?;
            }
        }
        Ok(())
    }
}

/// A record in a backup was not one the store writes.
#[derive(Debug, thiserror::Error)]
#[error("not a record agedrop writes: {0}")]
pub struct BadRecord(&'static str);

/// The attachment a record names, if it is an attachment record; checks that the
/// record is one the store writes (known kind, well-formed key and value).
pub fn check_record(key: &[u8], value: &[u8]) -> Result<Option<BlobId>, BadRecord> {
    let ok = |good: bool, what| if good { Ok(None) } else { Err(BadRecord(what)) };
    match key.first() {
        Some(&layout::REPORT) => {
            let good = key.len() == 9 && ReportRecord::decode(value).is_ok();
            ok(good, "report record")
        }
        Some(&layout::LOOKUP) => ok(key.len() == 33 && value.len() == 8, "receipt look-up"),
        Some(&layout::EVENT) => ok(
            key.len() == 15 && !value.is_empty() && value.len() <= super::EVENT_PART,
            "event",
        ),
        Some(&layout::ATTACHED) if key.len() == 25 && value.is_empty() => {
            Ok(layout::parse_attached_key(key))
        }
        Some(&layout::FEED) => ok(key.len() == 9 && value.len() == 12, "feed entry"),
        Some(&layout::META) => ok(key == layout::feed_mark() && value.len() == 8, "feed mark"),
        _ => Err(BadRecord("unknown kind")),
    }
}

/// A new data folder being filled from a backup. Nothing in it counts until
/// [`Restoring::finish`] has checked it and made it durable; on any error the caller
/// removes the folder.
pub struct Restoring {
    store: Store,
    named: HashSet<BlobId>,
    present: HashSet<BlobId>,
}

impl Restoring {
    /// Creates the store in `dir`, which must be empty or absent.
    pub fn create(dir: &Path, cache_bytes: u64) -> Result<Self, StoreError> {
        let options = StoreOptions {
            cache_bytes,
            reserve_bytes: 0,
            sweep: false,
        };
        Ok(Restoring {
            store: Store::open(dir, &options)?,
            named: HashSet::new(),
            present: HashSet::new(),
        })
    }

    /// Adds one record (checked with [`check_record`] by the caller).
    pub fn record(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        if key.first() == Some(&layout::ATTACHED)
            && let Some(blob) = layout::parse_attached_key(key)
        {
            self.named.insert(blob);
        }
        self.store.tree.insert(key, value)?;
        Ok(())
    }

    /// Writes one attachment file from `bytes` (mode 0600, fsynced).
    pub fn blob(&mut self, blob: BlobId, bytes: &mut dyn Read) -> Result<u64, StoreError> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(blob::path(&self.store.attachments, blob))?;
        let n = io::copy(bytes, &mut file)?;
        file.flush()?;
        file.sync_all()?;
        self.present.insert(blob);
        Ok(n)
    }

    /// Checks that every attachment a record names is there and no other, then makes
    /// the folder durable. Gives the number of reports.
    pub fn finish(self) -> Result<usize, StoreError> {
        if self.named != self.present {
            return Err(StoreError::Damaged(
                "the attachment files do not match the records that name them",
            ));
        }
        let reports = self.store.tree.scan_prefix([layout::REPORT]).count();
        self.store.db.flush()?;
        File::open(self.store.dir.join("db"))?.sync_all()?;
        File::open(&self.store.attachments)?.sync_all()?;
        File::open(&self.store.dir)?.sync_all()?;
        Ok(reports)
    }
}
