//! The only place that calls `sled` or writes the data folder: reports, receipt
//! look-ups, sealed events and the team's feed in sled, attachment streams in files
//! beside it; committed atomically and durably.
//!
//! The store never sees plaintext: it takes [`Sealed`] events and sealed blob chunks,
//! plus the few values the design keeps in the clear (random ids, the lookup key, the
//! reporter's public recipient, sequence numbers, a coarse last-activity day and
//! whether the team has answered).

mod blob;
mod census;
mod commit;
mod durable;
mod layout;
mod record;
mod snapshot;
mod space;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::crypto::{self, LookupKey, Sealed};

pub use blob::{BlobReader, PendingBlob};
pub use census::Census;
pub use layout::{BadId, BlobId, ReportId};
pub use record::ReportRecord;
pub use snapshot::{BadRecord, Restoring, Snapshot, check_record};

pub use durable::Active;
use durable::GroupCommit;
use space::{RESERVE_FILE, ensure_reserve};

/// Largest piece of one event value; larger events are split across keys. sled writes
/// any page over a quarter of its 512 KiB log segment to a file of its own (which it
/// never syncs), and a leaf page holds up to 17 values: 4 KiB pieces keep every page
/// in the log, which the group commit fsyncs.
const EVENT_PART: usize = 4 * 1024;

