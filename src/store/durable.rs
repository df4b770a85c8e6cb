//! Group commit: one thread applies every report's commit that is waiting as one sled
//! batch, then makes sled's log truly durable for all of them with one flush.
//!
//! sled's `flush` writes its buffers and calls `sync_file_range`, which persists
//! neither file metadata nor the drive's cache. After each flush this thread calls
//! `fsync` on the database file, and on any page sled wrote to a file of its own under
//! `blobs/` (which sled never syncs; the store's page sizes keep that from happening,
//! this is the safety net).
//!
//! Commits share flushes: when the first commit waits, the flusher gathers every other
//! commit that is under way (a request that announced itself with [`Active`]) before
//! it flushes, for up to [`GATHER`]. A lone reporter waits for nobody; under load one
//! flush and one fsync serve a whole group of reports, which is what keeps the
//! system's time per report down (an fsync is mostly kernel time, and at one per report
//! it was 40% of the server's CPU).

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::StoreError;
use super::commit::{Applied, Commit, Writer};

type Waiter = oneshot::Sender<Result<(), String>>;
type Answer = oneshot::Sender<Result<Vec<u32>, StoreError>>;

/// What the flusher is asked for.
enum Job {
    /// Make durable what is applied (a writer that applied its own batch).
    Flush(Waiter),
    /// Apply one report's commit with the others waiting, then make it durable.
    Commit(Commit, Answer),
}

/// The longest the first waiting commit waits for the others under way to join its
/// flush. Short beside what a report costs to send; at 64 concurrent reporters on two
/// cores, 2 ms gave groups of 8, 5 ms of 15 and 10 ms of 22 (`deploy/bench/load.sh`),
/// beyond which groups stop growing: all the requests under way have joined.
pub(super) const GATHER: Duration = Duration::from_millis(10);

/// A request that will commit at once (see [`Store::begin`](super::Store::begin)): counted
/// from when it has arrived whole until it is dropped, after its commit is durable or it
/// gave up.
pub struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Handle to the flusher thread; dropping it ends the thread.
pub(super) struct GroupCommit {
    queue: Option<mpsc::Sender<Job>>,
    active: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the flusher for `db`, applying commits with `writer` and syncing `file`
    /// (sled's log) after each flush. Before each flush it reads the last feed position
    /// applied to the tree; after a successful one it publishes that value in `durable`.
    pub(super) fn start(
        db: sled::Db,
        file: File,
        blobs: PathBuf,
        writer: Writer,
        durable: Arc<AtomicU64>,
    ) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::channel::<Job>();
        let active = Arc::new(AtomicUsize::new(0));
        let gathering = active.clone();
        let thread = std::thread::Builder::new()
            .name("agedrop-flush".into())
            .spawn(move || {
                let mut synced = HashSet::new();
                while let Ok(first) = rx.recv() {
                    let mut waiters = Vec::new();
                    let mut commits = Vec::new();
                    let mut answers = Vec::new();
                    for job in gather(first, &rx, &gathering) {
                        match job {
                            Job::Flush(waiter) => waiters.push(waiter),
                            Job::Commit(commit, answer) => {
                                commits.push(commit);
                                answers.push(answer);
                            }
                        }
                    }
                    let applied = match commits.is_empty() {
                        true => Vec::new(),
                        false => writer.apply(commits),
                    };
                    let watermark = writer.applied.load(Ordering::SeqCst);
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
                    for (applied, answer) in applied.into_iter().zip(answers) {
                        let _ = answer.send(settle(&writer, applied, &result));
                    }
                }
            })?;
        Ok(GroupCommit {
            queue: Some(queue),
            active,
            thread: Some(thread),
        })
    }

    /// Counts a request that will commit soon, until the guard is dropped: the flusher
    /// waits (briefly) for it to join the next flush rather than flush without it.
    pub(super) fn active(&self) -> Active {
        self.active.fetch_add(1, Ordering::SeqCst);
        Active(self.active.clone())
    }

    /// Applies `commit` with every other commit waiting, then makes it durable; its
    /// events' sequence numbers.
    pub(super) async fn commit(&self, commit: Commit) -> Result<Vec<u32>, StoreError> {
        let stopped = || StoreError::Durability("the flusher thread has stopped".into());
        let (tx, rx) = oneshot::channel();
        self.queue
            .as_ref()
            .ok_or_else(|| StoreError::Durability("the store is closing".into()))?
            .send(Job::Commit(commit, tx))
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Waits until everything applied before this call is on stable storage.
    pub(super) async fn wait(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .as_ref()
            .ok_or_else(|| "the store is closing".to_string())?
            .send(Job::Flush(tx))
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

/// The commits one flush serves: `first`, those already queued, and those of the
/// requests under way (`active`) that arrive within [`GATHER`].
fn gather(first: Job, rx: &mpsc::Receiver<Job>, active: &AtomicUsize) -> Vec<Job> {
    let mut waiters = vec![first];
    waiters.extend(rx.try_iter());
    let deadline = Instant::now() + GATHER;
    while waiters.len() < active.load(Ordering::SeqCst) {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        match rx.recv_timeout(left) {
            Ok(waiter) => {
                waiters.push(waiter);
                waiters.extend(rx.try_iter());
            }
            Err(_) => break,
        }
    }
    waiters
}

/// One commit's answer once its group's flush is done: its sequence numbers, or the
/// error; a new report whose flush failed is taken back out first.
fn settle(
    writer: &Writer,
    applied: Result<Applied, StoreError>,
    flushed: &Result<(), String>,
) -> Result<Vec<u32>, StoreError> {
    let applied = applied?;
    match flushed {
        Ok(()) => Ok(applied.seqs.clone()),
        Err(e) => {
            writer.undo(applied);
            Err(StoreError::Durability(e.clone()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job::Flush(oneshot::channel().0)
    }

    #[test]
    fn a_lone_commit_waits_for_nobody() {
        let (_tx, rx) = mpsc::channel();
        let started = Instant::now();
        assert_eq!(gather(job(), &rx, &AtomicUsize::new(1)).len(), 1);
        assert!(started.elapsed() < GATHER / 2, "{:?}", started.elapsed());
    }

    #[test]
    fn a_group_closes_as_soon_as_every_request_under_way_has_joined() {
        let (tx, rx) = mpsc::channel();
        let sender = std::thread::spawn(move || {
            for _ in 0..2 {
                std::thread::sleep(Duration::from_millis(1));
                tx.send(job()).unwrap();
            }
            // Kept open: the group must close because all have joined, not because
            // the channel ended.
            std::thread::sleep(GATHER * 3);
        });
        let started = Instant::now();
        assert_eq!(gather(job(), &rx, &AtomicUsize::new(3)).len(), 3);
        assert!(started.elapsed() < GATHER, "{:?}", started.elapsed());
        sender.join().unwrap();
    }

    #[test]
    fn requests_that_never_commit_hold_a_group_up_no_longer_than_the_bound() {
        let (_tx, rx) = mpsc::channel();
        let started = Instant::now();
        assert_eq!(gather(job(), &rx, &AtomicUsize::new(5)).len(), 1);
        let waited = started.elapsed();
        assert!(waited >= GATHER && waited < GATHER * 5, "{waited:?}");
    }
}
