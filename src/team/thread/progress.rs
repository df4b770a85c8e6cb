//! Where a thread stands on the programme's promises, as the desk reads it: only what
//! verified members wrote moves the status or keeps a promise.

use crate::report::{EventBody, Progress, Status};

use super::Thread;

impl Thread {
    /// What has happened, as far as the programme's promises go: only what verified
    /// members wrote counts (`None` when the submission cannot be read).
    pub fn progress(&self) -> Option<Progress> {
        Progress::of(
            self.events
                .iter()
                .filter_map(|e| e.event.as_ref().map(|ev| (ev.at, &ev.body, e.verified()))),
        )
    }

    /// The reporter's latest proposal of a public disclosure instant, if any.
    pub fn proposal(&self) -> Option<(i64, i64)> {
        self.opened()
            .filter_map(|e| match &e.body {
                EventBody::Proposal(p) => Some((e.at, p.disclosure.unix_timestamp())),
                _ => None,
            })
            .max()
    }

    /// The question of a `needs-more-information` status that is still current.
    pub fn question(&self) -> Option<&str> {
        if self.status() != Status::NeedsMoreInformation {
            return None;
        }
        self.events
            .iter()
            .filter(|e| e.verified())
            .filter_map(|e| match e.event.as_ref().map(|ev| (&ev.body, ev.at)) {
                Some((EventBody::Status(s), at)) => Some((at, s)),
                _ => None,
            })
            .max_by_key(|(at, _)| *at)
            .map(|(_, s)| s.note.as_str())
    }
}
