//! Writing: new reports and appended events in one atomic, durable batch each; purging
//! a report; sweeping attachment files that no report names.

use std::sync::atomic::Ordering;

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::crypto::{self, LookupKey, ReporterRecipient, Sealed};

use super::{
    BlobId, EVENT_PART, NewEvent, ReportId, ReportRecord, Store, StoreError, blob, layout,
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

    /// Applies one batch for report `id` (a new one when `fresh` is given; marked
    /// answered when `answered`), then waits for the group commit to make it durable.
    async fn commit(
        &self,
        id: ReportId,
        fresh: Option<ReportRecord>,
        mut events: Vec<NewEvent>,
        answered: bool,
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
            let _guard = self.commit_guard()?;
            let mut batch = sled::Batch::default();
            let mut record = match fresh {
                Some(record) => {
                    batch.insert(layout::lookup(&record.lookup), &id.0[..]);
                    undo.remove(layout::lookup(&record.lookup));
                    undo.remove(layout::report(id));
                    record
                }
                // Read under the lock: a concurrent append may have added events.
                None => self.report(id)?.ok_or(StoreError::NotFound)?,
            };
            let mut feed = self.applied_feed.load(Ordering::SeqCst);
            let mut seqs = Vec::with_capacity(events.len());
            for event in &events {
                let seq = stage_event(
                    &mut batch,
                    Some(&mut undo),
                    id,
                    &mut record,
                    &event.sealed,
                    &mut feed,
                )?;
                if let Some(blob) = &event.blob {
                    batch.insert(layout::attached(id, blob.id()), &[][..]);
                    undo.remove(layout::attached(id, blob.id()));
                }
                seqs.push(seq);
            }
            record.last_day = today();
            record.answered |= answered;
            batch.insert(layout::report(id), record.encode());
            batch.insert(layout::feed_mark(), &feed.to_be_bytes()[..]);
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

    /// The lock every commit holds while it stages and applies its batch.
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
