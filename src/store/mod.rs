//! The only place that calls `sled` or writes the data folder: reports, receipt
//! look-ups, sealed events and the team's feed in sled, attachment streams in files
//! beside it; committed atomically and durably.
//!
//! The store never sees plaintext: it takes [`Sealed`] events and sealed blob chunks,
//! plus the few values the design keeps in the clear (random ids, the lookup key, the
//! reporter's public recipient, sequence numbers and a coarse last-activity day).

mod blob;
mod durable;
mod keys;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::crypto::{self, LookupKey, ReporterRecipient, Sealed};

pub use blob::{BlobReader, PendingBlob};
pub use keys::{BadId, BlobId, ReportId};

use durable::GroupCommit;

/// Largest piece of one event value; larger events are split across keys. sled writes
/// any page over a quarter of its 512 KiB log segment to a file of its own (which it
/// never syncs), and a leaf page holds up to 17 values: 4 KiB pieces keep every page
/// in the log, which the group commit fsyncs.
const EVENT_PART: usize = 4 * 1024;
const RECORD_VERSION: u8 = 1;

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

/// The reserve file's name in the data folder.
const RESERVE_FILE: &str = "reserve";

/// What the server keeps in the clear about a report.
#[derive(Clone, Debug)]
pub struct ReportRecord {
    lookup: [u8; 32],
    /// The reporter's public recipient (`age1…`), for sealing replies to them.
    pub reporter: String,
    /// Last activity, in whole days since the Unix epoch (for retention).
    pub last_day: u32,
    /// Number of events in the thread.
    pub events: u32,
}

impl ReportRecord {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(41 + self.reporter.len());
        v.push(RECORD_VERSION);
        v.extend_from_slice(&self.lookup);
        v.extend_from_slice(&self.last_day.to_be_bytes());
        v.extend_from_slice(&self.events.to_be_bytes());
        v.extend_from_slice(self.reporter.as_bytes());
        v
    }

    fn decode(v: &[u8]) -> Result<Self, StoreError> {
        let damaged = || StoreError::Damaged("report record");
        if v.first() != Some(&RECORD_VERSION) || v.len() < 41 {
            return Err(damaged());
        }
        let lookup = v[1..33].try_into().map_err(|_| damaged())?;
        let last_day = u32::from_be_bytes(v[33..37].try_into().map_err(|_| damaged())?);
        let events = u32::from_be_bytes(v[37..41].try_into().map_err(|_| damaged())?);
        let reporter = String::from_utf8(v[41..].to_vec()).map_err(|_| damaged())?;
        Ok(ReportRecord {
            lookup,
            reporter,
            last_day,
            events,
        })
    }
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
    commit_lock: Mutex<()>,
    /// The last feed position applied, and the last one known to be durable.
    applied_feed: Arc<AtomicU64>,
    durable_feed: Arc<AtomicU64>,
    group: GroupCommit,
}

