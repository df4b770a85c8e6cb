//! Writing: new reports and appended events, atomic and durable, many reports to one
//! batch and one flush (the [`Writer`] the flusher thread runs); purging a report;
//! sweeping attachment files that no report names.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::crypto::{self, LookupKey, ReporterRecipient, Sealed};

use super::{
    BlobId, EVENT_PART, NewEvent, PendingBlob, ReportId, ReportRecord, Store, StoreError, blob,
    layout,
};

impl Store {
    /// Commits a new report (its lookup key, record, events and blobs) in one atomic,
    /// durable batch. Returns only once the report would survive a power cut.
    pub async fn create_report(
        &self,
        lookup: &LookupKey,
        reporter: &ReporterRecipient,
        events: Vec<NewEvent>,
    ) -> Result<ReportId, StoreError> {
        let id = ReportId(crypto::random_bytes()?);
        let record = ReportRecord::new(lookup, reporter);
        if self.tree.contains_key(layout::report(id))? {
            // 64 random bits colliding means the random source is broken.
            return Err(StoreError::Damaged("random report id collided"));
        }
        self.commit(id, Some(record), events, false).await?;
        Ok(id)
    }

    /// Appends events to an existing report, atomically and durably. Returns their
    /// sequence numbers.
    pub async fn append(
        &self,
        id: ReportId,
        events: Vec<NewEvent>,
    ) -> Result<Vec<u32>, StoreError> {
        self.commit(id, None, events, false).await
    }

    /// Appends a member's events (see [`Store::append`]) and, in the same batch, marks
    /// the report answered ([`ReportRecord::answered`]).
    pub async fn append_from_team(
        &self,
        id: ReportId,
        events: Vec<NewEvent>,
    ) -> Result<Vec<u32>, StoreError> {
        self.commit(id, None, events, true).await
    }

    /// Hands one report's commit (a new one when `fresh` is given; marked answered when
    /// `answered`) to the flusher, which applies it with every other commit waiting, in
    /// one batch, and makes them durable with one flush. Returns once it is durable.
    async fn commit(
        &self,
        id: ReportId,
        fresh: Option<ReportRecord>,
        mut events: Vec<NewEvent>,
        answered: bool,
    ) -> Result<Vec<u32>, StoreError> {
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
        // From here the commit, its files included, belongs to the flusher: a reporter
        // who hangs up while it waits changes nothing.
        self.group
            .commit(Commit {
                id,
                fresh,
                events,
                answered,
            })
            .await
    }

