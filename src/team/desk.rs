//! The team's desk: the same reading commands over a server, an offline bundle or a
//! local data folder, with everything decrypted here and written to disk only where
//! the member asks (attachments into `--out`). Every team event is checked against the
//! roster the member pinned for the source.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::api::{self, ReportSummary};
use crate::crypto::Sealed;
use crate::report::{Event, Status};
use crate::store::ReportId;
use crate::text::excerpt;

use super::bundle::Bundle;
use super::inbox::EventState;
use super::roster::{Change, Pins, Roster};
use super::settings::Seen;
use super::{Identities, LocalInbox, TeamClient, TeamError, Thread};
use crate::crypto;

/// Where the reports come from.
pub enum Source {
    /// A live server, logged in.
    Server(TeamClient),
    /// An offline bundle written by `agedrop export`.
    Bundle(Bundle),
    /// A data folder copied from the server.
    Local(LocalInbox),
}

/// One line of `list`.
#[derive(Serialize)]
pub struct ListItem {
    /// Report id.
    pub id: String,
    /// Its title, or a note that this identity cannot read it.
    pub title: String,
    /// Latest status set by a verified member.
    pub status: &'static str,
    /// When it arrived (Unix seconds; RFC 3339 in JSON).
    #[serde(serialize_with = "as_rfc3339")]
    pub received: Option<i64>,
    /// Newest event this identity can read.
    #[serde(serialize_with = "as_rfc3339")]
    pub last_activity: Option<i64>,
    /// Events not yet shown to this member with `show`.
    pub unread: u32,
    /// While unacknowledged: when the programme promised to acknowledge it by.
    #[serde(serialize_with = "as_rfc3339")]
    pub acknowledge_by: Option<i64>,
    /// Unacknowledged past that promise.
    pub overdue: bool,
    /// Number of attachments.
    pub attachments: usize,
    /// Events that opened but could not be read.
    pub unreadable: usize,
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
    /// The opened event, or null.
    pub event: Option<&'a Event>,
}

/// `show --json`.
#[derive(Serialize)]
pub struct Shown<'a> {
    /// Report id.
    pub id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Latest status set by a verified member.
    pub status: &'static str,
    /// Every event, oldest first.
    pub events: Vec<ShownEvent<'a>>,
}

impl<'a> Shown<'a> {
    /// The JSON view of a thread.
    pub fn new(thread: &'a Thread) -> Self {
        Shown {
            id: &thread.id,
            title: thread.title(),
            status: thread.status().as_str(),
            events: thread
                .events
                .iter()
                .map(|e| ShownEvent {
                    seq: e.seq,
                    state: e.state,
                    verified: e.verified(),
                    signed_by: e.signer.as_deref(),
                    verification: &e.verification,
                    event: e.event.as_ref(),
                })
                .collect(),
        }
    }
}

/// What [`Desk::check_roster`] found.
pub enum RosterNews {
    /// No roster was pinned for this source: this one is now (trust on first use).
    FirstUse,
    /// The source lists exactly the pinned roster.
    Same,
    /// The source lists another roster: nothing is sealed until `agedrop team trust`.
    Changed,
    /// The source has no roster (a data folder read without `--keys`).
    Missing,
}

/// The desk: a source, the member's identities, what they have read, and what they
/// pinned (the roster they trust, each report's reporter key).
pub struct Desk {
    pub(super) source: Source,
    pub(super) identities: Arc<Identities>,
    seen: Seen,
    pub(super) pins: Mutex<Pins>,
    /// The pinned roster: whose signatures count, and whom to seal to.
    pub(super) roster: Option<Roster>,
    /// The source's roster, when it differs from the pinned one.
    pending: Option<(Roster, Change)>,
    /// Where this source's roster is pinned (a server's origin; `bundle:` and a
    /// bundle's origin, so that a bundle never plants a pin for a server).
    roster_key: String,
}

