//! A report's thread as a team member sees it: every sealed event opened locally, and
//! every member's signature checked against the roster the member pinned. One event
//! that cannot be read never hides the rest.

use std::collections::HashMap;

use serde::Serialize;

use crate::crypto::{self, Sealed};
use crate::report::{Attachment, Event, EventBody, Opened, Status, Submission};

use super::roster::Roster;
use super::{Identities, TeamError};

/// Whether an event could be opened.
#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventState {
    /// Opened and read.
    Opened,
    /// Not sealed to these identities (a report from before the member joined).
    NotSealedToYou,
    /// Opened, but not an event this agedrop can read (damaged, forged or newer).
    Unreadable,
}

/// One event of a thread, opened, or marked as not openable with these identities.
pub struct OpenedEvent {
    /// Position in the thread.
    pub seq: u32,
    /// Whether it was opened.
    pub state: EventState,
    /// The event, when it was opened and read.
    pub event: Option<Event>,
    /// The pinned name of the member whose signature on it checked out; `None` for any
    /// event not verifiably written by a member of the pinned roster.
    pub signer: Option<String>,
    /// One sentence saying why it is or is not verified.
    pub verification: String,
}

impl OpenedEvent {
    /// Whether a member of the pinned roster verifiably wrote it.
    pub fn verified(&self) -> bool {
        self.signer.is_some()
    }
}

/// A whole thread, decrypted on this machine.
pub struct Thread {
    /// The report's id.
    pub id: String,
    /// The reporter's public recipient, as the server keeps it in the clear.
    pub reporter: String,
    /// Every event in order.
    pub events: Vec<OpenedEvent>,
}

/// Why an unsigned event is not verified, by who writes that kind.
fn unsigned_reason(body: &EventBody) -> &'static str {
    match body {
        EventBody::Submitted(_) | EventBody::Attachment(_) | EventBody::Message(_) => {
            "reporter's event: the server writes it from the reporter's upload; such events \
             are never signed"
        }
        EventBody::Reply(_) | EventBody::Status(_) | EventBody::Note(_) => {
            "NOT SIGNED: anyone who knows the team's public keys (the server included) could \
             have written it"
        }
    }
}

impl Thread {
    /// Opens every sealed event of a report with the member's identities and checks each
    /// signature against `roster` (the pinned one; `None` when there is none to use). An
    /// event that is not an age file at all (`None`) is shown as unreadable.
    pub fn open(
        id: String,
        reporter: String,
        sealed: Vec<(u32, Option<Sealed>)>,
        identities: &Identities,
        roster: Option<&Roster>,
    ) -> Result<Thread, TeamError> {
        let ids = identities.as_refs();
        let mut events = Vec::with_capacity(sealed.len());
        let mut signatures: HashMap<Vec<u8>, u32> = HashMap::new();
        // Every event is sealed to the team (as it was then) and perhaps the reporter;
        // far more stanzas than that is a server making the desk work for nothing.
        let max_stanzas = roster.map_or(0, |r| 2 * r.members().len() + 8).max(64);
        for (seq, sealed) in sealed {
            let Some(sealed) =
                sealed.filter(|s| crypto::stanza_count(s).is_some_and(|n| n <= max_stanzas))
            else {
                events.push(OpenedEvent {
                    seq,
                    state: EventState::Unreadable,
                    event: None,
                    signer: None,
                    verification: format!(
                        "unreadable: not an age file, or sealed to more than {max_stanzas} \
                         recipients; not opened"
                    ),
                });
                continue;
            };
            let Ok(plain) = crypto::open(&ids, &sealed) else {
                events.push(OpenedEvent {
                    seq,
                    state: EventState::NotSealedToYou,
                    event: None,
                    signer: None,
                    verification: "not sealed to your identity".into(),
                });
                continue;
            };
            let Ok(Opened { event, signed }) = Opened::decode(&plain) else {
                events.push(OpenedEvent {
                    seq,
                    state: EventState::Unreadable,
                    event: None,
                    signer: None,
                    verification: "unreadable: it opens, but is not an event this agedrop \
                                   can read (damaged, forged, or written by a newer agedrop)"
                        .into(),
                });
                continue;
            };
            let (signer, verification) = match (&signed, roster) {
                (None, _) => (None, unsigned_reason(&event.body).to_string()),
                (Some(_), None) => (
                    None,
                    "signed, but there is no pinned roster to check the signature against"
                        .to_string(),
                ),
                (Some(signed), Some(roster)) => match roster.signer(&signed.signer) {
                    None => (
                        None,
                        "signed by a key that is not in your pinned roster".to_string(),
                    ),
                    Some((_, key)) if !signed.verify(&id, key) => (
                        None,
                        "THE SIGNATURE DOES NOT MATCH: the event was altered, or moved from \
                         another report"
                            .to_string(),
                    ),
                    Some((name, _)) => match signatures.get(signed.signature()) {
                        Some(first) => (
                            None,
                            format!("a replayed copy of event {first}, not new words"),
                        ),
                        None => {
                            signatures.insert(signed.signature().to_vec(), seq);
                            (Some(name.to_string()), format!("signed by {name}"))
                        }
                    },
                },
            };
            events.push(OpenedEvent {
                seq,
                state: EventState::Opened,
                event: Some(event),
                signer,
                verification,
            });
        }
        Ok(Thread {
            id,
            reporter,
            events,
        })
    }

    fn opened(&self) -> impl Iterator<Item = &Event> {
        self.events.iter().filter_map(|e| e.event.as_ref())
    }

    /// The submission (the first one: a later "submitted" event cannot replace it), if
    /// this member can read it.
    pub fn submission(&self) -> Option<&Submission> {
        self.opened().find_map(|e| match &e.body {
            EventBody::Submitted(s) => Some(s.as_ref()),
            _ => None,
        })
    }

    /// The title, or a note that it cannot be read.
    pub fn title(&self) -> &str {
        self.submission()
            .map(|s| s.title.as_str())
            .unwrap_or("(not sealed to this identity)")
    }

    /// When the report arrived (Unix seconds), if readable.
    pub fn received(&self) -> Option<i64> {
        self.opened()
            .find(|e| matches!(e.body, EventBody::Submitted(_)))
            .map(|e| e.at)
    }

    /// The latest status set by a verified member, `received` before any: latest by the
    /// time signed into it, not by where the server put it, so that moving an old change
    /// to the end does not roll the status back. Unverified status changes are shown in
    /// the thread but never change the status.
    pub fn status(&self) -> Status {
        self.events
            .iter()
            .filter(|e| e.verified())
            .filter_map(|e| match e.event.as_ref().map(|ev| (&ev.body, ev.at)) {
                Some((EventBody::Status(s), at)) => Some((at, e.seq, s.status)),
                _ => None,
            })
            .max_by_key(|(at, seq, _)| (*at, *seq))
            .map_or(Status::Received, |(_, _, status)| status)
    }

    /// Time of the newest readable event.
    pub fn last_activity(&self) -> Option<i64> {
        self.opened().map(|e| e.at).max()
    }

    /// Every attachment's metadata, in order.
    pub fn attachments(&self) -> Vec<&Attachment> {
        self.opened()
            .filter_map(|e| match &e.body {
                EventBody::Attachment(a) => Some(a),
                _ => None,
            })
            .collect()
    }

    /// How many events could not be read.
    pub fn unreadable(&self) -> usize {
        self.events
            .iter()
            .filter(|e| e.state == EventState::Unreadable)
            .count()
    }
}