    /// Appends events without attachments to several existing reports in one atomic,
    /// durable batch (a member's grants to many reports cost one flush, not one each).
    /// Fails as a whole, writing nothing, if any of the reports is missing. Gives each
    /// event's sequence number, in order. A grant answers no reporter: the reports'
    /// `answered` bits are left as they are.
    pub async fn append_each(
        &self,
        items: Vec<(ReportId, Sealed)>,
    ) -> Result<Vec<u32>, StoreError> {
        let seqs = {
            let _guard = self.commit_guard()?;
            let mut batch = sled::Batch::default();
            let mut records: HashMap<ReportId, ReportRecord> = HashMap::new();
            let mut feed = self.applied_feed.load(Ordering::SeqCst);
            let mut seqs = Vec::with_capacity(items.len());
            for (id, sealed) in &items {
                let record = match records.entry(*id) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => e.insert(self.report(*id)?.ok_or(StoreError::NotFound)?),
                };
                seqs.push(stage_event(
                    &mut batch, None, *id, record, sealed, &mut feed,
                )?);
            }
            let day = today();
            for (id, mut record) in records {
                record.last_day = day;
                batch.insert(layout::report(id), record.encode());
            }
            batch.insert(layout::feed_mark(), &feed.to_be_bytes()[..]);
            self.tree.apply_batch(batch)?;
            self.applied_feed.store(feed, Ordering::SeqCst);
            seqs
        };
        self.group.wait().await.map_err(StoreError::Durability)?;
        Ok(seqs)
    }

    /// Reports whose last activity was `days` or more days before `today`: the report
    /// ids and their last day, oldest first (for retention).
    pub fn quiet_reports(&self, today: u32, days: u32) -> Result<Vec<(ReportId, u32)>, StoreError> {
        let mut quiet: Vec<(ReportId, u32)> = self
            .reports()?
            .into_iter()
            .filter(|(_, r)| today.saturating_sub(r.last_day) >= days)
            .map(|(id, r)| (id, r.last_day))
            .collect();
        quiet.sort_by_key(|(_, day)| *day);
        Ok(quiet)
    }

    /// Removes every record of a report (receipt mapping, events, feed entries) in one
    /// durable batch, then its attachment files.
    pub async fn purge(&self, id: ReportId) -> Result<(), StoreError> {
        let mut blobs = Vec::new();
        {
            let _guard = self.commit_guard()?;
            let record = self.report(id)?.ok_or(StoreError::NotFound)?;
            let mut batch = sled::Batch::default();
            batch.remove(layout::report(id));
            batch.remove(layout::lookup(&record.lookup));
            for k in self.tree.scan_prefix(layout::event_prefix(id)).keys() {
                batch.remove(k?);
            }
            for k in self.tree.scan_prefix(layout::attached_prefix(id)).keys() {
                let k = k?;
                blobs.push(layout::parse_attached_key(&k).ok_or(StoreError::Damaged("blob key"))?);
                batch.remove(k);
            }
            for item in self.tree.scan_prefix([layout::FEED]) {
                let (k, v) = item?;
                if layout::parse_feed_value(&v).map(|(r, _)| r) == Some(id) {
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

    /// The lock every writer holds while it stages and applies its batch.
    pub(super) fn commit_guard(&self) -> Result<std::sync::MutexGuard<'_, ()>, StoreError> {
        self.commit_lock
            .lock()
            .map_err(|_| StoreError::Damaged("lock"))
    }

    /// Deletes attachment files that no committed report names (uploads cut off by a
    /// crash, or purged just before one).
    pub(super) fn sweep_orphans(&self) -> Result<usize, StoreError> {
        let mut owned = std::collections::HashSet::new();
        for k in self.tree.scan_prefix([layout::ATTACHED]).keys() {
            owned.insert(layout::parse_attached_key(&k?).ok_or(StoreError::Damaged("blob key"))?);
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
}

/// One report's commit, as [`Store::commit`] hands it to the flusher.
pub(super) struct Commit {
    id: ReportId,
    fresh: Option<ReportRecord>,
    events: Vec<NewEvent>,
    answered: bool,
}

/// A commit applied: its sequence numbers, and for a new report how to take it back out
/// if the flush fails (its receipt is then never shown, so nothing may linger).
pub(super) struct Applied {
    /// The events' sequence numbers, in order.
    pub(super) seqs: Vec<u32>,
    undo: Option<sled::Batch>,
    blobs: Vec<PendingBlob>,
}

/// What the flusher writes with: the tree, the lock every writer holds, the last feed
/// position applied, and the attachment folder (to remove a new report's files again).
pub(super) struct Writer {
    pub(super) tree: sled::Tree,
    pub(super) lock: Arc<Mutex<()>>,
    pub(super) applied: Arc<AtomicU64>,
    pub(super) attachments: PathBuf,
}

impl Writer {
    /// Stages every commit into one sled batch and applies it: one batch (sled rolls its
    /// log buffer twice for each) for the whole group. A commit to a report that is gone
    /// fails alone; a batch that cannot be applied fails them all, writing nothing.
    pub(super) fn apply(&self, commits: Vec<Commit>) -> Vec<Result<Applied, StoreError>> {
        let Ok(_guard) = self.lock.lock() else {
            return commits
                .iter()
                .map(|_| Err(StoreError::Damaged("lock")))
                .collect();
        };
        let mut batch = sled::Batch::default();
        let mut records: HashMap<ReportId, ReportRecord> = HashMap::new();
        let mut feed = self.applied.load(Ordering::SeqCst);
        let mut out: Vec<Result<Applied, StoreError>> = commits
            .into_iter()
            .map(|c| self.stage(c, &mut batch, &mut records, &mut feed))
            .collect();
        let day = today();
        for (id, mut record) in records {
            record.last_day = day;
            batch.insert(layout::report(id), record.encode());
        }
        batch.insert(layout::feed_mark(), &feed.to_be_bytes()[..]);
        if let Err(e) = self.tree.apply_batch(batch) {
            let failed = StoreError::from(e);
            return out
                .into_iter()
                .map(|r| r.and_then(|_| Err(StoreError::Durability(failed.to_string()))))
                .collect();
        }
        self.applied.store(feed, Ordering::SeqCst);
        // Applied: the files belong to their reports now.
        for applied in out.iter_mut().flatten() {
            applied
                .blobs
                .iter_mut()
                .for_each(PendingBlob::mark_committed);
        }
        out
    }

    /// Takes a new report of the group back out after its flush failed.
    pub(super) fn undo(&self, applied: Applied) {
        let Some(undo) = applied.undo else { return };
        let Ok(_guard) = self.lock.lock() else { return };
        if self.tree.apply_batch(undo).is_ok() {
            for blob in &applied.blobs {
                blob::delete(&self.attachments, blob.id());
            }
        }
    }

    /// Adds one commit to the group's batch; `records` holds the records the group
    /// changed so far (a later commit to the same report counts on from them).
    fn stage(
        &self,
        commit: Commit,
        batch: &mut sled::Batch,
        records: &mut HashMap<ReportId, ReportRecord>,
        feed: &mut u64,
    ) -> Result<Applied, StoreError> {
        let Commit {
            id,
            fresh,
            events,
            answered,
        } = commit;
        // Checked before anything is staged, so that a refusal leaves the batch alone.
        let part_limit = EVENT_PART * (usize::from(u16::MAX) + 1);
        if events
            .iter()
            .any(|e| e.sealed.as_bytes().len() > part_limit)
        {
            return Err(StoreError::Damaged("event size"));
        }
        let mut undo = fresh.as_ref().map(|_| sled::Batch::default());
        let record = match (fresh, records.entry(id)) {
            (Some(record), Entry::Vacant(e)) => {
                batch.insert(layout::lookup(&record.lookup), &id.0[..]);
                if let Some(undo) = &mut undo {
                    undo.remove(layout::lookup(&record.lookup));
                    undo.remove(layout::report(id));
                }
                e.insert(record)
            }
            (Some(_), Entry::Occupied(_)) => {
                return Err(StoreError::Damaged("random report id collided"));
            }
            (None, Entry::Occupied(e)) => e.into_mut(),
            (None, Entry::Vacant(e)) => match self.tree.get(layout::report(id))? {
                Some(v) => e.insert(ReportRecord::decode(&v)?),
                None => return Err(StoreError::NotFound),
            },
        };
        let fits = u32::try_from(events.len())
            .ok()
            .and_then(|n| record.events.checked_add(n));
        if fits.is_none() {
            return Err(StoreError::Damaged("event count"));
        }
        let mut seqs = Vec::with_capacity(events.len());
        let mut blobs = Vec::new();
        for event in events {
            seqs.push(stage_event(
                batch,
                undo.as_mut(),
                id,
                record,
                &event.sealed,
                feed,
            )?);
            if let Some(blob) = event.blob {
                batch.insert(layout::attached(id, blob.id()), &[][..]);
                if let Some(undo) = &mut undo {
                    undo.remove(layout::attached(id, blob.id()));
                }
                blobs.push(blob);
            }
        }
        record.answered |= answered;
        Ok(Applied { seqs, undo, blobs })
    }
}

/// Adds one sealed event of report `id` to `batch` (and its removal to `undo`): its
/// parts, its feed entry, the report's count. Gives its sequence number.
fn stage_event(
    batch: &mut sled::Batch,
    mut undo: Option<&mut sled::Batch>,
    id: ReportId,
    record: &mut ReportRecord,
    sealed: &Sealed,
    feed: &mut u64,
) -> Result<u32, StoreError> {
    let seq = record.events;
    record.events = seq
        .checked_add(1)
        .ok_or(StoreError::Damaged("event count"))?;
    for (part, piece) in sealed.as_bytes().chunks(EVENT_PART).enumerate() {
        let part = u16::try_from(part).map_err(|_| StoreError::Damaged("event size"))?;
        batch.insert(layout::event_part(id, seq, part), piece);
        if let Some(undo) = undo.as_deref_mut() {
            undo.remove(layout::event_part(id, seq, part));
        }
    }
    *feed += 1;
    batch.insert(layout::feed(*feed), layout::feed_value(id, seq));
    if let Some(undo) = undo {
        undo.remove(layout::feed(*feed));
    }
    Ok(seq)
}

pub(super) use crate::clock::today;
