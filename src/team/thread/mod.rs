//! A report's thread as a team member sees it: every sealed event opened locally (with
//! the member's own identities, or with a key a verified grant gave them), and every
//! member's signature checked against the roster the member pinned. One event that
//! cannot be read never hides the rest.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use crate::crypto::{self, AttachmentKey, FileKey};
use crate::report::{Attachment, Event, EventBody, Opened, Status, Submission};
use crate::store::ReportId;

use super::inbox::SealedReport;

mod granted;
mod progress;

use super::roster::Roster;
use super::{Identities, TeamError};
use granted::{Slot, granted_keys};

/// The title shown for a report whose submission this identity cannot read.
pub(super) const UNREADABLE_TITLE: &str = "(not sealed to this identity)";

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
    /// The pinned name of the member whose grant opened it, when the member's own
    /// identities could not (it was sealed before they joined).
    pub granted_by: Option<String>,
    /// The event's own file key, kept for granting it to someone else.
    pub(super) key: Option<FileKey>,
    /// SHA-256 of the sealed bytes, which a grant names.
    pub(super) sealed_sha256: Option<[u8; 32]>,
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
    pub id: ReportId,
    /// The reporter's public recipient, as the server keeps it in the clear.
    pub reporter: String,
    /// Every event in order.
    pub events: Vec<OpenedEvent>,
    /// Keys granted to this member for attachments stored before files had keys of their
    /// own, by blob id.
    blob_keys: HashMap<String, FileKey>,
}

/// What opens one attachment's stream.
pub enum Opener {
    /// The key sealed in its attachment event.
    Own(AttachmentKey),
    /// A stream stored before files had keys of their own, sealed to the team as it was
    /// then: the key a colleague granted.
    Granted(FileKey),
    /// Such a stream, opened with the member's own identities.
    Team(Arc<Identities>),
}

impl Opener {
    /// The plaintext of the stream `ciphertext`, as a reader.
    pub fn open<'a, R: std::io::Read + 'a>(
        &self,
        ciphertext: R,
    ) -> Result<Box<dyn std::io::Read + 'a>, crypto::CryptoError> {
        match self {
            Opener::Own(key) => crypto::open_stream(&[key], ciphertext),
            Opener::Granted(key) => crypto::open_stream(&[key], ciphertext),
            Opener::Team(identities) => crypto::open_stream(&identities.as_refs(), ciphertext),
        }
    }
}

/// Why an unsigned event is not verified, by who writes that kind.
fn unsigned_reason(body: &EventBody) -> &'static str {
    match body {
        EventBody::Submitted(_)
        | EventBody::Attachment(_)
        | EventBody::Message(_)
        | EventBody::Proposal(_)
        | EventBody::AdvisoryComment(_)
        | EventBody::CreditDecision(_) => {
            "reporter's event: the server writes it from the reporter's upload; such events \
             are never signed"
        }
        EventBody::Reply(_)
        | EventBody::Status(_)
        | EventBody::Note(_)
        | EventBody::Grant(_)
        | EventBody::Advisory(_) => {
            "NOT SIGNED: anyone who knows the team's public keys (the server included) could \
             have written it"
        }
    }
}

