//! The team's desk: the same reading commands over a server, an offline bundle or a
//! local data folder, with everything decrypted here and written to disk only where
//! the member asks (attachments into `--out`). Every team event is checked against the
//! roster the member pinned for the source.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::api::ReportSummary;
use crate::report::{Deadline, Event, Promise, Promises, Reason, Status};
use crate::store::ReportId;

use super::inbox::{Inbox, resolve_prefix};
use super::roster::{Change, Pins, Roster};
use super::settings::Seen;
use super::thread::EventState;
use super::{Identities, TeamClient, TeamError, Thread};

/// One line of `list`.
#[derive(Serialize)]
pub struct ListItem {
    /// Report id.
    pub id: ReportId,
    /// Its title, or a note that this identity cannot read it (wiped when dropped).
    pub title: zeroize::Zeroizing<String>,
    /// Latest status set by a verified member; `None` (null) when nothing of the report
    /// is readable here, so its status is unknown.
    pub status: Option<Status>,
    /// Why it was closed, when it is.
    pub reason: Option<Reason>,
    /// When it arrived (Unix seconds; RFC 3339 in JSON).
    #[serde(serialize_with = "as_rfc3339")]
    pub received: Option<i64>,
    /// Newest event this identity can read.
    #[serde(serialize_with = "as_rfc3339")]
    pub last_activity: Option<i64>,
    /// Events not yet shown to this member with `show`.
    pub unread: u32,
    /// The earliest promise not yet kept, when the source knows the programme's promises.
    pub next: Option<DeadlineView>,
    /// Every promise's deadline for this report.
    pub deadlines: Vec<DeadlineView>,
    /// A promise is past its deadline and not kept.
    pub overdue: bool,
    /// Number of attachments.
    pub attachments: usize,
    /// Events that opened but could not be read.
    pub unreadable: usize,
}

/// One deadline, as `list --json` and `show --json` give it.
#[derive(Serialize, Clone, Copy)]
pub struct DeadlineView {
    /// Which promise: `acknowledge`, `assess`, `update` or `disclose`.
    pub promise: Promise,
    /// When it is due (RFC 3339 in JSON).
    #[serde(serialize_with = "at_rfc3339")]
    pub due: i64,
    /// When it was kept, if it was.
    #[serde(serialize_with = "as_rfc3339")]
    pub met: Option<i64>,
    /// Due and not kept.
    pub overdue: bool,
}

impl DeadlineView {
    fn new(d: Deadline, now: i64) -> Self {
        DeadlineView {
            promise: d.promise,
            due: d.due,
            met: d.met,
            overdue: d.overdue(now),
        }
    }
}

fn at_rfc3339<S: serde::Serializer>(at: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::text::rfc3339(*at).unwrap_or_default())
}

/// One event of `show --json`.
#[derive(Serialize)]
pub struct ShownEvent<'a> {
    /// Position in the thread.
    pub seq: u32,
    /// `opened`, `not-sealed-to-you` or `unreadable`.
    pub state: EventState,
    /// Whether a member of the pinned roster verifiably wrote it (reporter events, which
    /// the server writes, are never signed: always false, with the reason).
    pub verified: bool,
    /// The pinned name of the member who signed it, when verified.
    pub signed_by: Option<&'a str>,
    /// Why it is or is not verified.
    pub verification: &'a str,
    /// The pinned name of the member whose grant opened it, if it was sealed before this
    /// member joined.
    pub key_granted_by: Option<&'a str>,
    /// The opened event, or null.
    #[serde(serialize_with = "without_stream_keys")]
    pub event: Option<&'a Event>,
}

fn without_stream_keys<S: serde::Serializer>(
    event: &Option<&Event>,
    s: S,
) -> Result<S::Ok, S::Error> {
    event.map(crate::report::ForScripts).serialize(s)
}