/// The pins, even if a thread panicked while holding them.
pub(super) fn lock(pins: &Mutex<Pins>) -> std::sync::MutexGuard<'_, Pins> {
    match pins.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn as_rfc3339<S: serde::Serializer>(at: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match at.and_then(rfc3339) {
        Some(text) => s.serialize_some(&text),
        None => s.serialize_none(),
    }
}

/// RFC 3339 for JSON output.
pub fn rfc3339(at: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
}

/// Decodes the sealed events of a report from a server or a bundle, in order.
fn sealed_events(id: &str, events: &[api::SealedEvent]) -> Result<Vec<(u32, Sealed)>, TeamError> {
    if events.windows(2).any(|w| w[0].seq >= w[1].seq) {
        return Err(TeamError::Server(format!(
            "report {id}: its events are out of order"
        )));
    }
    events
        .iter()
        .map(|e| {
            api::decode(&e.sealed)
                .map(|bytes| (e.seq, Sealed::from_stored(bytes)))
                .ok_or_else(|| TeamError::Server(format!("report {id}: an event is not base64")))
        })
        .collect()
}

impl Desk {
    /// A desk over `source`; call [`Desk::check_roster`] before anything that reads or
    /// writes team events.
    pub fn new(source: Source, identities: Identities, seen: Seen, pins: Pins) -> Self {
        let roster_key = match &source {
            Source::Server(client) => client.origin().to_string(),
            Source::Bundle(bundle) => format!(
                "bundle:{}",
                bundle.index.origin.as_deref().unwrap_or("unknown")
            ),
            Source::Local(_) => "data".into(),
        };
        Desk {
            source,
            identities: Arc::new(identities),
            seen,
            pins: Mutex::new(pins),
            roster: None,
            pending: None,
            roster_key,
        }
    }

    /// The source's own roster (a server's `/team`, a bundle's index).
    async fn source_roster(&self) -> Result<Option<Roster>, TeamError> {
        let members = match &self.source {
            Source::Server(client) => client.team().await?.members,
            Source::Bundle(bundle) => bundle.index.team.members.clone(),
            Source::Local(_) => return Ok(None),
        };
        Roster::check(members).map(Some)
    }

    /// The roster pinned for this source, if any: for a bundle, the one pinned for its
    /// server if the member has met that server, else the one pinned for the bundle.
    pub fn pinned(&self) -> Result<Option<Roster>, TeamError> {
        let pins = lock(&self.pins);
        if let Source::Bundle(bundle) = &self.source
            && let Some(origin) = &bundle.index.origin
            && let Some(server_pin) = pins.get(origin)
        {
            return server_pin.map(Some);
        }
        pins.get(&self.roster_key).transpose()
    }

    /// Pins `roster` for this source (`agedrop team trust`). A bundle of a server the
    /// member pinned from the server itself is checked against that pin, which only the
    /// server's own roster may change.
    pub fn trust(&mut self, roster: Roster, now: &str) -> Result<(), TeamError> {
        if let Source::Bundle(bundle) = &self.source
            && let Some(origin) = &bundle.index.origin
            && lock(&self.pins).get(origin).is_some()
        {
            return Err(TeamError::RosterChanged(format!(
                "this bundle comes from {}, whose roster you pinned from the server itself; \
                 review a change there: agedrop team --server {} trust",
                crate::text::one_line(origin),
                crate::text::one_line(origin)
            )));
        }
        lock(&self.pins).pin(&self.roster_key, &roster, now)?;
        self.roster = Some(roster);
        self.pending = None;
        Ok(())
    }

    /// Compares the source's roster with the one pinned for it: pins it on first use,
    /// and remembers a difference (then nothing is sealed until it is trusted).
    pub async fn check_roster(&mut self, now: &str) -> Result<RosterNews, TeamError> {
        let Some(current) = self.source_roster().await? else {
            return Ok(RosterNews::Missing);
        };
        match self.pinned()? {
            None => {
                lock(&self.pins).pin(&self.roster_key, &current, now)?;
                self.roster = Some(current);
                Ok(RosterNews::FirstUse)
            }
            Some(pinned) => {
                let change = Change::between(pinned.members(), current.members());
                self.roster = Some(pinned);
                if change.is_empty() {
                    Ok(RosterNews::Same)
                } else {
                    self.pending = Some((current, change));
                    Ok(RosterNews::Changed)
                }
            }
        }
    }

