//! Opening every report `list` needs, fast: reports the desk's cache already holds with
//! the event count the server gives are not fetched again; the rest come from the
//! server's feed, a page of hundreds of events at a time (from the cache's feed position,
//! or from the start when many are missing), and any the feed does not complete are
//! fetched on their own. They are opened in rounds on every core the member's identities
//! allow, and each thread is reduced at once to what `list` shows ([`Digest`]), so memory
//! holds digests and a bounded amount of ciphertext, never every thread.
//!
//! The feed is the server's word and hostile like the rest: an event out of order, a
//! page that goes backwards or a feed longer than the reports it lists only sends those
//! reports to be fetched on their own, where they are checked as always.

use std::collections::{HashMap, VecDeque};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::api::{self, ReportSummary};
use crate::crypto::Sealed;
use crate::store::ReportId;

use super::cache::{Cache, Digest};
use super::desk::Desk;
use super::inbox::SealedReport;
use super::{TeamClient, TeamError, Thread};

/// Reports opened per round on the cores.
const ROUND: usize = 256;
/// Ciphertext held for reports whose events the feed has not completed yet; beyond it,
/// the oldest are dropped and fetched on their own.
const PENDING_BYTES: usize = 64 << 20;
/// Reports fetched on their own at once.
const AT_ONCE: usize = 8;
/// Start reading the feed from the beginning, not the cache's position, when more than
/// this share of the reports (1/8) must be opened.
const REREAD_SHARE: usize = 8;

/// `f` over `items` on `workers` threads (each takes the next item when it is free),
/// results in order; `what` names the work if a thread fails.
pub(super) fn on_cores<T: Send, U: Send>(
    what: &'static str,
    workers: usize,
    items: Vec<T>,
    f: impl Fn(T) -> U + Sync,
) -> Result<Vec<U>, TeamError> {
    if workers <= 1 || items.len() < 2 {
        return Ok(items.into_iter().map(f).collect());
    }
    let count = items.len();
    let items: Vec<Mutex<Option<T>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
    let next = AtomicUsize::new(0);
    let (items, next, f) = (&items, &next, &f);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(count))
            .map(|_| {
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(slot) = items.get(i) else {
                            return done;
                        };
                        let item = slot.lock().ok().and_then(|mut s| s.take());
                        if let Some(item) = item {
                            done.push((i, f(item)));
                        }
                    }
                })
            })
            .collect();
        let mut out: Vec<(usize, U)> = Vec::with_capacity(count);
        for handle in handles {
            out.extend(handle.join().map_err(|_| TeamError::WorkerFailed(what))?);
        }
        out.sort_by_key(|(i, _)| *i);
        Ok(out.into_iter().map(|(_, u)| u).collect())
    })
}

/// A report's sealed events, as [`SealedReport`] holds them.
type Events = Vec<(u32, Option<Sealed>)>;

/// Reports still to be opened, and those opened so far.
struct Scan<'d> {
    desk: &'d Desk,
    /// Reports not yet complete: how many events the server's list says they have.
    wanted: HashMap<ReportId, u32>,
    /// Their events from the feed so far, in order from the first, and the bytes they
    /// came as.
    pending: HashMap<ReportId, (Events, usize)>,
    pending_bytes: usize,
    /// Pending reports, oldest first (some may be complete or dropped since).
    order: VecDeque<ReportId>,
    /// Complete, waiting for a round.
    ready: Vec<SealedReport>,
    /// Reporter recipients, from the server's list.
    reporters: HashMap<ReportId, &'d str>,
    /// Opened.
    done: HashMap<ReportId, Digest>,
    workers: usize,
    bar: Option<indicatif::ProgressBar>,
}