/// The pinned name of the member who signed `opened` for report `id`, or why not.
fn signed_by<'r>(id: &str, opened: &Opened, roster: Option<&'r Roster>) -> Result<&'r str, String> {
    match (&opened.signed, roster) {
        (None, _) => Err(unsigned_reason(&opened.event.body).to_string()),
        (Some(_), None) => {
            Err("signed, but there is no pinned roster to check the signature against".into())
        }
        (Some(signed), Some(roster)) => match roster.signer(&signed.signer) {
            None => Err("signed by a key that is not in your pinned roster".into()),
            Some((_, key)) if !signed.verify(id, key) => Err(
                "THE SIGNATURE DOES NOT MATCH: the event was altered, or moved from another report"
                    .into(),
            ),
            Some((name, _)) => Ok(name),
        },
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

impl Thread {
    /// Opens every sealed event of a report with the member's identities, and with the
    /// keys that verified grants give them for the rest, and checks each signature against
    /// `roster` (the pinned one; `None` when there is none to use). An event that is not
    /// an age file at all (`None`) is shown as unreadable.
    pub fn open(
        report: SealedReport,
        identities: &Identities,
        roster: Option<&Roster>,
    ) -> Result<Thread, TeamError> {
        let SealedReport {
            id: report_id,
            reporter,
            events: sealed,
        } = report;
        // Signatures cover the id as written.
        let id = report_id.to_string();
        let ids = identities.as_refs();
        // Every event is sealed to the team (as it was then) and perhaps the reporter;
        // far more stanzas than that is a server making the desk work for nothing.
        let max_stanzas = roster.map_or(0, |r| 2 * r.members().len() + 8).max(64);
        let mut slots: Vec<Slot> = sealed
            .into_iter()
            .map(|(seq, sealed)| {
                let sealed =
                    sealed.filter(|s| crypto::stanza_count(s).is_some_and(|n| n <= max_stanzas));
                let opened = sealed
                    .as_ref()
                    .and_then(|s| crypto::open_keeping_key(&ids, s).ok());
                Slot {
                    seq,
                    sealed,
                    opened,
                    granted_by: None,
                    changed_after_grant: None,
                }
            })
            .collect();
        let granted = granted_keys(&id, &slots, &ids, roster, max_stanzas);
        for slot in &mut slots {
            let (None, Some(sealed), Some((sha, key, granter))) =
                (&slot.opened, &slot.sealed, granted.events.get(&slot.seq))
            else {
                continue;
            };
            if sha256(sealed.as_bytes()) != *sha {
                slot.changed_after_grant = Some(granter.clone());
                continue;
            }
            if let Ok(plain) = crypto::open(&[key], sealed) {
                slot.opened = Some((plain, key.clone()));
                slot.granted_by = Some(granter.clone());
            }
        }

        let mut events = Vec::with_capacity(slots.len());
        let mut signatures: HashMap<Vec<u8>, u32> = HashMap::new();
        for slot in slots {
            let seq = slot.seq;
            let unopened = |state, verification: String| OpenedEvent {
                seq,
                state,
                event: None,
                signer: None,
                verification,
                granted_by: None,
                key: None,
                sealed_sha256: None,
            };
            let Some(sealed) = slot.sealed else {
                events.push(unopened(
                    EventState::Unreadable,
                    format!(
                        "unreadable: not an age file, or sealed to more than {max_stanzas} \
                         recipients; not opened"
                    ),
                ));
                continue;
            };
            let Some((plain, key)) = slot.opened else {
                let verification = match slot.changed_after_grant {
                    Some(granter) => format!(
                        "not sealed to your identity; {granter} granted you its key, but the \
                         source holds other bytes than the ones granted (changed after the grant)"
                    ),
                    None => "not sealed to your identity".into(),
                };
                events.push(unopened(EventState::NotSealedToYou, verification));
                continue;
            };
            let Ok(opened) = Opened::decode(&plain) else {
                events.push(unopened(
                    EventState::Unreadable,
                    "unreadable: it opens, but is not an event this agedrop can read \
                     (damaged, forged, or written by a newer agedrop)"
                        .into(),
                ));
                continue;
            };
            let (signer, mut verification) = match signed_by(&id, &opened, roster) {
                Err(reason) => (None, reason),
                Ok(name) => {
                    let signature = opened.signed.as_ref().map(|s| s.signature().to_vec());
                    match signature.as_ref().and_then(|s| signatures.get(s)) {
                        Some(first) => (
                            None,
                            format!("a replayed copy of event {first}, not new words"),
                        ),
                        None => {
                            if let Some(signature) = signature {
                                signatures.insert(signature, seq);
                            }
                            (Some(name.to_string()), format!("signed by {name}"))
                        }
                    }
                }
            };
            if let Some(granter) = &slot.granted_by {
                verification.push_str(&format!("; opened with a key {granter} granted you"));
            }
            events.push(OpenedEvent {
                seq,
                state: EventState::Opened,
                event: Some(opened.event),
                signer,
                verification,
                granted_by: slot.granted_by,
                key: Some(key),
                sealed_sha256: Some(sha256(sealed.as_bytes())),
            });
        }
        Ok(Thread {
            id: report_id,
            reporter,
            events,
            blob_keys: granted.blobs,
        })
    }

    /// What opens one of this thread's attachments: its own key, from its sealed event;
    /// for one stored before files had keys of their own, a key a verified grant gave
    /// this member, or else their own identities.
    pub fn opener(
        &self,
        attachment: &Attachment,
        identities: &Arc<Identities>,
    ) -> Result<Opener, TeamError> {
        if !attachment.key.is_empty() {
            return AttachmentKey::from_text(&attachment.key)
                .map(Opener::Own)
                .ok_or_else(|| {
                    TeamError::Hostile(format!(
                        "report {}: an attachment's sealed key is malformed",
                        self.id
                    ))
                });
        }
        Ok(match self.blob_keys.get(&attachment.blob) {
            Some(key) => Opener::Granted(key.clone()),
            None => Opener::Team(identities.clone()),
        })
    }

    /// The key a verified grant gave this member for an attachment stored before files
    /// had keys of their own.
    pub(super) fn blob_key(&self, blob: &str) -> Option<&FileKey> {
        self.blob_keys.get(blob)
    }

    /// The events and attachments verified grants already give `recipient` (as the team
    /// sees them: which, not the keys).
    pub(super) fn granted_to(&self, recipient: &str) -> (HashSet<u32>, HashSet<String>) {
        let mut events = HashSet::new();
        let mut blobs = HashSet::new();
        for e in self.events.iter().filter(|e| e.verified()) {
            if let Some(Event {
                body: EventBody::Grant(grant),
                ..
            }) = &e.event
                && grant.to == recipient
            {
                events.extend(grant.events.iter().copied());
                blobs.extend(grant.blobs.iter().cloned());
            }
        }
        (events, blobs)
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
            .unwrap_or(UNREADABLE_TITLE)
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
        self.progress().map_or(Status::Received, |p| p.status)
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
