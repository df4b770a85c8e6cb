//! A report's thread as a team member sees it: every sealed event opened locally.

use crate::crypto::{self, Sealed};
use crate::report::{Attachment, Event, EventBody, Status, Submission};

use super::{Identities, TeamError};

/// One event of a thread, opened, or marked as not openable with these identities.
pub struct OpenedEvent {
    /// Position in the thread.
    pub seq: u32,
    /// The event, or `None` when it is not sealed to these identities (for example, a
    /// report that arrived before this member joined the keys file).
    pub event: Option<Event>,
}

/// A whole thread, decrypted on this machine.
pub struct Thread {
    /// The report's id.
    pub id: String,
    /// The reporter's public recipient, for sealing replies.
    pub reporter: String,
    /// Every event in order.
    pub events: Vec<OpenedEvent>,
}

impl Thread {
    /// Opens every sealed event of a report with the member's identities.
    pub fn open(
        id: String,
        reporter: String,
        sealed: Vec<(u32, Sealed)>,
        identities: &Identities,
    ) -> Result<Thread, TeamError> {
        let ids = identities.as_refs();
        let mut events = Vec::with_capacity(sealed.len());
        for (seq, sealed) in sealed {
            let event = match crypto::open(&ids, &sealed) {
                Ok(plain) => Some(
                    Event::decode(&plain)
                        .map_err(|e| TeamError::Io(format!("report {id}, event {seq}: {e}")))?,
                ),
                Err(_) => None,
            };
            events.push(OpenedEvent { seq, event });
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

    /// The submission, if this member can read it.
    pub fn submission(&self) -> Option<&Submission> {
        self.opened().find_map(|e| match &e.body {
            EventBody::Submitted(s) => Some(s),
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

    /// The latest status set by the team, `received` before any.
    pub fn status(&self) -> Status {
        self.opened()
            .filter_map(|e| match &e.body {
                EventBody::Status(s) => Some(s.status),
                _ => None,
            })
            .last()
            .unwrap_or(Status::Received)
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
}