/// `show --json`.
#[derive(Serialize)]
pub struct Shown<'a> {
    /// Report id.
    pub id: ReportId,
    /// Title.
    pub title: &'a str,
    /// Latest status set by a verified member.
    pub status: Status,
    /// Why it was closed, when it is.
    pub reason: Option<Reason>,
    /// The team's current question to the reporter (`needs-more-information`).
    pub question: Option<&'a str>,
    /// The agreed public disclosure instant: the team's, or the programme's default
    /// embargo (RFC 3339; null when the source does not know the promises).
    #[serde(serialize_with = "as_rfc3339")]
    pub disclosure: Option<i64>,
    /// Whether a member set that instant (false: the programme's default).
    pub disclosure_set_by_team: bool,
    /// The reporter's latest proposal of an instant, if any.
    #[serde(serialize_with = "as_rfc3339")]
    pub proposed_by_reporter: Option<i64>,
    /// Every promise's deadline.
    pub deadlines: Vec<DeadlineView>,
    /// The advisory's current revision and the reporter's credit; null without one.
    pub advisory: Option<super::AdvisoryView>,
    /// Every event, oldest first.
    pub events: Vec<ShownEvent<'a>>,
}

impl<'a> Shown<'a> {
    /// The JSON view of a thread, with its deadlines when `promises` are known.
    pub fn new(thread: &'a Thread, promises: Option<&Promises>) -> Self {
        let now = crate::report::now();
        let progress = thread.progress();
        let tracked = progress.zip(promises);
        Shown {
            id: thread.id,
            title: thread.title(),
            status: thread.status(),
            reason: progress.and_then(|p| p.reason),
            question: thread.question(),
            disclosure: tracked
                .filter(|(p, _)| p.open || p.disclosed.is_some())
                .map(|(p, promises)| p.disclosed.unwrap_or(p.embargo_end(promises))),
            disclosure_set_by_team: progress.is_some_and(|p| p.disclosure.is_some()),
            proposed_by_reporter: thread.proposal().map(|(_, at)| at),
            deadlines: tracked
                .map(|(p, promises)| p.deadlines(promises))
                .unwrap_or_default()
                .into_iter()
                .map(|d| DeadlineView::new(d, now))
                .collect(),
            advisory: super::AdvisoryView::of(thread),
            events: thread
                .events
                .iter()
                .map(|e| ShownEvent {
                    seq: e.seq,
                    state: e.state,
                    verified: e.verified(),
                    signed_by: e.signer.as_deref(),
                    verification: &e.verification,
                    key_granted_by: e.granted_by.as_deref(),
                    event: e.event.as_ref(),
                })
                .collect(),
        }
    }
}

/// The desk: a source, the member's identities, what they have read, and what they
/// pinned (the roster they trust, each report's reporter key).
pub struct Desk {
    pub(super) source: Box<dyn Inbox>,
    pub(super) identities: Arc<Identities>,
    seen: Seen,
    pub(super) pins: Mutex<Pins>,
    /// The pinned roster: whose signatures count, and whom to seal to.
    pub(super) roster: Option<Roster>,
    /// The source's roster, when it differs from the pinned one.
    pub(super) pending: Option<(Roster, Change)>,
    /// Where this source's roster is pinned ([`Inbox::roster_key`]).
    pub(super) roster_key: String,
    /// The folder of the desk's sealed cache, when it keeps one ([`Desk::keep_cache_in`]).
    pub(super) cache_dir: Option<PathBuf>,
    /// Whether long work shows a progress bar on a terminal.
    pub(super) progress: bool,
}

fn as_rfc3339<S: serde::Serializer>(at: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match at.and_then(crate::text::rfc3339) {
        Some(text) => s.serialize_some(&text),
        None => s.serialize_none(),
    }
}

impl Desk {
    /// A desk over `source`; call [`Desk::check_roster`] before anything that reads or
    /// writes team events.
    pub fn new(source: Box<dyn Inbox>, identities: Identities, seen: Seen, pins: Pins) -> Self {
        Desk {
            roster_key: source.roster_key(),
            source,
            identities: Arc::new(identities),
            seen,
            pins: Mutex::new(pins),
            roster: None,
            pending: None,
            cache_dir: None,
            progress: false,
        }
    }

    /// Keeps what `list` needs of every report it has opened in `dir`, sealed to the
    /// member's own recipients, so that the next `list` fetches and opens only what
    /// changed (a server source only; see `cache.rs`).
    pub fn keep_cache_in(&mut self, dir: PathBuf) {
        if self.source.server().is_some() {
            self.cache_dir = Some(dir);
        }
    }

