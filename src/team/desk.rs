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
use super::thread::EventState;
use super::roster::{Change, Pins, Roster};
use super::settings::Seen;
use super::{Identities, LocalInbox, TeamClient, TeamError, Thread};

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
    pub(super) source: Source,
    pub(super) identities: Arc<Identities>,
    seen: Seen,
    pub(super) pins: Mutex<Pins>,
    /// The pinned roster: whose signatures count, and whom to seal to.
    pub(super) roster: Option<Roster>,
    /// The source's roster, when it differs from the pinned one.
    pub(super) pending: Option<(Roster, Change)>,
    /// Where this source's roster is pinned (a server's origin; `bundle:` and a
    /// bundle's origin, so that a bundle never plants a pin for a server).
    pub(super) roster_key: String,
    /// A data folder's acknowledgement promise (hours), from the operator's config.
    local_promise: Option<u32>,
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

/// Decodes the sealed events of a report from a server or a bundle, in order; each is
/// checked to be an age file (`None` where it is not: shown as unreadable).
pub(super) fn sealed_events(
    id: &str,
    events: &[api::SealedEvent],
) -> Result<Vec<(u32, Option<Sealed>)>, TeamError> {
    if events.windows(2).any(|w| w[0].seq >= w[1].seq) {
        return Err(TeamError::Server(format!(
            "report {id}: its events are out of order"
        )));
    }
    events
        .iter()
        .map(|e| {
            api::decode(&e.sealed)
                .map(|bytes| (e.seq, Sealed::parse(bytes).ok()))
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
            local_promise: None,
        }
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

    /// Hours within which the programme promises to acknowledge: the server's, the
    /// bundle's, or for a data folder the operator's config given with
    /// [`Desk::use_promise`] (`None` without it: no deadline beats a wrong one).
    async fn acknowledge_hours(&self) -> Result<Option<u32>, TeamError> {
        match &self.source {
            Source::Server(client) => Ok(Some(client.team().await?.acknowledge_hours)),
            Source::Bundle(bundle) => Ok(Some(bundle.index.team.acknowledge_hours)),
            Source::Local(_) => Ok(self.local_promise),
        }
    }

    /// For a data folder: the programme's acknowledgement promise, in hours, from the
    /// operator's config.
    pub fn use_promise(&mut self, acknowledge_hours: u32) {
        self.local_promise = Some(acknowledge_hours);
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
        let hours = self.acknowledge_hours().await?.map(i64::from);
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
                .zip(hours)
                .map(|(at, hours)| at + hours * 3600);
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
        self.pins().save()?;
        Ok(items)
    }

    /// One thread; marks its events read.
    pub async fn show(&mut self, id: &str) -> Result<Thread, TeamError> {
        let thread = self.thread(id).await?;
        self.remember_reporter(&thread);
        self.pins().save()?;
        self.seen.mark(&thread.id, thread.events.len() as u32)?;
        Ok(thread)
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