    /// Uses `roster` (from a keys file the member named) as the trusted one.
    pub fn use_roster(&mut self, roster: Roster) {
        self.roster = Some(roster);
        self.pending = None;
    }

    /// The pinned roster, if any.
    pub fn roster(&self) -> Option<&Roster> {
        self.roster.as_ref()
    }

    /// The source's roster and how it differs, when it is not the pinned one.
    pub fn pending(&self) -> Option<&(Roster, Change)> {
        self.pending.as_ref()
    }

    /// Which pinned roster this source uses (a server's origin).
    pub fn roster_key(&self) -> &str {
        &self.roster_key
    }

    /// The roster to seal to: the pinned one, and only if the source still lists
    /// exactly it.
    pub(super) fn sealing_roster(&self) -> Result<&Roster, TeamError> {
        if let Some((_, change)) = &self.pending {
            return Err(TeamError::RosterChanged(format!(
                "the team roster the server lists differs from the one you pinned:\n{}\
                 Nothing was sealed or sent. If you expected this change (someone joined, \
                 left or has a new key), check it with them and run `agedrop team trust`.",
                change.describe()
            )));
        }
        self.roster.as_ref().ok_or_else(|| {
            TeamError::RosterChanged(
                "there is no pinned team roster to seal to; run `agedrop team trust`".into(),
            )
        })
    }

    /// The logged-in client, for commands that change the server.
    pub fn client(&self) -> Result<&TeamClient, TeamError> {
        match &self.source {
            Source::Server(client) => Ok(client),
            _ => Err(TeamError::Io(
                "this works only against a server (--server), not a bundle or a data folder".into(),
            )),
        }
    }

    /// Every report's record; ids are checked, since a hostile server (or bundle) could
    /// send ids that are paths or terminal escapes.
    async fn summaries(&self) -> Result<Vec<ReportSummary>, TeamError> {
        let summaries = match &self.source {
            Source::Server(client) => client.reports().await?,
            Source::Bundle(bundle) => bundle
                .index
                .reports
                .iter()
                .map(|r| r.report.clone())
                .collect(),
            Source::Local(inbox) => inbox.summaries()?,
        };
        for summary in &summaries {
            if summary.id.parse::<ReportId>().is_err() {
                return Err(TeamError::Server(format!(
                    "the source sent a malformed report id (\"{}\")",
                    excerpt(&summary.id, 40)
                )));
            }
        }
        Ok(summaries)
    }

    /// Hours within which the programme promises to acknowledge.
    async fn acknowledge_hours(&self) -> Result<u32, TeamError> {
        match &self.source {
            Source::Server(client) => Ok(client.team().await?.acknowledge_hours),
            Source::Bundle(bundle) => Ok(bundle.index.team.acknowledge_hours),
            Source::Local(_) => Ok(crate::config::RawProgramme::default().acknowledge_hours),
        }
    }