/// Storage failed; the message is for the operator's log, never for a reporter.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an error.
    #[error("storage engine: {0}")]
    Engine(#[from] sled::Error),
    /// The file system reported an error.
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
    /// Making a commit durable failed.
    #[error("making the commit durable failed: {0}")]
    Durability(String),
    /// A stored record could not be read.
    #[error("damaged record: {0}")]
    Damaged(&'static str),
    /// The operating system's random number generator failed.
    #[error("random ids: {0}")]
    Random(#[from] crypto::CryptoError),
    /// The report does not exist.
    #[error("no such report")]
    NotFound,
}

impl StoreError {
    /// Whether the store can no longer be trusted to write: sled stops accepting writes
    /// after any I/O failure of its own (a full disk above all) until it is opened again,
    /// and a full or failing disk under an attachment file means the same. Errors a
    /// visitor could provoke on purpose (too many open files, a file purged while it was
    /// read) are not fatal.
    pub fn is_fatal(&self) -> bool {
        match self {
            StoreError::Engine(_) | StoreError::Durability(_) => true,
            StoreError::Io(e) => is_disk_failure(e),
            _ => false,
        }
    }
}

/// Out of space or quota, read-only, or an I/O error from the device.
fn is_disk_failure(e: &std::io::Error) -> bool {
    // ENOSPC, EDQUOT, EROFS, EIO
    e.kind() == std::io::ErrorKind::StorageFull
        || e.kind() == std::io::ErrorKind::QuotaExceeded
        || e.kind() == std::io::ErrorKind::ReadOnlyFilesystem
        || e.raw_os_error() == Some(5)
}

/// How to open the store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Cap on sled's page cache in bytes (sled's own default is 1 GiB).
    pub cache_bytes: u64,
    /// Size of the reserve file kept in the data folder (0 for none): space held back
    /// so that sled can open again after the disk filled up.
    pub reserve_bytes: u64,
    /// Whether to delete attachment files no report names (the server does at start-up;
    /// a reader of a copied folder must not).
    pub sweep: bool,
}

/// One event to add to a thread; an attachment event carries the blob it names.
pub struct NewEvent {
    /// The sealed event.
    pub sealed: Sealed,
    /// For an attachment event, its stream of chunks.
    pub blob: Option<PendingBlob>,
}

/// One entry of the team's feed: event `seq` of `report`, at feed position `cursor`.
#[derive(Clone, Copy, Debug)]
pub struct FeedEntry {
    /// Position in the feed; pass it back to continue after it.
    pub cursor: u64,
    /// The report.
    pub report: ReportId,
    /// The event's sequence number in that report.
    pub seq: u32,
}

/// The data folder.
pub struct Store {
    dir: PathBuf,
    attachments: PathBuf,
    db: sled::Db,
    tree: sled::Tree,
    /// Serialises commits so that sequence numbers and feed positions are allocated in
    /// the order batches are applied.
    commit_lock: Arc<Mutex<()>>,
    /// The last feed position applied, and the last one known to be durable.
    applied_feed: Arc<AtomicU64>,
    durable_feed: Arc<AtomicU64>,
    group: GroupCommit,
}

impl Store {
    /// Announces a request that will commit at once (a report or a message that has
    /// arrived whole): concurrent commits wait for it, up to a bound, to share one flush
    /// (the group commit). Keep the guard until the commit returns.
    pub fn begin(&self) -> Active {
        self.group.active()
    }

    /// Opens (or creates) the store in `dir` and sweeps chunks of uploads that never
    /// committed.
    pub fn open(dir: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let attachments = dir.join(blob::FOLDER);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&attachments)?;
        ensure_reserve(&dir.join(RESERVE_FILE), options.reserve_bytes);
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(options.cache_bytes)
            .mode(sled::Mode::HighThroughput)
            .open()?;
        // The directory entries sled may just have created must survive a crash too.
        std::fs::File::open(dir)?.sync_all()?;
        let tree = db.open_tree("agedrop")?;
        let last_entry = match tree.scan_prefix([layout::FEED]).keys().next_back() {
            Some(k) => layout::parse_feed_key(&k?).ok_or(StoreError::Damaged("feed key"))?,
            None => 0,
        };
        let mark = match tree.get(layout::feed_mark())? {
            Some(v) => u64::from_be_bytes(
                v.as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Damaged("feed mark"))?,
            ),
            None => 0,
        };
        let last_feed = last_entry.max(mark);
        let applied_feed = Arc::new(AtomicU64::new(last_feed));
        let durable_feed = Arc::new(AtomicU64::new(last_feed));
        let log = std::fs::OpenOptions::new()
            .read(true)
            .open(dir.join("db"))?;
        let commit_lock = Arc::new(Mutex::new(()));
        let writer = commit::Writer {
            tree: tree.clone(),
            lock: commit_lock.clone(),
            applied: applied_feed.clone(),
            attachments: attachments.clone(),
        };
        let group = GroupCommit::start(
            db.clone(),
            log,
            dir.join("blobs"),
            writer,
            durable_feed.clone(),
        )?;
        let store = Store {
            dir: dir.to_path_buf(),
            attachments,
            db,
            tree,
            commit_lock,
            applied_feed,
            durable_feed,
            group,
        };
        if options.sweep {
            store.remove_stale_snapshots()?;
            let swept = store.sweep_orphans()?;
            if swept > 0 {
                tracing::info!(
                    files = swept,
                    "removed attachment files that no report names"
                );
            }
        }
        Ok(store)
    }

    /// Starts a new attachment stream under a fresh random id.
    pub fn new_blob(&self) -> Result<PendingBlob, StoreError> {
        Ok(PendingBlob::create(
            &self.attachments,
            BlobId(crypto::random_bytes()?),
        )?)
    }

    /// The report a receipt's lookup key maps to.
    pub fn find(&self, lookup: &LookupKey) -> Result<Option<ReportId>, StoreError> {
        match self.tree.get(layout::lookup(lookup.as_bytes()))? {
            Some(v) => Ok(Some(
                layout::parse_report_id(&v).ok_or(StoreError::Damaged("lookup value"))?,
            )),
            None => Ok(None),
        }
    }

    /// A report's plaintext record.
    pub fn report(&self, id: ReportId) -> Result<Option<ReportRecord>, StoreError> {
        match self.tree.get(layout::report(id))? {
            Some(v) => Ok(Some(ReportRecord::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Every report id with its record, in id order.
    pub fn reports(&self) -> Result<Vec<(ReportId, ReportRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix([layout::REPORT]) {
            let (k, v) = item?;
            let id = layout::parse_report_id(&k[1..]).ok_or(StoreError::Damaged("report key"))?;
            out.push((id, ReportRecord::decode(&v)?));
        }
        Ok(out)
    }

    /// A report's events in order, as (seq, sealed).
    pub fn events(&self, id: ReportId) -> Result<Vec<(u32, Sealed)>, StoreError> {
        let mut out: Vec<(u32, Vec<u8>)> = Vec::new();
        for item in self.tree.scan_prefix(layout::event_prefix(id)) {
            let (k, v) = item?;
            let (seq, _part) =
                layout::parse_event_key(&k).ok_or(StoreError::Damaged("event key"))?;
            match out.last_mut() {
                Some((last, bytes)) if *last == seq => bytes.extend_from_slice(&v),
                _ => out.push((seq, v.to_vec())),
            }
        }
        // The store's own bytes, checked when they were appended.
        #[allow(clippy::disallowed_methods)]
        Ok(out
            .into_iter()
            .map(|(seq, bytes)| (seq, Sealed::from_stored(bytes)))
            .collect())
    }

    /// One event of a report.
    pub fn event(&self, id: ReportId, seq: u32) -> Result<Option<Sealed>, StoreError> {
        let mut bytes = Vec::new();
        let mut prefix = layout::event_prefix(id);
        prefix.extend_from_slice(&seq.to_be_bytes());
        for item in self.tree.scan_prefix(prefix) {
            bytes.extend_from_slice(&item?.1);
        }
        #[allow(clippy::disallowed_methods)] // the store's own bytes
        Ok((!bytes.is_empty()).then(|| Sealed::from_stored(bytes)))
    }

    /// Feed entries after `cursor`, at most `limit`, only ever up to what is durable (so
    /// a client never sees an entry that a crash could take back).
    pub fn feed_after(&self, cursor: u64, limit: usize) -> Result<Vec<FeedEntry>, StoreError> {
        let durable = self.durable_feed.load(Ordering::SeqCst);
        let mut out = Vec::new();
        let start = layout::feed(cursor.saturating_add(1));
        for item in self
            .tree
            .range(start..layout::feed(durable.saturating_add(1)))
        {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            let position = layout::parse_feed_key(&k).ok_or(StoreError::Damaged("feed key"))?;
            let (report, seq) =
                layout::parse_feed_value(&v).ok_or(StoreError::Damaged("feed value"))?;
            out.push(FeedEntry {
                cursor: position,
                report,
                seq,
            });
        }
        Ok(out)
    }

    /// Whether `blob` is an attachment of `report`.
    pub fn has_blob(&self, report: ReportId, blob: BlobId) -> Result<bool, StoreError> {
        Ok(self.tree.contains_key(layout::attached(report, blob))?)
    }

    /// The attachment blobs of a report.
    pub fn blob_ids(&self, report: ReportId) -> Result<Vec<BlobId>, StoreError> {
        let mut out = Vec::new();
        for k in self
            .tree
            .scan_prefix(layout::attached_prefix(report))
            .keys()
        {
            out.push(layout::parse_attached_key(&k?).ok_or(StoreError::Damaged("blob key"))?);
        }
        Ok(out)
    }

    /// A blob's ciphertext file, opened for reading (for async streaming).
    pub fn blob_file(&self, blob: BlobId) -> Result<std::fs::File, StoreError> {
        Ok(std::fs::File::open(blob::path(&self.attachments, blob))?)
    }

    /// Reads a blob's ciphertext.
    pub fn blob(&self, blob: BlobId) -> Result<BlobReader, StoreError> {
        Ok(BlobReader::open(&self.attachments, blob)?)
    }

    /// How many records (keys or values) mention a report id, and how many attachment
    /// files exist in all: for checking that a purge left nothing behind.
    pub fn audit(&self, id: ReportId) -> Result<(usize, usize), StoreError> {
        let mut records = 0;
        for item in self.tree.iter() {
            let (k, v) = item?;
            let mentions = |bytes: &[u8]| bytes.windows(id.0.len()).any(|w| w == id.0);
            if mentions(&k) || mentions(&v) {
                records += 1;
            }
        }
        let files = std::fs::read_dir(&self.attachments)?.count();
        Ok((records, files))
    }

    /// Waits until everything applied so far is durable.
    pub async fn sync(&self) -> Result<(), StoreError> {
        self.group.wait().await.map_err(StoreError::Durability)
    }
}

#[cfg(test)]
mod tests;