impl Store {
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
        let last_entry = match tree.scan_prefix([keys::FEED]).keys().next_back() {
            Some(k) => keys::parse_feed_key(&k?).ok_or(StoreError::Damaged("feed key"))?,
            None => 0,
        };
        let mark = match tree.get(keys::feed_mark())? {
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
        let group = GroupCommit::start(
            db.clone(),
            log,
            dir.join("blobs"),
            applied_feed.clone(),
            durable_feed.clone(),
        )?;
        let store = Store {
            dir: dir.to_path_buf(),
            attachments,
            db,
            tree,
            commit_lock: Mutex::new(()),
            applied_feed,
            durable_feed,
            group,
        };
        if options.sweep {
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

    /// Commits a new report (its lookup key, record, events and blobs) in one atomic,
    /// durable batch. Returns only once the report would survive a power cut.
    pub async fn create_report(
        &self,
        lookup: &LookupKey,
        reporter: &ReporterRecipient,
        events: Vec<NewEvent>,
    ) -> Result<ReportId, StoreError> {
        let id = ReportId(crypto::random_bytes()?);
        let record = ReportRecord {
            lookup: *lookup.as_bytes(),
            reporter: reporter.to_string(),
            last_day: today(),
            events: 0,
        };
        if self.tree.contains_key(keys::report(id))? {
            // 64 random bits colliding means the random source is broken.
            return Err(StoreError::Damaged("random report id collided"));
        }
        self.commit(id, Some(record), events).await?;
        Ok(id)
    }

    /// Appends events to an existing report, atomically and durably. Returns their
    /// sequence numbers.
    pub async fn append(
        &self,
        id: ReportId,
        events: Vec<NewEvent>,
    ) -> Result<Vec<u32>, StoreError> {
        self.commit(id, None, events).await
    }

    /// Applies one batch for report `id` (a new one when `fresh` is given), then waits
    /// for the group commit to make it durable.
    async fn commit(
        &self,
        id: ReportId,
        fresh: Option<ReportRecord>,
        mut events: Vec<NewEvent>,
    ) -> Result<Vec<u32>, StoreError> {
        let is_new = fresh.is_some();
        // Attachment files first: durable before any record names them.
        let mut any_blob = false;
        for event in &mut events {
            if let Some(blob) = &mut event.blob {
                blob.sync()?;
                any_blob = true;
            }
        }
        if any_blob {
            std::fs::File::open(&self.attachments)?.sync_all()?;
        }
        let mut undo = sled::Batch::default();
        let seqs = {
            let _guard = self
                .commit_lock
                .lock()
                .map_err(|_| StoreError::Damaged("lock"))?;
            let mut batch = sled::Batch::default();
            let mut record = match fresh {
                Some(record) => {
                    batch.insert(keys::lookup(&record.lookup), &id.0[..]);
                    undo.remove(keys::lookup(&record.lookup));
                    undo.remove(keys::report(id));
                    record
                }
                // Read under the lock: a concurrent append may have added events.
                None => self.report(id)?.ok_or(StoreError::NotFound)?,
            };
            let mut feed = self.applied_feed.load(Ordering::SeqCst);
            let mut seqs = Vec::with_capacity(events.len());
            for event in &events {
                let seq = record.events;
                record.events = seq
                    .checked_add(1)
                    .ok_or(StoreError::Damaged("event count"))?;
                for (part, piece) in event.sealed.as_bytes().chunks(EVENT_PART).enumerate() {
                    let part =
                        u16::try_from(part).map_err(|_| StoreError::Damaged("event size"))?;
                    batch.insert(keys::event_part(id, seq, part), piece);
                    undo.remove(keys::event_part(id, seq, part));
                }
                if let Some(blob) = &event.blob {
                    batch.insert(keys::attached(id, blob.id()), &[][..]);
                    undo.remove(keys::attached(id, blob.id()));
                }
                feed += 1;
                batch.insert(keys::feed(feed), keys::feed_value(id, seq));
                undo.remove(keys::feed(feed));
                seqs.push(seq);
            }
            record.last_day = today();
            batch.insert(keys::report(id), record.encode());
            batch.insert(keys::feed_mark(), &feed.to_be_bytes()[..]);
            self.tree.apply_batch(batch)?;
            self.applied_feed.store(feed, Ordering::SeqCst);
            seqs
        };
        // The batch is applied, so the blobs belong to the report now, even if this
        // future is dropped while it waits (a reporter who hangs up).
        let mut blobs = Vec::new();
        for event in &mut events {
            if let Some(blob) = &mut event.blob {
                blob.mark_committed();
                blobs.push(blob.id());
            }
        }
        let durable = self.group.wait().await;
        if durable.is_err() && is_new {
            // Take the new report back out: its receipt is never shown, so nothing may
            // linger half-known. (An append cannot be undone safely; it stays.)
            if self.tree.apply_batch(undo).is_ok() {
                for blob in blobs {
                    blob::delete(&self.attachments, blob);
                }
            }
        }
        durable.map_err(StoreError::Durability)?;
        Ok(seqs)
    }

    /// The report a receipt's lookup key maps to.
    pub fn find(&self, lookup: &LookupKey) -> Result<Option<ReportId>, StoreError> {
        match self.tree.get(keys::lookup(lookup.as_bytes()))? {
            Some(v) => Ok(Some(
                keys::parse_report_id(&v).ok_or(StoreError::Damaged("lookup value"))?,
            )),
            None => Ok(None),
        }
    }

    /// A report's plaintext record.
    pub fn report(&self, id: ReportId) -> Result<Option<ReportRecord>, StoreError> {
        match self.tree.get(keys::report(id))? {
            Some(v) => Ok(Some(ReportRecord::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Every report id with its record, in id order.
    pub fn reports(&self) -> Result<Vec<(ReportId, ReportRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix([keys::REPORT]) {
            let (k, v) = item?;
            let id = keys::parse_report_id(&k[1..]).ok_or(StoreError::Damaged("report key"))?;
            out.push((id, ReportRecord::decode(&v)?));
        }
        Ok(out)
    }

    /// A report's events in order, as (seq, sealed).
    pub fn events(&self, id: ReportId) -> Result<Vec<(u32, Sealed)>, StoreError> {
        let mut out: Vec<(u32, Vec<u8>)> = Vec::new();
        for item in self.tree.scan_prefix(keys::event_prefix(id)) {
            let (k, v) = item?;
            let (seq, _part) = keys::parse_event_key(&k).ok_or(StoreError::Damaged("event key"))?;
            match out.last_mut() {
                Some((last, bytes)) if *last == seq => bytes.extend_from_slice(&v),
                _ => out.push((seq, v.to_vec())),
            }
        }
        Ok(out
            .into_iter()
            .map(|(seq, bytes)| (seq, Sealed::from_stored(bytes)))
            .collect())
    }

    /// One event of a report.
    pub fn event(&self, id: ReportId, seq: u32) -> Result<Option<Sealed>, StoreError> {
        let mut bytes = Vec::new();
        let mut prefix = keys::event_prefix(id);
        prefix.extend_from_slice(&seq.to_be_bytes());
        for item in self.tree.scan_prefix(prefix) {
            bytes.extend_from_slice(&item?.1);
        }
        Ok((!bytes.is_empty()).then(|| Sealed::from_stored(bytes)))
    }

    /// Feed entries after `cursor`, at most `limit`, only ever up to what is durable (so
    /// a client never sees an entry that a crash could take back).
    pub fn feed_after(&self, cursor: u64, limit: usize) -> Result<Vec<FeedEntry>, StoreError> {
        let durable = self.durable_feed.load(Ordering::SeqCst);
        let mut out = Vec::new();
        let start = keys::feed(cursor.saturating_add(1));
        for item in self
            .tree
            .range(start..keys::feed(durable.saturating_add(1)))
        {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            let position = keys::parse_feed_key(&k).ok_or(StoreError::Damaged("feed key"))?;
            let (report, seq) =
                keys::parse_feed_value(&v).ok_or(StoreError::Damaged("feed value"))?;
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
        Ok(self.tree.contains_key(keys::attached(report, blob))?)
    }

    /// The attachment blobs of a report.
    pub fn blob_ids(&self, report: ReportId) -> Result<Vec<BlobId>, StoreError> {
        let mut out = Vec::new();
        for k in self.tree.scan_prefix(keys::attached_prefix(report)).keys() {
            out.push(keys::parse_attached_key(&k?).ok_or(StoreError::Damaged("blob key"))?);
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

    /// Removes every record of a report (receipt mapping, events, feed entries) in one
    /// durable batch, then its attachment files.
    pub async fn purge(&self, id: ReportId) -> Result<(), StoreError> {
        let mut blobs = Vec::new();
        {
            let _guard = self
                .commit_lock
                .lock()
                .map_err(|_| StoreError::Damaged("lock"))?;
            let record = self.report(id)?.ok_or(StoreError::NotFound)?;
            let mut batch = sled::Batch::default();
            batch.remove(keys::report(id));
            batch.remove(keys::lookup(&record.lookup));
            for k in self.tree.scan_prefix(keys::event_prefix(id)).keys() {
                batch.remove(k?);
            }
            for k in self.tree.scan_prefix(keys::attached_prefix(id)).keys() {
                let k = k?;
                blobs.push(keys::parse_attached_key(&k).ok_or(StoreError::Damaged("blob key"))?);
                batch.remove(k);
            }
            for item in self.tree.scan_prefix([keys::FEED]) {
                let (k, v) = item?;
                if keys::parse_feed_value(&v).map(|(r, _)| r) == Some(id) {
                    batch.remove(k);
                }
            }
            self.tree.apply_batch(batch)?;
        }
        self.group.wait().await.map_err(StoreError::Durability)?;
        // A crash before this leaves unowned files, which the next start-up sweeps.
        for blob in blobs {
            blob::delete(&self.attachments, blob);
        }
        Ok(())
    }

    /// Deletes attachment files that no committed report names (uploads cut off by a
    /// crash, or purged just before one).
    fn sweep_orphans(&self) -> Result<usize, StoreError> {
        let mut owned = std::collections::HashSet::new();
        for k in self.tree.scan_prefix([keys::ATTACHED]).keys() {
            owned.insert(keys::parse_attached_key(&k?).ok_or(StoreError::Damaged("blob key"))?);
        }
        let mut swept = 0;
        for entry in std::fs::read_dir(&self.attachments)? {
            let entry = entry?;
            let name = entry.file_name();
            let known = name
                .to_str()
                .and_then(|n| n.parse::<BlobId>().ok())
                .is_some_and(|blob| owned.contains(&blob));
            if !known {
                std::fs::remove_file(entry.path())?;
                swept += 1;
            }
        }
        Ok(swept)
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
fn ensure_reserve(path: &Path, bytes: u64) {
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

/// Whole days since the Unix epoch, the only time the server keeps in the clear.
fn today() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    u32::try_from(secs / 86_400).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Receipt, TeamKeys};

    fn options() -> StoreOptions {
        StoreOptions {
            cache_bytes: 8 * 1024 * 1024,
            reserve_bytes: 0,
            sweep: true,
        }
    }

    fn files(store: &Store) -> usize {
        std::fs::read_dir(&store.attachments).unwrap().count()
    }

    #[tokio::test]
    async fn orphan_chunks_are_swept_and_committed_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let recipient = age::x25519::Identity::generate().to_public().to_string();
        let keys = TeamKeys::parse(&format!("{recipient}\n")).unwrap();
        {
            let store = Store::open(dir.path(), &options()).unwrap();
            // An upload that committed.
            let receipt = Receipt::generate().unwrap();
            let (lookup, reporter) = receipt.derive().unwrap();
            let mut sealer = keys
                .blob_sealer(Some(&reporter.recipient()), store.new_blob().unwrap())
                .unwrap();
            sealer.write(&[7u8; 100_000]).unwrap();
            let blob = sealer.finish().unwrap();
            let event = keys.seal(None, b"event").unwrap();
            store
                .create_report(
                    &lookup,
                    &reporter.recipient(),
                    vec![NewEvent {
                        sealed: event,
                        blob: Some(blob),
                    }],
                )
                .await
                .unwrap();
            assert_eq!(files(&store), 1);
            // An upload cut off by a crash: its writer never ran its clean-up.
            std::fs::write(blob::path(&store.attachments, BlobId([9; 16])), b"x").unwrap();
            assert_eq!(files(&store), 2);
            store.sync().await.unwrap();
        }
        // sled frees its file lock lazily (epoch-based reclamation): retry a while.
        let mut reopened = None;
        for _ in 0..100 {
            match Store::open(dir.path(), &options()) {
                Ok(store) => {
                    reopened = Some(store);
                    break;
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
        let store = reopened.expect("reopen the store");
        assert_eq!(store.reports().unwrap().len(), 1);
        let (id, _) = store.reports().unwrap()[0].clone();
        let events = store.events(id).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(files(&store), 1, "the orphan's file was not swept");
    }

    #[tokio::test]
    async fn feed_positions_are_never_reused_after_a_purge() {
        let dir = tempfile::tempdir().unwrap();
        let recipient = age::x25519::Identity::generate().to_public().to_string();
        let keys = TeamKeys::parse(&format!("{recipient}\n")).unwrap();
        async fn new_report(store: &Store, keys: &TeamKeys) -> ReportId {
            let (lookup, reporter) = Receipt::generate().unwrap().derive().unwrap();
            let sealed = keys.seal(None, b"event").unwrap();
            store
                .create_report(
                    &lookup,
                    &reporter.recipient(),
                    vec![NewEvent { sealed, blob: None }],
                )
                .await
                .unwrap()
        }
        let last = {
            let store = Store::open(dir.path(), &options()).unwrap();
            new_report(&store, &keys).await;
            let newest = new_report(&store, &keys).await;
            let last = store.feed_after(0, 10).unwrap().last().unwrap().cursor;
            store.purge(newest).await.unwrap();
            last
        };
        let mut reopened = None;
        for _ in 0..100 {
            if let Ok(store) = Store::open(dir.path(), &options()) {
                reopened = Some(store);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let store = reopened.expect("reopen the store");
        new_report(&store, &keys).await;
        // A client that had read up to `last` must still see the new report.
        let after = store.feed_after(last, 10).unwrap();
        assert_eq!(after.len(), 1);
        assert!(after[0].cursor > last);
    }

    #[tokio::test]
    async fn purge_removes_every_key_of_a_report() {
        let dir = tempfile::tempdir().unwrap();
        let recipient = age::x25519::Identity::generate().to_public().to_string();
        let keys = TeamKeys::parse(&format!("{recipient}\n")).unwrap();
        let store = Store::open(dir.path(), &options()).unwrap();
        let mut ids = Vec::new();
        for _ in 0..2 {
            let (lookup, reporter) = Receipt::generate().unwrap().derive().unwrap();
            let mut sealer = keys
                .blob_sealer(Some(&reporter.recipient()), store.new_blob().unwrap())
                .unwrap();
            sealer.write(&[1u8; 50_000]).unwrap();
            let blob = sealer.finish().unwrap();
            let big_event = keys.seal(None, &vec![2u8; 100_000]).unwrap();
            let id = store
                .create_report(
                    &lookup,
                    &reporter.recipient(),
                    vec![NewEvent {
                        sealed: big_event,
                        blob: Some(blob),
                    }],
                )
                .await
                .unwrap();
            ids.push(id);
        }
        let before = store.tree.len();
        store.purge(ids[0]).await.unwrap();
        let left: Vec<Vec<u8>> = store
            .tree
            .iter()
            .keys()
            .map(|k| k.unwrap().to_vec())
            .collect();
        assert!(left.len() < before);
        for key in &left {
            assert!(
                !key.windows(8).any(|w| w == ids[0].as_bytes()),
                "key {key:?} of the purged report remains"
            );
        }
        assert_eq!(store.reports().unwrap().len(), 1);
        assert_eq!(store.events(ids[1]).unwrap().len(), 1);
        assert_eq!(files(&store), 1);
        assert_eq!(store.feed_after(0, 100).unwrap().len(), 1);
    }
}
