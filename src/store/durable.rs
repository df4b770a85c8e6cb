//! Group commit: one thread makes sled's log truly durable for every commit waiting.
//!
//! sled's `flush` writes its buffers and calls `sync_file_range`, which persists
//! neither file metadata nor the drive's cache. After each flush this thread calls
//! `fsync` on the database file, and on any page sled wrote to a file of its own under
//! `blobs/` (which sled never syncs; the store's page sizes keep that from happening,
//! this is the safety net). Commits that arrive while a flush runs share the next
//! one, so durable throughput is not one fsync per report.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use tokio::sync::oneshot;

type Waiter = oneshot::Sender<Result<(), String>>;

/// Handle to the flusher thread; dropping it ends the thread.
pub(super) struct GroupCommit {
    queue: Option<mpsc::Sender<Waiter>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the flusher for `db`, syncing `file` (sled's log) after each flush.
    /// Before each flush it reads `applied` (the last feed position applied to the tree);
    /// after a successful one it publishes that value in `durable`.
    pub(super) fn start(
        db: sled::Db,
        file: File,
        blobs: PathBuf,
        applied: Arc<AtomicU64>,
        durable: Arc<AtomicU64>,
    ) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::channel::<Waiter>();
        let thread = std::thread::Builder::new()
            .name("agedrop-flush".into())
            .spawn(move || {
                let mut synced = HashSet::new();
                while let Ok(first) = rx.recv() {
                    let mut waiters = vec![first];
                    waiters.extend(rx.try_iter());
                    let watermark = applied.load(Ordering::SeqCst);
                    let result = db
                        .flush()
                        .map_err(|e| e.to_string())
                        .and_then(|_| file.sync_all().map_err(|e| e.to_string()))
                        .and_then(|_| {
                            sync_new_files(&blobs, &mut synced).map_err(|e| e.to_string())
                        });
                    if result.is_ok() {
                        durable.fetch_max(watermark, Ordering::SeqCst);
                    }
                    for waiter in waiters {
                        // A waiter that went away (client hung up) needs no answer.
                        let _ = waiter.send(result.clone());
                    }
                }
            })?;
        Ok(GroupCommit {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Waits until everything applied before this call is on stable storage.
    pub(super) async fn wait(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .as_ref()
            .ok_or_else(|| "the store is closing".to_string())?
            .send(tx)
            .map_err(|_| "the flusher thread has stopped".to_string())?;
        rx.await
            .map_err(|_| "the flusher thread has stopped".to_string())?
    }
}

impl Drop for GroupCommit {
    /// Ends the thread and waits for it, so that its handle on the database is gone
    /// when the store is (the folder can then be opened again at once).
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Fsyncs the files in `dir` not synced before, then the folder itself.
fn sync_new_files(dir: &Path, synced: &mut HashSet<OsString>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut any = false;
    let mut present = HashSet::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if !synced.contains(&name) {
            match File::open(entry.path()) {
                Ok(f) => f.sync_all()?,
                // sled removed it meanwhile: nothing to keep.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
            any = true;
        }
        present.insert(name);
    }
    if any {
        File::open(dir)?.sync_all()?;
    }
    // Forget files sled has deleted, so the set does not grow without bound.
    *synced = present;
    Ok(())
}