impl<'d> Scan<'d> {
    fn new(desk: &'d Desk, stale: Vec<&'d ReportSummary>) -> Self {
        let bar =
            (desk.progress && stale.len() >= ROUND && std::io::stderr().is_terminal()).then(|| {
                let bar = indicatif::ProgressBar::new(stale.len() as u64);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "opening {bar:40} {pos}/{len} reports {eta}",
                ) {
                    bar.set_style(style);
                }
                bar
            });
        Scan {
            desk,
            wanted: stale.iter().map(|s| (s.id, s.events)).collect(),
            reporters: stale.iter().map(|s| (s.id, s.reporter.as_str())).collect(),
            pending: HashMap::new(),
            pending_bytes: 0,
            order: VecDeque::new(),
            ready: Vec::new(),
            done: HashMap::with_capacity(stale.len()),
            workers: if desk.identities.all_native() {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            } else {
                1
            },
            bar,
        }
    }

    /// Takes one feed entry: kept if it is the next event of a wanted report; a report
    /// whose events do not come in order from its first is left to be fetched alone.
    fn take(&mut self, item: api::FeedItem) {
        let Some(&count) = self.wanted.get(&item.report) else {
            return;
        };
        let id = item.report;
        let (events, bytes) = self.pending.entry(id).or_default();
        if events.is_empty() && *bytes == 0 {
            self.order.push_back(id);
        }
        let sealed = api::decode(&item.sealed).map(Sealed::parse);
        let in_order = item.seq as usize == events.len();
        match sealed {
            Some(sealed) if in_order => {
                *bytes += item.sealed.len();
                self.pending_bytes += item.sealed.len();
                events.push((item.seq, sealed.ok()));
            }
            _ => {
                self.drop_pending(id);
                return;
            }
        }
        if events.len() == count as usize {
            let events = self.drop_pending(id).unwrap_or_default();
            self.wanted.remove(&id);
            self.ready.push(SealedReport {
                id,
                reporter: self.reporters.get(&id).copied().unwrap_or_default().into(),
                events,
            });
        }
        while self.pending_bytes > PENDING_BYTES {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.drop_pending(oldest);
                }
                None => break,
            }
        }
    }

    /// Forgets what the feed gave of `id` (it stays wanted, to be fetched alone), and
    /// gives it.
    fn drop_pending(&mut self, id: ReportId) -> Option<Events> {
        let (events, bytes) = self.pending.remove(&id)?;
        self.pending_bytes -= bytes;
        Some(events)
    }

    /// Opens the complete reports on the cores, if there are enough (or `all`).
    fn open_ready(&mut self, all: bool) -> Result<(), TeamError> {
        if self.ready.is_empty() || (!all && self.ready.len() < ROUND) {
            return Ok(());
        }
        let round = std::mem::take(&mut self.ready);
        let identities = &self.desk.identities;
        let roster = self.desk.roster.as_ref();
        let opened = on_cores("list", self.workers, round, |report| {
            let reporter = report.reporter.clone();
            Thread::open(report, identities, roster).map(|t| (t.id, reporter, Digest::of(&t)))
        })?;
        for result in opened {
            let (id, reporter, digest) = result?;
            self.desk.remember_reporter_key(id, &reporter);
            self.done.insert(id, digest);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(self.done.len() as u64);
        }
        Ok(())
    }

    /// Reads the feed after `cursor` to its end (or until it has given more entries than
    /// `most`); the position reached.
    async fn feed(
        &mut self,
        client: &TeamClient,
        mut cursor: u64,
        most: u64,
    ) -> Result<u64, TeamError> {
        let mut read = 0u64;
        while !self.wanted.is_empty() && read <= most {
            let page = client.feed(cursor).await?;
            if page.items.is_empty() {
                break;
            }
            if page.next <= cursor || page.items.iter().any(|i| i.cursor <= cursor) {
                // Not a feed; whatever it has not completed is fetched alone.
                break;
            }
            cursor = page.next;
            read += page.items.len() as u64;
            for item in page.items {
                self.take(item);
            }
            self.open_ready(false)?;
        }
        self.open_ready(true)?;
        Ok(cursor)
    }

    /// Fetches and opens, report by report, every wanted report the feed did not
    /// complete.
    async fn fetch_rest(&mut self) -> Result<(), TeamError> {
        self.pending.clear();
        let mut rest: Vec<ReportId> = self.wanted.keys().copied().collect();
        rest.sort();
        for round in rest.chunks(ROUND) {
            for few in round.chunks(AT_ONCE) {
                let fetched = futures_util::future::join_all(
                    few.iter().map(|id| self.desk.source.report(*id)),
                )
                .await;
                for report in fetched {
                    self.ready.push(report?);
                }
            }
            self.open_ready(true)?;
        }
        self.wanted.clear();
        Ok(())
    }
}

impl Desk {
    /// What `list` shows of every report in `summaries`: from the cache when the report
    /// has as many events as when it was cached, otherwise fetched and opened here; the
    /// cache is brought up to date (a failure to save it is only a warning).
    pub(super) async fn digests(
        &self,
        summaries: &[ReportSummary],
    ) -> Result<HashMap<ReportId, Digest>, TeamError> {
        let cache = self.cache_dir.as_deref().map(|dir| {
            Cache::new(
                dir,
                &self.roster_key,
                &self.identities,
                self.roster.as_ref(),
            )
        });
        let mut cached = cache
            .as_ref()
            .map(|c| c.load(&self.identities))
            .unwrap_or_default();
        let mut digests = HashMap::with_capacity(summaries.len());
        let mut stale = Vec::new();
        for summary in summaries {
            match cached.reports.remove(&summary.id) {
                Some(digest) if digest.events == summary.events => {
                    digests.insert(summary.id, digest);
                }
                _ => stale.push(summary),
            }
        }
        // Left in the cache: reports the server no longer lists.
        let mut changed = !stale.is_empty() || !cached.reports.is_empty();
        let mut cursor = cached.cursor;
        let mut scan = Scan::new(self, stale);
        if let Some(client) = self.source.server()
            && !scan.wanted.is_empty()
        {
            let from = if scan.wanted.len() > summaries.len() / REREAD_SHARE + ROUND {
                0
            } else {
                cursor
            };
            let events: u64 = summaries.iter().map(|s| u64::from(s.events)).sum();
            let reached = scan.feed(client, from, events + 1000).await?;
            changed |= reached != cursor;
            cursor = reached;
        }
        scan.fetch_rest().await?;
        if let Some(bar) = scan.bar.take() {
            bar.finish_and_clear();
        }
        digests.extend(scan.done);
        if let Some(cache) = cache
            && changed
            && let Err(e) = cache.save(&self.identities, cursor, &digests)
        {
            eprintln!(
                "Warning: {}; the next list opens every report again",
                crate::text::terminal_safe(&e.to_string())
            );
        }
        Ok(digests)
    }
}