    /// The full id of the one report whose id starts with `prefix`.
    pub async fn resolve(&self, prefix: &str) -> Result<String, TeamError> {
        let prefix = prefix.trim().to_ascii_lowercase();
        let unknown = || {
            TeamError::UnknownReport(format!(
                "no report with id `{}`; `list` shows the ids (give at least 4 hex digits)",
                excerpt(&prefix, 40)
            ))
        };
        if prefix.len() < 4 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(unknown());
        }
        let matches: Vec<String> = self
            .summaries()
            .await?
            .into_iter()
            .map(|s| s.id)
            .filter(|id| id.starts_with(&prefix))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(unknown()),
            _ => Err(TeamError::UnknownReport(format!(
                "`{prefix}` matches {} reports; give more of the id",
                matches.len()
            ))),
        }
    }

    /// One report's thread, opened here, signatures checked against the pinned roster.
    pub async fn thread(&self, id: &str) -> Result<Thread, TeamError> {
        let roster = self.roster.as_ref();
        match &self.source {
            Source::Server(client) => {
                let report = client.report(id).await?;
                let sealed = sealed_events(id, &report.events)?;
                Thread::open(
                    report.report.id,
                    report.report.reporter,
                    sealed,
                    &self.identities,
                    roster,
                )
            }
            Source::Bundle(bundle) => {
                let report = bundle
                    .index
                    .reports
                    .iter()
                    .find(|r| r.report.id == id)
                    .ok_or_else(|| TeamError::UnknownReport(format!("no report {id}")))?;
                let sealed = sealed_events(id, &report.events)?;
                Thread::open(
                    id.into(),
                    report.report.reporter.clone(),
                    sealed,
                    &self.identities,
                    roster,
                )
            }
            Source::Local(inbox) => {
                let report = inbox.sealed(id)?;
                Thread::open(
                    report.id,
                    report.reporter,
                    report.events,
                    &self.identities,
                    roster,
                )
            }
        }
    }

    /// Every report, oldest first, with what a member needs to triage.
    pub async fn list(&self, statuses: &[Status]) -> Result<Vec<ListItem>, TeamError> {
        let hours = i64::from(self.acknowledge_hours().await?);
        let now = crate::report::now();
        let mut items = Vec::new();
        for summary in self.summaries().await? {
            let thread = self.thread(&summary.id).await?;
            self.remember_reporter(&thread);
            let status = thread.status();
            if !statuses.is_empty() && !statuses.contains(&status) {
                continue;
            }
            let deadline = thread
                .received()
                .filter(|_| status == Status::Received)
                .map(|at| at + hours * 3600);
            items.push(ListItem {
                title: thread.title().to_string(),
                // Nothing readable: the status is unknown, not "received".
                status: if thread.submission().is_some() {
                    status.as_str()
                } else {
                    "unknown"
                },
                received: thread.received(),
                last_activity: thread.last_activity(),
                unread: summary.events.saturating_sub(self.seen.get(&summary.id)),
                acknowledge_by: deadline,
                overdue: deadline.is_some_and(|d| now > d),
                attachments: thread.attachments().len(),
                unreadable: thread.unreadable(),
                id: summary.id,
            });
        }
        items.sort_by_key(|item| item.received);
        lock(&self.pins).save()?;
        Ok(items)
    }

    /// One thread; marks its events read.
    pub async fn show(&mut self, id: &str) -> Result<Thread, TeamError> {
        let thread = self.thread(id).await?;
        self.remember_reporter(&thread);
        lock(&self.pins).save()?;
        self.seen.mark(&thread.id, thread.events.len() as u32)?;
        Ok(thread)
    }

    /// Pins a server's report's reporter key the first time this desk sees it, so that a
    /// server compromised later cannot swap it (reports sealed before agedrop bound the
    /// key inside them have nothing else to check against).
    fn remember_reporter(&self, thread: &Thread) {
        if !matches!(self.source, Source::Server(_))
            || crypto::parse_reporter_recipient(&thread.reporter).is_err()
        {
            return;
        }
        let mut pins = lock(&self.pins);
        if pins.reporter(&self.roster_key, &thread.id).is_none() {
            pins.pin_reporter(&self.roster_key, &thread.id, &thread.reporter);
        }
    }

    /// After the member added event `seq`: if they had read everything before it, their
    /// own event does not count as unread.
    pub fn mark_own(&mut self, id: &str, seq: u32) -> Result<(), TeamError> {
        if self.seen.get(id) >= seq {
            self.seen.mark(id, seq + 1)?;
        }
        Ok(())
    }
}