    /// Shows a progress bar on standard error, when it is a terminal, while `list` opens
    /// many reports.
    pub fn show_progress(&mut self, on: bool) {
        self.progress = on;
    }

    /// The logged-in client, for commands that change the server.
    pub fn client(&self) -> Result<&TeamClient, TeamError> {
        self.source.server().ok_or(TeamError::NeedsServer)
    }

    /// Every report's clear-text record.
    async fn summaries(&self) -> Result<Vec<ReportSummary>, TeamError> {
        self.source.summaries().await
    }

    /// The full id of the one report whose id starts with `prefix`.
    pub async fn resolve(&self, prefix: &str) -> Result<ReportId, TeamError> {
        resolve_prefix(prefix, self.summaries().await?.into_iter().map(|s| s.id))
    }

    /// One report's thread, opened here, signatures checked against the pinned roster.
    pub async fn thread(&self, id: ReportId) -> Result<Thread, TeamError> {
        let report = self.source.report(id).await?;
        Thread::open(report, &self.identities, self.roster.as_ref())
    }

    /// What the programme promises, if the source knows (a data folder only with the
    /// operator's config).
    pub async fn promises(&self) -> Result<Option<Promises>, TeamError> {
        self.source.promises().await
    }

    /// The programme's canned text for closing a report for `reason` (none when the
    /// source has none, or it is empty).
    pub async fn closing_text(&self, reason: Reason) -> Result<Option<String>, TeamError> {
        Ok(self
            .source
            .closing()
            .await?
            .map(|c| c.text(reason).to_string())
            .filter(|t| !t.trim().is_empty()))
    }

    /// Every report, oldest first, with what a member needs to triage: only those with
    /// one of `statuses` (all when empty), and only overdue ones if `overdue_only`.
    pub async fn list(
        &self,
        statuses: &[Status],
        overdue_only: bool,
    ) -> Result<Vec<ListItem>, TeamError> {
        let promises = self.promises().await?;
        let now = crate::report::now();
        let summaries = self.summaries().await?;
        let mut digests = self.digests(&summaries).await?;
        let mut items = Vec::new();
        for summary in summaries {
            let Some(digest) = digests.remove(&summary.id) else {
                continue;
            };
            let progress = digest.progress;
            let status = progress.map_or(Status::Received, |p| p.status);
            if !statuses.is_empty() && !statuses.contains(&status) {
                continue;
            }
            let deadlines: Vec<DeadlineView> = progress
                .zip(promises)
                .map(|(p, promises)| p.deadlines(&promises))
                .unwrap_or_default()
                .into_iter()
                .map(|d| DeadlineView::new(d, now))
                .collect();
            let overdue = deadlines.iter().any(|d| d.overdue);
            if overdue_only && !overdue {
                continue;
            }
            items.push(ListItem {
                // Nothing readable: the status is unknown, not "received".
                status: digest.title.is_some().then_some(status),
                title: digest.title.unwrap_or_else(|| {
                    zeroize::Zeroizing::new(super::thread::UNREADABLE_TITLE.into())
                }),
                received: digest.received,
                last_activity: digest.last_activity,
                unread: summary.events.saturating_sub(self.seen.get(summary.id)),
                reason: progress.and_then(|p| p.reason),
                next: deadlines
                    .iter()
                    .filter(|d| d.met.is_none())
                    .min_by_key(|d| d.due)
                    .copied(),
                deadlines,
                overdue,
                attachments: digest.attachments,
                unreadable: digest.unreadable,
                id: summary.id,
            });
        }
        items.sort_by_key(|item| item.received);
        self.pins().save()?;
        Ok(items)
    }

    /// One thread; marks its events read.
    pub async fn show(&mut self, id: ReportId) -> Result<Thread, TeamError> {
        let thread = self.thread(id).await?;
        self.remember_reporter(&thread);
        self.pins().save()?;
        self.seen.mark(thread.id, thread.events.len() as u32)?;
        Ok(thread)
    }

    /// After the member added event `seq`: if they had read everything before it, their
    /// own event does not count as unread.
    pub fn mark_own(&mut self, id: ReportId, seq: u32) -> Result<(), TeamError> {
        if self.seen.get(id) >= seq {
            self.seen.mark(id, seq + 1)?;
        }
        Ok(())
    }
}
